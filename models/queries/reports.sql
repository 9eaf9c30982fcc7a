-- What the county reports read from the published snapshot
-- (pipelines/lib/outputs/reports/data.py): one census year ($census_year) and the years before it.

-- name: loaded_years
select distinct census_year from marts.county_balance order by 1

-- name: counties
select * from marts.dim_counties order by county_code

-- name: standards
select * from marts.standards order by standard_id

-- name: certifications
select * from marts.certifications

-- name: indicators
select * from marts.standard_indicators order by standard_id, stage, indicator_order

-- name: thresholds
select * from marts.standard_thresholds

-- name: school_types
select school_type_code, name_zh from marts.dim_school_types

-- name: urban_rural
select urban_rural_code, name_zh from marts.dim_urban_rural

-- name: balance
-- Every year up to the report's, for the trend charts.
select *
from marts.county_balance
where census_year <= $census_year
order by county_code, standard_id, stage, census_year

-- name: indicator_cv
select
    census_year,
    county_code,
    stage,
    standard_id,
    indicator_id,
    indicator_order,
    n_schools,
    n_missing_value,
    mean_value,
    cv,
    cv_null_reason,
    cv_threshold,
    passes
from marts.county_indicator_cv
where census_year <= $census_year
order by county_code, standard_id, stage, indicator_order, census_year

-- name: trends
select * from monitoring.county_trends where census_year = $census_year

-- name: alerts
-- Worst first, resolved last (as `junheng alerts`).
select *
from monitoring.backsliding_alerts
where census_year = $census_year
order by status = 'resolved', severity_rank desc, county_code, standard_id, stage, rule_id, indicator_id

-- name: drivers
-- The $top_drivers schools that move each coefficient most.
select *
from monitoring.school_drivers
where census_year = $census_year and driver_rank <= $top_drivers
order by county_code, standard_id, stage, indicator_id, driver_rank

-- name: failing_schools
-- Schools that fail the per-school rule or break a size, class or room standard.
select *
from marts.school_compliance
where census_year = $census_year
    and (is_compliant = false or breaks_school_size or breaks_class_size or breaks_room_standard)
order by county_code, standard_id, stage, is_compliant nulls last, n_met, school_id

-- name: data_status
select * from monitoring.county_data_status where census_year = $census_year

-- name: revisions
-- Census years up to the report's year that were loaded again (corrected) or late, with the
-- counties whose coefficients changed (audit.revisions), newest first.
select census_year, kind, revised_at, rebuilt_years, counties_changed
from audit.revisions
where census_year <= $census_year
order by revised_at desc, census_year
