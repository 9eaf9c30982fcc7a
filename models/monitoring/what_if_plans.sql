-- One row per census_year x county_code x stage x standard_id x plan_metric_id x metric_id: what
-- it would take to bring a monitored county's judged coefficient back under the line, in whole
-- teachers, rooms, m² and 万元 (docs/alerts.md, "The what-if").
--
-- A plan raises every school below a floor to the floor. For an indicator with a per-school
-- minimum (quality_2017) the floor is at least that minimum; it then rises in whole percent of
-- the county mean (share 0.00, 0.01, … up to what_if_max_floor_share) to a share at which the CV,
-- computed from the raised schools' amounts rounded up to whole units (marts.what_if_units), is
-- at most what_if_target_ratio × threshold and one percent less is not. The composite of basic_2012 has one plan: every indicator
-- floored at the same share of its own mean, until the mean of the indicator CVs meets the
-- target; its rows are the plan (metric_id 'composite') and one row per indicator.
-- A plan that needs nothing (the CV at or under the target, no school under a minimum) has one
-- row with is_needed false. monitoring.what_if_schools lists the schools a plan raises.
--
-- How: the CV falls as the floor rises, so each plan's share is found by bisection over the whole
-- percents (search: about 9 evaluations a plan, not 301): `lo` fails the target, `hi` meets it,
-- and each step evaluates the share half way, keeping that evaluation's figures when it meets. A
-- plan whose `hi` never comes down from max_floor_share + 0.01 is not reachable. Rounding each
-- school up to whole teachers makes the CV fall in small steps, not always monotonically, so a
-- lower share may now and then meet the target too (4 plans in 21,640 in a national stress test,
-- by one or two percent); the share found always meets it and the one below it does not.

with recursive

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

-- sections under a per-school minimum (one home: marts.school_indicators.meets_standard)
below_minimum as (
    select distinct county_code, stage, standard_id, indicator_id
    from marts.school_indicators
    where census_year = $census_year and students > 0 and meets_standard = false
),

-- a plan needs something when its CV is above the target or a school is below a minimum
needs as (
    select
        plans.county_code, plans.stage, plans.standard_id, plans.plan_metric_id,
        any_value(plans.plan_cv_before > plans.target_cv) or bool_or(below_minimum.indicator_id is not null)
            as is_needed,
    from plans
    inner join plan_indicators using (county_code, stage, standard_id, plan_metric_id)
    left join below_minimum using (county_code, stage, standard_id, indicator_id)
    group by all
),

-- the schools of the plans that need something (the others are never searched)
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
    semi join (select * from needs where is_needed) using (county_code, stage, standard_id, plan_metric_id)
    inner join marts.school_indicators as school_values
        on school_values.census_year = $census_year
        and school_values.county_code = plan_indicators.county_code
        and school_values.stage = plan_indicators.stage
        and school_values.standard_id = plan_indicators.standard_id
        and school_values.indicator_id = plan_indicators.indicator_id
    where school_values.students > 0 and school_values.value is not null
),

-- the bisection; each step evaluates every plan still searching at its share half way between lo
-- and hi: each school's amount rounded up to whole steps of the shown unit (round() first, so that
-- float noise in an exact amount, 2.0000000000004 teachers, does not add a step), the raised
-- values, and each indicator's student-weighted CV (docs/methodology.md §2.1, from the weighted
-- mean and mean square), every sum in school order so that a re-run gives the same bits
search(county_code, stage, standard_id, plan_metric_id, lo, hi, hi_cv_after, hi_n_schools, hi_results) as (
    select
        needs.county_code,
        needs.stage,
        needs.standard_id,
        needs.plan_metric_id,
        -1 as lo,
        (settings.max_floor_share * 100)::integer + 1 as hi,
        null::double as hi_cv_after,
        null::bigint as hi_n_schools,
        null::struct(indicator_id varchar, cv_after double, n_schools_raised bigint, amount_needed double)[]
            as hi_results,
    from needs
    cross join settings
    where needs.is_needed

    union all

    select
        search.county_code,
        search.stage,
        search.standard_id,
        search.plan_metric_id,
        if(evaluated.plan_cv_after <= plans.target_cv, search.lo, (search.lo + search.hi) // 2) as lo,
        if(evaluated.plan_cv_after <= plans.target_cv, (search.lo + search.hi) // 2, search.hi) as hi,
        if(evaluated.plan_cv_after <= plans.target_cv, evaluated.plan_cv_after, search.hi_cv_after),
        if(evaluated.plan_cv_after <= plans.target_cv, evaluated.n_schools_raised, search.hi_n_schools),
        if(evaluated.plan_cv_after <= plans.target_cv, evaluated.results, search.hi_results),
    from search
    inner join plans using (county_code, stage, standard_id, plan_metric_id)
    inner join (
        select
            county_code, stage, standard_id, plan_metric_id,
            fsum(cv_after order by indicator_id) / count(*) as plan_cv_after,
            len(list_distinct(flatten(list(raised_ids)))) as n_schools_raised,
            list(
                struct_pack(
                    indicator_id := indicator_id,
                    cv_after := cv_after,
                    n_schools_raised := n_schools_raised,
                    amount_needed := amount_needed
                )
                order by indicator_id
            ) as results,
        from (
            select
                county_code, stage, standard_id, plan_metric_id, indicator_id,
                sqrt(greatest(square_mean - mean ^ 2, 0)) / mean as cv_after,
                n_schools_raised,
                amount_needed,
                raised_ids,
            from (
                select
                    county_code, stage, standard_id, plan_metric_id, indicator_id,
                    fsum(students * value_after order by school_id) / fsum(students order by school_id) as mean,
                    fsum(students * value_after ^ 2 order by school_id) / fsum(students order by school_id)
                        as square_mean,
                    count_if(amount_needed > 0) as n_schools_raised,
                    fsum(amount_needed order by school_id) as amount_needed,
                    coalesce(list(school_id) filter (where amount_needed > 0), []) as raised_ids,
                from (
                    select
                        *,
                        scale * (resource_amount + amount_needed * per_shown_unit) / denominator_amount
                            as value_after,
                    from (
                        select
                            schools.*,
                            plan_indicators.scale,
                            plan_indicators.per_shown_unit,
                            -- below the floor within the relative 1e-9 of school_indicators.meets_standard
                            case
                                when schools.value < floors.floor_value * (1 - 1e-9)
                                    then ceil(round(
                                        (floors.floor_value * schools.denominator_amount / plan_indicators.scale
                                            - schools.resource_amount)
                                            / plan_indicators.per_shown_unit / plan_indicators.step,
                                        9
                                    )) * plan_indicators.step
                                else 0
                            end as amount_needed,
                        from (
                            select
                                current.county_code, current.stage, current.standard_id, current.plan_metric_id,
                                plan_indicators.indicator_id,
                                greatest(
                                    coalesce(plan_indicators.standard_value, 0),
                                    ((current.lo + current.hi) // 2) / 100.0 * plan_indicators.mean_value
                                ) as floor_value,
                            from search as current
                            inner join plan_indicators using (county_code, stage, standard_id, plan_metric_id)
                            where current.hi - current.lo > 1
                        ) as floors
                        inner join plan_indicators
                            using (county_code, stage, standard_id, plan_metric_id, indicator_id)
                        inner join schools using (county_code, stage, standard_id, plan_metric_id, indicator_id)
                    ) as amounts
                ) as raised
                group by all
            ) as moments
        ) as per_indicator
        group by all
    ) as evaluated using (county_code, stage, standard_id, plan_metric_id)
    where search.hi - search.lo > 1
),

-- each plan where its search ended: hi meets the target and hi - 1 does not
chosen as (
    select
        search.*,
        if(search.hi <= settings.max_floor_share * 100, search.hi / 100.0, null) as floor_share_of_mean,
    from search
    cross join settings
    where search.hi - search.lo = 1
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
        chosen.hi_n_schools as n_schools_raised,
        plans.plan_cv_before as cv_before,
        if(chosen.floor_share_of_mean is null, null, chosen.hi_cv_after) as cv_after,
    from plans
    inner join needs using (county_code, stage, standard_id, plan_metric_id)
    left join chosen using (county_code, stage, standard_id, plan_metric_id)
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
        result.n_schools_raised,
        result.amount_needed,
        plan_indicators.shown_unit as amount_unit,
        plan_indicators.cv_before,
        result.cv_after,
    from (select *, unnest(hi_results) as result from chosen where floor_share_of_mean is not null) as chosen
    inner join plan_indicators
        on plan_indicators.county_code = chosen.county_code
        and plan_indicators.stage = chosen.stage
        and plan_indicators.standard_id = chosen.standard_id
        and plan_indicators.plan_metric_id = chosen.plan_metric_id
        and plan_indicators.indicator_id = chosen.result.indicator_id
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
