-- The benchmarks' own statements (bench/steps.py, bench/run.py), read by the project's query
-- loader (pipelines/lib/queries.py). The baselines are here too: they are what is measured against.

-- name: count_csv
-- The scan baseline of ingest: DuckDB counting the rows of a CSV extract.
select count(*) from read_csv($path, header = true)

-- name: count_parquet
select count(*) from read_parquet($path)

-- name: census_year_rows
-- The rows the pandas notebook baseline starts from (read before the clock starts).
select * from raw.census_schools where census_year = $census_year

-- name: indicator_cvs
-- Our coefficients, to compare with the baseline's.
select standard_id, census_year, county_code, stage, indicator_id, n_schools, cv
from marts.county_indicator_cv
where census_year = $census_year

-- name: county_codes
select county_code from marts.dim_counties

-- name: latest_undo_copy
-- The undo copy of the latest committed load of a year, as its journal row records it.
select saved_tables, saved_rows, save_seconds
from audit.census_year_loads
where census_year = $census_year and status = 'committed'
order by started_at desc
limit 1
