-- Publishing the analysts' snapshot (pipelines/lib/publish/snapshot.py): Parquet files that are
-- never rewritten, a small DuckDB catalog of views over them, and the record of each published
-- version in the working warehouse (schema `publish`, never published itself).

-- name: create_publish_schema
create schema if not exists publish

-- name: create_versions
-- One row per published version (the snapshot as one run published it).
create table if not exists publish.versions (
    version integer primary key,
    published_at timestamptz not null,
    load_id varchar,
    census_years integer[],
    files_written integer,
    bytes_written bigint
)

-- name: create_files
-- The files of each kept version: every table, and every census year of a yearly table, is one
-- Parquet file; a version shares the files of the tables and years it did not change.
create table if not exists publish.files (
    version integer not null,
    relation varchar not null,
    census_year integer,
    path varchar not null,
    columns varchar not null,
    written boolean not null
)

-- name: latest_version
select max(version) from publish.versions

-- name: version_files
select relation, census_year, path, columns from publish.files where version = $version order by relation, census_year

-- name: kept_versions
select version, published_at, load_id, census_years
from publish.versions
order by version desc
limit $keep

-- name: insert_version
insert into publish.versions values ($version, $published_at, $load_id, $census_years, $files_written, $bytes_written)

-- name: insert_file
insert into publish.files values ($version, $relation, $census_year, $path, $columns, $written)

-- name: forget_versions_before
delete from publish.files where version < $version

-- name: forget_version_rows_before
delete from publish.versions where version < $version

-- name: version_numbers
select version from publish.versions

-- name: referenced_files
select distinct path from publish.files

-- name: published_tables
-- (schema, table, has a census_year column) for every table of the schemas published.
select tables.schema_name, tables.table_name, count(columns.column_name) > 0 as by_year
from duckdb_tables() as tables
left join duckdb_columns() as columns
    on columns.database_name = tables.database_name
    and columns.schema_name = tables.schema_name
    and columns.table_name = tables.table_name
    and columns.column_name = 'census_year'
where list_contains($schemas, tables.schema_name)
    and tables.database_name = current_database()
    and not tables.temporary
group by all
order by 1, 2

-- name: table_comments
-- (schema, relation, comment) of every table and view of the schemas published.
select schema_name, table_name, comment
from duckdb_tables()
where database_name = current_database() and list_contains($schemas, schema_name)
union all
select schema_name, view_name, comment
from duckdb_views()
where database_name = current_database() and list_contains($schemas, schema_name) and not internal

-- name: published_views
-- (schema, view, create statement) for every view of the schemas published, by name.
select schema_name, view_name, sql
from duckdb_views()
where list_contains($schemas, schema_name)
    and database_name = current_database()
    and not internal
    and not temporary
order by schema_name, view_name

-- name: column_comments
-- (schema, relation, column, comment) of every column of the schemas published, in table order.
select schema_name, table_name, column_name, comment
from duckdb_columns()
where database_name = current_database() and list_contains($schemas, schema_name)
order by schema_name, table_name, column_index

-- name: years_of_table
select distinct census_year from {{ relation }} where census_year is not null order by 1

-- name: whole_table
select * from {{ relation }}

-- name: one_year
-- One census year of a table, without the census_year column (it is in the folder name).
select * exclude (census_year) from {{ relation }} where census_year = $census_year

-- name: attach_catalog
-- The catalog in DuckDB's 1.0 storage format: every DuckDB 1.x client (CLI, DBeaver, R) opens it.
attach $path as published (storage_version 'v1.0.0')

-- name: use_catalog
use published

-- name: use_memory
use memory

-- name: detach_catalog
detach published

-- name: catalog_schema
create schema if not exists {{ schema }}

-- name: view_of_files
create view {{ relation }} as select {{ names }} from read_parquet({{ files }})

-- name: view_of_years
-- The census year is read from the folder name of each file (census_year=<year>).
create view {{ relation }} as
select {{ names }}
from read_parquet({{ files }}, hive_partitioning = true, hive_types = {'census_year': INTEGER})

-- name: comment_on_view
comment on view {{ relation }} is {{ text }}

-- name: comment_on_column
comment on column {{ column }} is {{ text }}

-- name: catalog_version
-- The version this catalog is, and when it was published.
create table published.snapshot.version as
select $version::integer as version, $published_at::timestamptz as published_at,
    $load_id::varchar as load_id, $census_years::integer[] as census_years

-- name: catalog_versions
create table published.snapshot.versions (
    version integer, published_at timestamptz, load_id varchar, census_years integer[]
)

-- name: catalog_versions_insert
insert into published.snapshot.versions values ($version, $published_at, $load_id, $census_years)

-- name: catalog_files
create table published.snapshot.files (relation varchar, census_year integer, path varchar)

-- name: catalog_files_insert
insert into published.snapshot.files values ($relation, $census_year, $path)

-- name: catalog_versions_list
-- The versions a catalog knows of (the kept ones when it was published), newest first.
select version, published_at, census_years, load_id
from snapshot.versions
order by version desc

-- name: version_as_of
-- The latest version published before $before (the start of the day after the date asked for).
select max(version) from snapshot.versions where published_at < $before

-- name: opens
-- A catalog that does not answer this is not published.
select count(*) from duckdb_views() where not internal
