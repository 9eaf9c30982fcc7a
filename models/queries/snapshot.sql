-- Publishing the analysts' snapshot and its Parquet export (pipelines/lib/publish/snapshot.py).

-- name: opens
-- A staged copy that does not answer this is not published.
select count(*) from duckdb_tables()

-- name: published_tables
-- (schema, table, has a census_year column) for every table of the published schemas.
select tables.schema_name, tables.table_name, count(columns.column_name) > 0 as by_year
from duckdb_tables() as tables
left join duckdb_columns() as columns
    on columns.schema_name = tables.schema_name
    and columns.table_name = tables.table_name
    and columns.column_name = 'census_year'
where list_contains($schemas, tables.schema_name)
group by all
order by 1, 2

-- name: years_of_table
select distinct census_year from {{ relation }} order by 1

-- name: export_table
-- A table without census years, whole, to $path.
copy (select * from {{ relation }}) to $path (format parquet, compression zstd)

-- name: export_year
-- One census year of a table to $path (the year is in the folder name, census_year=<year>).
copy (
    select * exclude (census_year) from {{ relation }} where census_year = $census_year
) to $path (format parquet, compression zstd)
