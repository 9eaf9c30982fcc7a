-- A view: the narrow store marts.school_indicator_values with each section's descriptive columns
-- joined back on (county, name, type, urban-rural class and students from staging.school_sections,
-- the per-school minimum from marts.standard_indicators). The columns and their order are the ones
-- the table of this name had before it was stored narrow, so analysts' queries keep working.
-- Every model that reads school values reads this view; a filter on census_year reaches both
-- sides of the join.

select
    v.census_year,
    v.school_id,
    s.county_code,
    v.stage,
    v.standard_id,
    v.indicator_id,
    s.school_name,
    s.school_type_code,
    s.urban_rural_code,
    s.students,
    v.resource_amount,
    v.denominator_amount,
    v.value,
    i.standard_value,
    v.is_missing_value,
    v.meets_standard,
from marts.school_indicator_values as v
inner join staging.school_sections as s
    on s.census_year = v.census_year
    and s.standard_id = v.standard_id
    and s.school_id = v.school_id
    and s.stage = v.stage
inner join marts.standard_indicators as i
    on i.standard_id = v.standard_id
    and i.stage = v.stage
    and i.indicator_id = v.indicator_id
