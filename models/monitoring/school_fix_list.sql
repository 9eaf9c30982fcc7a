-- One row per census_year x county_code x stage x standard_id x indicator_id x school_id: each
-- included school section below its standard's per-school minimum, what it has and what it needs
-- to reach the minimum, in whole units (marts.what_if_units: whole teachers, rooms, computers,
-- books and m²; 万元 rounded up to a tenth), what that costs at the reference unit costs
-- (marts.unit_costs, project estimates a province replaces; 万元 rounded up to a tenth), with the
-- county's totals. The county's fix list (docs/reports.md, "The tables a county files"): schools
-- in order of their total cost, most costly first.

with

short as (
    select
        school_values.county_code,
        school_values.stage,
        school_values.standard_id,
        school_values.indicator_id,
        indicators.indicator_order,
        school_values.school_id,
        school_values.school_name,
        school_values.students,
        school_values.value,
        school_values.standard_value,
        -- the same rounding as monitoring.what_if_schools: whole steps of the shown unit (counted
        -- as an integer, so that the county's total is an exact sum, whatever order it is added in)
        ceil(round(
            (school_values.standard_value * school_values.denominator_amount / indicators.scale
                - school_values.resource_amount) / units.per_shown_unit / units.step,
            9
        ))::bigint as steps_needed,
        units.step,
        units.shown_unit as amount_unit,
        indicators.scale,
        units.per_shown_unit,
        costs.unit_cost_wan_yuan,
        costs.cost_basis,
        school_values.resource_amount,
        school_values.denominator_amount,
    from marts.school_indicators as school_values
    inner join marts.standard_indicators as indicators
        on indicators.standard_id = school_values.standard_id
        and indicators.stage = school_values.stage
        and indicators.indicator_id = school_values.indicator_id
    inner join marts.what_if_units as units on units.unit = indicators.unit
    left join marts.unit_costs as costs on costs.indicator_id = school_values.indicator_id
    where school_values.census_year = $census_year
        and school_values.students > 0
        and school_values.standard_value is not null
        and school_values.meets_standard = false
),

costed as (
    select
        *,
        -- 万元 in whole tenths, rounded up (an integer, so that every total is an exact sum)
        ceil(round(steps_needed * step * unit_cost_wan_yuan * 10, 9))::bigint as cost_tenths,
    from short
    -- a school a hair under its minimum by float rounding needs nothing: it meets it
    where steps_needed > 0
),

ranked as (
    select
        *,
        sum(cost_tenths) over (partition by county_code, standard_id, school_id) as school_cost_tenths,
    from costed
),

listed as (
    select
        $census_year::integer as census_year,
        county_code,
        stage,
        standard_id,
        indicator_id,
        indicator_order,
        school_id,
        school_name,
        students,
        value,
        standard_value,
        steps_needed * step as amount_needed,
        amount_unit,
        scale * (resource_amount + steps_needed * step * per_shown_unit) / denominator_amount as value_after,
        unit_cost_wan_yuan,
        cost_basis,
        cost_tenths / 10 as cost_wan_yuan,
        school_cost_tenths / 10 as school_cost_wan_yuan,
        count(*) over per_indicator as n_schools_short,
        sum(steps_needed) over per_indicator * step as county_amount_needed,
        sum(cost_tenths) over per_indicator / 10 as county_cost_wan_yuan,
        sum(cost_tenths) over per_list / 10 as county_total_cost_wan_yuan,
        dense_rank() over (per_list order by school_cost_tenths desc nulls last, school_id) as school_rank,
        row_number() over (
            per_list order by school_cost_tenths desc nulls last, school_id, stage desc, indicator_order
        ) as fix_order,
    from ranked
    window
        per_indicator as (partition by county_code, stage, standard_id, indicator_id),
        per_list as (partition by county_code, standard_id)
),

final as (
    select
        *,
        max(school_rank) over (partition by county_code, standard_id) as county_schools_to_fix,
    from listed
)

select * from final
