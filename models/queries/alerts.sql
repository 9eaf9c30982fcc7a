-- What the alert engine (pipelines/lib/monitoring/alerts.py) reads for one census year. The
-- rules themselves are in models/rules/*.yaml; these only fetch the figures they look at.

-- name: trends
-- This year's trends and every year before it (a run of failing years is counted to its start).
select *
from monitoring.county_trends
where census_year <= $census_year

-- name: data_status
select * from monitoring.county_data_status where census_year = $census_year

-- name: school_rule_counts
-- Per county, stage and standard with a per-school rule: the sections failing it (one home:
-- marts.county_balance.n_failing_school_rule, the count the county page's list has).
select balance.county_code, balance.stage, balance.standard_id, balance.n_failing_school_rule
from marts.county_balance as balance
where balance.census_year = $census_year and balance.n_failing_school_rule is not null

-- name: verdict_runs
-- This year's failing runs of the CV and per-school parts of each standard.
select county_code, stage, standard_id, verdict, is_failing, failing_since_year, failing_years
from monitoring.county_verdict_runs
where census_year = $census_year

-- name: certification_year_checks
-- The certification-year check of the counties certified last year (rule certification_year_dip).
select *
from monitoring.certification_year_checks
where census_year = $census_year
order by county_code, standard_id, stage, metric_order

-- name: what_if_plans
-- The what-if plan rows of each judged metric (a plan's own row; a composite plan's indicator rows
-- are read by the reports).
select *
from monitoring.what_if_plans
where census_year = $census_year and plan_metric_id = metric_id

-- name: previous_alerts
-- Last year's alerts, to tell new from continuing and resolved.
select * from monitoring.backsliding_alerts where census_year = $census_year - 1

-- name: county_names
select county_code, county_name from marts.dim_counties

-- name: driver_schools
-- The schools that move each alerted county's coefficient most (alert_groups: the county, stage and
-- standard of every active alert, registered from Python; how many: the setting top_driver_schools).
select drivers.*
from monitoring.school_drivers as drivers
semi join alert_groups using (county_code, stage, standard_id)
where drivers.census_year = $census_year
    and drivers.driver_rank <= (select value from marts.alert_settings where setting_id = 'top_driver_schools')

-- name: duplicate_alert_ids
-- The asset's blocking check: alert_id is unique within the year just written.
select count(*) - count(distinct alert_id)
from monitoring.backsliding_alerts
where census_year = $census_year

-- name: latest_year
select max(census_year) from monitoring.backsliding_alerts

-- name: alert_ids
-- The alert ids of a census year as the table holds them (before a run rebuilds the year: the
-- alerts already announced).
select alert_id from monitoring.backsliding_alerts where census_year = $census_year

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
    and (cast($alert_ids as varchar[]) is null or list_contains(cast($alert_ids as varchar[]), alert_id))
order by status = 'resolved', severity_rank desc, county_code, stage, standard_id, rule_id, indicator_id

-- name: rule_names
-- Every rule's Chinese name, and the data hold's (its severity's name), for the alert lists.
select rule_id, name_zh from marts.alert_rules
union all
select severity, name_zh from marts.alert_severities where severity = 'data_hold'

-- name: ladder_worst_first
select severity, rank from marts.alert_severities order by rank desc

-- name: rule_templates
select rule_id, message_zh, message_en from marts.alert_rules

-- name: message_templates
select message_id, message_zh, message_en from marts.alert_messages

-- name: year_summary
select * from monitoring.year_summary where census_year = $census_year

-- name: worst_per_group
-- The demo's summary: per county, stage and standard its worst active alert at $min_rank or
-- worse, worst first, at most $limit of them; n_more says how many the limit left out.
with worst as (
    select *
    from monitoring.backsliding_alerts
    where census_year = $census_year and status in ('new', 'continuing') and severity_rank >= $min_rank
    qualify row_number() over (partition by county_code, stage, standard_id order by severity_rank desc, rule_id) = 1
)
select *, greatest(count(*) over () - $limit, 0) as n_more
from worst
order by severity_rank desc, county_code, stage desc, standard_id
limit $limit

-- name: planted_precision
-- The demo's alert list against what its generator planted (planted_groups: the county-stage-
-- standards of truth.json's scenarios that plant an alert), year by year: the active alerts at
-- warning or worse, and how many of them are real problems: a planted problem, or a genuine
-- failure (a coefficient above its threshold, schools failing the per-school rule, or a census
-- checkpoint of the checklist not met).
with

active as (
    select
        alerts.census_year,
        alerts.county_code,
        alerts.stage,
        alerts.standard_id,
        alerts.observed_value > alerts.threshold
            or coalesce(alerts.n_failing_schools, 0) > 0
            -- a checklist finding states a census checkpoint the warehouse judged not met
            or alerts.checkpoint_code is not null as is_failure
    from monitoring.backsliding_alerts as alerts
    where alerts.status in ('new', 'continuing')
        and alerts.severity_rank >= (select rank from marts.alert_severities where severity = 'warning')
),

judged as (
    select
        active.census_year,
        active.is_failure
        or exists (
            from planted_groups as planted
            where planted.county_code = active.county_code
                and (planted.stage is null or planted.stage = active.stage)
                and planted.standard_id = active.standard_id
        ) as is_real
    from active
),

final as (
    select
        census_year,
        count(*) as n_alerts,
        count(*) filter (where is_real) as n_real,
        count(*) filter (where is_real) / count(*) as precision
    from judged
    group by census_year
)

select * from final order by census_year

-- name: planted_recall
-- The alerts the demo's generator planted (planted_alerts: truth.json's expected alerts) and how
-- many the warehouse raised: an active alert of the county-stage-standard in that year with the
-- planted rule among its fired rules (a planted finding with a null stage: on either stage).
with

found as (
    select
        exists (
            from monitoring.backsliding_alerts as alerts
            where alerts.census_year = planted.census_year
                and alerts.county_code = planted.county_code
                and (planted.stage is null or alerts.stage = planted.stage)
                and alerts.standard_id = planted.standard_id
                and alerts.status in ('new', 'continuing')
                and list_contains(alerts.fired_rules, planted.rule_id)
        ) as is_found
    from planted_alerts as planted
)

select
    count(*) as n_planted,
    count(*) filter (where is_found) as n_found,
    count(*) filter (where not is_found) = 0 as all_found
from found

-- name: watch_rows
-- The most active watch rows any county has in one census year (the noise a reader wades through).
select coalesce(max(n_rows), 0) as max_watch_rows_per_county_year
from (
    select census_year, county_code, count(*) as n_rows
    from monitoring.backsliding_alerts
    where status in ('new', 'continuing') and severity = 'watch'
    group by census_year, county_code
)

-- name: checklist_checks
-- This year's checklist checkpoints computed from the census and judged (met not null), with the
-- latest earlier year each was met, for the checklist rule (checkpoint_lapse).
select
    this.county_code,
    this.standard_id,
    this.checklist_id,
    this.checkpoint_code,
    this.checkpoint_order,
    this.wording_zh,
    this.stage,
    this.judged_by,
    this.value_type,
    this.value,
    this.standard_value,
    this.unit,
    this.numerator,
    this.denominator,
    this.base_year,
    this.met,
    (
        select max(earlier.census_year)
        from marts.county_checklist as earlier
        where earlier.county_code = this.county_code
            and earlier.checklist_id = this.checklist_id
            and earlier.checkpoint_code = this.checkpoint_code
            and earlier.census_year < this.census_year
            and earlier.met
    ) as last_met_year,
from marts.county_checklist as this
where this.census_year = $census_year and this.met is not null
order by this.county_code, this.checklist_id, this.checkpoint_order
