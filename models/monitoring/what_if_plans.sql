-- One row per census_year x county_code x stage x standard_id x plan_metric_id x metric_id: what
-- it would take to bring a monitored county's judged coefficient back under the line, in whole
-- teachers, rooms, m² and 万元 (docs/alerts.md, "The what-if").
--
-- A plan raises every school below a floor to the floor. For an indicator with a per-school
-- minimum (quality_2017) the floor is at least that minimum; it then rises in steps of one percent
-- of the county mean (share 0.00, 0.01, … up to what_if_max_floor_share) until the CV, computed
-- from the raised schools' amounts rounded up to whole units (marts.what_if_units), is at most
-- what_if_target_ratio × threshold. The composite of basic_2012 has one plan: every indicator
-- floored at the same share of its own mean, until the mean of the indicator CVs meets the
-- target; its rows are the plan (metric_id 'composite') and one row per indicator.
-- A plan that needs nothing (the CV at or under the target, no school under a minimum) has one
-- row with is_needed false. monitoring.what_if_schools lists the schools a plan raises.

with

settings as (
    select
        max(value) filter (where setting_id = 'what_if_target_ratio') as target_ratio,
        max(value) filter (where setting_id = 'what_if_max_floor_share') as max_floor_share,
    from marts.alert_settings
),

-- the judged metrics of the counties monitored this year: one plan each
plans as (
    select
        trends.county_code,
        trends.stage,
        trends.standard_id,
        trends.metric_id as plan_metric_id,
        trends.value as plan_cv_before,
        settings.target_ratio * trends.threshold as target_cv,
        settings.target_ratio,
        settings.max_floor_share,
    from monitoring.county_trends as trends
    cross join settings
    where trends.census_year = $census_year
        and trends.is_monitored
        and trends.is_judged
        and trends.value is not null
),

-- the indicators a plan floors: its own, or for the composite every indicator of the standard
plan_indicators as (
    select
        plans.*,
        indicators.indicator_id,
        indicators.scale,
        indicators.standard_value,
        units.shown_unit,
        units.per_shown_unit,
        units.step,
        cvs.mean_value,
        cvs.cv as cv_before,
    from plans
    inner join marts.standard_indicators as indicators
        on indicators.standard_id = plans.standard_id
        and indicators.stage = plans.stage
        and (plans.plan_metric_id = 'composite' or plans.plan_metric_id = indicators.indicator_id)
    inner join marts.what_if_units as units on units.unit = indicators.unit
    inner join marts.county_indicator_cv as cvs
        on cvs.census_year = $census_year
        and cvs.county_code = plans.county_code
        and cvs.stage = plans.stage
        and cvs.standard_id = plans.standard_id
        and cvs.indicator_id = indicators.indicator_id
),

schools as (
    select
        plan_indicators.county_code,
        plan_indicators.stage,
        plan_indicators.standard_id,
        plan_indicators.plan_metric_id,
        plan_indicators.indicator_id,
        school_values.school_id,
        school_values.students,
        school_values.value,
        school_values.resource_amount,
        school_values.denominator_amount,
    from plan_indicators
    inner join marts.school_indicators as school_values
        on school_values.census_year = $census_year
        and school_values.county_code = plan_indicators.county_code
        and school_values.stage = plan_indicators.stage
        and school_values.standard_id = plan_indicators.standard_id
        and school_values.indicator_id = plan_indicators.indicator_id
    where school_values.students > 0 and school_values.value is not null
),

-- a plan needs something when its CV is above the target or a school is below a minimum
needs as (
    select
        plans.county_code, plans.stage, plans.standard_id, plans.plan_metric_id,
        plans.plan_cv_before > plans.target_cv
            or coalesce(bool_or(schools.value < plan_indicators.standard_value), false) as is_needed,
    from plans
    left join plan_indicators using (county_code, stage, standard_id, plan_metric_id)
    left join schools using (county_code, stage, standard_id, plan_metric_id, indicator_id)
    group by plans.county_code, plans.stage, plans.standard_id, plans.plan_metric_id,
        plans.plan_cv_before, plans.target_cv
),

shares as (
    select step_index / 100.0 as floor_share_of_mean
    from settings, range(0, (settings.max_floor_share * 100)::integer + 1) as t(step_index)
),

-- every needed plan at every floor share: each school's amount, rounded up to whole units
candidates as (
    select
        schools.*,
        shares.floor_share_of_mean,
        greatest(coalesce(plan_indicators.standard_value, 0), shares.floor_share_of_mean * plan_indicators.mean_value)
            as floor_value,
        plan_indicators.scale,
        plan_indicators.per_shown_unit,
        plan_indicators.step,
    from schools
    inner join plan_indicators using (county_code, stage, standard_id, plan_metric_id, indicator_id)
    semi join (select * from needs where is_needed) using (county_code, stage, standard_id, plan_metric_id)
    cross join shares
),

raised as (
    select
        *,
        -- whole steps of the shown unit; round() first, so that float noise in an exact amount
        -- (2.0000000000004 teachers) does not add a step
        case
            when value < floor_value
                then ceil(round(
                    (floor_value * denominator_amount / scale - resource_amount) / per_shown_unit / step, 9
                )) * step
            else 0
        end as amount_needed,
    from candidates
),

raised_values as (
    select
        *,
        scale * (resource_amount + amount_needed * per_shown_unit) / denominator_amount as value_after,
    from raised
),

-- the student-weighted CV of the raised values (docs/methodology.md §2.1), per indicator and share;
-- every sum in school order, so that a re-run gives the same bits
means_after as (
    select
        county_code, stage, standard_id, plan_metric_id, indicator_id, floor_share_of_mean,
        fsum(students * value_after order by school_id) / fsum(students order by school_id) as mean_after,
    from raised_values
    group by all
),

indicator_after as (
    select
        county_code, stage, standard_id, plan_metric_id, indicator_id, floor_share_of_mean,
        sqrt(
            fsum(students * (value_after - mean_after) ^ 2 order by school_id) / fsum(students order by school_id)
        ) / any_value(mean_after) as cv_after,
        count_if(amount_needed > 0) as n_schools_raised,
        fsum(amount_needed order by school_id) as amount_needed,
    from raised_values
    inner join means_after using (county_code, stage, standard_id, plan_metric_id, indicator_id, floor_share_of_mean)
    group by all
),

plan_after as (
    select
        county_code, stage, standard_id, plan_metric_id, floor_share_of_mean,
        fsum(cv_after order by indicator_id) / count(*) as plan_cv_after,
    from indicator_after
    group by all
),

-- the smallest share whose plan meets the target
chosen as (
    select
        plan_after.county_code, plan_after.stage, plan_after.standard_id, plan_after.plan_metric_id,
        min(plan_after.floor_share_of_mean) as floor_share_of_mean,
    from plan_after
    inner join plans using (county_code, stage, standard_id, plan_metric_id)
    where plan_after.plan_cv_after <= plans.target_cv
    group by all
),

-- schools raised in any indicator of the chosen plan (the composite's count)
plan_schools as (
    select county_code, stage, standard_id, plan_metric_id,
        count(distinct school_id) filter (where amount_needed > 0) as n_schools_raised,
    from raised_values
    semi join chosen using (county_code, stage, standard_id, plan_metric_id, floor_share_of_mean)
    group by all
),

plan_rows as (
    select
        plans.county_code,
        plans.stage,
        plans.standard_id,
        plans.plan_metric_id,
        plans.plan_metric_id as metric_id,
        plans.target_cv,
        plans.target_ratio,
        plans.max_floor_share,
        needs.is_needed,
        case when needs.is_needed and chosen.floor_share_of_mean is null then 'not_reachable' end
            as plan_null_reason,
        chosen.floor_share_of_mean,
        plan_schools.n_schools_raised,
        plans.plan_cv_before as cv_before,
        plan_after.plan_cv_after as cv_after,
    from plans
    inner join needs using (county_code, stage, standard_id, plan_metric_id)
    left join chosen using (county_code, stage, standard_id, plan_metric_id)
    left join plan_after using (county_code, stage, standard_id, plan_metric_id, floor_share_of_mean)
    left join plan_schools using (county_code, stage, standard_id, plan_metric_id)
),

-- one row per indicator of a chosen plan (for an indicator plan, the plan itself)
indicator_rows as (
    select
        chosen.county_code,
        chosen.stage,
        chosen.standard_id,
        chosen.plan_metric_id,
        plan_indicators.indicator_id as metric_id,
        chosen.floor_share_of_mean,
        greatest(coalesce(plan_indicators.standard_value, 0), chosen.floor_share_of_mean * plan_indicators.mean_value)
            as floor_value,
        plan_indicators.standard_value,
        case
            when plan_indicators.standard_value >= chosen.floor_share_of_mean * plan_indicators.mean_value
                then 'school_minimum'
            else 'cv_target'
        end as floor_basis,
        indicator_after.n_schools_raised,
        indicator_after.amount_needed,
        plan_indicators.shown_unit as amount_unit,
        plan_indicators.cv_before,
        indicator_after.cv_after,
    from chosen
    inner join plan_indicators using (county_code, stage, standard_id, plan_metric_id)
    inner join indicator_after
        using (county_code, stage, standard_id, plan_metric_id, indicator_id, floor_share_of_mean)
),

final as (
    select
        $census_year::integer as census_year,
        plan_rows.county_code,
        plan_rows.stage,
        plan_rows.standard_id,
        plan_rows.plan_metric_id,
        coalesce(indicator_rows.metric_id, plan_rows.metric_id) as metric_id,
        plan_rows.target_cv,
        plan_rows.target_ratio,
        plan_rows.max_floor_share,
        plan_rows.is_needed,
        plan_rows.plan_null_reason,
        plan_rows.floor_share_of_mean,
        indicator_rows.floor_value,
        indicator_rows.standard_value,
        indicator_rows.floor_basis,
        coalesce(indicator_rows.n_schools_raised, plan_rows.n_schools_raised, 0)::bigint as n_schools_raised,
        indicator_rows.amount_needed,
        indicator_rows.amount_unit,
        coalesce(indicator_rows.cv_before, plan_rows.cv_before) as cv_before,
        coalesce(indicator_rows.cv_after, plan_rows.cv_after) as cv_after,
    from plan_rows
    -- an indicator plan's own row carries its indicator's figures; the composite keeps its row and
    -- gets one more per indicator (below)
    left join indicator_rows
        on indicator_rows.county_code = plan_rows.county_code
        and indicator_rows.stage = plan_rows.stage
        and indicator_rows.standard_id = plan_rows.standard_id
        and indicator_rows.plan_metric_id = plan_rows.plan_metric_id
        and indicator_rows.metric_id = plan_rows.metric_id
    union all by name
    select
        $census_year::integer as census_year,
        indicator_rows.county_code,
        indicator_rows.stage,
        indicator_rows.standard_id,
        indicator_rows.plan_metric_id,
        indicator_rows.metric_id,
        plan_rows.target_cv,
        plan_rows.target_ratio,
        plan_rows.max_floor_share,
        plan_rows.is_needed,
        plan_rows.plan_null_reason,
        indicator_rows.floor_share_of_mean,
        indicator_rows.floor_value,
        indicator_rows.standard_value,
        indicator_rows.floor_basis,
        indicator_rows.n_schools_raised::bigint as n_schools_raised,
        indicator_rows.amount_needed,
        indicator_rows.amount_unit,
        indicator_rows.cv_before,
        indicator_rows.cv_after,
    from indicator_rows
    inner join plan_rows using (county_code, stage, standard_id, plan_metric_id)
    where indicator_rows.plan_metric_id = 'composite'
)

select * from final
