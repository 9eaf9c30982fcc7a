-- What the outputs read from the published snapshot: the workbooks (pipelines/lib/outputs/excel.py),
-- the words every output shares (pipelines/lib/sentences.py), the data dictionary (dictionary.py), the summary
-- `junheng run` and `junheng demo` print (summary.py) and the reports folder (folder.py).

-- name: latest_balance_year
select max(census_year) from marts.county_balance

-- name: balance_rows_of_year
select count(*) from marts.county_balance where census_year = $census_year

-- name: balance_sheet
-- The workbook's 县域均衡 sheet: one row per county, stage and standard.
select
    balance.census_year,
    balance.county_code,
    counties.county_name,
    balance.stage,
    balance.standard_id,
    balance.cv_rule,
    balance.n_schools,
    balance.students,
    balance.composite_cv,
    balance.max_indicator_cv,
    balance.max_indicator_id,
    balance.cv_threshold,
    balance.n_indicators_over_threshold,
    balance.passes,
    balance.meets_standard,
    balance.unmet_parts,
    balance.n_compliant_sections,
    balance.compliant_share,
    balance.meets_school_standards,
    balance.n_breaking_school_size,
    balance.n_breaking_class_size,
    balance.n_breaking_room_standard,
    balance.is_provisional,
    balance.n_sections_missing_value,
from marts.county_balance as balance
left join marts.dim_counties as counties using (county_code)
where balance.census_year = $census_year
order by balance.county_code, balance.standard_id, balance.stage desc

-- name: indicator_cv_sheet
-- The workbook's 指标差异系数 sheet: one row per county, stage, standard and indicator.
select
    cvs.census_year,
    cvs.county_code,
    counties.county_name,
    cvs.stage,
    cvs.standard_id,
    cvs.indicator_id,
    cvs.indicator_order,
    indicators.unit,
    cvs.n_schools,
    cvs.n_missing_value,
    cvs.students,
    cvs.mean_value,
    cvs.sd_value,
    cvs.cv,
    cvs.cv_threshold,
    cvs.passes,
from marts.county_indicator_cv as cvs
left join marts.dim_counties as counties using (county_code)
left join marts.standard_indicators as indicators using (standard_id, stage, indicator_id)
where cvs.census_year = $census_year
order by cvs.county_code, cvs.standard_id, cvs.stage desc, cvs.indicator_order

-- name: severity_names
select severity, rank, name_zh from marts.alert_severities

-- name: standard_names
select standard_id, name_zh from marts.standards

-- name: indicator_names
select distinct standard_id, indicator_id, name_zh from marts.standard_indicators

-- name: rule_names
select rule_id, name_zh from marts.alert_rules

-- name: dictionary_tables
-- The tables of a warehouse, or the views of the published snapshot (a catalog of views).
select schema_name, table_name from duckdb_tables() where list_contains($schemas, schema_name)
union
select schema_name, view_name from duckdb_views() where list_contains($schemas, schema_name) and not internal

-- name: dictionary_columns
select schema_name, table_name, column_name, data_type, coalesce(comment, '') as comment
from duckdb_columns()
where list_contains($schemas, schema_name)
order by column_index

-- name: standard_summaries
-- Every census year's counts of counties meeting, failing and undecided per standard and stage
-- (monitoring.standard_summary), for the summary `junheng run` and `junheng demo` print.
select *
from monitoring.standard_summary
order by census_year, standard_id, stage desc

-- name: file_notes
-- What the census year's current load says of its files besides their rows (audit.loads.message,
-- one note per part): sheets read as a continuation or passed over, rows that are not schools,
-- markers read as unknown, separators and encodings, files skipped. The blank-cell note is left
-- out: the load's line already counts blank cells. At most $top notes, with how many there are.
with

current_load as (
    select any_value(load_id) as load_id
    from audit.loads
    where census_year = $census_year and is_current
),

parts as (
    select source_file, status, string_split(message, '; ') as parts
    from audit.loads
    where census_year = $census_year
        and load_id = (select load_id from current_load)
        and message is not null
),

notes as (
    select source_file, status, unnest(parts) as note, unnest(range(len(parts))) as part_no
    from parts
)

select
    source_file,
    status,
    trim(split_part(note, ' / ', 1)) as note_zh,
    trim(coalesce(nullif(split_part(note, ' / ', 2), ''), note)) as note_en,
    count(*) over () as n_notes,
    count(*) over () > $top as has_more_notes,
from notes
where note not like '%个数据单元格为空%'
order by source_file, part_no
limit $top

-- name: schools_loaded
select count(*) as n from raw.census_schools where census_year = $census_year

-- name: blank_cells
-- Measure cells left blank in the year's loaded rows ($cols: the measures that may be blank),
-- loaded as unknown values (docs/methodology.md §8.8).
select count(*) as cells, count(distinct school_id) as schools
from (
    select school_id, columns(lambda c: list_contains($cols, c))::varchar
    from raw.census_schools
    where census_year = $census_year
)
unpivot include nulls (cell for measure in (columns(* exclude (school_id))))
where cell is null

-- name: rows_refused
select count(distinct (source_file, source_row)) as rows, count(*) as problems
from audit.rejected_rows
where census_year = $census_year

-- name: commonest_refusals
select "column", "check", count(*) as n, min(message_en) as example, min(message_zh) as example_zh
from audit.rejected_rows
where census_year = $census_year
group by all
order by n desc
limit $top

-- name: scenario_composite
-- `junheng generate --explain`: a planted scenario's composite coefficient over the years.
select census_year, composite_cv, passes
from marts.county_balance
where county_code = $county_code and stage = $stage and standard_id = $standard_id
order by 1

-- name: scenario_indicator
select census_year, cv, passes
from marts.county_indicator_cv
where county_code = $county_code
    and stage = $stage
    and standard_id = $standard_id
    and indicator_id = $indicator_id
order by 1

-- name: scenario_school_rule
-- sections of the county-stage that fail the per-school rule, per census year (one home:
-- marts.county_balance.n_failing_school_rule)
select census_year, n_failing_school_rule, meets_school_rule
from marts.county_balance
where county_code = $county_code and stage = $stage and standard_id = $standard_id
order by 1

-- name: scenario_checkpoint
-- `junheng demo`: a planted checklist scenario's checkpoint over the years it is judged.
select census_year, value, met
from marts.county_checklist
where county_code = $county_code and checkpoint_code = $checkpoint_code and met is not null
order by 1

-- name: scenario_alerts
-- the active alerts of a planted scenario's county-stage: which rules fired in which year
select census_year, rule_id, severity, fired_rules
from monitoring.backsliding_alerts
where county_code = $county_code
    and stage = $stage
    and standard_id = $standard_id
    and status in ('new', 'continuing')
order by all

-- name: file_shapes
-- the shapes of a census year's loaded files as the ingest recognised them (the demo's summary)
select shape, count(*) as files, sum(rows_accepted) as schools
from audit.loads
where is_current
    and status = 'loaded'
    and census_year = $census_year
group by shape
order by shape

-- name: checklist_sheet
-- The workbook's 督导评估清单 sheet: every county's checkpoints, a percentage shown in per cent
-- (its unit %), a declared value also as written.
select
    checklist.county_code,
    counties.county_name,
    checklist.area_code,
    checklist.area_name_zh,
    checklist.item_code,
    checklist.checkpoint_code,
    checklist.wording_zh,
    checklist.judged_by,
    if(checklist.value_type = 'percent', checklist.value * 100, checklist.value) as shown_value,
    checklist.value_text,
    checklist.comparison,
    if(checklist.value_type = 'percent', checklist.standard_value * 100, checklist.standard_value) as shown_standard,
    checklist.unit,
    checklist.met,
    checklist.null_reason,
    checklist.declared_by,
    checklist.evidence_note,
from marts.county_checklist as checklist
inner join marts.dim_counties as counties using (county_code)
where checklist.census_year = $census_year
order by checklist.county_code, checklist.checklist_id, checklist.checkpoint_order

-- name: checklist_summary_sheet
-- The workbook's 督导评估清单汇总 sheet: the province first, then each county.
select
    area_level, area_code, area_name, n_checkpoints, n_census, n_declared, n_not_judged,
    n_met, n_not_met, n_census_met, n_census_not_met, n_census_undecided, n_declared_met,
    n_declared_not_met, n_not_declared, n_census_missing,
from marts.county_checklist_summary
where census_year = $census_year
order by area_level desc, area_code

-- name: declarations_loaded
-- A census year's county declarations kept and the rows of declaration files refused.
select
    (select count(*) from audit.county_declarations where census_year = $census_year) as accepted,
    (
        select count(distinct (source_file, source_row))
        from audit.rejected_declarations
        where census_year = $census_year
    ) as refused
