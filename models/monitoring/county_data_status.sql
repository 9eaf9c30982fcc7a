-- One row per census_year x county_code of the registry: is this county-year's data complete
-- enough for hard verdicts? Rejected rows are counted by the county code written on the row
-- (audit.rejected_rows, filled by the ingest asset with raw.census_schools); missing schools are
-- last year's school ids that are not loaded this year. Shares above the settings in
-- marts.alert_settings make the county-year provisional (a data_hold alert, docs/methodology.md §5.3).

with

settings as (
    select
        max(value) filter (where setting_id = 'data_hold_max_rejected_share') as max_rejected_share,
        max(value) filter (where setting_id = 'data_hold_max_missing_school_share') as max_missing_share,
    from marts.alert_settings
),

counties as (
    select county_code, province_code from marts.dim_counties
),

current_schools as (
    select county_code, school_id from raw.census_schools
    where census_year = $census_year
),

previous_schools as (
    select county_code, school_id from raw.census_schools
    where census_year = $census_year - 1
),

year_loaded as (
    -- whether anything of the previous year is in the warehouse at all
    select count(*) > 0 as has_previous_year from previous_schools
),

loaded as (
    select county_code, count(*) as rows_loaded
    from current_schools
    group by all
),

rejected as (
    select county_code, count(distinct source_file || ':' || source_row) as rows_rejected
    from audit.rejected_rows
    where census_year = $census_year
    group by all
),

previous as (
    select county_code, count(*) as schools_previous_year
    from previous_schools
    group by all
),

missing as (
    select p.county_code, count(*) as schools_missing
    from previous_schools as p
    anti join current_schools as c using (school_id)
    group by all
),

shares as (
    select
        counties.county_code,
        counties.province_code,
        coalesce(loaded.rows_loaded, 0) as rows_loaded,
        coalesce(rejected.rows_rejected, 0) as rows_rejected,
        case when year_loaded.has_previous_year then coalesce(previous.schools_previous_year, 0) end
            as schools_previous_year,
        case when year_loaded.has_previous_year then coalesce(missing.schools_missing, 0) end
            as schools_missing,
    from counties
    cross join year_loaded
    left join loaded using (county_code)
    left join rejected using (county_code)
    left join previous using (county_code)
    left join missing using (county_code)
),

final as (
    select
        $census_year::integer as census_year,
        shares.county_code,
        shares.province_code,
        shares.rows_loaded::bigint as rows_loaded,
        shares.rows_rejected::bigint as rows_rejected,
        shares.rows_rejected / nullif(shares.rows_loaded + shares.rows_rejected, 0) as rejected_share,
        shares.schools_previous_year::bigint as schools_previous_year,
        shares.schools_missing::bigint as schools_missing,
        shares.schools_missing / nullif(shares.schools_previous_year, 0) as missing_school_share,
        settings.max_rejected_share,
        settings.max_missing_share,
        coalesce(rejected_share > settings.max_rejected_share, false)
            or coalesce(missing_school_share > settings.max_missing_share, false)
            or shares.rows_loaded = 0 as is_provisional,
        concat_ws('; ',
            case when rejected_share > settings.max_rejected_share then 'rejected_rows' end,
            case when missing_school_share > settings.max_missing_share then 'missing_schools' end,
            case when shares.rows_loaded = 0 then 'no_rows_loaded' end
        ) as provisional_reason,
    from shares
    cross join settings
)

select * from final
