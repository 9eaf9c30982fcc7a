-- One row per census_year: the year at a glance, as the province overview's heading and
-- `junheng alerts` print it: counties loaded, the loaded years so far, counties monitored, and
-- the alerts (active, new, continuing, resolved) with the counties they concern.

with

balance as (
    select * from marts.county_balance
    where census_year <= $census_year
),

loaded_years as (
    select
        min(census_year)::integer as first_loaded_year,
        count(distinct census_year)::bigint as n_loaded_years,
    from balance
),

counties as (
    select count(distinct county_code)::bigint as n_counties
    from balance
    where census_year = $census_year
),

monitored as (
    select count(distinct county_code) filter (where is_monitored)::bigint as n_monitored_counties
    from monitoring.county_alert_status
    where census_year = $census_year
),

alerts as (
    select
        count(*) filter (where status <> 'resolved')::bigint as n_active_alerts,
        count(*) filter (where status = 'new')::bigint as n_new_alerts,
        count(*) filter (where status = 'continuing')::bigint as n_continuing_alerts,
        count(*) filter (where status = 'resolved')::bigint as n_resolved_alerts,
        count(distinct county_code) filter (where status <> 'resolved')::bigint as n_counties_with_active_alerts,
    from monitoring.backsliding_alerts
    where census_year = $census_year
),

final as (
    select
        $census_year::integer as census_year,
        loaded_years.first_loaded_year,
        loaded_years.n_loaded_years,
        counties.n_counties,
        monitored.n_monitored_counties,
        alerts.n_active_alerts,
        alerts.n_new_alerts,
        alerts.n_continuing_alerts,
        alerts.n_resolved_alerts,
        alerts.n_counties_with_active_alerts,
    from loaded_years, counties, monitored, alerts
)

select * from final
