-- One row per census_year x county_code x stage x standard_id x school_id: each school's part of the
-- county's composite CV (综合差异系数, the mean of the standard's indicator CVs). Each indicator's
-- CV is split among the schools by their shares of its CV² (monitoring.school_drivers), and the
-- composite's part is the mean of those splits over the standard's indicators:
--     composite_part_i = (1/K) Σ_k CV_k · share_ik,   Σ_i composite_part_i = composite_cv
-- (docs/methodology.md §2.3). Counties whose composite CV is unknown have no rows.

with

balance as (
    select county_code, stage, standard_id, composite_cv, n_indicators
    from marts.county_balance
    where census_year = $census_year and composite_cv is not null
),

drivers as (
    select *
    from monitoring.school_drivers
    where census_year = $census_year and status <> 'disappeared'
),

parts as (
    select
        drivers.county_code,
        drivers.stage,
        drivers.standard_id,
        drivers.school_id,
        any_value(drivers.school_name) as school_name,
        any_value(drivers.urban_rural_code) as urban_rural_code,
        any_value(drivers.students) as students,
        count(*) as n_indicators_present,
        -- a county-indicator whose schools all sit at its mean has CV 0 and no shares: it adds 0;
        -- summed in indicator order, so that every build gives the same last digit (a parallel
        -- aggregate adds in whatever order its threads meet the rows)
        list_sum(
            list(drivers.county_cv * coalesce(drivers.share_of_cv_squared, 0) order by drivers.indicator_id)
        ) / any_value(balance.n_indicators) as composite_part,
        any_value(balance.composite_cv) as composite_cv,
        any_value(balance.n_indicators) as n_indicators,
    from drivers
    inner join balance using (county_code, stage, standard_id)
    group by all
),

final as (
    select
        $census_year::integer as census_year,
        county_code,
        stage,
        standard_id,
        school_id,
        school_name,
        urban_rural_code,
        students::bigint as students,
        n_indicators_present::bigint as n_indicators_present,
        n_indicators::bigint as n_indicators,
        composite_part,
        composite_cv,
        case when composite_cv > 0 then composite_part / composite_cv end as share_of_composite,
        row_number() over (
            partition by county_code, stage, standard_id order by composite_part desc, school_id
        )::bigint as driver_rank,
    from parts
)

select * from final
