-- Queries of pipelines/lib/loads/revisions.py (audit.revisions).

-- name: current_load
-- The committed load whose data the census year holds now (before this load commits), if any.
select load_id
from audit.census_year_loads
where census_year = $census_year and is_current and status = 'committed' and load_id <> $load_id

-- name: create_before
-- The coefficients of the run's years as they were before it replaced them (a temporary table of
-- the run's connection).
create temp table if not exists before_county_indicator_cv as
select * from marts.county_indicator_cv limit 0

-- name: keep_before
insert into before_county_indicator_cv
select * from marts.county_indicator_cv where census_year = $census_year

-- name: has_before
select count(*) > 0
from duckdb_tables()
where temporary and table_name = 'before_county_indicator_cv'

-- name: changed_counties
-- Counties whose coefficients of the year differ between the table now and as it was before this
-- load replaced it: a coefficient or county mean that appeared, went or
-- moved by more than 1e-9 of itself, or another number of schools. (The tolerance keeps the last
-- bits of floating sums, which may differ between two loads of the same files at national scale,
-- from counting as a revision.)
select distinct county_code
from (select * from marts.county_indicator_cv where census_year = $census_year) as now
full join (select * from before_county_indicator_cv where census_year = $census_year) as before
    using (census_year, county_code, stage, standard_id, indicator_id)
where now.n_schools is distinct from before.n_schools
    or (now.cv is null) <> (before.cv is null)
    or abs(now.cv - before.cv) > 1e-9 * abs(before.cv)
    or (now.mean_value is null) <> (before.mean_value is null)
    or abs(now.mean_value - before.mean_value) > 1e-9 * abs(before.mean_value)
order by 1

-- name: counties_of_year
select distinct county_code from raw.census_schools where census_year = $census_year order by 1

-- name: forget
-- The step may run again in the same load (a retried run): its record is written anew.
delete from audit.revisions where load_id = $load_id and census_year = $census_year

-- name: insert
insert into audit.revisions by name select * from arrow_table
