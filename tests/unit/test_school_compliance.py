"""The per-school rule ("at least N of M, every unmet one >= R of its minimum") and conditions.

census_row() meets all 7 quality_2017 primary minimums: degree teachers 5.0 per 100 (>= 4.2),
key teachers 1.2 (>= 1.0), PE/art 1.0 (>= 0.9), teaching area 5.6 m² (>= 4.5), sports area
8.4 m² (>= 7.5), equipment 2000 yuan (>= 2000, exactly), multimedia 2.4 per 100 (>= 2.3).
"""

import pytest
import yaml

from pipelines.lib.paths import MODELS_DIR
from pipelines.lib.reference.standards import parse_standard
from tests.conftest import census_row, empty_stage

STUDENTS = 500
INDOOR = 200.0


def teaching_aux_for(ratio: float) -> float:
    """teaching_aux_area_m2 giving a net teaching area of `ratio` x the 4.5 m² primary minimum."""
    return ratio * 4.5 * STUDENTS + INDOOR


def compliance(wh, school_id="2190000001", standard_id="quality_2017", stage="primary"):
    rows = wh.table(
        "marts.school_compliance",
        f"school_id = '{school_id}' and standard_id = '{standard_id}' and stage = '{stage}'",
    )
    assert rows.height <= 1
    return rows.row(0, named=True) if rows.height else None


@pytest.mark.parametrize(
    ("overrides", "n_met", "compliant"),
    [
        ({}, 7, True),  # 7 of 7
        ({"teaching_aux_area_m2": teaching_aux_for(0.85)}, 6, True),  # 6 of 7, unmet at 85% exactly
        ({"teaching_aux_area_m2": teaching_aux_for(0.849)}, 6, False),  # 6 of 7, unmet at 84.9%
        ({"teaching_aux_area_m2": teaching_aux_for(0.95), "multimedia_classrooms": 11}, 5, False),  # 5 of 7
    ],
    ids=["7_of_7", "6_of_7_at_85", "6_of_7_at_84.9", "5_of_7"],
)
def test_quality_rule_edge_cases(tiny_warehouse, overrides, n_met, compliant):
    tiny_warehouse.load([census_row(**overrides), census_row(school_id="2190000002")])
    row = compliance(tiny_warehouse)
    assert row["n_indicators"] == 7 and row["n_met"] == n_met
    assert row["is_compliant"] is compliant
    if n_met == 6:
        assert row["unmet_indicators"] == ["teaching_area_per_student"]
        assert row["min_unmet_ratio"] == pytest.approx(0.85 if compliant else 0.849)


def test_a_section_with_zero_students_is_not_judged(tiny_warehouse):
    empty = census_row(primary_students=0, primary_classes=0)
    tiny_warehouse.load([empty, census_row(school_id="2190000002")])
    assert compliance(tiny_warehouse) is None
    section = tiny_warehouse.table(
        "staging.school_sections", "school_id = '2190000001' and standard_id = 'quality_2017'"
    )
    assert section["exclusion_rule_id"].to_list() == ["no_students"]


def test_basic_2012_has_no_per_school_rule(tiny_warehouse):
    tiny_warehouse.load([census_row(), census_row(school_id="2190000002")])
    assert compliance(tiny_warehouse, standard_id="basic_2012") is None
    balance = tiny_warehouse.table("marts.county_balance", "standard_id = 'basic_2012' and stage = 'primary'")
    assert balance["meets_school_standards"].to_list() == [None]


def test_county_roll_up_counts_compliant_sections_apart_from_the_cv_rule(tiny_warehouse):
    tiny_warehouse.load(
        [
            census_row(),
            census_row(
                school_id="2190000002", multimedia_classrooms=11, teaching_aux_area_m2=teaching_aux_for(0.5)
            ),
        ]
    )
    balance = tiny_warehouse.table(
        "marts.county_balance", "standard_id = 'quality_2017' and stage = 'primary'"
    ).row(0, named=True)
    assert balance["n_compliant_sections"] == 1 and balance["compliant_share"] == 0.5
    assert balance["meets_school_standards"] is False


@pytest.mark.parametrize(
    ("overrides", "breaks"),
    [
        ({}, (False, False, False)),
        (
            {
                "primary_students": 2100,
                "primary_classes": 45,
                "primary_teachers": 120,
                "music_rooms": 4,
                "art_rooms": 4,
                "music_room_area_m2": 400.0,
                "art_room_area_m2": 360.0,
            },
            (True, False, False),
        ),
        (
            {
                "school_type_code": "312",
                "primary_students": 1500,
                "junior_students": 900,
                "junior_classes": 18,
                "junior_teachers": 60,
                "primary_classes": 34,
                "primary_teachers": 90,
                "music_rooms": 6,
                "art_rooms": 6,
                "music_room_area_m2": 600.0,
                "art_room_area_m2": 560.0,
            },
            (False, False, False),
        ),  # 2400 <= 2500
        ({"max_class_size": 46}, (False, True, False)),
        ({"music_room_area_m2": 95.0}, (False, False, True)),  # one room, 95 m² < 96
        ({"primary_classes": 13}, (False, False, True)),  # 13 classes need 2 rooms of each
    ],
    ids=["fine", "too_big", "nine_year_2500", "class_46", "small_music_room", "too_few_rooms"],
)
def test_school_conditions(tiny_warehouse, overrides, breaks):
    tiny_warehouse.load([census_row(**overrides), census_row(school_id="2190000002")])
    stages = ["primary", "junior"] if overrides.get("school_type_code") == "312" else ["primary"]
    for stage in stages:  # a nine-year school: both sections, rooms apportioned 1 : 1.1 by pupils
        row = compliance(tiny_warehouse, stage=stage)
        assert (row["breaks_school_size"], row["breaks_class_size"], row["breaks_room_standard"]) == breaks


def example_variant():
    path = MODELS_DIR / "standards" / "examples" / "example_province_8_of_10.yaml"
    return parse_standard(yaml.safe_load(path.read_text(encoding="utf-8")), str(path))


@pytest.mark.parametrize(
    ("overrides", "compliant"),
    [
        ({"books": 10_000, "computers": 40}, True),  # 2 unmet (books 20/25 = 80%, computers 8/10)
        ({"books": 10_000, "computers": 40, "multimedia_classrooms": 11}, False),  # 3 unmet: 7 of 10
    ],
    ids=["8_of_10", "7_of_10"],
)
def test_provincial_variant_8_of_10_rest_at_60_percent(tiny_warehouse, standards, overrides, compliant):
    tiny_warehouse.use_standards([standards["quality_2017"], example_variant()])
    tiny_warehouse.load([census_row(**overrides), census_row(school_id="2190000002")])
    row = compliance(tiny_warehouse, standard_id="example_province_8_of_10")
    assert row["n_indicators"] == 10
    assert row["is_compliant"] is compliant
    # the national rule on the same school: books and computers are not among its 7 indicators,
    # and multimedia at 2.2 per 100 is 96% of 2.3, so the school passes 6 of 7 there either way
    assert compliance(tiny_warehouse, standard_id="quality_2017")["is_compliant"] is True


def test_provincial_variant_unmet_below_60_percent_fails(tiny_warehouse, standards):
    tiny_warehouse.use_standards([standards["quality_2017"], example_variant()])
    tiny_warehouse.load([census_row(books=7_000), census_row(school_id="2190000002")])  # 14/25 = 56%
    row = compliance(tiny_warehouse, standard_id="example_province_8_of_10")
    assert row["n_met"] == 9 and row["min_unmet_ratio"] == pytest.approx(0.56)
    assert row["is_compliant"] is False
    sections = tiny_warehouse.table("marts.county_indicator_cv", "standard_id = 'example_province_8_of_10'")
    assert set(sections["indicator_id"]) >= {"books_per_student", "computers_per_100", "teachers_per_100"}


def test_the_example_variant_is_not_loaded_by_the_pipeline(standards):
    assert "example_province_8_of_10" not in standards


def test_meets_standard_needs_the_cvs_and_every_school(tiny_warehouse):
    """Both CV rules pass (two near-identical schools), but one school is below the 6-of-7 rule."""
    tiny_warehouse.load(
        [
            census_row(),
            census_row(
                school_id="2190000002", multimedia_classrooms=11, teaching_aux_area_m2=teaching_aux_for(0.8)
            ),
        ]
    )
    quality = tiny_warehouse.table(
        "marts.county_balance", "standard_id = 'quality_2017' and stage = 'primary'"
    ).row(0, named=True)
    assert quality["passes"] is True and quality["meets_school_standards"] is False
    assert quality["meets_standard"] is False and quality["unmet_parts"] == ["school_rule"]
    basic = tiny_warehouse.table(
        "marts.county_balance", "standard_id = 'basic_2012' and stage = 'primary'"
    ).row(0, named=True)
    assert basic["passes"] is True and basic["meets_standard"] is True and basic["unmet_parts"] == []


def test_meets_standard_when_every_part_holds(tiny_warehouse):
    tiny_warehouse.load([census_row(), census_row(school_id="2190000002")])
    quality = tiny_warehouse.table(
        "marts.county_balance", "standard_id = 'quality_2017' and stage = 'primary'"
    ).row(0, named=True)
    assert quality["passes"] is True and quality["meets_standard"] is True and quality["unmet_parts"] == []


def test_a_county_stage_with_no_included_school_gets_a_row_saying_so(tiny_warehouse):
    """Two primary schools and one private junior school (excluded by basic_2012): the basic
    junior row says why there is no verdict; quality_2017 counts private schools."""
    private_junior = census_row(
        school_id="2190000003",
        school_type_code="311",
        ownership="private",
        **empty_stage("primary"),
        junior_students=300,
        junior_classes=6,
        junior_teachers=25,
        junior_teachers_above_degree=20,
        junior_teachers_senior_title=8,
        junior_key_teachers=4,
        junior_pe_art_teachers=3,
    )
    tiny_warehouse.load([census_row(), census_row(school_id="2190000002"), private_junior])
    row = tiny_warehouse.table("marts.county_balance", "standard_id = 'basic_2012' and stage = 'junior'").row(
        0, named=True
    )
    assert row["n_schools"] == 0 and row["students"] == 0
    assert row["passes"] is None and row["meets_standard"] is None
    assert row["passes_null_reason"] == "no_included_schools"
    quality = tiny_warehouse.table(
        "marts.county_balance", "standard_id = 'quality_2017' and stage = 'junior'"
    )
    assert quality["n_schools"].to_list() == [1]


def test_meets_standard_waits_while_a_school_is_undecided(tiny_warehouse):
    """Both CVs pass and no school fails, but one school's key teachers were left blank and its
    other values do not decide the 6-of-7 rule: the official rule needs every school, so the
    verdict is undecided (null, with its reason), and the school and the blank cell are named."""
    tiny_warehouse.load(
        [
            census_row(),
            census_row(school_id="2190000002", primary_key_teachers=None),
            census_row(school_id="2190000003"),
        ]
    )
    school = tiny_warehouse.table(
        "marts.school_compliance",
        "standard_id = 'quality_2017' and stage = 'primary' and school_id = '2190000002'",
    ).row(0, named=True)
    assert school["is_compliant"] is None and school["is_school_rule_undecided"] is True
    assert school["fails_school_rule"] is None and school["missing_measures"] == ["key_teachers"]
    quality = tiny_warehouse.table(
        "marts.county_balance", "standard_id = 'quality_2017' and stage = 'primary'"
    ).row(0, named=True)
    assert quality["meets_cv_rule"] is True  # the two other schools decide the CVs
    assert quality["n_failing_school_rule"] == 0 and quality["n_undecided_school_rule"] == 1
    assert quality["meets_school_rule"] is None and quality["meets_school_standards"] is None
    assert quality["meets_standard"] is None
    assert quality["meets_standard_null_reason"] == "school_rule_undecided"
    assert quality["unmet_parts"] == []


def test_a_failing_school_decides_even_when_another_is_undecided(tiny_warehouse):
    tiny_warehouse.load(
        [
            census_row(),
            census_row(school_id="2190000002", primary_key_teachers=None),
            census_row(
                school_id="2190000003", multimedia_classrooms=11, teaching_aux_area_m2=teaching_aux_for(0.8)
            ),
        ]
    )
    quality = tiny_warehouse.table(
        "marts.county_balance", "standard_id = 'quality_2017' and stage = 'primary'"
    ).row(0, named=True)
    assert quality["meets_school_rule"] is False and quality["meets_standard"] is False
    assert quality["meets_standard_null_reason"] is None and quality["unmet_parts"] == ["school_rule"]
    assert (quality["n_failing_school_rule"], quality["n_undecided_school_rule"]) == (1, 1)
