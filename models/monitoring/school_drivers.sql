-- One row per census_year x county_code x stage x standard_id x indicator_id x school_id: each
-- school's contribution to the county's CV² (docs/methodology.md §2.3: CV² = Σ c_i, c_i = (P_i/P)(x_i/mean − 1)²)
-- and its change since the previous census year. Schools that disappeared keep a row with a
-- contribution of 0, so for every county-indicator the changes add up exactly to the change in CV².

with

current_values as (
    select * from marts.school_indicators
    where census_year = $census_year and students > 0 and value is not null
),

previous_values as (
    select * from marts.school_indicators
    where census_year = $census_year - 1 and students > 0 and value is not null
),

current_cv as (
    select * from marts.county_indicator_cv
    where census_year = $census_year and cv is not null
),

previous_cv as (
    select * from marts.county_indicator_cv
    where census_year = $census_year - 1 and cv is not null
),

current_contributions as (
    select
        v.county_code, v.stage, v.standard_id, v.indicator_id, v.school_id,
        v.school_name, v.urban_rural_code, v.students, v.value, cv.mean_value,
        (v.students / cv.students) * (v.value / cv.mean_value - 1) ^ 2 as contribution,
    from current_values as v
    inner join current_cv as cv using (county_code, stage, standard_id, indicator_id)
),

previous_contributions as (
    select
        v.county_code, v.stage, v.standard_id, v.indicator_id, v.school_id,
        v.school_name, v.urban_rural_code, v.value as previous_value,
        (v.students / cv.students) * (v.value / cv.mean_value - 1) ^ 2 as previous_contribution,
    from previous_values as v
    inner join previous_cv as cv using (county_code, stage, standard_id, indicator_id)
    -- only county-indicators that have a coefficient this year
    semi join current_cv using (county_code, stage, standard_id, indicator_id)
),

-- Σ c_i of each county-indicator, added in sorted order: equal to CV² but for rounding, and the
-- denominator of each school's share. Divided by CV² itself, a share could pass 1 in a county
-- whose schools all have the same value (CV² is then rounding noise, about 1e-32, and so is c_i).
current_totals as (
    select
        county_code, stage, standard_id, indicator_id,
        list_aggregate(list_sort(list(contribution)), 'fsum') as total_contribution,
    from current_contributions
    group by all
),

both_years as (
    select
        coalesce(c.county_code, p.county_code) as county_code,
        coalesce(c.stage, p.stage) as stage,
        coalesce(c.standard_id, p.standard_id) as standard_id,
        coalesce(c.indicator_id, p.indicator_id) as indicator_id,
        coalesce(c.school_id, p.school_id) as school_id,
        coalesce(c.school_name, p.school_name) as school_name,
        coalesce(c.urban_rural_code, p.urban_rural_code) as urban_rural_code,
        c.students,
        c.value,
        c.mean_value,
        coalesce(c.contribution, 0.0) as contribution,
        p.previous_value,
        p.previous_contribution,
        c.school_id is not null as is_present,
        p.school_id is not null as was_present,
    from current_contributions as c
    full join previous_contributions as p
        on c.county_code = p.county_code and c.stage = p.stage and c.standard_id = p.standard_id
        and c.indicator_id = p.indicator_id and c.school_id = p.school_id
),

final as (
    select
        $census_year::integer as census_year,
        both_years.county_code,
        both_years.stage,
        both_years.standard_id,
        both_years.indicator_id,
        both_years.school_id,
        both_years.school_name,
        both_years.urban_rural_code,
        both_years.students,
        both_years.value,
        both_years.mean_value,
        case
            when not both_years.is_present then null
            when both_years.value < both_years.mean_value then 'under'
            when both_years.value > both_years.mean_value then 'over'
            else 'at_mean'
        end as resourcing,
        both_years.contribution,
        case when current_totals.total_contribution > 0
            then both_years.contribution / current_totals.total_contribution
        end as share_of_cv_squared,
        case when both_years.is_present then
            row_number() over (
                partition by both_years.county_code, both_years.stage, both_years.standard_id,
                    both_years.indicator_id, both_years.is_present
                order by both_years.contribution desc, both_years.school_id
            )
        end as driver_rank,
        case
            when previous_cv.cv is null then 'no_previous_year'
            when both_years.is_present and both_years.was_present then 'continuing'
            when both_years.is_present then 'appeared'
            else 'disappeared'
        end as status,
        both_years.previous_value,
        case when previous_cv.cv is not null then coalesce(both_years.previous_contribution, 0.0) end
            as previous_contribution,
        case when previous_cv.cv is not null
            then both_years.contribution - coalesce(both_years.previous_contribution, 0.0)
        end as contribution_change,
        current_cv.cv as county_cv,
        previous_cv.cv as previous_county_cv,
    from both_years
    inner join current_cv using (county_code, stage, standard_id, indicator_id)
    left join current_totals using (county_code, stage, standard_id, indicator_id)
    left join previous_cv using (county_code, stage, standard_id, indicator_id)
)

select * from final
