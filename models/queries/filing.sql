-- What the tables a county files read (pipelines/lib/outputs/filing.py): the 差异系数表 of each
-- standard, the school table and the fix list of each county and census year, from the published
-- snapshot. Each statement reads one table, so every figure can cite its table, key and column.
-- The per-county statements read a batch of counties at once ($county_codes), ordered by county
-- first: one statement per county scanned the whole year's files each time (0.46 s a county for
-- the school values of a national year, against 0.36 s for 200 counties at once).

-- name: certified_counties
-- The counties certified for at least one standard in the census year (and not revoked by then):
-- the counties that file these tables.
select distinct county_code
from marts.certifications
where certified_year <= $census_year and (revoked_year is null or revoked_year > $census_year)
order by county_code

-- name: county
select * from marts.dim_counties where county_code in (select unnest($county_codes))

-- name: standards
select * from marts.standards order by standard_id

-- name: indicators
select * from marts.standard_indicators order by standard_id, stage desc, indicator_order

-- name: balance
select *
from marts.county_balance
where census_year = $census_year and county_code in (select unnest($county_codes))
order by county_code, standard_id, stage desc

-- name: indicator_cv
select *
from marts.county_indicator_cv
where census_year = $census_year and county_code in (select unnest($county_codes))
order by county_code, standard_id, stage desc, indicator_order

-- name: school_sections
-- Every included school section of the county under each standard with a per-school rule or
-- school conditions, in the order of the school table.
select *
from marts.school_compliance
where census_year = $census_year and county_code in (select unnest($county_codes))
order by county_code, standard_id, stage desc, school_id

-- name: school_values
-- Each included section's value of each indicator with a per-school minimum, and whether it meets it.
select *
from marts.school_indicators
where census_year = $census_year and county_code in (select unnest($county_codes)) and standard_value is not null
order by county_code, standard_id, stage desc, school_id, indicator_id

-- name: fix_list
select *
from monitoring.school_fix_list
where census_year = $census_year and county_code in (select unnest($county_codes))
order by county_code, standard_id, fix_order

-- name: fix_totals
-- one row per stage and indicator (its first school's row, which carries the county's totals)
select *
from monitoring.school_fix_list
where census_year = $census_year and county_code in (select unnest($county_codes))
qualify row_number() over (partition by county_code, standard_id, stage, indicator_id order by fix_order) = 1
order by county_code, standard_id, stage desc, indicator_order

-- name: year_summary
select * from monitoring.year_summary where census_year = $census_year
