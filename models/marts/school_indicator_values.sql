-- The narrow store behind marts.school_indicators (a view that joins the school's descriptive
-- columns back on): one row per census_year x school_id x stage x standard_id x indicator_id, for
-- included sections only, keys, amounts, value and flags. value = scale * resource / students, where the resource is the signed sum of
-- the measures the standard names (models/standards/*.yaml -> marts.standard_indicator_terms).
-- A measure left blank in the census is unknown: every indicator that names it has a null
-- resource and value for that section (is_missing_value), the others are computed as usual.
--
-- How: each section's measures become one list (`amounts`, in the order of `measure_names`), and
-- each indicator's terms a list of (position, sign). An indicator's resource is its terms' amounts
-- added in the terms' order (by measure name), so a re-run gives the same bits without sorting.
-- (The first version unpivoted every section into one row per measure and grouped them back:
-- 2.3 s for a national census year against 0.7 s this way.)

with

sections as (
    select * from staging.school_sections
    where census_year = $census_year and is_included
),

indicators as (
    select * from marts.standard_indicators
),

-- every measure an indicator may name (contracts/columns.py SECTION_MEASURES; the standards
-- loader refuses any other), in the order of `amounts` below; tests/unit/test_models.py keeps
-- the three lists in step
measure_names as (
    select [
        'students', 'classes', 'teachers', 'teachers_above_degree', 'teachers_senior_title',
        'key_teachers', 'pe_art_teachers',
        'teaching_aux_area_m2', 'indoor_sports_area_m2', 'sports_ground_area_m2',
        'equipment_value_yuan', 'computers', 'books', 'multimedia_classrooms',
        'music_rooms', 'music_room_area_m2', 'art_rooms', 'art_room_area_m2'
    ] as names
),

section_amounts as (
    select
        census_year, standard_id, school_id, stage,
        [
            students::double, classes::double, teachers::double, teachers_above_degree::double,
            teachers_senior_title::double, key_teachers::double, pe_art_teachers::double,
            teaching_aux_area_m2, indoor_sports_area_m2, sports_ground_area_m2,
            equipment_value_yuan, computers, books, multimedia_classrooms,
            music_rooms, music_room_area_m2, art_rooms, art_room_area_m2
        ] as amounts,
    from sections
),

indicator_terms as (
    select
        terms.standard_id,
        terms.indicator_id,
        list(
            struct_pack(position := list_position(measure_names.names, terms.measure), sign := terms.sign)
            order by terms.measure
        ) as terms,
    from marts.standard_indicator_terms as terms
    cross join measure_names
    group by all
),

section_indicators as (
    select
        s.census_year,
        s.school_id,
        s.stage,
        s.standard_id,
        indicators.indicator_id,
        list_transform(t.terms, lambda term: term.sign * s.amounts[term.position]) as parts,
        s.amounts[list_position(measure_names.names, indicators.denominator)] as denominator_amount,
        indicators.scale,
        indicators.standard_value,
    from section_amounts as s
    inner join indicators
        on indicators.standard_id = s.standard_id
        and indicators.stage = s.stage
    inner join indicator_terms as t
        on t.standard_id = indicators.standard_id
        and t.indicator_id = indicators.indicator_id
    cross join measure_names
),

final as (
    select
        census_year,
        school_id,
        stage,
        standard_id,
        indicator_id,
        -- a blank measure among the terms leaves the resource unknown, never a partial sum
        if(list_count(parts) = len(parts), list_sum(parts), null) as resource_amount,
        denominator_amount,
        case
            when denominator_amount > 0 then scale * resource_amount / denominator_amount
        end as value,
        resource_amount is null or denominator_amount is null as is_missing_value,
        -- a school exactly at its minimum (2,500 yuan per pupil: 1,840,000 yuan for 736 pupils)
        -- computes as 2499.9999999999995; a relative 1e-9 keeps it at the minimum, as the 85% rule does
        case
            when standard_value is not null and denominator_amount > 0
                then scale * resource_amount / denominator_amount >= standard_value * (1 - 1e-9)
        end as meets_standard,
    from section_indicators
)

select * from final
