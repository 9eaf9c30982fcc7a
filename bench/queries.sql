-- The benchmarks' own statements (bench/steps.py, bench/run.py), read by the project's query
-- loader (pipelines/lib/queries.py). The baselines are here too: they are what is measured against.

-- name: count_csv
-- The scan baseline of ingest: DuckDB counting the rows of a CSV extract.
select count(*) from read_csv($path, header = true)

-- name: count_parquet
select count(*) from read_parquet($path)

-- name: census_columns
-- The census columns and their types, for the typed-load baseline's table (no lineage columns).
select column_name, data_type
from duckdb_columns()
where schema_name = 'raw' and table_name = 'census_schools'
    and column_name not in ('load_id', 'source_file', 'source_row', 'source_sha256')
order by column_index

-- name: typed_table
create or replace table typed ({{ columns }})

-- name: typed_rows
select count(*) from typed

-- name: typed_load_csv
-- The typed-load baseline of ingest: DuckDB reading the CSV extracts into a typed table.
insert into typed by name select * from read_csv($path, header = true)

-- name: typed_load_parquet
insert into typed by name select * from read_parquet($path)

-- name: select_into_memory
-- A model's select alone: its rows into a temporary table in memory, not the warehouse file.
create or replace temporary table bench_select as {{ model }}

-- name: census_year_rows
-- The rows the pandas notebook baseline starts from (read before the clock starts).
select * from raw.census_schools where census_year = $census_year

-- name: indicator_cvs
-- Our coefficients, to compare with the baseline's.
select standard_id, census_year, county_code, stage, indicator_id, n_schools, cv
from marts.county_indicator_cv
where census_year = $census_year

-- name: county_codes
select county_code from marts.dim_counties

-- name: direct_county_cvs
-- The floor of the SQL approach: what a strong analyst would write by hand, one statement straight
-- from raw.census_schools, materialising nothing. The same county coefficients as the coefficient
-- step (the benchmark checks they agree): each school split into the compulsory stages its type
-- teaches, shared facilities apportioned by weighted students, sections left out by the first
-- matching exclusion rule, the indicators of both shipped standards written out, and the
-- student-weighted CV in two passes. It reads the standards' small tables (weights, exclusion
-- rules) like the models do, but takes none of their care: plain sums in whatever order the
-- threads give, and only the exclusion form of teaching points (both shipped standards use it).
with

schools as (
    select * from raw.census_schools where census_year = $census_year
),

type_weights as (
    select
        standards.standard_id,
        types.school_type_code,
        list_contains(types.stages, 'primary') as has_primary,
        list_contains(types.stages, 'junior') as has_junior,
        len(types.stages) as n_stages,
        if(list_contains(types.stages, 'primary'), coalesce(wp.weight, 1.0), 0.0) as w_primary,
        if(list_contains(types.stages, 'junior'), coalesce(wj.weight, 1.0), 0.0) as w_junior,
        if(list_contains(types.stages, 'senior'), coalesce(ws.weight, 1.0), 0.0) as w_senior,
    from marts.standards as standards
    cross join marts.dim_school_types as types
    left join marts.standard_split_weights as wp
        on wp.standard_id = standards.standard_id and wp.school_type_code = types.school_type_code
        and wp.stage = 'primary'
    left join marts.standard_split_weights as wj
        on wj.standard_id = standards.standard_id and wj.school_type_code = types.school_type_code
        and wj.stage = 'junior'
    left join marts.standard_split_weights as ws
        on ws.standard_id = standards.standard_id and ws.school_type_code = types.school_type_code
        and ws.stage = 'senior'
),

sections as (
    select
        w.standard_id,
        s.county_code,
        s.school_type_code,
        s.ownership,
        s.is_county_run,
        stage.stage,
        if(stage.stage = 'primary', s.primary_students, s.junior_students) as students,
        if(stage.stage = 'primary', s.primary_teachers, s.junior_teachers) as teachers,
        if(stage.stage = 'primary', s.primary_teachers_above_degree, s.junior_teachers_above_degree) as above_degree,
        if(stage.stage = 'primary', s.primary_teachers_senior_title, s.junior_teachers_senior_title) as senior_title,
        if(stage.stage = 'primary', s.primary_key_teachers, s.junior_key_teachers) as key_teachers,
        if(stage.stage = 'primary', s.primary_pe_art_teachers, s.junior_pe_art_teachers) as pe_art_teachers,
        w.w_primary * s.primary_students + w.w_junior * s.junior_students + w.w_senior * s.senior_students as total,
        case
            when total > 0 then if(stage.stage = 'primary', w.w_primary * s.primary_students, w.w_junior * s.junior_students) / total
            else 1.0 / w.n_stages
        end as share,
        s.teaching_aux_area_m2, s.indoor_sports_area_m2, s.sports_ground_area_m2, s.equipment_value_yuan,
        s.computers, s.books, s.multimedia_classrooms,
    from schools as s
    inner join type_weights as w using (school_type_code)
    cross join (values ('primary'), ('junior')) as stage(stage)
    where (stage.stage = 'primary' and w.has_primary) or (stage.stage = 'junior' and w.has_junior)
),

included as (
    select * from sections
    where not exists (
        select 1 from marts.standard_exclusion_rules as r
        where r.standard_id = sections.standard_id
            and (r.school_type_codes is null or list_contains(r.school_type_codes, sections.school_type_code))
            and (r.ownership is null or r.ownership = sections.ownership)
            and (r.is_county_run is null or r.is_county_run = sections.is_county_run)
            and (r.students_below is null or sections.students < r.students_below)
    )
    and students > 0
),

school_values as (
    select standard_id, county_code, stage, students, unnest(
        case standard_id
            when 'basic_2012' then [
                {'indicator_id': 'teaching_area_per_student', 'value': share * (teaching_aux_area_m2 - indoor_sports_area_m2) / students},
                {'indicator_id': 'sports_area_per_student', 'value': share * (sports_ground_area_m2 + indoor_sports_area_m2) / students},
                {'indicator_id': 'equipment_value_per_student', 'value': share * equipment_value_yuan / students},
                {'indicator_id': 'computers_per_100', 'value': 100 * share * computers / students},
                {'indicator_id': 'books_per_student', 'value': share * books / students},
                {'indicator_id': 'teachers_per_student', 'value': teachers / students},
                {'indicator_id': 'degree_teachers_per_student', 'value': above_degree / students},
                {'indicator_id': 'senior_title_teachers_per_student', 'value': senior_title / students}
            ]
            when 'quality_2017' then [
                {'indicator_id': 'degree_teachers_per_100', 'value': 100 * above_degree / students},
                {'indicator_id': 'key_teachers_per_100', 'value': 100 * key_teachers / students},
                {'indicator_id': 'pe_art_teachers_per_100', 'value': 100 * pe_art_teachers / students},
                {'indicator_id': 'teaching_area_per_student', 'value': share * (teaching_aux_area_m2 - indoor_sports_area_m2) / students},
                {'indicator_id': 'sports_area_per_student', 'value': share * (sports_ground_area_m2 + indoor_sports_area_m2) / students},
                {'indicator_id': 'equipment_value_per_student', 'value': share * equipment_value_yuan / students},
                {'indicator_id': 'multimedia_rooms_per_100', 'value': 100 * share * multimedia_classrooms / students}
            ]
        end,
        recursive := true
    )
    from included
),

weighted as (
    select
        *,
        sum(students * value) over county / sum(students) over county as mean_value,
    from school_values
    where value is not null
    window county as (partition by standard_id, county_code, stage, indicator_id)
)

select
    standard_id, county_code, stage, indicator_id,
    count(*) as n_schools,
    if(count(*) < 2 or any_value(mean_value) = 0, null,
        sqrt(sum(students * (value - mean_value) ^ 2) / sum(students)) / any_value(mean_value)) as cv,
from weighted
group by all
