"""The what-if plans (models/monitoring/what_if_plans.sql, what_if_schools.sql) on hand-made
schools whose answers are worked out by hand: amounts in whole teachers and 万元 tenths, every
school raised to the per-school minimum where the standard sets one, the CV target met, and a
plan that needs nothing says so in one row."""

from __future__ import annotations

import math

import pytest

from pipelines.lib.method.equity import weighted_cv
from tests.conftest import census_row

YEAR = 2024


def certify(tiny_warehouse, county_code: str = "900101", standard_id: str = "quality_2017") -> None:
    tiny_warehouse.con.execute(
        "insert into marts.certifications (county_code, standard_id, certified_year) values ($c, $s, 2020)",
        {"c": county_code, "s": standard_id},
    )


def school(n: int, **overrides) -> dict:
    return census_row(school_id=f"21900000{n:02d}", **overrides)


def plan(tiny_warehouse, metric_id: str, standard_id: str = "quality_2017") -> dict:
    return tiny_warehouse.table(
        "monitoring.what_if_plans",
        f"standard_id = '{standard_id}' and stage = 'primary' and plan_metric_id = '{metric_id}' "
        f"and metric_id = '{metric_id}'",
    ).row(0, named=True)


def test_teachers_are_added_whole_and_every_school_reaches_the_minimum(tiny_warehouse):
    # five schools of 500 pupils; PE and art teachers 2, 3, 5, 6, 8 = 0.4, 0.6, 1.0, 1.2, 1.6 per
    # 100 pupils against the minimum 0.9: 4.5 teachers are needed, so 5 at the first two schools
    # (2 -> 5 is 3 teachers, 3 -> 5 is 2), never 2.5 and 1.5
    certify(tiny_warehouse)
    tiny_warehouse.load(
        [school(i, primary_pe_art_teachers=n) for i, n in enumerate([2, 3, 5, 6, 8], start=1)]
    )
    row = plan(tiny_warehouse, "pe_art_teachers_per_100")
    assert row["is_needed"] is True and row["floor_basis"] == "school_minimum"
    assert row["floor_value"] == pytest.approx(0.9) and row["floor_share_of_mean"] == 0
    assert (row["n_schools_raised"], row["amount_needed"], row["amount_unit"]) == (2, 5.0, "人")
    schools = tiny_warehouse.table("monitoring.what_if_schools", "indicator_id = 'pe_art_teachers_per_100'")
    assert sorted(zip(schools["school_id"], schools["amount_needed"], strict=True)) == [
        ("2190000001", 3.0),
        ("2190000002", 2.0),
    ]
    assert all(v >= 0.9 for v in schools["value_after"])
    # the CV after is the weighted CV of the raised values, at most the target
    after = weighted_cv([1.0, 1.0, 1.0, 1.2, 1.6], [500] * 5).cv
    assert row["cv_after"] == pytest.approx(after, rel=1e-12) and row["cv_after"] <= row["target_cv"]


def test_money_is_added_in_tenths_of_a_wan_yuan_and_the_cv_target_can_ask_for_more(tiny_warehouse):
    # equipment per pupil 2100 at four schools, 20000 at one: above the minimum 2000, but a CV of
    # 1.26 against the target 0.95 × 0.50. The floor rises in whole percent of the county mean until
    # the CV of the rounded-up amounts meets the target; each school's need is a multiple of 0.1 万元.
    certify(tiny_warehouse)
    values = [2100.0, 2100.0, 2100.0, 2100.0, 20000.0]
    tiny_warehouse.load([school(i, equipment_value_yuan=v * 500) for i, v in enumerate(values, start=1)])
    row = plan(tiny_warehouse, "equipment_value_per_student")
    assert row["is_needed"] is True and row["floor_basis"] == "cv_target"
    assert row["amount_unit"] == "万元" and row["n_schools_raised"] == 4
    mean = sum(values) / len(values)
    share = row["floor_share_of_mean"]
    assert row["floor_value"] == pytest.approx(share * mean)
    assert share == pytest.approx(round(share, 2))  # whole percent of the mean
    schools = tiny_warehouse.table(
        "monitoring.what_if_schools", "indicator_id = 'equipment_value_per_student'"
    )
    for amount in schools["amount_needed"]:
        assert amount == pytest.approx(round(amount, 1))  # 万元 in tenths
        assert amount > 0
    assert sum(schools["amount_needed"]) == pytest.approx(row["amount_needed"])
    assert all(v >= row["floor_value"] - 1e-9 for v in schools["value_after"])
    target = row["target_cv"]
    assert target == pytest.approx(0.95 * 0.5)

    def cv_at(s: float) -> float:  # the plan by hand: each school raised to s × mean, in 0.1 万元
        after = [
            v
            if v >= s * mean
            else v + math.ceil(round((s * mean - v) * 500 / 10000 / 0.1, 9)) * 0.1 * 10000 / 500
            for v in values
        ]
        cv = weighted_cv(after, [500] * 5).cv
        assert cv is not None
        return cv

    assert row["cv_after"] == pytest.approx(cv_at(share), rel=1e-9) and row["cv_after"] <= target
    assert cv_at(share - 0.01) > target  # the smallest whole percent that meets the target


def test_a_plan_with_nothing_to_add_is_one_row_saying_so(tiny_warehouse):
    certify(tiny_warehouse)
    tiny_warehouse.load([school(1), school(2), school(3)])
    rows = tiny_warehouse.table(
        "monitoring.what_if_plans", "standard_id = 'quality_2017' and stage = 'primary'"
    )
    assert rows.height == 7  # one per judged indicator
    assert set(rows["is_needed"]) == {False}
    assert rows["amount_needed"].to_list() == [None] * 7
    assert tiny_warehouse.table("monitoring.what_if_schools").is_empty()


def test_the_basic_composite_floors_every_indicator_at_one_share_of_its_mean(tiny_warehouse):
    certify(tiny_warehouse, standard_id="basic_2012")
    # two schools with about a tenth of the others' resources on every indicator: each indicator's
    # CV is about 0.69, so the composite is above the target 0.95 × 0.65
    poor = {
        "teaching_aux_area_m2": 300.0,
        "indoor_sports_area_m2": 20.0,
        "sports_ground_area_m2": 380.0,
        "equipment_value_yuan": 100_000.0,
        "computers": 6,
        "books": 1500,
        "primary_teachers": 3,
        "primary_teachers_above_degree": 3,
        "primary_teachers_senior_title": 1,
        "primary_key_teachers": 1,
        "primary_pe_art_teachers": 1,
    }
    rows = [school(i) for i in range(1, 4)] + [school(4, **poor), school(5, **poor)]
    tiny_warehouse.load(rows)
    composite = plan(tiny_warehouse, "composite", "basic_2012")
    assert composite["is_needed"] is True and composite["plan_null_reason"] is None
    assert composite["cv_after"] <= composite["target_cv"] < composite["cv_before"]
    parts = tiny_warehouse.table(
        "monitoring.what_if_plans",
        "standard_id = 'basic_2012' and stage = 'primary' and plan_metric_id = 'composite' and metric_id <> 'composite'",
    )
    assert parts.height == 8
    assert set(parts["floor_share_of_mean"]) == {composite["floor_share_of_mean"]}
    assert composite["cv_after"] == pytest.approx(sum(parts["cv_after"]) / 8, rel=1e-12)
    books = parts.filter(parts["metric_id"] == "books_per_student").row(0, named=True)
    assert books["amount_unit"] == "册" and books["amount_needed"] == round(books["amount_needed"])
