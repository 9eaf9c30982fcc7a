"""A blank census cell: the school stays in every indicator that does not need that measure.

Three primary schools of one county. census_row() meets all 7 quality_2017 minimums; the
others differ only where a test says so. Values and coefficients are checked against hand
computations, not against the models' own output.
"""

import math

import pytest
import yaml

from pipelines.lib.paths import MODELS_DIR
from pipelines.lib.reference.standards import parse_standard
from tests.conftest import census_row

SCHOOL_A, SCHOOL_B, SCHOOL_C = "2190000001", "2190000002", "2190000003"


def cv_row(wh, indicator_id, standard_id="quality_2017"):
    rows = wh.table(
        "marts.county_indicator_cv",
        f"standard_id = '{standard_id}' and stage = 'primary' and indicator_id = '{indicator_id}'",
    )
    assert rows.height == 1
    return rows.row(0, named=True)


def balance(wh, standard_id="quality_2017"):
    rows = wh.table("marts.county_balance", f"standard_id = '{standard_id}' and stage = 'primary'")
    assert rows.height == 1
    return rows.row(0, named=True)


def weighted_cv(pairs):
    """Student-weighted population CV of (students, value) pairs, written out by hand."""
    total = sum(p for p, _ in pairs)
    mean = sum(p * x for p, x in pairs) / total
    return math.sqrt(sum(p / total * (x - mean) ** 2 for p, x in pairs)) / mean


@pytest.fixture
def three_schools_one_blank(tiny_warehouse):
    tiny_warehouse.load(
        [
            census_row(school_id=SCHOOL_A, equipment_value_yuan=None),
            census_row(school_id=SCHOOL_B, primary_students=400, computers=50),
            census_row(school_id=SCHOOL_C, primary_students=600, equipment_value_yuan=1_500_000.0),
        ]
    )
    return tiny_warehouse


def test_a_blank_measure_leaves_only_the_indicators_that_need_it_unknown(three_schools_one_blank):
    rows = three_schools_one_blank.table(
        "marts.school_indicators", f"school_id = '{SCHOOL_A}' and standard_id = 'quality_2017'"
    )
    unknown = rows.filter(rows["is_missing_value"])
    assert unknown["indicator_id"].to_list() == ["equipment_value_per_student"]
    assert unknown["value"].to_list() == [None] and unknown["resource_amount"].to_list() == [None]
    known = rows.filter(~rows["is_missing_value"])
    assert known.height == 6 and known["value"].null_count() == 0
    teaching_area = known.filter(known["indicator_id"] == "teaching_area_per_student")
    assert teaching_area["value"].to_list() == [pytest.approx((3000.0 - 200.0) / 500)]


def test_the_county_coefficient_leaves_the_school_out_of_that_indicator_only(three_schools_one_blank):
    wh = three_schools_one_blank
    equipment = cv_row(wh, "equipment_value_per_student")
    assert equipment["n_schools"] == 2 and equipment["n_missing_value"] == 1
    assert equipment["students"] == 1000
    assert equipment["cv"] == pytest.approx(weighted_cv([(400, 1_000_000 / 400), (600, 1_500_000 / 600)]))

    computers = cv_row(wh, "computers_per_100", standard_id="basic_2012")
    assert computers["n_schools"] == 3 and computers["n_missing_value"] == 0
    assert computers["cv"] == pytest.approx(
        weighted_cv([(500, 100 * 60 / 500), (400, 100 * 50 / 400), (600, 100 * 60 / 600)])
    )


def test_the_county_result_is_provisional_and_says_how_many_sections_are_incomplete(three_schools_one_blank):
    wh = three_schools_one_blank
    quality = balance(wh)
    assert quality["is_provisional"] is True and quality["n_sections_missing_value"] == 1
    assert quality["passes"] is not None  # computed from the known sections, marked provisional
    assert quality["n_schools"] == 3
    basic = balance(wh, "basic_2012")
    assert basic["is_provisional"] is True and basic["n_sections_missing_value"] == 1


def test_complete_data_is_not_provisional(tiny_warehouse):
    tiny_warehouse.load(
        [census_row(school_id=SCHOOL_A), census_row(school_id=SCHOOL_B, primary_students=400)]
    )
    for standard_id in ("basic_2012", "quality_2017"):
        row = balance(tiny_warehouse, standard_id)
        assert row["is_provisional"] is False and row["n_sections_missing_value"] == 0
    assert cv_row(tiny_warehouse, "equipment_value_per_student")["n_missing_value"] == 0


def test_a_term_of_a_two_term_indicator_blank_makes_it_unknown_not_the_other_term(tiny_warehouse):
    """sports area = ground + indoor: a blank indoor area must not give ground area alone."""
    tiny_warehouse.load(
        [census_row(school_id=SCHOOL_A, indoor_sports_area_m2=None), census_row(school_id=SCHOOL_B)]
    )
    rows = tiny_warehouse.table(
        "marts.school_indicators",
        f"school_id = '{SCHOOL_A}' and standard_id = 'quality_2017' and is_missing_value",
    )
    # both indicators that name the indoor sports area: teaching area subtracts it, sports adds it
    assert sorted(rows["indicator_id"].to_list()) == ["sports_area_per_student", "teaching_area_per_student"]
    assert rows["value"].null_count() == 2


def compliance(wh, school_id=SCHOOL_A):
    rows = wh.table(
        "marts.school_compliance",
        f"school_id = '{school_id}' and standard_id = 'quality_2017' and stage = 'primary'",
    )
    return rows.row(0, named=True)


def test_the_per_school_rule_is_undetermined_when_the_unknown_value_could_decide_it(tiny_warehouse):
    tiny_warehouse.load([census_row(school_id=SCHOOL_A, primary_key_teachers=None)])
    row = compliance(tiny_warehouse)
    assert row["n_missing_values"] == 1 and row["n_met"] == 6
    assert row["is_compliant"] is None
    assert balance(tiny_warehouse)["n_compliant_sections"] == 0


def test_the_per_school_rule_fails_when_the_known_values_fail_it_whatever_the_blank_is(tiny_warehouse):
    # multimedia 11 per 500 = 2.2 per 100 (96% of 2.3, unmet) and teaching area at 50%: two unmet
    # among the six known ones, so the school fails whatever its key-teacher count is
    tiny_warehouse.load(
        [
            census_row(
                school_id=SCHOOL_A,
                primary_key_teachers=None,
                multimedia_classrooms=11,
                teaching_aux_area_m2=0.5 * 4.5 * 500 + 200.0,
            )
        ]
    )
    row = compliance(tiny_warehouse)
    assert row["n_missing_values"] == 1 and row["is_compliant"] is False


def test_a_blank_in_a_merged_teaching_point_leaves_the_parents_sum_unknown(tiny_warehouse, standards):
    """A variant folding teaching points into their parent: a partial sum would look complete."""
    path = MODELS_DIR / "standards" / "examples" / "basic_2012_merge_teaching_points.yaml"
    variant = parse_standard(yaml.safe_load(path.read_text(encoding="utf-8")), str(path))
    tiny_warehouse.use_standards([standards["basic_2012"], variant])
    parent = census_row(school_id=SCHOOL_A)
    point = census_row(
        school_id=SCHOOL_B,
        school_type_code="218",
        parent_school_id=SCHOOL_A,
        primary_students=40,
        books=None,
    )
    tiny_warehouse.load([parent, point, census_row(school_id=SCHOOL_C)])
    sections = tiny_warehouse.table(
        "staging.school_sections", f"school_id = '{SCHOOL_A}' and standard_id = '{variant.standard_id}'"
    )
    assert sections["merged_teaching_points"].to_list() == [1]
    assert sections["books"].to_list() == [None]
    assert sections["computers"].to_list() == [120.0]  # known in both: summed
    assert sections["students"].to_list() == [540]
