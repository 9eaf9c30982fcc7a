-- One row per census_year x school_id x stage x standard_id, for standards with a per-school rule
-- or school conditions: the "at least N of M, every unmet one >= R of its minimum" rule
-- (school_rule in models/standards/*.yaml), and school size, class size and music/art rooms.
-- A section with an indicator that cannot be computed (a blank census cell) is judged only when
-- the known values decide it (it fails whatever the unknown ones are); otherwise is_compliant is
-- null. n_missing_values says how many indicators were unknown, missing_measures which census
-- cells were blank. Each check has its own flag (fails_school_rule, breaks_*), and fails_any_check
-- says whether the section fails at least one: the lists and counts of the reports read these.

with

sections as (
    select * from staging.school_sections
    where census_year = $census_year and is_included
),

values_with_minimum as (
    select * from marts.school_indicators
    where census_year = $census_year and standard_value is not null
),

rules as (
    select standard_id, school_rule_min_met, school_rule_unmet_min_ratio
    from marts.standards
    where school_rule_min_met is not null
),

conditions as (
    select * from marts.standard_school_conditions
),

size_limits as (
    select * from marts.standard_school_size_limits
),

-- the census measures left blank in sections with an unknown indicator value, among those the
-- standard's indicators name: the cells a county fills in to have the section judged. The list is
-- contracts/columns.py SECTION_MEASURES (tests/unit/test_models.py keeps it in step).
blank_measures as (
    select school_id, stage, standard_id, list(measure order by measure) as missing_measures,
    from (
        select
            school_id, stage, standard_id,
            columns(lambda c: list_contains([
                'students', 'classes', 'teachers', 'teachers_above_degree', 'teachers_senior_title',
                'key_teachers', 'pe_art_teachers',
                'teaching_aux_area_m2', 'indoor_sports_area_m2', 'sports_ground_area_m2',
                'equipment_value_yuan', 'computers', 'books', 'multimedia_classrooms',
                'music_rooms', 'music_room_area_m2', 'art_rooms', 'art_room_area_m2'
            ], c))::double,
        from sections
        semi join (
            select school_id, stage, standard_id from values_with_minimum where is_missing_value
        ) using (school_id, stage, standard_id)
    ) unpivot include nulls (amount for measure in (columns(* exclude (school_id, stage, standard_id))))
    semi join (select standard_id, measure from marts.standard_indicator_terms) using (standard_id, measure)
    where amount is null
    group by all
),

standards_checked as (
    select standard_id from rules
    union
    select standard_id from conditions
),

-- the indicator rule: met, unmet, and how far the worst unmet one is from its minimum.
-- Ratios carry a 1e-9 tolerance so that a value at exactly 85% is not lost to float rounding.
indicator_rule as (
    select
        values_with_minimum.school_id,
        values_with_minimum.stage,
        values_with_minimum.standard_id,
        count(*) as n_indicators,
        count_if(values_with_minimum.meets_standard)::bigint as n_met,
        count_if(not values_with_minimum.meets_standard)::bigint as n_unmet,
        count_if(values_with_minimum.value is null) as n_missing,
        count_if(values_with_minimum.is_missing_value)::bigint as n_missing_values,
        list(values_with_minimum.indicator_id order by values_with_minimum.indicator_id)
            filter (where not values_with_minimum.meets_standard) as unmet_indicators,
        min(values_with_minimum.value / values_with_minimum.standard_value)
            filter (where not values_with_minimum.meets_standard) as min_unmet_ratio,
    from values_with_minimum
    group by all
),

school_size as (
    select standard_id, school_id, sum(students)::bigint as school_students,
    from sections
    group by all
),

judged as (
    select
        sections.census_year,
        sections.school_id,
        sections.stage,
        sections.standard_id,
        sections.county_code,
        sections.school_name,
        sections.school_type_code,
        sections.urban_rural_code,
        sections.students,
        indicator_rule.n_indicators,
        indicator_rule.n_met,
        indicator_rule.n_unmet,
        coalesce(indicator_rule.unmet_indicators, []) as unmet_indicators,
        indicator_rule.min_unmet_ratio,
        coalesce(indicator_rule.n_missing_values, 0) as n_missing_values,
        coalesce(blank_measures.missing_measures, []) as missing_measures,
        rules.standard_id is not null as has_school_rule,
        case
            when rules.standard_id is null then null
            -- fails whatever the unknown values are: too few could be met, or one known is too low
            when indicator_rule.n_met + indicator_rule.n_missing < rules.school_rule_min_met
                or coalesce(indicator_rule.min_unmet_ratio, 1.0) < rules.school_rule_unmet_min_ratio - 1e-9
                then false
            when indicator_rule.n_missing > 0 then null
            else indicator_rule.n_met >= rules.school_rule_min_met
        end as is_compliant,
        school_size.school_students,
        coalesce(type_limit.max_school_students, default_limit.max_school_students) as max_school_students,
        school_size.school_students
            > coalesce(type_limit.max_school_students, default_limit.max_school_students) as breaks_school_size,
        sections.max_class_size,
        conditions.max_class_size as class_size_limit,
        sections.max_class_size > conditions.max_class_size as breaks_class_size,
        ceil(sections.classes / conditions.classes_per_music_room) as music_rooms_needed,
        ceil(sections.classes / conditions.classes_per_art_room) as art_rooms_needed,
        sections.music_rooms < ceil(sections.classes / conditions.classes_per_music_room) - 1e-9
            or (sections.music_rooms > 0
                and sections.music_room_area_m2 / sections.music_rooms < conditions.min_music_room_m2)
            as breaks_music_room,
        sections.art_rooms < ceil(sections.classes / conditions.classes_per_art_room) - 1e-9
            or (sections.art_rooms > 0
                and sections.art_room_area_m2 / sections.art_rooms < conditions.min_art_room_m2)
            as breaks_art_room,
        breaks_music_room or breaks_art_room as breaks_room_standard,
    from sections
    inner join standards_checked using (standard_id)
    left join rules using (standard_id)
    left join indicator_rule using (school_id, stage, standard_id)
    left join blank_measures using (school_id, stage, standard_id)
    left join school_size using (standard_id, school_id)
    left join conditions using (standard_id, stage)
    left join size_limits as type_limit
        on type_limit.standard_id = sections.standard_id
        and type_limit.school_type_code = sections.school_type_code
    left join size_limits as default_limit
        on default_limit.standard_id = sections.standard_id
        and default_limit.school_type_code is null
),

final as (
    select
        * exclude (has_school_rule),
        not is_compliant as fails_school_rule,
        has_school_rule and is_compliant is null as is_school_rule_undecided,
        coalesce(not is_compliant, false)
            or coalesce(breaks_school_size, false)
            or coalesce(breaks_class_size, false)
            or coalesce(breaks_room_standard, false) as fails_any_check,
    from judged
)

select * from final
