-- Statements of the warehouse's own plumbing (pipelines/lib/warehouse.py, sql_models.py): layer
-- schemas, documentation comments, and the per-year replace every table builder uses.
-- `arrow_table` is the Arrow table of the same name in the Python function that runs the
-- statement (DuckDB reads it by name: a replacement scan).

-- name: create_schema
create schema if not exists {{ schema }}

-- name: comment_on_table
-- The sidecar's description and grain, shown by DuckDB's catalog (duckdb_tables().comment).
comment on table {{ relation }} is {{ text }}

-- name: comment_on_column
comment on column {{ column }} is {{ text }}

-- name: comments_of
-- The comments a table or view carries now (column_name null: its own), so that apply_comments
-- writes only those that differ from its sidecar.
select null as column_name, comment
from duckdb_tables()
where database_name = current_database() and schema_name = $schema and table_name = $table
union all
select null, comment
from duckdb_views()
where database_name = current_database() and schema_name = $schema and view_name = $table
union all
select column_name, comment
from duckdb_columns()
where database_name = current_database() and schema_name = $schema and table_name = $table

-- name: table_exists
select count(*)
from information_schema.tables
where table_schema = $schema and table_name = $table

-- name: table_columns
-- Column names in table order.
select column_name
from information_schema.columns
where table_schema = $schema and table_name = $table
order by ordinal_position

-- name: create_table
-- A table built in Python, with the columns and DuckDB types of its sidecar (`types:`).
create table if not exists {{ relation }} ({{ columns }})

-- name: add_column
-- A column a newer sidecar has and an older warehouse's table lacks (null in the old rows).
alter table {{ relation }} add column {{ definition }}

-- name: replace_table_with_frame
-- A whole reference table, replaced by the frame parsed from its file.
create or replace table {{ relation }} as select * from arrow_table

-- name: frame_columns
-- The columns of a frame registered from Python, without its rows (a table is declared from them).
select * from arrow_table limit 0

-- name: delete_year
delete from {{ relation }} where census_year = $census_year

-- name: delete_years_from
delete from {{ relation }} where census_year >= $census_year

-- name: insert_frame
insert into {{ relation }} by name select * from arrow_table

-- name: count_year
select count(*) from {{ relation }} where census_year = $census_year

-- name: loads_has_is_current
-- Warehouses built before audit.loads.is_current existed lack the column.
select count(*)
from duckdb_columns()
where schema_name = 'audit'
    and table_name = 'loads'
    and column_name = 'is_current'
    and database_name = current_database()

-- name: loads_set_is_current
-- On an old warehouse: the files of each year's latest load whose files all loaded were current.
update audit.loads set is_current = status = 'loaded' and (census_year, load_id) in (
    select (census_year, arg_max(load_id, loaded_at))
    from (
        select census_year, load_id, max(loaded_at) as loaded_at
        from audit.loads
        group by all
        having bool_and(status in ('loaded', 'ignored'))
    )
    group by census_year
)

-- name: insert_loads
-- The files of a load; they become current when the census-year run commits
-- (pipelines/lib/loads/year_loads.py).
insert into audit.loads by name
select *, now() as loaded_at, false as is_current
from arrow_table

-- name: model_columns
-- The columns a SQL model produces, without running it over the data.
select * from ({{ model }}) limit 0

-- name: insert_model_year
insert into {{ relation }} by name {{ model }}

-- name: whole_table
select * from {{ relation }}

-- name: county_codes
-- The county registry's codes, that extracts and certifications are checked against.
select county_code from marts.dim_counties

-- name: county_registry
-- The county registry: codes that extracts are checked against, names that a county given by
-- name (统计三级) is looked up in.
select county_code, county_name, prefecture_name from marts.dim_counties

-- name: standard_ids
select standard_id from marts.standards

-- name: census_year_rows
select * from raw.census_schools where census_year = $census_year

-- name: repeated_keys
-- Keys of `$table_name` ($key: its unique_key columns) that repeat within one census year.
select count(*)
from (
    select columns(lambda c: list_contains($key, c))
    from query_table($table_name)
    where census_year = $census_year
    group by all
    having count(*) > 1
)

-- name: previous_year_amounts
-- Every school's values as loaded for the latest census year before this one: the ingest compares
-- each number column's magnitude with them (contracts/ingest_rules.yaml, unstated_units and
-- unit_magnitude).
select *
from raw.census_schools
where census_year = (select max(census_year) from raw.census_schools where census_year < $census_year)

-- name: table_years
select distinct census_year from {{ relation }} order by 1

-- name: drop_model_table
drop table {{ relation }}

-- name: relation_kind
-- 'BASE TABLE' or 'VIEW' for a relation of the working warehouse.
select table_type
from information_schema.tables
where table_schema = $schema and table_name = $table

-- name: create_view
create or replace view {{ relation }} as {{ model }}

-- name: set_memory_limit
-- DuckDB's memory limit for this connection's database (models/operations/runs.yaml, run_memory).
set memory_limit = {{ limit }}
