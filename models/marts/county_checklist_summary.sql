-- One row per census_year x checklist_id x area (each county, and the province as a whole): how
-- many checkpoints of the checklist are met, not met or undecided, and how each was judged (counted
-- from marts.county_checklist). The province report and the workbook show these counts.

with

checklist as (
    select
        checklist.*,
        counties.province_code,
        counties.province_name,
        counties.prefecture_code,
        counties.county_name,
    from marts.county_checklist as checklist
    inner join marts.dim_counties as counties using (county_code)
    where checklist.census_year = $census_year
),

counted as (
    select
        $census_year::integer as census_year,
        checklist_id,
        if(grouping(county_code) = 0, 'county', 'province') as area_level,
        coalesce(county_code, province_code) as area_code,
        if(grouping(county_code) = 0, any_value(county_name), any_value(province_name)) as area_name,
        if(grouping(county_code) = 0, any_value(prefecture_code), null) as prefecture_code,
        count(distinct county_code) as n_counties,
        count(*) as n_checkpoints,
        count(*) filter (where judged_by = 'census') as n_census,
        count(*) filter (where judged_by = 'declared') as n_declared,
        count(*) filter (where judged_by = 'not_judged') as n_not_judged,
        count(*) filter (where met) as n_met,
        count(*) filter (where not met) as n_not_met,
        count(*) filter (where met and judged_by = 'census') as n_census_met,
        count(*) filter (where not met and judged_by = 'census') as n_census_not_met,
        count(*) filter (where met is null and judged_by = 'census') as n_census_undecided,
        count(*) filter (where met and judged_by = 'declared') as n_declared_met,
        count(*) filter (where not met and judged_by = 'declared') as n_declared_not_met,
        count(*) filter (where null_reason = 'not_declared') as n_not_declared,
        count(*) filter (where null_reason = 'census_missing') as n_census_missing,
    from checklist
    group by grouping sets ((checklist_id, province_code, county_code), (checklist_id, province_code))
)

select * from counted
