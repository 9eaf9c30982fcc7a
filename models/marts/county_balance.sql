-- One row per census_year x county_code x stage x standard_id: the standard's CV rule applied.
-- composite: the mean of the indicator CVs must be <= the threshold (basic_2012);
-- each_indicator: every indicator CV must be <= the threshold (quality_2017).
-- A result built on incomplete data (a section left out of an indicator for a blank census
-- cell) is computed from the sections that are known and marked is_provisional.

with

indicator_cvs as (
    select * from marts.county_indicator_cv
    where census_year = $census_year
),

standards as (
    select * from marts.standards
),

thresholds as (
    select * from marts.standard_thresholds
),

school_checks as (
    select
        county_code,
        stage,
        standard_id,
        count(*) filter (where is_compliant is not null) as n_sections_judged,
        count(*) filter (where is_compliant) as n_compliant_sections,
        count_if(fails_school_rule) as n_failing_school_rule,
        count_if(is_school_rule_undecided) as n_undecided_school_rule,
        count_if(breaks_school_size) as n_breaking_school_size,
        count_if(breaks_class_size) as n_breaking_class_size,
        count_if(breaks_room_standard) as n_breaking_room_standard,
        count_if(breaks_school_size or breaks_class_size or breaks_room_standard) as n_breaking_school_conditions,
        count_if(fails_any_check) as n_failing_any_check,
    from marts.school_compliance
    where census_year = $census_year
    group by all
),

-- sections with at least one indicator left unknown by a blank census cell
missing_values as (
    select
        county_code,
        stage,
        standard_id,
        count(distinct school_id) as n_sections_missing_value,
    from marts.school_indicators
    where census_year = $census_year and is_missing_value and students > 0
    group by all
),

-- every county with sections this year, in every stage of every standard: a county-stage with
-- no included section (no school of the stage, or every one excluded) still gets a row, saying why
county_stages as (
    select counties.county_code, thresholds.standard_id, thresholds.stage,
    from (
        select distinct county_code from staging.school_sections where census_year = $census_year
    ) as counties
    cross join thresholds
),

expected_indicators as (
    select standard_id, stage, count(*) as n_indicators_expected
    from marts.standard_indicators
    group by all
),

per_county as (
    select
        indicator_cvs.census_year,
        indicator_cvs.county_code,
        indicator_cvs.stage,
        indicator_cvs.standard_id,
        max(indicator_cvs.n_schools) as n_schools,
        max(indicator_cvs.students) as students,
        count(indicator_cvs.cv) as n_indicators_with_cv,
        fsum(indicator_cvs.cv order by indicator_cvs.indicator_id) / count(indicator_cvs.cv) as mean_cv,
        max(indicator_cvs.cv) as max_indicator_cv,
        arg_max(indicator_cvs.indicator_id, indicator_cvs.cv) as max_indicator_id,
        count_if(indicator_cvs.cv > thresholds.cv_threshold)::bigint as n_indicators_above,
    from indicator_cvs
    inner join thresholds using (standard_id, stage)
    group by all
),

-- the two parts of the standard, each failing (true), holding (false) or unknown (null)
parts as (
    select
        county_stages.county_code,
        county_stages.stage,
        county_stages.standard_id,
        case
            when per_county.county_code is null then null
            -- one indicator over its threshold fails the rule whatever the unknown ones are
            when standards.cv_rule = 'each_indicator' and per_county.n_indicators_above > 0 then true
            when per_county.n_indicators_with_cv < expected_indicators.n_indicators_expected then null
            when standards.cv_rule = 'composite' then per_county.mean_cv > thresholds.cv_threshold
            when standards.cv_rule = 'each_indicator' then false
        end as cv_rule_fails,
        -- every included section must meet the rule: one failing section fails it; otherwise a
        -- section not yet judged (blank census cells) leaves it undecided
        case
            when standards.school_rule_min_met is null then false
            when school_checks.n_failing_school_rule > 0 then true
            when school_checks.n_undecided_school_rule > 0 then null
            when coalesce(school_checks.n_sections_judged, 0) = 0 then null
            else false
        end as school_rule_fails,
    from county_stages
    left join per_county using (county_code, stage, standard_id)
    inner join standards using (standard_id)
    inner join thresholds using (standard_id, stage)
    inner join expected_indicators using (standard_id, stage)
    left join school_checks using (county_code, stage, standard_id)
),

final as (
    select
        $census_year::integer as census_year,
        county_stages.county_code,
        counties.county_name,
        county_stages.stage,
        county_stages.standard_id,
        standards.cv_rule,
        coalesce(per_county.n_schools, 0)::bigint as n_schools,
        coalesce(per_county.students, 0)::bigint as students,
        case
            when per_county.n_indicators_with_cv = expected_indicators.n_indicators_expected
                then per_county.mean_cv
        end as composite_cv,
        per_county.max_indicator_cv,
        per_county.max_indicator_id,
        thresholds.cv_threshold,
        case
            when standards.cv_rule = 'each_indicator'
                then per_county.n_indicators_above
        end as n_indicators_over_threshold,
        expected_indicators.n_indicators_expected::bigint as n_indicators,
        not parts.cv_rule_fails as meets_cv_rule,
        not parts.cv_rule_fails as passes,
        case
            when per_county.county_code is null then 'no_included_schools'
            when parts.cv_rule_fails is null then 'missing_indicator_cv'
        end as passes_null_reason,
        school_checks.n_compliant_sections::bigint as n_compliant_sections,
        school_checks.n_compliant_sections / nullif(school_checks.n_sections_judged, 0) as compliant_share,
        case
            when standards.school_rule_min_met is not null then not parts.school_rule_fails
        end as meets_school_rule,
        case
            when standards.school_rule_min_met is not null then not parts.school_rule_fails
        end as meets_school_standards,
        school_checks.n_failing_school_rule::bigint as n_failing_school_rule,
        school_checks.n_undecided_school_rule::bigint as n_undecided_school_rule,
        school_checks.n_breaking_school_size::bigint as n_breaking_school_size,
        school_checks.n_breaking_class_size::bigint as n_breaking_class_size,
        school_checks.n_breaking_room_standard::bigint as n_breaking_room_standard,
        school_checks.n_breaking_school_conditions::bigint as n_breaking_school_conditions,
        school_checks.n_failing_any_check::bigint as n_failing_any_check,
        -- the standard as far as the census can judge it: the CV rule, and the per-school rule
        -- where the standard has one; false when a part fails, null when a part is unknown
        case
            when per_county.county_code is null then null
            when parts.cv_rule_fails or parts.school_rule_fails then false
            when parts.cv_rule_fails is null or parts.school_rule_fails is null then null
            else true
        end as meets_standard,
        case
            when per_county.county_code is null then 'no_included_schools'
            when parts.cv_rule_fails or parts.school_rule_fails then null
            when parts.cv_rule_fails is null then 'missing_indicator_cv'
            when parts.school_rule_fails is null then 'school_rule_undecided'
        end as meets_standard_null_reason,
        list_value(
            case when parts.cv_rule_fails then 'cv_rule' end,
            case when parts.school_rule_fails then 'school_rule' end
        ).list_filter(lambda x: x is not null) as unmet_parts,
        coalesce(missing_values.n_sections_missing_value, 0)::bigint as n_sections_missing_value,
        coalesce(missing_values.n_sections_missing_value, 0) > 0 as is_provisional,
    from county_stages
    left join per_county using (county_code, stage, standard_id)
    inner join parts using (county_code, stage, standard_id)
    inner join standards using (standard_id)
    inner join thresholds using (standard_id, stage)
    inner join expected_indicators using (standard_id, stage)
    left join school_checks using (county_code, stage, standard_id)
    left join missing_values using (county_code, stage, standard_id)
    left join marts.dim_counties as counties using (county_code)
)

select * from final
