-- What the province's annual monitoring report reads (pipelines/lib/outputs/province_report.py):
-- one census year of the published snapshot. Each statement reads one table, so every figure in
-- the report cites its table, key and column; the order of a list is the order of its query.

-- name: year_summary
select * from monitoring.year_summary where census_year = $census_year

-- name: standards
select * from marts.standards order by standard_id

-- name: areas
-- The province first, then its prefectures; per standard, primary before junior.
select *
from monitoring.area_summary
where census_year = $census_year
order by province_code, area_level = 'prefecture', area_code, standard_id, stage desc

-- name: severities
select * from monitoring.severity_summary where census_year = $census_year order by standard_id, stage desc, severity_rank desc

-- name: changes
-- Counties whose verdict changed since last year: newly failing first.
select *
from monitoring.county_verdict_changes
where census_year = $census_year and verdict_change in ('newly_failing', 'recovered')
order by verdict_change = 'recovered', standard_id, stage desc, county_code

-- name: counties
-- Every county's verdicts, by prefecture and county, for the prefecture sections.
select *
from monitoring.county_verdict_changes
where census_year = $census_year
order by prefecture_code, county_code, standard_id, stage desc

-- name: ranking
-- Per standard and stage, certified counties first, each group from the furthest from the
-- standard: the composite CV (standards judged on it), else indicators over the threshold, then
-- the largest indicator CV.
select *
from monitoring.county_verdict_changes
where census_year = $census_year
order by
    standard_id,
    stage desc,
    is_monitored desc,
    case when standard_id in (select standard_id from marts.standards where cv_rule = 'composite') then composite_cv end desc nulls last,
    n_indicators_over_threshold desc nulls last,
    max_indicator_cv desc nulls last,
    county_code

-- name: alerts
-- The year's active alerts at warning or worse, worst first.
select *
from monitoring.backsliding_alerts
where census_year = $census_year
    and status in ('new', 'continuing')
    and severity_rank >= (select rank from marts.alert_severities where severity = 'warning')
order by severity_rank desc, county_code, standard_id, stage desc, rule_id

-- name: checklist
-- The evaluation checklist counted: the province first, then each county, most checkpoints not
-- met first (marts.county_checklist_summary).
select summary.*, checklists.standard_id,
from marts.county_checklist_summary as summary
inner join (select distinct checklist_id, standard_id from marts.checklist_checkpoints) as checklists
    using (checklist_id)
where summary.census_year = $census_year
order by summary.checklist_id, summary.area_level desc, summary.n_not_met desc, summary.area_code
