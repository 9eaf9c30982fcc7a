-- One row per census_year x county_code x stage x standard_id x plan_metric_id x indicator_id x
-- school_id: each school a what-if plan (monitoring.what_if_plans) raises, what it has, the floor
-- it is raised to and what it needs, rounded up to whole units (marts.what_if_units). The amounts
-- add up to the plan's amount_needed (tests/unit/test_what_if.py).

with

plan_indicators as (
    select plans.*, indicators.scale, units.per_shown_unit, units.step,
    from monitoring.what_if_plans as plans
    inner join marts.standard_indicators as indicators
        on indicators.standard_id = plans.standard_id
        and indicators.stage = plans.stage
        and indicators.indicator_id = plans.metric_id
    inner join marts.what_if_units as units on units.unit = indicators.unit
    where plans.census_year = $census_year and plans.floor_value is not null
),

raised as (
    select
        plan_indicators.county_code,
        plan_indicators.stage,
        plan_indicators.standard_id,
        plan_indicators.plan_metric_id,
        plan_indicators.metric_id as indicator_id,
        school_values.school_id,
        school_values.school_name,
        school_values.students,
        school_values.value,
        plan_indicators.standard_value,
        plan_indicators.floor_value,
        plan_indicators.floor_basis,
        -- the same rounding as monitoring.what_if_plans: whole steps of the shown unit
        ceil(round(
            (plan_indicators.floor_value * school_values.denominator_amount / plan_indicators.scale
                - school_values.resource_amount) / plan_indicators.per_shown_unit / plan_indicators.step,
            9
        )) * plan_indicators.step as amount_needed,
        plan_indicators.amount_unit,
        plan_indicators.scale,
        plan_indicators.per_shown_unit,
        school_values.resource_amount,
        school_values.denominator_amount,
    from plan_indicators
    inner join marts.school_indicators as school_values
        on school_values.census_year = $census_year
        and school_values.county_code = plan_indicators.county_code
        and school_values.stage = plan_indicators.stage
        and school_values.standard_id = plan_indicators.standard_id
        and school_values.indicator_id = plan_indicators.metric_id
    where school_values.students > 0
        and school_values.value is not null
        and school_values.value < plan_indicators.floor_value * (1 - 1e-9)
),

final as (
    select
        $census_year::integer as census_year,
        county_code,
        stage,
        standard_id,
        plan_metric_id,
        indicator_id,
        school_id,
        school_name,
        students,
        value,
        standard_value,
        floor_value,
        floor_basis,
        amount_needed,
        amount_unit,
        scale * (resource_amount + amount_needed * per_shown_unit) / denominator_amount as value_after,
    from raised
    -- a school a hair under the floor by float rounding needs nothing: it is at the floor
    where amount_needed > 0
)

select * from final
