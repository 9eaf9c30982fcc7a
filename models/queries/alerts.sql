-- What the alert engine (pipelines/lib/monitoring/alerts.py) reads for one census year. The
-- rules themselves are in models/rules/*.yaml; these only fetch the figures they look at.

-- name: trends
-- This year's trends and every year before it (a run of failing years is counted to its start).
select *
from monitoring.county_trends
where census_year <= $census_year

-- name: data_status
select * from monitoring.county_data_status where census_year = $census_year

-- name: failing_sections
-- Per county, stage and standard with a per-school rule: school sections that fail it.
select
    compliance.county_code,
    compliance.stage,
    compliance.standard_id,
    count_if(not compliance.is_compliant) as n_failing_sections
from marts.school_compliance as compliance
inner join marts.standards as standards using (standard_id)
where compliance.census_year = $census_year and standards.school_rule_min_met is not null
group by all

-- name: previous_alerts
-- Last year's alerts, to tell new from continuing and resolved.
select * from monitoring.backsliding_alerts where census_year = $census_year - 1

-- name: county_names
select county_code, county_name from marts.dim_counties

-- name: metric_names
select distinct standard_id, indicator_id, name_zh from marts.standard_indicators

-- name: driver_schools
-- The three schools that move each alerted county's coefficient most (alert_groups: the county,
-- stage and standard of every active alert, registered from Python).
select drivers.*
from monitoring.school_drivers as drivers
semi join alert_groups using (county_code, stage, standard_id)
where drivers.census_year = $census_year and drivers.driver_rank <= 3

-- name: school_values
-- Every included school's value in the alerted county groups, for the what-if floor.
select county_code, stage, standard_id, indicator_id, value, students
from marts.school_indicators as school_values
semi join alert_groups using (county_code, stage, standard_id)
where school_values.census_year = $census_year
    and school_values.students > 0
    and school_values.value is not null
order by county_code, stage, standard_id, indicator_id, school_id

-- name: indicators
select standard_id, stage, indicator_id, name_zh, unit, scale from marts.standard_indicators

-- name: duplicate_alert_ids
-- The asset's blocking check: alert_id is unique within the year just written.
select count(*) - count(distinct alert_id)
from monitoring.backsliding_alerts
where census_year = $census_year

-- name: latest_year
select max(census_year) from monitoring.backsliding_alerts

-- name: severity_rank
select rank from marts.alert_severities where severity = $severity

-- name: alert_list
-- The alerts of one year as `junheng alerts` and the new-alert files show them: worst first,
-- resolved last; filters are off when their parameter is null.
select *
from monitoring.backsliding_alerts
where census_year = $census_year
    and severity_rank >= $min_rank
    and list_contains($statuses, status)
    and ($county_code is null or county_code = $county_code)
order by status = 'resolved', severity_rank desc, county_code, stage, standard_id, rule_id, indicator_id

-- name: rule_names
-- Every rule's Chinese name, and the data hold's (its severity's name), for the alert lists.
select rule_id, name_zh from marts.alert_rules
union all
select severity, name_zh from marts.alert_severities where severity = 'data_hold'

-- name: ladder_worst_first
select severity, rank from marts.alert_severities order by rank desc
