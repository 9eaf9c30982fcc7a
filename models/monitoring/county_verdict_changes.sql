-- One row per census_year x county_code x standard_id x stage: the county's verdict this year
-- beside last year's, and what changed (newly failing, recovered, still meeting, still failing),
-- with its certification and worst active alert. The province's annual report reads it
-- (docs/reports.md, "The province's annual monitoring report").

with

this_year as (
    select county_code, standard_id, stage, meets_standard, composite_cv, cv_threshold,
        n_indicators_over_threshold, max_indicator_cv,
    from marts.county_balance
    where census_year = $census_year
),

last_year as (
    select county_code, standard_id, stage, meets_standard as meets_standard_last_year,
    from marts.county_balance
    where census_year = $census_year - 1
),

status as (
    select county_code, standard_id, stage, is_monitored, certification_state, certified_year,
        worst_active_severity, worst_active_rank,
    from monitoring.county_alert_status
    where census_year = $census_year
),

final as (
    select
        $census_year::integer as census_year,
        this_year.county_code,
        counties.county_name,
        counties.prefecture_code,
        counties.prefecture_name,
        counties.province_code,
        this_year.standard_id,
        this_year.stage,
        this_year.meets_standard,
        last_year.meets_standard_last_year,
        case
            when last_year.county_code is null then 'not_loaded_last_year'
            when this_year.meets_standard is null or last_year.meets_standard_last_year is null then 'undecided'
            when this_year.meets_standard and not last_year.meets_standard_last_year then 'recovered'
            when not this_year.meets_standard and last_year.meets_standard_last_year then 'newly_failing'
            when this_year.meets_standard then 'still_meeting'
            else 'still_failing'
        end as verdict_change,
        this_year.composite_cv,
        this_year.cv_threshold,
        this_year.n_indicators_over_threshold,
        this_year.max_indicator_cv,
        coalesce(status.is_monitored, false) as is_monitored,
        coalesce(status.certification_state, 'not_certified') as certification_state,
        status.certified_year,
        status.worst_active_severity,
        status.worst_active_rank,
    from this_year
    left join last_year using (county_code, standard_id, stage)
    left join status using (county_code, standard_id, stage)
    left join marts.dim_counties as counties using (county_code)
)

select * from final
