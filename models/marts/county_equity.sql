-- One row per census_year x county_code x stage x standard_id x indicator_id: equity measures
-- beyond the official CV (docs/methodology.md §6, docs/equity.md), all weighted by pupils. Reported, never
-- used to certify. Each has a plain-Python twin in pipelines/lib/method/equity.py that the tests compare.
-- Floating sums add each group's terms sorted by value (list_sort, then fsum), so a re-run gives
-- the same bits whatever the thread scheduling; an ordered aggregate, fsum(x order by school_id),
-- does the same but took 4.9 s for a national census year against 1.9 s.

with

school_values as (
    select
        v.county_code, v.stage, v.standard_id, v.indicator_id, v.school_id, v.students::double as students,
        v.value, area.area_class,
    from marts.school_indicators as v
    inner join marts.dim_urban_rural as area using (urban_rural_code)
    where v.census_year = $census_year and v.students > 0 and v.value is not null
),

totals as (
    select
        county_code, stage, standard_id, indicator_id,
        count(*) as n_schools,
        sum(students) as pupils,
        list_aggregate(list_sort(list(students * value)), 'fsum') as resource,
    from school_values
    group by all
),

-- ascending by value (school id breaks ties), with cumulative pupils
ordered as (
    select
        school_values.*,
        totals.pupils,
        totals.resource / totals.pupils as mean_value,
        sum(school_values.students) over (
            partition by school_values.county_code, school_values.stage, school_values.standard_id,
                school_values.indicator_id
            order by school_values.value, school_values.school_id
            rows between unbounded preceding and current row
        ) as cumulative,
    from school_values
    inner join totals using (county_code, stage, standard_id, indicator_id)
),

by_area as (
    select
        county_code, stage, standard_id, indicator_id, area_class,
        sum(students) as area_pupils,
        list_aggregate(list_sort(list(students * value)), 'fsum') as area_resource,
    from school_values
    group by all
),

area_theil as (
    select
        o.county_code, o.stage, o.standard_id, o.indicator_id, o.area_class,
        any_value(a.area_resource) / any_value(o.resource_total) as resource_share,
        any_value(a.area_resource / a.area_pupils) / any_value(o.mean_value) as mean_ratio,
        list_aggregate(list_sort(list(
            (o.students / a.area_pupils)
            * case when o.value > 0
                then (o.value / (a.area_resource / a.area_pupils)) * ln(o.value / (a.area_resource / a.area_pupils))
                else 0 end
        )), 'fsum') as area_theil_t,
    from (select *, pupils * mean_value as resource_total from ordered) as o
    inner join by_area as a using (county_code, stage, standard_id, indicator_id, area_class)
    group by all
),

theil_split as (
    select
        county_code, stage, standard_id, indicator_id,
        list_aggregate(list_sort(list(case when resource_share > 0 then resource_share * ln(mean_ratio) else 0 end)), 'fsum')
            as theil_between_area,
        list_aggregate(list_sort(list(resource_share * area_theil_t)), 'fsum') as theil_within_area,
        fsum(resource_share * area_theil_t) filter (where area_class = '城区') as theil_within_urban,
        fsum(resource_share * area_theil_t) filter (where area_class = '镇区') as theil_within_town,
        fsum(resource_share * area_theil_t) filter (where area_class = '乡村') as theil_within_rural,
    from area_theil
    group by all
),

measures as (
    select
        county_code, stage, standard_id, indicator_id,
        any_value(pupils) as pupils,
        any_value(mean_value) as mean_value,
        list_aggregate(list_sort(list(students * value * (2 * (cumulative - students) + students - pupils))), 'fsum')
            / (any_value(pupils) ^ 2 * any_value(mean_value)) as gini,
        list_aggregate(list_sort(list(
            (students / pupils)
            * case when value > 0 then (value / mean_value) * ln(value / mean_value) else 0 end
        )), 'fsum') as theil_t,
        min(value) filter (where cumulative >= 0.05 * pupils) as p05_value,
        min(value) filter (where cumulative >= 0.95 * pupils) as p95_value,
        min(value) filter (where cumulative >= pupils / 2) as median_value,
        coalesce(list_aggregate(list_sort(list(students * value) filter (where cumulative < pupils / 2)), 'fsum'), 0)
            as lower_half_resource,
        coalesce(max(cumulative) filter (where cumulative < pupils / 2), 0) as lower_half_pupils,
    from ordered
    group by all
),

final as (
    select
        $census_year::integer as census_year,
        measures.county_code,
        measures.stage,
        measures.standard_id,
        measures.indicator_id,
        totals.n_schools,
        measures.pupils::bigint as students,
        measures.mean_value,
        case when measures.mean_value > 0 then measures.gini end as gini,
        case when measures.mean_value > 0 then measures.theil_t end as theil_t,
        case when measures.mean_value > 0 then theil_split.theil_between_area end as theil_between_area,
        case when measures.mean_value > 0 then theil_split.theil_within_area end as theil_within_area,
        theil_split.theil_within_urban,
        theil_split.theil_within_town,
        theil_split.theil_within_rural,
        case when measures.median_value > 0 then
            (measures.lower_half_resource + (measures.pupils / 2 - measures.lower_half_pupils) * measures.median_value)
            / (measures.pupils / 2 * measures.median_value)
        end as mcloone,
        measures.median_value,
        measures.p05_value,
        measures.p95_value,
        case when measures.p05_value > 0
            then (measures.p95_value - measures.p05_value) / measures.p05_value
        end as federal_range_ratio,
    from measures
    inner join totals using (county_code, stage, standard_id, indicator_id)
    inner join theil_split using (county_code, stage, standard_id, indicator_id)
)

select * from final
