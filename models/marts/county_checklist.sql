-- One row per census_year x county_code x checklist_id x checkpoint_code: every checkpoint of every
-- checklist (marts.checklist_checkpoints) for every registry county, judged one of three ways
-- (docs/checklist.md):
-- - census: computed here from this year's census (and, for the junior three-year retention, the
--   census of two years before); null with the reason when the census did not provide it;
-- - declared: the county's declaration (audit.county_declarations), shown as declared; null with
--   the reason when the county did not declare it;
-- - not_judged: checked on site by the inspection team; never a value here.
-- A census value is only computed from complete data: when any school that should report a count
-- left it blank, the value is null (census_incomplete), never a partial sum.

with

checkpoints as (
    select * from marts.checklist_checkpoints
),

counties as (
    select county_code from marts.dim_counties
),

schools as (
    select * from raw.census_schools
    where census_year = $census_year
),

loaded_years as (
    select distinct census_year from raw.census_schools
),

-- per county: sums of the counts the census measures read, and how many schools that should
-- report a count left it blank
school_sums as (
    select
        county_code,
        count(*) as n_schools,
        sum(coalesce(primary_teachers, 0) + coalesce(junior_teachers, 0)) as teachers,
        sum(coalesce(primary_certified_teachers, 0) + coalesce(junior_certified_teachers, 0)) as certified_teachers,
        count(*) filter (where (coalesce(primary_teachers, 0) > 0 and primary_certified_teachers is null)
            or (coalesce(junior_teachers, 0) > 0 and junior_certified_teachers is null)) as certified_unknown,
        count(*) filter (where primary_certified_teachers is not null
            or junior_certified_teachers is not null) as certified_reported,
        sum(coalesce(primary_migrant_students, 0) + coalesce(junior_migrant_students, 0)) as migrant_students,
        sum(coalesce(primary_migrant_students, 0) + coalesce(junior_migrant_students, 0))
            filter (where ownership = 'public') as migrant_public,
        count(*) filter (where (primary_students > 0 and primary_migrant_students is null)
            or (junior_students > 0 and junior_migrant_students is null)) as migrant_unknown,
        count(*) filter (where primary_migrant_students is not null
            or junior_migrant_students is not null) as migrant_reported,
        sum(junior_grade9_students) as grade9,
        count(*) filter (where junior_students > 0 and junior_grade9_students is null) as grade9_unknown,
        count(*) filter (where junior_grade9_students is not null) as grade9_reported,
    from schools
    group by county_code
),

-- grade 7 two census years before, for the three-year retention of this year's grade 9
earlier_grade7 as (
    select
        county_code,
        sum(junior_grade7_students) as grade7,
        count(*) filter (where junior_students > 0 and junior_grade7_students is null) as grade7_unknown,
        count(*) filter (where junior_grade7_students is not null) as grade7_reported,
    from raw.census_schools
    where census_year = $census_year - 2
    group by county_code
),

-- the share measures: value = numerator / denominator over complete data
shares as (
    select
        county_code,
        'certified_teacher_share' as measure,
        certified_teachers::double as numerator,
        teachers::double as denominator,
        null::integer as base_year,
        case
            when certified_reported = 0 then 'census_missing'
            when certified_unknown > 0 then 'census_incomplete'
            when teachers = 0 then 'no_schools'
        end as null_reason,
        certified_unknown as n_schools_unknown,
    from school_sums
    union all
    select
        county_code,
        'migrant_public_share',
        migrant_public::double,
        migrant_students::double,
        null,
        case
            when migrant_reported = 0 then 'census_missing'
            when migrant_unknown > 0 then 'census_incomplete'
            when migrant_students = 0 then 'no_migrant_students'
        end,
        migrant_unknown,
    from school_sums
    union all
    select
        school_sums.county_code,
        'junior_retention_3y',
        school_sums.grade9::double,
        earlier_grade7.grade7::double,
        $census_year - 2,
        case
            when school_sums.grade9_reported = 0 then 'census_missing'
            when school_sums.grade9_unknown > 0 then 'census_incomplete'
            when not exists (select 1 from loaded_years where census_year = $census_year - 2)
                then 'earlier_year_not_loaded'
            when coalesce(earlier_grade7.grade7_reported, 0) = 0 then 'earlier_census_missing'
            when earlier_grade7.grade7_unknown > 0 then 'earlier_census_incomplete'
            when earlier_grade7.grade7 = 0 then 'no_schools'
        end,
        school_sums.grade9_unknown + coalesce(earlier_grade7.grade7_unknown, 0),
    from school_sums
    left join earlier_grade7 using (county_code)
),

-- the county-wide value of each resource indicator (all the county's included students) and the
-- number of school sections below its per-school minimum
indicator_means as (
    select
        cv.county_code,
        cv.standard_id,
        cv.stage,
        cv.indicator_id,
        cv.mean_value,
        cv.n_missing_value,
        below.n_below,
    from marts.county_indicator_cv as cv
    left join (
        select county_code, standard_id, stage, indicator_id, count(*) filter (where not meets_standard) as n_below,
        from marts.school_indicators
        where census_year = $census_year and students > 0
        group by all
    ) as below using (county_code, standard_id, stage, indicator_id)
    where cv.census_year = $census_year
),

-- the count measures over the standard's school sections (both stages, or one): the failing
-- sections (schools, for school size), those whose check could not be made (a blank count) and all
compliance as (
    select * from marts.school_compliance
    where census_year = $census_year and students > 0
),

section_counts as (
    select county_code, standard_id, stage, measure, count(*) filter (where breaks) as failing,
        count(*) filter (where breaks is null) as unknown, count(*) as total,
    from (
        select county_code, standard_id, stage, 'sections_short_music_rooms' as measure, breaks_music_room as breaks
        from compliance
        union all
        select county_code, standard_id, stage, 'sections_short_art_rooms', breaks_art_room from compliance
        union all
        select county_code, standard_id, stage, 'sections_over_class_size', breaks_class_size from compliance
    )
    group by grouping sets ((county_code, standard_id, stage, measure), (county_code, standard_id, measure))
    union all
    select county_code, standard_id, null, 'schools_over_size',
        count(distinct school_id) filter (where breaks_school_size),
        count(distinct school_id) filter (where breaks_school_size is null),
        count(distinct school_id),
    from compliance
    group by county_code, standard_id
),

census_values as (
    select
        checkpoints.checklist_id,
        checkpoints.checkpoint_code,
        counties.county_code,
        case
            when checkpoints.measure = 'indicator_mean' then means.mean_value
            when counts.measure is not null then counts.failing
            else shares.numerator / nullif(shares.denominator, 0)
        end as measured,
        shares.numerator,
        shares.denominator,
        shares.base_year,
        means.n_below as n_sections_below,
        coalesce(means.n_missing_value, counts.unknown, shares.n_schools_unknown) as n_unknown,
        case
            when checkpoints.measure = 'indicator_mean' then if(means.mean_value is null, 'census_missing', null)
            when checkpoints.measure = shares.measure then shares.null_reason
            when counts.total is null or counts.unknown = counts.total then 'census_missing'
            -- a count above its limit fails whatever the unchecked sections are
            when counts.failing > checkpoints.standard_value then null
            when counts.unknown > 0 then 'census_incomplete'
        end as census_null_reason,
    from checkpoints
    cross join counties
    left join indicator_means as means
        on checkpoints.measure = 'indicator_mean'
        and means.county_code = counties.county_code
        and means.standard_id = checkpoints.standard_id
        and means.stage = checkpoints.stage
        and means.indicator_id = checkpoints.indicator_id
    left join section_counts as counts
        on counts.measure = checkpoints.measure
        and counts.county_code = counties.county_code
        and counts.standard_id = checkpoints.standard_id
        and counts.stage is not distinct from checkpoints.stage
    left join shares
        on shares.measure = checkpoints.measure
        and shares.county_code = counties.county_code
    where checkpoints.judged_by = 'census'
),

judged as (
    select
        $census_year::integer as census_year,
        counties.county_code,
        checkpoints.checklist_id,
        checkpoints.standard_id,
        checkpoints.area_code,
        checkpoints.area_name_zh,
        checkpoints.area_order,
        checkpoints.item_code,
        checkpoints.item_name_zh,
        checkpoints.item_order,
        checkpoints.checkpoint_code,
        checkpoints.checkpoint_order,
        checkpoints.wording_zh,
        checkpoints.judged_by,
        checkpoints.measure,
        checkpoints.stage,
        checkpoints.value_type,
        case checkpoints.judged_by
            when 'census' then case when census_values.census_null_reason is null then census_values.measured end
            when 'declared' then declarations.value_number
        end as value,
        declarations.value_text,
        census_values.numerator,
        census_values.denominator,
        census_values.base_year,
        census_values.n_sections_below,
        census_values.n_unknown,
        checkpoints.comparison,
        checkpoints.standard_value,
        checkpoints.unit,
        case checkpoints.judged_by
            when 'not_judged' then 'not_judged'
            when 'declared' then if(declarations.checkpoint_code is null, 'not_declared', null)
            else coalesce(census_values.census_null_reason,
                if(census_values.measured is null, 'census_missing', null))
        end as null_reason,
        declarations.evidence_note,
        declarations.declared_by,
        declarations.source_file,
        declarations.source_row,
    from checkpoints
    cross join counties
    left join census_values
        on census_values.checklist_id = checkpoints.checklist_id
        and census_values.checkpoint_code = checkpoints.checkpoint_code
        and census_values.county_code = counties.county_code
    left join audit.county_declarations as declarations
        on checkpoints.judged_by = 'declared'
        and declarations.census_year = $census_year
        and declarations.county_code = counties.county_code
        and declarations.checkpoint_code = checkpoints.checkpoint_code
),

final as (
    select
        * exclude (source_file, source_row, evidence_note, declared_by),
        -- a count of failing schools that is above its limit fails, even when some schools could
        -- not be checked; otherwise unknown schools leave the verdict open
        case
            when value is null then null
            when value_type = 'yes_no' then value = 1
            when comparison = '>=' then value >= standard_value - 1e-9
            when comparison = '<=' then value <= standard_value + 1e-9
        end as met,
        evidence_note,
        declared_by,
        source_file,
        source_row,
    from judged
)

select * from final
