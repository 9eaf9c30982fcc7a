-- What the first lines of the summary `junheng run` and `junheng demo` print read from the published
-- snapshot (pipelines/runner.py, pipelines/lib/outputs/summary.py): which census years the
-- warehouse holds, and the counties whose data is on hold in the years the run loaded.

-- name: years_held
-- The census years the warehouse holds now: those with a committed, current load.
select distinct census_year
from audit.census_year_loads
where is_current
order by 1

-- name: held_counties
-- The counties whose data is on hold (monitoring.county_data_status.is_provisional: no verdict
-- until the data is checked) in the census years $census_years, worst first: the most schools
-- missing against the previous year, then the most rows refused. n_held counts every held county
-- of the year; at most $top of them are listed.
select
    status.census_year,
    count(*) over (partition by status.census_year) as n_held,
    count(*) over (partition by status.census_year) > $top as has_more_held,
    status.county_code,
    coalesce(counties.county_name, status.county_code) as county_name,
    string_split(status.provisional_reason, '; ') as hold_reasons,
    status.missing_school_share,
    status.schools_missing,
    status.schools_previous_year,
    status.rejected_share,
    status.rows_rejected,
from monitoring.county_data_status as status
left join marts.dim_counties as counties using (county_code)
where status.is_provisional and list_contains($census_years, status.census_year)
qualify row_number() over (
    partition by status.census_year
    order by
        status.missing_school_share desc nulls last,
        status.rejected_share desc nulls last,
        status.county_code
) <= $top
order by
    status.census_year,
    status.missing_school_share desc nulls last,
    status.rejected_share desc nulls last,
    status.county_code
