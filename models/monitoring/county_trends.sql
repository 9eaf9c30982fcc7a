-- One row per census_year x county_code x stage x standard_id x metric_id: where each coefficient
-- stands against its threshold and where it is heading (docs/methodology.md §5.1). metric_id is 'composite'
-- (the mean of the indicator CVs) or an indicator id. A metric is judged (has a threshold) where
-- its standard's CV rule judges it: basic_2012 the composite, quality_2017 each indicator.
-- Window sizes and minimum counts come from marts.alert_settings (models/rules/*.yaml).

with

settings as (
    select
        max(value) filter (where setting_id = 'slope_window_years')::integer as window_years,
        max(value) filter (where setting_id = 'slope_min_points')::integer as min_points,
        max(value) filter (where setting_id = 'robust_z_min_counties')::integer as min_counties,
        max(value) filter (where setting_id = 'robust_z_mad_scale') as mad_scale,
        max(value) filter (where setting_id = 'projection_horizon_years')::integer as horizon_years,
        max(value) filter (where setting_id = 'min_rise') as min_rise,
    from marts.alert_settings
),

counties as (
    select county_code, province_code from marts.dim_counties
),

composites as (
    select
        census_year, county_code, stage, standard_id,
        'composite' as metric_id,
        null::varchar as indicator_id,
        0 as metric_order,
        composite_cv as value,
        case when cv_rule = 'composite' then cv_threshold end as threshold,
    from marts.county_balance
    where census_year <= $census_year
),

indicators as (
    select
        census_year, county_code, stage, standard_id,
        indicator_id as metric_id,
        indicator_id,
        indicator_order as metric_order,
        cv as value,
        cv_threshold as threshold,
    from marts.county_indicator_cv
    where census_year <= $census_year
),

history as (
    select * from composites
    union all by name
    select * from indicators
),

current_year as (
    select * from history where census_year = $census_year
),

previous_year as (
    select county_code, stage, standard_id, metric_id, value as previous_value
    from history
    where census_year = $census_year - 1
),

-- Theil–Sen: the median of the slopes between every pair of years in the window
window_points as (
    select history.*
    from history
    cross join settings
    where history.census_year > $census_year - settings.window_years and history.value is not null
),

points as (
    select county_code, stage, standard_id, metric_id, count(*) as n_points
    from window_points
    group by all
),

pair_slopes as (
    select
        a.county_code, a.stage, a.standard_id, a.metric_id,
        median((b.value - a.value) / (b.census_year - a.census_year)) as slope,
    from window_points as a
    inner join window_points as b
        on a.county_code = b.county_code and a.stage = b.stage and a.standard_id = b.standard_id
        and a.metric_id = b.metric_id and a.census_year < b.census_year
    group by all
),

-- consecutive rises ending this year: years since the last year that was not a rise. A change
-- smaller than min_rise is no rise (it shows as 0.000 at the published three decimals).
yearly_changes as (
    select
        h.county_code, h.stage, h.standard_id, h.metric_id, h.census_year,
        coalesce(h.value - p.value >= settings.min_rise, false) as is_rise,
    from history as h
    cross join settings
    left join history as p
        on p.county_code = h.county_code and p.stage = h.stage and p.standard_id = h.standard_id
        and p.metric_id = h.metric_id and p.census_year = h.census_year - 1
),

rises as (
    select
        county_code, stage, standard_id, metric_id,
        $census_year - max(census_year) filter (where not is_rise) as rising_years,
    from yearly_changes
    group by all
),

-- consecutive loaded census years up to this one in which the metric was above its threshold
-- (a year with no value, or at or below the threshold, ends the run)
breaches as (
    select
        county_code, stage, standard_id, metric_id,
        count(*) filter (
            where census_year > coalesce(last_ok_year, -1)
        ) as breach_years,
        min(census_year) filter (
            where census_year > coalesce(last_ok_year, -1)
        ) as breach_since_year,
    from (
        select
            *,
            max(census_year) filter (where not coalesce(value > threshold, false)) over (
                partition by county_code, stage, standard_id, metric_id
            ) as last_ok_year,
        from history
    )
    group by all
),

with_change as (
    select
        current_year.*,
        counties.province_code,
        previous_year.previous_value,
        current_year.value - previous_year.previous_value as change,
    from current_year
    inner join counties using (county_code)
    left join previous_year using (county_code, stage, standard_id, metric_id)
),

-- robust z of the yearly change against the other counties of the province (leave-one-out):
-- every county's change beside each other county's of the province (about 12 million pairs for
-- the whole country), built once and read by the three aggregates below
peer_changes as materialized (
    select
        c.county_code, c.stage, c.standard_id, c.metric_id,
        o.change as peer_change,
        c.change as own_change,
    from with_change as c
    inner join with_change as o
        on o.province_code = c.province_code and o.stage = c.stage and o.standard_id = c.standard_id
        and o.metric_id = c.metric_id and o.county_code <> c.county_code
    where o.change is not null
),

-- with where the county's change stands among the other counties' changes: the share of them
-- whose change was smaller (the words of the unusual-rise alert, "升幅高于全省 95% 的县")
peer_medians as (
    select county_code, stage, standard_id, metric_id,
        count(*) as n_peers,
        median(peer_change) as peer_median_change,
        avg((peer_change < own_change)::integer) as peer_share_below,
    from peer_changes
    group by all
),

peer_spread as (
    select p.county_code, p.stage, p.standard_id, p.metric_id,
        median(abs(p.peer_change - m.peer_median_change)) as peer_mad_change,
    from peer_changes as p
    inner join peer_medians as m using (county_code, stage, standard_id, metric_id)
    group by all
),

certified as (
    select
        county_code, standard_id, certified_year, revoked_year,
        certified_year <= $census_year and (revoked_year is null or $census_year < revoked_year)
            as is_monitored,
    from marts.certifications
),

measured as (
    select
        w.*,
        points.n_points,
        case when coalesce(points.n_points, 0) >= settings.min_points then pair_slopes.slope end as slope,
        rises.rising_years,
        breaches.breach_years,
        breaches.breach_since_year,
        peer_medians.peer_share_below,
        peer_medians.n_peers,
        peer_medians.peer_median_change,
        peer_spread.peer_mad_change,
        settings.min_points,
        settings.min_counties,
        settings.mad_scale,
        settings.horizon_years,
    from with_change as w
    cross join settings
    left join points using (county_code, stage, standard_id, metric_id)
    left join pair_slopes using (county_code, stage, standard_id, metric_id)
    left join rises using (county_code, stage, standard_id, metric_id)
    left join breaches using (county_code, stage, standard_id, metric_id)
    left join peer_medians using (county_code, stage, standard_id, metric_id)
    left join peer_spread using (county_code, stage, standard_id, metric_id)
),

final as (
    select
        $census_year::integer as census_year,
        measured.county_code,
        counties.county_name,
        measured.province_code,
        measured.stage,
        measured.standard_id,
        measured.metric_id,
        measured.indicator_id,
        measured.metric_order,
        measured.threshold is not null as is_judged,
        measured.value,
        measured.threshold,
        measured.threshold - measured.value as margin,
        measured.value / measured.threshold as ratio_to_threshold,
        measured.previous_value,
        measured.change,
        coalesce(measured.n_points, 0)::bigint as n_points,
        measured.slope,
        case
            when measured.value is null then 'no_value'
            when measured.slope is null then 'fewer_than_min_points'
        end as slope_null_reason,
        case
            when measured.threshold is null or measured.slope is null or measured.slope <= 0
                or measured.value > measured.threshold then null
            -- the first later year in which value + slope * k exceeds the threshold, within the horizon
            when floor((measured.threshold - measured.value) / measured.slope) + 1 <= measured.horizon_years
                then $census_year + floor((measured.threshold - measured.value) / measured.slope)::integer + 1
        end as projected_breach_year,
        case
            when measured.threshold is null then 'not_judged'
            when measured.value is null then 'no_value'
            when measured.value > measured.threshold then 'above_threshold'
            when measured.slope is null then 'no_slope'
            when measured.slope <= 0 then 'not_rising'
            when floor((measured.threshold - measured.value) / measured.slope) + 1 > measured.horizon_years
                then 'beyond_horizon'
        end as projection_null_reason,
        measured.horizon_years::integer as projection_horizon_years,
        coalesce(measured.n_peers, 0)::bigint as n_peer_counties,
        measured.peer_median_change,
        measured.peer_mad_change,
        case
            when measured.change is not null and measured.n_peers >= measured.min_counties
                and measured.peer_mad_change > 0
                then (measured.change - measured.peer_median_change)
                    / (measured.mad_scale * measured.peer_mad_change)
        end as robust_z,
        case
            when measured.change is null then 'no_change'
            when coalesce(measured.n_peers, 0) < measured.min_counties then 'too_few_counties'
            when not measured.peer_mad_change > 0 then 'zero_spread'
        end as robust_z_null_reason,
        coalesce(measured.rising_years, 0)::bigint as rising_years,
        coalesce(measured.breach_years, 0)::bigint as breach_years,
        case when measured.breach_years > 0 then measured.breach_since_year end::integer as breach_since_year,
        case when measured.change is not null and measured.n_peers > 0 then measured.peer_share_below end
            as peer_share_below,
        coalesce(certified.is_monitored, false) as is_monitored,
        case
            when certified.certified_year is null then 'not_certified'
            when certified.revoked_year is not null and certified.revoked_year <= $census_year then 'revoked'
            when certified.certified_year > $census_year then 'certified_later'
            else 'monitored'
        end as certification_state,
        certified.certified_year,
        certified.revoked_year,
    from measured
    left join certified using (county_code, standard_id)
    left join marts.dim_counties as counties using (county_code)
)

select * from final
