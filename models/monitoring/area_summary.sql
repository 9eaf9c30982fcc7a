-- One row per census_year x area (the province, and each of its prefectures) x standard_id x
-- stage: how many counties meet the standard this year and last year, how many newly fail or
-- recovered, how many certified counties fail it, and how many have an alert at warning or worse.
-- Every count the province's annual report states (docs/reports.md).

with

changes as (
    select *
    from monitoring.county_verdict_changes
    where census_year = $census_year
),

warning as (
    select rank from marts.alert_severities where severity = 'warning'
),

counted as (
    select
        province_code,
        prefecture_code,
        standard_id,
        stage,
        grouping(prefecture_code) = 1 as is_province,
        any_value(prefecture_name) as prefecture_name,
        count(*) as n_counties,
        count(*) filter (where meets_standard) as n_meeting_standard,
        count(*) filter (where not meets_standard) as n_failing_standard,
        count(*) filter (where meets_standard is null) as n_undecided_standard,
        count(*) filter (where meets_standard_last_year) as n_meeting_last_year,
        count(*) filter (where not meets_standard_last_year) as n_failing_last_year,
        count(*) filter (where verdict_change = 'newly_failing') as n_newly_failing,
        count(*) filter (where verdict_change = 'recovered') as n_recovered,
        count(*) filter (where is_monitored) as n_monitored,
        count(*) filter (where is_monitored and not meets_standard) as n_monitored_failing,
        count(*) filter (where not is_monitored) as n_not_monitored,
        count(*) filter (where worst_active_rank >= (select rank from warning)) as n_warning_or_worse,
    from changes
    group by grouping sets ((province_code, standard_id, stage), (province_code, prefecture_code, standard_id, stage))
),

final as (
    select
        $census_year::integer as census_year,
        case when counted.is_province then counted.province_code else counted.prefecture_code end as area_code,
        case when counted.is_province then 'province' else 'prefecture' end as area_level,
        case when counted.is_province then provinces.province_name else counted.prefecture_name end as area_name,
        counted.province_code,
        counted.standard_id,
        counted.stage,
        counted.n_counties::bigint as n_counties,
        counted.n_meeting_standard::bigint as n_meeting_standard,
        counted.n_failing_standard::bigint as n_failing_standard,
        counted.n_undecided_standard::bigint as n_undecided_standard,
        counted.n_meeting_last_year::bigint as n_meeting_last_year,
        counted.n_failing_last_year::bigint as n_failing_last_year,
        counted.n_newly_failing::bigint as n_newly_failing,
        counted.n_recovered::bigint as n_recovered,
        counted.n_monitored::bigint as n_monitored,
        counted.n_monitored_failing::bigint as n_monitored_failing,
        counted.n_not_monitored::bigint as n_not_monitored,
        counted.n_warning_or_worse::bigint as n_warning_or_worse,
    from counted
    left join (
        select distinct province_code, province_name from marts.dim_counties
    ) as provinces using (province_code)
)

select * from final
