"""monitoring.school_drivers on two hand-built years: contributions, ranks and exact changes."""

import math

import polars as pl
import pytest

from pipelines.lib.method.equity import weighted_cv
from tests.conftest import census_row
from tests.oracles.equity_measures import contribution_changes

INDICATOR = "(standard_id = 'basic_2012' and indicator_id = 'books_per_student' and stage = 'primary')"


def school(i: int, students: int, books: int) -> dict:
    return census_row(school_id=f"21900000{i:02d}", primary_students=students, books=books)


def test_changes_add_up_to_the_change_in_cv_squared_with_schools_closing_and_opening(tiny_warehouse):
    last_year = [school(1, 500, 15_000), school(2, 300, 3_000), school(3, 800, 40_000)]  # 3 closes
    this_year = [school(1, 520, 15_500), school(2, 280, 3_000), school(4, 600, 12_000)]  # 4 opens
    tiny_warehouse.load(last_year, census_year=2023)
    tiny_warehouse.load(this_year, census_year=2024)
    drivers = tiny_warehouse.table("monitoring.school_drivers", f"census_year = 2024 and {INDICATOR}")
    status = dict(zip(drivers["school_id"], drivers["status"], strict=True))
    assert status == {
        "2190000001": "continuing",
        "2190000002": "continuing",
        "2190000003": "disappeared",
        "2190000004": "appeared",
    }
    cv_now, cv_before = drivers["county_cv"][0], drivers["previous_county_cv"][0]
    assert math.fsum(drivers["contribution"]) == pytest.approx(cv_now**2, rel=1e-12)
    assert math.fsum(drivers["contribution_change"]) == pytest.approx(cv_now**2 - cv_before**2, abs=1e-12)
    # the same numbers from the plain-Python statement of the method
    expected = contribution_changes(
        {r["school_id"]: (r["books"] / r["primary_students"], r["primary_students"]) for r in last_year},
        {r["school_id"]: (r["books"] / r["primary_students"], r["primary_students"]) for r in this_year},
    )
    for row in drivers.iter_rows(named=True):
        assert row["contribution_change"] == pytest.approx(expected[row["school_id"]], abs=1e-12)
    assert cv_now == pytest.approx(weighted_cv([15_500 / 520, 3_000 / 280, 12_000 / 600], [520, 280, 600]).cv)


def test_the_worst_resourced_school_ranks_first_and_is_marked_under(tiny_warehouse):
    tiny_warehouse.load([school(1, 500, 15_000), school(2, 500, 15_500), school(3, 500, 2_000)])
    drivers = tiny_warehouse.table("monitoring.school_drivers", INDICATOR).sort("driver_rank")
    top = drivers.row(0, named=True)
    assert (top["school_id"], top["resourcing"], top["driver_rank"]) == ("2190000003", "under", 1)
    assert top["status"] == "no_previous_year" and top["contribution_change"] is None
    assert drivers["share_of_cv_squared"].sum() == pytest.approx(1.0)
    assert drivers.filter(pl.col("school_id") == "2190000002")["resourcing"][0] == "over"


def test_schools_parts_of_the_composite_cv_add_up_to_it(tiny_warehouse):
    """monitoring.school_composite_drivers: each indicator's CV split by the CV² shares, averaged
    over the standard's indicators; the parts add up to the county's composite CV."""
    schools = [
        census_row(school_id="2190000001", primary_students=500, books=15_000, computers=60),
        census_row(
            school_id="2190000002",
            primary_students=300,
            books=3_000,
            computers=10,
            teaching_aux_area_m2=900.0,
        ),
        census_row(school_id="2190000003", primary_students=800, books=40_000, computers=90),
    ]
    tiny_warehouse.load(schools)
    balance = tiny_warehouse.table(
        "marts.county_balance", "standard_id = 'basic_2012' and stage = 'primary'"
    ).row(0, named=True)
    parts = tiny_warehouse.table(
        "monitoring.school_composite_drivers", "standard_id = 'basic_2012' and stage = 'primary'"
    ).sort("driver_rank")
    assert math.fsum(parts["composite_part"]) == pytest.approx(balance["composite_cv"], rel=1e-12)
    assert math.fsum(parts["share_of_composite"]) == pytest.approx(1.0, rel=1e-12)
    # the same part from the per-indicator drivers, by hand
    drivers = tiny_warehouse.table(
        "monitoring.school_drivers",
        "standard_id = 'basic_2012' and stage = 'primary' and school_id = '2190000002'",
    )
    by_hand = math.fsum(
        r["county_cv"] * (r["share_of_cv_squared"] or 0) for r in drivers.iter_rows(named=True)
    )
    row = parts.filter(pl.col("school_id") == "2190000002").row(0, named=True)
    assert row["composite_part"] == pytest.approx(by_hand / balance["n_indicators"], rel=1e-12)
    assert parts["driver_rank"].to_list() == [1, 2, 3] and parts["n_indicators"][0] == balance["n_indicators"]
