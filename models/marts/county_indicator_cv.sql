-- One row per census_year x county_code x stage x standard_id x indicator_id: the official
-- student-weighted coefficient of variation (docs/methodology.md §2.1), population form:
--   mean = Σ P_i x_i / P,  sd = sqrt(Σ (P_i / P) (x_i - mean)²),  cv = sd / mean.
-- Floating sums are compensated (fsum) over each group's terms sorted by value, so a re-run with
-- the same data gives bit-identical results whatever the thread scheduling. (Sorting the list is
-- 35% quicker at national scale than an ordered aggregate, `fsum(x order by school_id)`.)

-- A section whose value is unknown (a blank census cell, school_indicators.is_missing_value) is
-- left out of that indicator's coefficient and counted in n_missing_value.

with

school_sections as (
    select * from marts.school_indicators
    where census_year = $census_year and students > 0
),

school_values as (
    select * from school_sections
    where value is not null
),

standards as (
    select * from marts.standards
),

thresholds as (
    select * from marts.standard_thresholds
),

indicator_order as (
    select standard_id, stage, indicator_id, indicator_order from marts.standard_indicators
),

county_means as (
    select
        census_year,
        county_code,
        stage,
        standard_id,
        indicator_id,
        count(value) as n_schools,
        count(*) filter (where is_missing_value) as n_missing_value,
        (sum(students) filter (where value is not null))::bigint as students,
        list_aggregate(list_sort(list(students * value) filter (where value is not null)), 'fsum')
            / sum(students) filter (where value is not null) as mean_value,
    from school_sections
    group by all
),

county_squares as (
    select
        county_means.census_year,
        county_means.county_code,
        county_means.stage,
        county_means.standard_id,
        county_means.indicator_id,
        list_aggregate(
            list_sort(list(school_values.students * (school_values.value - county_means.mean_value) ^ 2)),
            'fsum'
        ) as weighted_squares,
    from county_means
    inner join school_values using (census_year, county_code, stage, standard_id, indicator_id)
    group by all
),

county_spread as (
    select
        county_means.*,
        sqrt(county_squares.weighted_squares / county_means.students) as sd_value,
    from county_means
    left join county_squares using (census_year, county_code, stage, standard_id, indicator_id)
),

final as (
    select
        county_spread.census_year,
        county_spread.county_code,
        county_spread.stage,
        county_spread.standard_id,
        county_spread.indicator_id,
        indicator_order.indicator_order,
        county_spread.n_schools,
        county_spread.n_missing_value,
        county_spread.students,
        county_spread.mean_value,
        county_spread.sd_value,
        case
            when county_spread.n_schools < 2 or county_spread.mean_value = 0 then null
            else county_spread.sd_value / county_spread.mean_value
        end as cv,
        case
            when county_spread.n_schools < 2 then 'fewer_than_2_schools'
            when county_spread.mean_value = 0 then 'zero_mean'
        end as cv_null_reason,
        case when standards.cv_rule = 'each_indicator' then thresholds.cv_threshold end as cv_threshold,
        case
            when standards.cv_rule = 'each_indicator' and county_spread.n_schools >= 2
                and county_spread.mean_value <> 0
                then county_spread.sd_value / county_spread.mean_value <= thresholds.cv_threshold
        end as passes,
    from county_spread
    inner join standards using (standard_id)
    inner join thresholds using (standard_id, stage)
    inner join indicator_order using (standard_id, stage, indicator_id)
)

select * from final
