-- The record of census-year loads (pipelines/lib/loads/run_write.py): a run's census years become
-- current when it publishes, inside the run's one transaction; a failed run's attempt is recorded
-- after its rollback.

-- name: loaded_years
select distinct census_year from raw.census_schools order by 1

-- name: journal_not_current
-- Earlier loads of the year are not its data any more.
update audit.census_year_loads
set is_current = false
where census_year = $census_year and is_current

-- name: journal_committed
-- The run's load of the year is the year's data now.
insert into audit.census_year_loads by name
select
    $load_id as load_id,
    $census_year as census_year,
    'committed' as status,
    true as is_current,
    $started_at as started_at,
    $finished_at as finished_at,
    $host as host,
    $pid as pid,
    $pid_started as pid_started,
    null as reason

-- name: journal_rolled_back
insert into audit.census_year_loads by name
select
    $load_id as load_id,
    $census_year as census_year,
    'rolled_back' as status,
    false as is_current,
    $started_at as started_at,
    now() as finished_at,
    $host as host,
    $pid as pid,
    $pid_started as pid_started,
    $reason as reason

-- name: loads_make_current
-- The files of this load are the year's data now, if this load read files (a load that only
-- rebuilt the models leaves the files of the year as they were); ignored files are never current.
update audit.loads
set is_current = (load_id = $load_id and status = 'loaded')
where census_year = $census_year
    and exists (
        select 1 from audit.loads
        where load_id = $load_id and census_year = $census_year and status = 'loaded'
    )

