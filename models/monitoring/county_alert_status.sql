-- One row per census_year x county_code x stage x standard_id (every county-stage of
-- marts.county_balance): whether the county is monitored for the standard, its certification, and
-- its alerts this year: the worst active severity and how many alerts are active or resolved.
-- The reports' badges and the province counts (monitoring.severity_summary) read these columns.

with

balance as (
    select census_year, county_code, stage, standard_id
    from marts.county_balance
    where census_year = $census_year
),

-- certification is per county and standard (one home: monitoring.county_trends)
certification as (
    select distinct county_code, standard_id, certified_year, revoked_year, certification_state, is_monitored,
    from monitoring.county_trends
    where census_year = $census_year
),

alerts as (
    select * from monitoring.backsliding_alerts
    where census_year = $census_year
),

per_group as (
    select
        county_code, stage, standard_id,
        arg_max(severity, severity_rank) filter (where status <> 'resolved') as worst_active_severity,
        max(severity_rank) filter (where status <> 'resolved') as worst_active_rank,
        count(*) filter (where status <> 'resolved') as n_active_alerts,
        count(*) filter (where status = 'resolved') as n_resolved_alerts,
    from alerts
    group by all
),

joined as (
    select
        balance.census_year,
        balance.county_code,
        balance.stage,
        balance.standard_id,
        coalesce(certification.certification_state, 'not_certified') as certification_state,
        coalesce(certification.is_monitored, false) as is_monitored,
        certification.certified_year,
        certification.revoked_year,
        case
            when per_group.worst_active_severity is not null then per_group.worst_active_severity
            when coalesce(certification.is_monitored, false) then 'none'
        end as worst_active_severity,
        per_group.worst_active_rank,
        coalesce(per_group.n_active_alerts, 0)::bigint as n_active_alerts,
        coalesce(per_group.n_resolved_alerts, 0)::bigint as n_resolved_alerts,
    from balance
    left join certification using (county_code, standard_id)
    left join per_group using (county_code, stage, standard_id)
),

county_worst as (
    select
        county_code,
        arg_max(worst_active_severity, worst_active_rank) filter (where worst_active_rank is not null)
            as worst_severity,
        bool_or(is_monitored) as is_county_monitored,
    from joined
    group by all
),

final as (
    select
        joined.*,
        -- the county's worst active alert over every stage and standard (the overview's column):
        -- 'none' for a monitored county without one, null for a county monitored for nothing
        case
            when county_worst.worst_severity is not null then county_worst.worst_severity
            when county_worst.is_county_monitored then 'none'
        end as county_worst_active_severity,
    from joined
    inner join county_worst using (county_code)
)

select * from final
