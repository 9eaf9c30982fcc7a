-- One row per census_year x standard_id x stage: how many counties of the warehouse meet the
-- standard, fail it or cannot be judged yet, and how many are monitored; the counts the province
-- overview, the run summary and `junheng run` print.

with

balance as (
    select * from marts.county_balance
    where census_year = $census_year
),

monitoring_status as (
    select * from monitoring.county_alert_status
    where census_year = $census_year
),

final as (
    select
        $census_year::integer as census_year,
        balance.standard_id,
        balance.stage,
        count(*)::bigint as n_counties,
        count_if(balance.meets_standard)::bigint as n_meeting_standard,
        count_if(not balance.meets_standard)::bigint as n_failing_standard,
        count_if(balance.meets_standard is null)::bigint as n_undecided_standard,
        count_if(balance.meets_cv_rule)::bigint as n_meeting_cv_rule,
        count_if(not balance.meets_cv_rule)::bigint as n_failing_cv_rule,
        count_if(balance.meets_cv_rule is null)::bigint as n_undecided_cv_rule,
        count_if(balance.is_provisional)::bigint as n_provisional,
        count_if(monitoring_status.is_monitored)::bigint as n_monitored_counties,
    from balance
    left join monitoring_status using (county_code, stage, standard_id)
    group by all
)

select * from final
