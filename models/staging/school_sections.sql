-- One row per census_year x standard_id x school_id x stage: every school split into the
-- compulsory stages its type teaches, shared facilities apportioned by weighted students
-- (facility_split in models/standards/*.yaml), teaching points merged into their parent where
-- the standard says so, and the first matching exclusion rule recorded.

with

schools as (
    select * from raw.census_schools
    where census_year = $census_year
),

school_types as (
    select * from marts.dim_school_types
),

standards as (
    select standard_id from marts.standards
),

split_weights as (
    select * from marts.standard_split_weights
),

exclusion_rules as (
    select * from marts.standard_exclusion_rules
),

-- per standard and school type: the weight of each stage the type teaches (a stage it does not
-- teach weighs 0; senior only takes its share of the facilities), and how many stages it teaches
type_weights as (
    select
        standards.standard_id,
        school_types.school_type_code,
        len(school_types.stages) as n_stages,
        list_contains(school_types.stages, 'primary') as teaches_primary,
        list_contains(school_types.stages, 'junior') as teaches_junior,
        if(list_contains(school_types.stages, 'primary'), coalesce(primary_weight.weight, 1.0), 0.0) as primary_weight,
        if(list_contains(school_types.stages, 'junior'), coalesce(junior_weight.weight, 1.0), 0.0) as junior_weight,
        if(list_contains(school_types.stages, 'senior'), coalesce(senior_weight.weight, 1.0), 0.0) as senior_weight,
    from standards
    cross join school_types
    left join split_weights as primary_weight
        on primary_weight.standard_id = standards.standard_id
        and primary_weight.school_type_code = school_types.school_type_code
        and primary_weight.stage = 'primary'
    left join split_weights as junior_weight
        on junior_weight.standard_id = standards.standard_id
        and junior_weight.school_type_code = school_types.school_type_code
        and junior_weight.stage = 'junior'
    left join split_weights as senior_weight
        on senior_weight.standard_id = standards.standard_id
        and senior_weight.school_type_code = school_types.school_type_code
        and senior_weight.stage = 'senior'
),

-- share(stage) = w(stage)·N(stage) / (w·N of primary + junior + senior), added in that order so
-- that a re-run gives the same bits; an equal share per stage taught when the school has no pupils
shares as (
    select
        type_weights.standard_id,
        schools.school_id,
        stage,
        type_weights.primary_weight * schools.primary_students
            + type_weights.junior_weight * schools.junior_students
            + type_weights.senior_weight * schools.senior_students as weighted_total,
        case
            when weighted_total > 0 then
                if(stage = 'primary',
                    type_weights.primary_weight * schools.primary_students,
                    type_weights.junior_weight * schools.junior_students) / weighted_total
            else 1.0 / type_weights.n_stages
        end as facility_share,
    from schools
    inner join type_weights using (school_type_code)
    cross join (values ('primary'), ('junior')) as compulsory(stage)
    where (stage = 'primary' and type_weights.teaches_primary)
        or (stage = 'junior' and type_weights.teaches_junior)
),

split_sections as (
    select
        schools.census_year,
        shares.standard_id,
        schools.school_id,
        shares.stage,
        schools.school_name,
        schools.county_code,
        schools.school_type_code,
        schools.urban_rural_code,
        schools.ownership,
        schools.is_county_run,
        schools.parent_school_id,
        case shares.stage when 'primary' then schools.primary_students else schools.junior_students end as students,
        case shares.stage when 'primary' then schools.primary_classes else schools.junior_classes end as classes,
        case shares.stage when 'primary' then schools.primary_teachers else schools.junior_teachers end as teachers,
        case shares.stage when 'primary' then schools.primary_teachers_above_degree else schools.junior_teachers_above_degree end as teachers_above_degree,
        case shares.stage when 'primary' then schools.primary_teachers_senior_title else schools.junior_teachers_senior_title end as teachers_senior_title,
        case shares.stage when 'primary' then schools.primary_key_teachers else schools.junior_key_teachers end as key_teachers,
        case shares.stage when 'primary' then schools.primary_pe_art_teachers else schools.junior_pe_art_teachers end as pe_art_teachers,
        schools.max_class_size,
        shares.facility_share,
        shares.facility_share * schools.teaching_aux_area_m2 as teaching_aux_area_m2,
        shares.facility_share * schools.indoor_sports_area_m2 as indoor_sports_area_m2,
        shares.facility_share * schools.sports_ground_area_m2 as sports_ground_area_m2,
        shares.facility_share * schools.equipment_value_yuan as equipment_value_yuan,
        shares.facility_share * schools.computers as computers,
        shares.facility_share * schools.books as books,
        shares.facility_share * schools.multimedia_classrooms as multimedia_classrooms,
        shares.facility_share * schools.music_rooms as music_rooms,
        shares.facility_share * schools.music_room_area_m2 as music_room_area_m2,
        shares.facility_share * schools.art_rooms as art_rooms,
        shares.facility_share * schools.art_room_area_m2 as art_room_area_m2,
    from shares
    inner join schools using (school_id)
),

merge_standards as (
    select standard_id, merge_reason_zh, merge_reason_en from marts.standards
    where teaching_point_mode = 'merge_into_parent'
),

-- for standards whose teaching_points option is merge_into_parent: each teaching point with a
-- parent section of the same stage is folded into it (pupils and resources added) and left out.
-- A measure left blank by any of them leaves the parent's sum unknown (null), never a partial sum.
-- Amounts that are not whole numbers (apportioned facilities) are added in sorted order, so that a
-- re-run gives the same bits.
merged_points as (
    select point.standard_id, point.school_id, point.stage, point.parent_school_id,
    from split_sections as point
    inner join merge_standards using (standard_id)
    inner join split_sections as parent
        on parent.standard_id = point.standard_id
        and parent.school_id = point.parent_school_id
        and parent.stage = point.stage
    where point.school_type_code = '218'
),

parent_additions as (
    select
        merged_points.standard_id,
        merged_points.parent_school_id as school_id,
        merged_points.stage,
        count(*) as merged_teaching_points,
        sum(point.students)::bigint as students,
        if(count(point.classes) = count(*), sum(point.classes)::bigint, null) as classes,
        if(count(point.teachers) = count(*), sum(point.teachers)::bigint, null) as teachers,
        if(count(point.teachers_above_degree) = count(*), sum(point.teachers_above_degree)::bigint, null) as teachers_above_degree,
        if(count(point.teachers_senior_title) = count(*), sum(point.teachers_senior_title)::bigint, null) as teachers_senior_title,
        if(count(point.key_teachers) = count(*), sum(point.key_teachers)::bigint, null) as key_teachers,
        if(count(point.pe_art_teachers) = count(*), sum(point.pe_art_teachers)::bigint, null) as pe_art_teachers,
        if(count(point.teaching_aux_area_m2) = count(*), list_aggregate(list_sort(list(point.teaching_aux_area_m2)), 'fsum'), null) as teaching_aux_area_m2,
        if(count(point.indoor_sports_area_m2) = count(*), list_aggregate(list_sort(list(point.indoor_sports_area_m2)), 'fsum'), null) as indoor_sports_area_m2,
        if(count(point.sports_ground_area_m2) = count(*), list_aggregate(list_sort(list(point.sports_ground_area_m2)), 'fsum'), null) as sports_ground_area_m2,
        if(count(point.equipment_value_yuan) = count(*), list_aggregate(list_sort(list(point.equipment_value_yuan)), 'fsum'), null) as equipment_value_yuan,
        if(count(point.computers) = count(*), list_aggregate(list_sort(list(point.computers)), 'fsum'), null) as computers,
        if(count(point.books) = count(*), list_aggregate(list_sort(list(point.books)), 'fsum'), null) as books,
        if(count(point.multimedia_classrooms) = count(*), list_aggregate(list_sort(list(point.multimedia_classrooms)), 'fsum'), null) as multimedia_classrooms,
        if(count(point.music_rooms) = count(*), list_aggregate(list_sort(list(point.music_rooms)), 'fsum'), null) as music_rooms,
        if(count(point.music_room_area_m2) = count(*), list_aggregate(list_sort(list(point.music_room_area_m2)), 'fsum'), null) as music_room_area_m2,
        if(count(point.art_rooms) = count(*), list_aggregate(list_sort(list(point.art_rooms)), 'fsum'), null) as art_rooms,
        if(count(point.art_room_area_m2) = count(*), list_aggregate(list_sort(list(point.art_room_area_m2)), 'fsum'), null) as art_room_area_m2,
    from merged_points
    inner join split_sections as point using (standard_id, school_id, stage)
    group by all
),

sections as (
    select
        split_sections.* replace (
            split_sections.students + coalesce(additions.students, 0) as students,
            split_sections.classes + if(additions.school_id is null, 0, additions.classes) as classes,
            split_sections.teachers + if(additions.school_id is null, 0, additions.teachers) as teachers,
            split_sections.teachers_above_degree + if(additions.school_id is null, 0, additions.teachers_above_degree) as teachers_above_degree,
            split_sections.teachers_senior_title + if(additions.school_id is null, 0, additions.teachers_senior_title) as teachers_senior_title,
            split_sections.key_teachers + if(additions.school_id is null, 0, additions.key_teachers) as key_teachers,
            split_sections.pe_art_teachers + if(additions.school_id is null, 0, additions.pe_art_teachers) as pe_art_teachers,
            split_sections.teaching_aux_area_m2 + if(additions.school_id is null, 0, additions.teaching_aux_area_m2) as teaching_aux_area_m2,
            split_sections.indoor_sports_area_m2 + if(additions.school_id is null, 0, additions.indoor_sports_area_m2) as indoor_sports_area_m2,
            split_sections.sports_ground_area_m2 + if(additions.school_id is null, 0, additions.sports_ground_area_m2) as sports_ground_area_m2,
            split_sections.equipment_value_yuan + if(additions.school_id is null, 0, additions.equipment_value_yuan) as equipment_value_yuan,
            split_sections.computers + if(additions.school_id is null, 0, additions.computers) as computers,
            split_sections.books + if(additions.school_id is null, 0, additions.books) as books,
            split_sections.multimedia_classrooms + if(additions.school_id is null, 0, additions.multimedia_classrooms) as multimedia_classrooms,
            split_sections.music_rooms + if(additions.school_id is null, 0, additions.music_rooms) as music_rooms,
            split_sections.music_room_area_m2 + if(additions.school_id is null, 0, additions.music_room_area_m2) as music_room_area_m2,
            split_sections.art_rooms + if(additions.school_id is null, 0, additions.art_rooms) as art_rooms,
            split_sections.art_room_area_m2 + if(additions.school_id is null, 0, additions.art_room_area_m2) as art_room_area_m2
        ),
        coalesce(additions.merged_teaching_points, 0) as merged_teaching_points,
    from split_sections
    left join parent_additions as additions using (standard_id, school_id, stage)
),

-- the first exclusion rule (in file order) whose every condition holds; merged teaching points first
first_exclusion as (
    select
        standard_id, school_id, stage,
        arg_min(rule_id, rule_order) as exclusion_rule_id,
        arg_min(reason_zh, rule_order) as exclusion_reason_zh,
        arg_min(reason_en, rule_order) as exclusion_reason_en,
    from (
        select
            merged_points.standard_id, merged_points.school_id, merged_points.stage,
            0 as rule_order, 'merged_into_parent' as rule_id,
            merge_standards.merge_reason_zh as reason_zh, merge_standards.merge_reason_en as reason_en,
        from merged_points
        inner join merge_standards using (standard_id)
        union all
        select
            sections.standard_id, sections.school_id, sections.stage,
            exclusion_rules.rule_order, exclusion_rules.rule_id,
            exclusion_rules.reason_zh, exclusion_rules.reason_en,
        from sections
        inner join exclusion_rules
            on exclusion_rules.standard_id = sections.standard_id
            and (exclusion_rules.school_type_codes is null
                or list_contains(exclusion_rules.school_type_codes, sections.school_type_code))
            and (exclusion_rules.ownership is null
                or exclusion_rules.ownership = sections.ownership)
            and (exclusion_rules.is_county_run is null
                or exclusion_rules.is_county_run = sections.is_county_run)
            and (exclusion_rules.students_below is null
                or sections.students < exclusion_rules.students_below)
    )
    group by all
),

final as (
    select
        sections.*,
        first_exclusion.exclusion_rule_id is null as is_included,
        first_exclusion.exclusion_rule_id,
        first_exclusion.exclusion_reason_zh,
        first_exclusion.exclusion_reason_en,
    from sections
    left join first_exclusion using (standard_id, school_id, stage)
)

select * from final
