-- One row per census_year x standard_id x stage x severity (every severity of the ladder, and
-- 'none'): how many monitored counties have that severity as their worst active alert for the
-- standard and stage (monitoring.county_alert_status), and how many active alerts of that severity
-- there are. The province overview's badges print these counts.

with

severities as (
    select severity, rank as severity_rank from marts.alert_severities
    union all
    select 'none' as severity, -1 as severity_rank
),

groups as (
    select distinct standard_id, stage from marts.county_balance where census_year = $census_year
),

monitoring_status as (
    select * from monitoring.county_alert_status
    where census_year = $census_year and is_monitored
),

alerts as (
    select standard_id, stage, severity, count(*) as n_active_alerts,
    from monitoring.backsliding_alerts
    where census_year = $census_year and status <> 'resolved'
    group by all
),

counties as (
    select standard_id, stage, worst_active_severity as severity, count(*) as n_counties,
    from monitoring_status
    group by all
),

final as (
    select
        $census_year::integer as census_year,
        groups.standard_id,
        groups.stage,
        severities.severity,
        severities.severity_rank::integer as severity_rank,
        coalesce(counties.n_counties, 0)::bigint as n_counties,
        coalesce(alerts.n_active_alerts, 0)::bigint as n_active_alerts,
    from groups
    cross join severities
    left join counties using (standard_id, stage, severity)
    left join alerts using (standard_id, stage, severity)
)

select * from final
