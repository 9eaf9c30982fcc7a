-- What the HTML reports read from the published snapshot (pipelines/lib/outputs/reports/data.py):
-- one census year ($census_year) and, for the charts, the years before it. Each statement reads
-- one table, so every figure on a page can name the table, key and column it came from; the
-- order of the rows is the order the pages show them in.

-- name: loaded_years
select distinct census_year from marts.county_balance order by 1

-- name: counties
select * from marts.dim_counties order by county_code

-- name: provinces
-- One county row per province (its first), to cite the province's name from.
select * from marts.dim_counties
qualify row_number() over (partition by province_code order by county_code) = 1
order by province_code

-- name: standards
select * from marts.standards order by standard_id

-- name: indicators
select * from marts.standard_indicators order by standard_id, stage, indicator_order

-- name: settings
select * from marts.alert_settings

-- name: school_types
select * from marts.dim_school_types

-- name: urban_rural
select * from marts.dim_urban_rural

-- name: balance
-- Every year up to the report's, for the trend charts.
select *
from marts.county_balance
where census_year <= $census_year
order by county_code, standard_id, stage desc, census_year

-- name: ranking
-- The report year's county results in ranking order: the composite CV from the highest (standards
-- judged on the composite), else the indicators over the threshold, then the largest indicator CV.
select *
from marts.county_balance
where census_year = $census_year
order by
    standard_id,
    stage desc,
    case when cv_rule = 'composite' then composite_cv end desc nulls last,
    n_indicators_over_threshold desc nulls last,
    max_indicator_cv desc nulls last,
    county_code

-- name: indicator_cv
select *
from marts.county_indicator_cv
where census_year <= $census_year
order by county_code, standard_id, stage desc, indicator_order, census_year

-- name: trends
select * from monitoring.county_trends where census_year = $census_year

-- name: alerts
-- Worst first, resolved last (as `junheng alerts`).
select *
from monitoring.backsliding_alerts
where census_year = $census_year
order by status = 'resolved', severity_rank desc, county_code, standard_id, stage desc, rule_id, indicator_id

-- name: drivers
-- The schools that move each coefficient most (how many: the setting top_driver_schools).
select *
from monitoring.school_drivers
where census_year = $census_year
    and driver_rank <= (select value from marts.alert_settings where setting_id = 'top_driver_schools')
order by county_code, standard_id, stage desc, indicator_id, driver_rank

-- name: school_checks
-- School sections that fail a check of marts.school_compliance or cannot be judged yet.
select *
from marts.school_compliance
where census_year = $census_year and (fails_any_check or is_school_rule_undecided)
order by county_code, standard_id, stage desc, n_met nulls first, school_id

-- name: data_status
select * from monitoring.county_data_status where census_year = $census_year

-- name: alert_status
select * from monitoring.county_alert_status where census_year = $census_year

-- name: verdict_runs
select * from monitoring.county_verdict_runs where census_year = $census_year

-- name: standard_summary
select * from monitoring.standard_summary where census_year = $census_year order by standard_id, stage desc

-- name: severity_summary
select * from monitoring.severity_summary where census_year = $census_year order by severity_rank desc

-- name: year_summary
select * from monitoring.year_summary where census_year = $census_year

-- name: what_if_plans
select *
from monitoring.what_if_plans
where census_year = $census_year
order by county_code, standard_id, stage desc, plan_metric_id, metric_id = plan_metric_id desc, metric_id

-- name: what_if_schools
-- The schools a plan raises, the largest need first.
select *
from monitoring.what_if_schools
where census_year = $census_year
order by county_code, standard_id, stage desc, plan_metric_id, indicator_id, amount_needed desc, school_id

-- name: revisions
-- Census years up to the report's year that were loaded again (corrected) or late, with the
-- counties whose coefficients changed (audit.revisions), newest first.
select *
from audit.revisions
where census_year <= $census_year
order by revised_at desc, census_year

-- name: checklist
-- Every county's evaluation checklist, checkpoint by checkpoint (the county pages' A/B/C tree).
select *
from marts.county_checklist
where census_year = $census_year
order by county_code, checklist_id, checkpoint_order
