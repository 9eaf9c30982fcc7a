-- The certification-year check (docs/alerts.md, "The certification-year finding"): for every county
-- certified for a standard in the year before this census year, each judged coefficient (both
-- stages) around the inspection. The inspection looked at the certification year and the year
-- before it; the lower of the two is set against the year before them and against this year
-- (the first year after certification), and the fall against the province's other counties over
-- the same years. The rule that decides (certification_year_dip, models/rules/backsliding.yaml)
-- reads these rows; how unusual "unusual" is lives there, not here.

with

settings as (
    select
        max(value) filter (where setting_id = 'robust_z_min_counties')::integer as min_counties,
        max(value) filter (where setting_id = 'robust_z_mad_scale') as mad_scale,
    from marts.alert_settings
),

-- every county's judged coefficients in the four census years around a certification in
-- $census_year - 1: before ($census_year - 3), the two inspection years, after (this year)
windows as (
    select
        county_code, province_code, stage, standard_id, metric_id,
        any_value(indicator_id) as indicator_id,
        any_value(metric_order) as metric_order,
        max(threshold) filter (where census_year = $census_year) as threshold,
        max(value) filter (where census_year = $census_year - 3) as value_before,
        max(value) filter (where census_year = $census_year - 2) as value_year_before,
        max(value) filter (where census_year = $census_year - 1) as value_certified,
        max(value) filter (where census_year = $census_year) as value_after,
    from monitoring.county_trends
    where is_judged and census_year between $census_year - 3 and $census_year
    group by all
),

checked as (
    select
        windows.*,
        certifications.certified_year,
        -- the inspection year with the lower coefficient (the earlier one on a tie)
        case
            when windows.value_certified is null then $census_year - 2
            when windows.value_year_before is null then $census_year - 1
            when windows.value_year_before <= windows.value_certified then $census_year - 2
            else $census_year - 1
        end as dip_year,
    from windows
    inner join marts.certifications as certifications using (county_code, standard_id)
    where certifications.certified_year = $census_year - 1
        and (certifications.revoked_year is null or certifications.revoked_year > $census_year)
),

dips as (
    select
        *,
        case when dip_year = $census_year - 2 then value_year_before else value_certified end as value_dip,
    from checked
),

-- the province's other counties over the same pairs of years (same stage, standard and metric)
peer_changes as (
    select
        d.county_code, d.stage, d.standard_id, d.metric_id,
        case when d.dip_year = $census_year - 2 then p.value_year_before else p.value_certified end
            - p.value_before as peer_dip_change,
        p.value_after
            - case when d.dip_year = $census_year - 2 then p.value_year_before else p.value_certified end
            as peer_rebound_change,
    from dips as d
    inner join windows as p
        on p.province_code = d.province_code and p.stage = d.stage and p.standard_id = d.standard_id
        and p.metric_id = d.metric_id and p.county_code <> d.county_code
),

peer_medians as (
    select
        county_code, stage, standard_id, metric_id,
        count(peer_dip_change) as n_peers,
        median(peer_dip_change) as peer_median_dip_change,
        median(peer_rebound_change) as peer_median_rebound_change,
    from peer_changes
    group by all
),

peer_spread as (
    select
        p.county_code, p.stage, p.standard_id, p.metric_id,
        median(abs(p.peer_dip_change - m.peer_median_dip_change)) as peer_mad_dip_change,
        median(abs(p.peer_rebound_change - m.peer_median_rebound_change)) as peer_mad_rebound_change,
    from peer_changes as p
    inner join peer_medians as m using (county_code, stage, standard_id, metric_id)
    group by all
),

measured as (
    select
        dips.*,
        dips.value_dip - dips.value_before as dip_change,
        dips.value_after - dips.value_dip as rebound_change,
        coalesce(peer_medians.n_peers, 0) as n_peers,
        peer_medians.peer_median_dip_change,
        peer_medians.peer_median_rebound_change,
        peer_spread.peer_mad_dip_change,
        peer_spread.peer_mad_rebound_change,
        settings.min_counties,
        settings.mad_scale,
    from dips
    cross join settings
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
        measured.threshold,
        measured.certified_year::integer as certified_year,
        ($census_year - 3)::integer as before_year,
        measured.value_before,
        measured.dip_year::integer as dip_year,
        measured.value_dip,
        measured.value_after,
        measured.dip_change,
        case when measured.value_before > 0 then 1 - measured.value_dip / measured.value_before end as dip_share,
        case
            when measured.value_before > measured.value_dip
                then measured.rebound_change / (measured.value_before - measured.value_dip)
        end as rebound_share,
        measured.n_peers::bigint as n_peer_counties,
        measured.peer_median_dip_change,
        case
            when measured.dip_change is not null and measured.n_peers >= measured.min_counties
                and measured.peer_mad_dip_change > 0
                then (measured.dip_change - measured.peer_median_dip_change)
                    / (measured.mad_scale * measured.peer_mad_dip_change)
        end as dip_robust_z,
        case
            when measured.rebound_change is not null and measured.n_peers >= measured.min_counties
                and measured.peer_mad_rebound_change > 0
                then (measured.rebound_change - measured.peer_median_rebound_change)
                    / (measured.mad_scale * measured.peer_mad_rebound_change)
        end as rebound_robust_z,
        case
            when measured.value_before is null or measured.value_dip is null or measured.value_after is null
                then 'years_not_loaded'
            when measured.n_peers < measured.min_counties then 'too_few_counties'
            when not measured.peer_mad_dip_change > 0 then 'zero_spread'
        end as check_null_reason,
    from measured
    left join marts.dim_counties as counties using (county_code)
)

select * from final
