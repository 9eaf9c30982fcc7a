-- One row per census_year x county_code x stage x standard_id x verdict: whether each verdict of
-- marts.county_balance fails this year, and the unbroken run of failing years it belongs to.
-- verdict is 'standard' (meets_standard), 'cv_rule' (meets_cv_rule) or 'school_rule'
-- (meets_school_rule, standards with a per-school rule only). A run counts consecutive loaded
-- census years up to this one in which the verdict failed; a year in which it held or could not
-- be judged (null) ends the run. Sentences such as "自 2021 年起连续 4 年未达标" read these
-- columns, so the start year and the count always describe the verdict they name.

with

balance as (
    select * from marts.county_balance
    where census_year <= $census_year
),

standards as (
    select standard_id, school_rule_min_met is not null as has_school_rule
    from marts.standards
),

verdicts as (
    select census_year, county_code, stage, standard_id, 'standard' as verdict,
        not meets_standard as is_failing,
    from balance
    union all
    select census_year, county_code, stage, standard_id, 'cv_rule' as verdict,
        not meets_cv_rule as is_failing,
    from balance
    union all
    select balance.census_year, balance.county_code, balance.stage, balance.standard_id,
        'school_rule' as verdict,
        not balance.meets_school_rule as is_failing,
    from balance
    inner join standards using (standard_id)
    where standards.has_school_rule
),

-- the last loaded year, up to this one, in which the verdict did not fail
with_last_ok as (
    select
        *,
        max(census_year) filter (where not coalesce(is_failing, false)) over (
            partition by county_code, stage, standard_id, verdict
        ) as last_ok_year,
    from verdicts
),

runs as (
    select
        county_code, stage, standard_id, verdict,
        min(census_year) filter (where census_year > coalesce(last_ok_year, -1)) as failing_since_year,
        count(*) filter (where census_year > coalesce(last_ok_year, -1)) as failing_years,
    from with_last_ok
    group by all
),

final as (
    select
        $census_year::integer as census_year,
        verdicts.county_code,
        verdicts.stage,
        verdicts.standard_id,
        verdicts.verdict,
        verdicts.is_failing,
        case when verdicts.is_failing then runs.failing_since_year end::integer as failing_since_year,
        case when verdicts.is_failing then runs.failing_years else 0 end::bigint as failing_years,
    from verdicts
    inner join runs using (county_code, stage, standard_id, verdict)
    where verdicts.census_year = $census_year
)

select * from final
