-- Queries of pipelines/lib/loads/revisions.py (audit.revisions).

-- name: current_load
-- The committed load whose data the census year holds now (before this load commits), if any.
select load_id
from audit.census_year_loads
where census_year = $census_year and is_current and status = 'committed' and load_id <> $load_id

-- name: changed_counties
-- Counties whose coefficients of the year differ between the table now and its undo copy (the
-- year as it was before this load wrote it).
select distinct county_code
from (
    (select * from marts.county_indicator_cv where census_year = $census_year
        except select * from {{ before }})
    union all
    (select * from {{ before }}
        except select * from marts.county_indicator_cv where census_year = $census_year)
)
order by 1

-- name: counties_of_year
select distinct county_code from raw.census_schools where census_year = $census_year order by 1

-- name: forget
-- The step may run again in the same load (a retried run): its record is written anew.
delete from audit.revisions where load_id = $load_id and census_year = $census_year

-- name: insert
insert into audit.revisions by name select * from frame
