-- The frames the data-quality suites check (pipelines/lib/publish/quality.py, suites in
-- models/quality/expectations.yaml): each statement turns the warehouse into a small table that
-- great-expectations then checks. $census_year is the year being published (null: every year);
-- a table to read is passed as $table_name and read with query_table().

-- name: repeated_keys
-- One row for $table_name: how many of its keys ($key) repeat, the rows holding them, and the first
-- $max_examples of them, each with its column names. One hash aggregate in DuckDB at any scale; the
-- suite's frame is one such row per table. A table without census years gets a null one, so it is
-- checked whole.
with

table_rows as (
    select * from query_table($table_name)
    union all by name
    select null::integer as census_year where false
),

key_counts as (
    select columns(lambda c: list_contains($key, c)), count(*) as n_rows
    from table_rows
    where cast($census_year as integer) is null or census_year is null or census_year = $census_year
    group by all
),

repeated as (
    select
        -- e.g. (census_year=2024, county_code=900101, stage=primary)
        '(' || regexp_replace(
            trim(struct_pack(*columns(lambda c: list_contains($key, c)))::varchar, '{}'),
            '''([a-z_0-9]+)'': ', '\1=', 'g'
        ) || ')' as key_values,
        n_rows
    from key_counts
    where n_rows > 1
),

final as (
    select
        $table_name as table_name,
        array_to_string($key, ' x ') as key_columns,
        count(*) as repeated_keys,
        coalesce(sum(n_rows), 0)::bigint as rows_with_repeated_key,
        coalesce(array_to_string(list(key_values order by key_values)[1:$max_examples], '; '), '') as examples
    from repeated
)

select * from final

-- name: composite_identity
-- marts.county_balance against the mean of its indicator CVs in marts.county_indicator_cv.
with

balance as (
    select census_year, county_code, stage, standard_id, composite_cv
    from marts.county_balance
    where cast($census_year as integer) is null or census_year = $census_year
),

indicator_cvs as (
    select
        census_year,
        county_code,
        stage,
        standard_id,
        count(cv) as n_indicator_cvs,
        avg(cv) as mean_of_indicator_cvs,
    from marts.county_indicator_cv
    where cast($census_year as integer) is null or census_year = $census_year
    group by all
),

expected_indicators as (
    select standard_id, stage, count(*) as n_indicators_expected
    from marts.standard_indicators
    group by all
),

final as (
    select
        balance.census_year,
        balance.county_code,
        balance.stage,
        balance.standard_id,
        balance.composite_cv,
        coalesce(indicator_cvs.n_indicator_cvs, 0) as n_indicator_cvs,
        expected_indicators.n_indicators_expected,
        case
            when indicator_cvs.n_indicator_cvs = expected_indicators.n_indicators_expected
                then indicator_cvs.mean_of_indicator_cvs
        end as mean_of_indicator_cvs,
        abs(balance.composite_cv - mean_of_indicator_cvs) as composite_difference,
        balance.composite_cv is null as composite_is_null,
        coalesce(indicator_cvs.n_indicator_cvs, 0)
            < coalesce(expected_indicators.n_indicators_expected, 0) as has_missing_indicator_cv,
    from balance
    left join indicator_cvs using (census_year, county_code, stage, standard_id)
    left join expected_indicators using (standard_id, stage)
)

select * from final
order by census_year, county_code, stage, standard_id

-- name: county_coverage
-- One row per census_year x county_code: every registry county in every checked year (the loaded
-- years of raw.census_schools, or the year asked for), and any other county found in the marts.
with

checked_years as (
    select census_year from raw.census_schools
    union
    select cast($census_year as integer) where $census_year is not null
),

registry as (
    select county_code from marts.dim_counties
),

indicator_cv_groups as (
    select census_year, county_code, count(distinct (stage, standard_id)) as n_indicator_cv_groups
    from marts.county_indicator_cv
    group by all
),

balance_groups as (
    -- a county-stage without included schools has a balance row saying so and no CVs
    select census_year, county_code, count(distinct (stage, standard_id)) as n_balance_groups
    from marts.county_balance
    where passes_null_reason is distinct from 'no_included_schools'
    group by all
),

expected_groups as (
    select count(distinct (stage, standard_id)) as n_expected_groups
    from marts.standard_thresholds
),

county_years as (
    select checked_years.census_year, registry.county_code from checked_years cross join registry
    union
    select census_year, county_code from indicator_cv_groups
    union
    select census_year, county_code from balance_groups
),

final as (
    select
        county_years.census_year,
        county_years.county_code,
        county_years.county_code in (select county_code from registry) as is_registry_county,
        coalesce(indicator_cv_groups.n_indicator_cv_groups, 0) as n_indicator_cv_groups,
        coalesce(balance_groups.n_balance_groups, 0) as n_balance_groups,
        expected_groups.n_expected_groups,
    from county_years
    cross join expected_groups
    left join indicator_cv_groups using (census_year, county_code)
    left join balance_groups using (census_year, county_code)
    where cast($census_year as integer) is null or county_years.census_year = $census_year
)

select * from final
order by census_year, county_code

-- name: value_ranges
-- The smallest of each of $min_columns and the largest of each of $max_columns of $table_name,
-- per census_year x county_code: one aggregate in DuckDB, whatever the size of the table; nulls
-- are left out by min and max. census_year is added to both lists, because DuckDB refuses a
-- COLUMNS() that selects nothing (a table with only minima, or only maxima, to check).
with

county_years as (
    select
        census_year,
        county_code,
        count(*) as n_rows,
        min(columns(lambda c: list_contains(list_append($min_columns, 'census_year'), c))) as "smallest_\0",
        max(columns(lambda c: list_contains(list_append($max_columns, 'census_year'), c))) as "largest_\0",
    from query_table($table_name)
    where cast($census_year as integer) is null or census_year = $census_year
    group by all
)

select * from county_years
order by census_year, county_code

-- name: alert_codes
-- Each alert with the rank its severity has on the ladder (null for a severity not on it).
with

alerts as (
    select alert_id, census_year, county_code, stage, standard_id, rule_id, severity, severity_rank, status
    from monitoring.backsliding_alerts
    where cast($census_year as integer) is null or census_year = $census_year
),

ladder as (
    select severity, rank as ladder_rank
    from marts.alert_severities
),

final as (
    select alerts.*, ladder.ladder_rank
    from alerts
    left join ladder using (severity)
)

select * from final
order by census_year, county_code, stage, standard_id, rule_id

-- name: ladder
select severity from marts.alert_severities order by rank

-- name: rows_per_year
-- Rows of $table_name in every loaded census year (raw.census_schools) and the year asked for.
with

checked_years as (
    select census_year from raw.census_schools
    union
    select cast($census_year as integer) where $census_year is not null
),

table_rows as (
    select census_year, count(*) as n_rows
    from query_table($table_name)
    group by all
),

final as (
    select checked_years.census_year, coalesce(table_rows.n_rows, 0) as n_rows
    from checked_years
    left join table_rows using (census_year)
)

select * from final
order by census_year
