-- One row per census_year x school_id x stage x standard_id x indicator_id, for included
-- sections only: value = scale * resource / students, where the resource is the signed sum of
-- the measures the standard names (models/standards/*.yaml -> marts.standard_indicator_terms).
-- A measure left blank in the census is unknown: every indicator that names it has a null
-- resource and value for that section (is_missing_value), the others are computed as usual.

with

sections as (
    select * from staging.school_sections
    where census_year = $census_year and is_included
),

indicators as (
    select * from marts.standard_indicators
),

terms as (
    select * from marts.standard_indicator_terms
),

-- one row per section and measure, so numerators can be built from any list of measures;
-- blank measures are kept (as null amounts) so that a numerator naming one is null, not partial
section_measures as (
    select *
    from (
        select
            census_year, standard_id, school_id, stage,
            students::double as students,
            classes::double as classes,
            teachers::double as teachers,
            teachers_above_degree::double as teachers_above_degree,
            teachers_senior_title::double as teachers_senior_title,
            key_teachers::double as key_teachers,
            pe_art_teachers::double as pe_art_teachers,
            teaching_aux_area_m2, indoor_sports_area_m2, sports_ground_area_m2,
            equipment_value_yuan, computers, books, multimedia_classrooms,
            music_rooms, music_room_area_m2, art_rooms, art_room_area_m2,
        from sections
    )
    unpivot include nulls (
        amount for measure in (columns(* exclude (census_year, standard_id, school_id, stage)))
    )
),

-- numerators and denominators are MATERIALIZED: left inline, DuckDB's join reordering joined
-- them on school_id alone first (every measure of a school against every indicator of it), which
-- took 19 GiB and a minute for one national census year instead of 1 GiB and 2 seconds
numerators as materialized (
    select
        section_measures.census_year,
        section_measures.standard_id,
        section_measures.school_id,
        section_measures.stage,
        terms.indicator_id,
        -- terms sorted by value: the same sum whatever the thread scheduling, without the cost
        -- of an ordered aggregate (fsum(x order by measure) took 1.2 s more on a national year)
        if(
            count(section_measures.amount) = count(*),
            list_aggregate(list_sort(list(terms.sign * section_measures.amount)), 'fsum'),
            null
        ) as resource_amount,
    from section_measures
    inner join terms
        on terms.standard_id = section_measures.standard_id
        and terms.measure = section_measures.measure
    group by all
),

denominators as materialized (
    select
        indicators.standard_id,
        indicators.stage,
        indicators.indicator_id,
        section_measures.school_id,
        section_measures.amount as denominator_amount,
    from indicators
    inner join section_measures
        on section_measures.standard_id = indicators.standard_id
        and section_measures.stage = indicators.stage
        and section_measures.measure = indicators.denominator
),

final as (
    select
        sections.census_year,
        sections.school_id,
        sections.county_code,
        sections.stage,
        sections.standard_id,
        indicators.indicator_id,
        sections.school_name,
        sections.school_type_code,
        sections.urban_rural_code,
        sections.students,
        numerators.resource_amount,
        denominators.denominator_amount,
        case
            when denominators.denominator_amount > 0
                then indicators.scale * numerators.resource_amount / denominators.denominator_amount
        end as value,
        indicators.standard_value,
        numerators.resource_amount is null or denominators.denominator_amount is null as is_missing_value,
        case
            when indicators.standard_value is not null and denominators.denominator_amount > 0
                then indicators.scale * numerators.resource_amount / denominators.denominator_amount
                    >= indicators.standard_value
        end as meets_standard,
    from sections
    inner join indicators
        on indicators.standard_id = sections.standard_id
        and indicators.stage = sections.stage
    inner join numerators
        on numerators.standard_id = sections.standard_id
        and numerators.school_id = sections.school_id
        and numerators.stage = sections.stage
        and numerators.indicator_id = indicators.indicator_id
    inner join denominators
        on denominators.standard_id = sections.standard_id
        and denominators.school_id = sections.school_id
        and denominators.stage = sections.stage
        and denominators.indicator_id = indicators.indicator_id
)

select * from final
