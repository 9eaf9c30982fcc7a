-- The journal of census-year loads and its undo copies (pipelines/lib/loads/year_loads.py): a
-- census year is loaded whole or not at all. Undo copies live in the schema `undo`, one table per
-- load, year and table, named "<load_id>|<census_year>|<schema.table>" (the schema's name is
-- UNDO_SCHEMA in year_loads.py).

-- name: yearly_tables
-- Every table of the layer schemas that has a census_year column (history tables are left out
-- in Python, from their sidecars' `history: true`).
select distinct schema_name, table_name
from duckdb_columns()
where column_name = 'census_year'
    and list_contains($schemas, schema_name)
    and database_name = current_database()
order by 1, 2

-- name: undo_copies
-- The undo copies of one load and year ($prefix: "<load_id>|<census_year>|").
select table_name
from duckdb_tables()
where schema_name = $undo_schema and starts_with(table_name, $prefix)

-- name: status
select status
from audit.census_year_loads
where load_id = $load_id and census_year = $census_year

-- name: other_loads_in_progress
select load_id, pid, host
from audit.census_year_loads
where census_year = $census_year and status = 'in_progress' and load_id <> $load_id

-- name: create_undo_schema
create schema if not exists {{ schema }}

-- name: save_year
-- The year's rows of one table, as they are before the load writes it.
create table {{ undo }} as select * from {{ relation }} where census_year = $census_year

-- name: save_years_from
-- A cross-year table (sidecar `cross_year: true`): its rows of the year and of every later year,
-- which the load rebuilds too.
create table {{ undo }} as select * from {{ relation }} where census_year >= $census_year

-- name: count_rows
select count(*) from {{ relation }}

-- name: journal_begin
insert into audit.census_year_loads by name
select
    $load_id as load_id,
    $census_year as census_year,
    'in_progress' as status,
    false as is_current,
    now() as started_at,
    null as finished_at,
    $host as host,
    $pid as pid,
    $pid_started as pid_started,
    $saved_tables as saved_tables,
    $saved_rows as saved_rows,
    $save_seconds as save_seconds,
    null as reason

-- name: pending
-- Loads that began and neither committed nor rolled back.
select load_id, census_year, host, pid, pid_started, strftime(started_at, '%H:%M') as started
from audit.census_year_loads
where status = 'in_progress'
order by started_at, census_year

-- name: years_in_progress
select census_year
from audit.census_year_loads
where load_id = $load_id and status = 'in_progress'
order by 1

-- name: drop_table
drop table {{ relation }}

-- name: journal_commit
-- $committed_at: the time the snapshot and the working file both record; now when null.
update audit.census_year_loads
set status = 'committed', finished_at = coalesce($committed_at, now())
where load_id = $load_id and census_year = $census_year

-- name: journal_make_current
update audit.census_year_loads
set is_current = (load_id = $load_id)
where census_year = $census_year and status = 'committed'

-- name: loads_make_current
-- The files of this load are the year's data now, if this load read files (a load that only
-- rebuilt the models leaves the files of the year as they were); ignored files are never current.
update audit.loads
set is_current = (load_id = $load_id and status = 'loaded')
where census_year = $census_year
    and exists (
        select 1 from audit.loads
        where load_id = $load_id and census_year = $census_year and status = 'loaded'
    )

-- name: restore_year
insert into {{ relation }} by name select * from {{ undo }}

-- name: restore_table
-- A table dropped since the load began (no step does this) comes back with the load's years only.
create table {{ relation }} as select * from {{ undo }}

-- name: journal_roll_back
update audit.census_year_loads
set status = 'rolled_back', finished_at = now(), reason = $reason
where load_id = $load_id and census_year = $census_year

-- name: loads_roll_back
update audit.loads
set status = 'rolled_back', is_current = false
where load_id = $load_id and census_year = $census_year and status = 'loaded'

-- name: drop_undo_schema
drop schema if exists {{ schema }} cascade

-- name: later_years
-- Census years loaded after this one, in order.
select distinct census_year from raw.census_schools where census_year > $census_year order by 1
