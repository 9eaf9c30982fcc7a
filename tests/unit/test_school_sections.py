"""models/staging/school_sections.sql on hand-built schools: splits and exclusions (docs/methodology.md §4)."""

import polars as pl
import pytest
import yaml

from contracts.columns import SHARED_MEASURES
from pipelines.lib.method.equity import weighted_cv
from pipelines.lib.paths import MODELS_DIR
from pipelines.lib.reference.standards import parse_standard
from pipelines.lib.synthetic import official
from tests.conftest import census_frame, census_row, empty_stage


def sections(wh, standard_id="basic_2012"):
    return wh.table("staging.school_sections", f"standard_id = '{standard_id}'").sort("school_id", "stage")


def share(frame, school_id, stage):
    row = frame.filter((pl.col("school_id") == school_id) & (pl.col("stage") == stage))
    assert row.height == 1
    return row["facility_share"][0]


NINE_YEAR = census_row(
    school_id="3190000001",
    school_type_code="312",
    primary_students=600,
    junior_students=400,
    junior_classes=8,
    junior_teachers=30,
)
COMPLETE = census_row(
    school_id="3490000001",
    school_type_code="341",
    **empty_stage("primary"),
    junior_students=900,
    junior_classes=18,
    junior_teachers=60,
    senior_students=1500,
)
TWELVE_YEAR = census_row(
    school_id="3490000002",
    school_type_code="345",
    primary_students=800,
    junior_students=500,
    junior_classes=10,
    junior_teachers=35,
    senior_students=700,
)


def test_nine_year_school_splits_a_over_a_plus_1_1_b(tiny_warehouse):
    tiny_warehouse.load([NINE_YEAR, census_row()])
    frame = sections(tiny_warehouse)
    assert share(frame, "3190000001", "primary") == pytest.approx(600 / (600 + 1.1 * 400))
    assert share(frame, "3190000001", "junior") == pytest.approx(1.1 * 400 / (600 + 1.1 * 400))


def test_complete_secondary_junior_share_is_b_over_b_plus_1_2_c(tiny_warehouse):
    tiny_warehouse.load([COMPLETE, census_row()])
    frame = sections(tiny_warehouse)
    assert share(frame, "3490000001", "junior") == pytest.approx(900 / (900 + 1.2 * 1500))
    # a 341 teaches no primary stage: no primary section exists
    assert frame.filter((pl.col("school_id") == "3490000001") & (pl.col("stage") == "primary")).is_empty()


def test_twelve_year_school_weights_1_1_1_32(tiny_warehouse):
    tiny_warehouse.load([TWELVE_YEAR, census_row()])
    frame = sections(tiny_warehouse)
    total = 800 + 1.1 * 500 + 1.32 * 700
    assert share(frame, "3490000002", "primary") == pytest.approx(800 / total)
    assert share(frame, "3490000002", "junior") == pytest.approx(1.1 * 500 / total)


@pytest.mark.parametrize("school", [NINE_YEAR, TWELVE_YEAR])
def test_apportioned_amounts_add_back_to_the_school_total_with_senior(tiny_warehouse, school):
    tiny_warehouse.load([school, census_row()])
    frame = sections(tiny_warehouse).filter(pl.col("school_id") == school["school_id"])
    senior_share = 1 - frame["facility_share"].sum()
    for measure in SHARED_MEASURES:
        compulsory = frame[measure].sum()
        total = school[measure]
        if school["school_type_code"] == "312":
            assert compulsory == pytest.approx(total, rel=1e-12)
        else:  # the rest belongs to the senior stage
            assert compulsory + senior_share * total == pytest.approx(total, rel=1e-12)


def test_teachers_and_students_are_never_split(tiny_warehouse):
    tiny_warehouse.load([NINE_YEAR, census_row()])
    frame = sections(tiny_warehouse).filter(pl.col("school_id") == "3190000001")
    junior = frame.filter(pl.col("stage") == "junior").row(0, named=True)
    assert junior["students"] == 400 and junior["teachers"] == 30


def test_zero_students_in_a_combined_school_splits_evenly_instead_of_dividing_by_zero(tiny_warehouse):
    empty = census_row(
        school_id="3190000002",
        school_type_code="312",
        **empty_stage("primary"),
    )
    tiny_warehouse.load([empty, census_row()])
    frame = sections(tiny_warehouse)
    assert share(frame, "3190000002", "primary") == pytest.approx(0.5)
    excluded = frame.filter(pl.col("school_id") == "3190000002")
    assert excluded["exclusion_rule_id"].to_list() == ["no_students", "no_students"]


EXCLUSION_CASES = [
    # (row overrides, basic_2012 rule, quality_2017 rule); None means included
    ({"ownership": "private"}, "private", None),
    ({"is_county_run": False}, "not_county_run", None),
    ({"school_type_code": "218", "primary_students": 30}, "teaching_point", "small_teaching_point"),
    ({"school_type_code": "218", "primary_students": 49}, "teaching_point", "small_teaching_point"),
    ({"school_type_code": "218", "primary_students": 50}, "teaching_point", None),
    ({"school_type_code": "513"}, "special_education", "special_education"),
    (
        {
            "school_type_code": "321",
            "primary_students": 0,
            "junior_students": 200,
            "junior_classes": 5,
            "junior_teachers": 15,
        },
        "vocational",
        "vocational",
    ),
    ({"school_type_code": "219"}, "attached_classes", None),
    ({}, None, None),
]


@pytest.mark.parametrize(("overrides", "basic_rule", "quality_rule"), EXCLUSION_CASES)
def test_exclusion_rules_per_standard(tiny_warehouse, overrides, basic_rule, quality_rule):
    school = census_row(school_id="2190000009", **overrides)
    tiny_warehouse.load([school, census_row()])
    for standard_id, expected in (("basic_2012", basic_rule), ("quality_2017", quality_rule)):
        frame = sections(tiny_warehouse, standard_id).filter(pl.col("school_id") == "2190000009")
        assert frame.height >= 1
        row = frame.row(0, named=True)
        assert row["exclusion_rule_id"] == expected, standard_id
        assert row["is_included"] == (expected is None)
        if expected is not None:
            assert row["exclusion_reason_zh"] and row["exclusion_reason_en"]


def merge_variant():
    path = MODELS_DIR / "standards" / "examples" / "basic_2012_merge_teaching_points.yaml"
    return parse_standard(yaml.safe_load(path.read_text(encoding="utf-8")), str(path))


PARENT = census_row(school_id="2190000001", books=15_000)  # 500 pupils, 30 teachers
OTHER = census_row(
    school_id="2190000002",
    primary_students=300,
    books=6_000,
    primary_teachers=15,
    primary_teachers_above_degree=12,
    primary_teachers_senior_title=6,
    primary_key_teachers=3,
    primary_pe_art_teachers=3,
)
POINT = census_row(
    school_id="2190000003",
    school_type_code="218",
    urban_rural_code="220",
    parent_school_id="2190000001",
    primary_students=40,
    primary_classes=3,
    primary_teachers=3,
    primary_teachers_above_degree=2,
    primary_teachers_senior_title=1,
    primary_key_teachers=0,
    primary_pe_art_teachers=0,
    books=400,
    teaching_aux_area_m2=300.0,
    indoor_sports_area_m2=0.0,
)
ORPHAN = census_row(
    school_id="2190000004",
    school_type_code="218",
    primary_students=30,
    parent_school_id="2190000099",
    books=300,
)


def test_merge_variant_folds_teaching_points_into_their_parent(tiny_warehouse, standards):
    tiny_warehouse.use_standards([standards["basic_2012"], merge_variant()])
    tiny_warehouse.load([PARENT, OTHER, POINT, ORPHAN])
    merged = sections(tiny_warehouse, "basic_2012_merge_teaching_points")
    by_id = {r["school_id"]: r for r in merged.iter_rows(named=True)}
    # the parent now counts the teaching point's pupils, teachers, classes and resources
    parent = by_id["2190000001"]
    assert (parent["students"], parent["teachers"], parent["classes"]) == (540, 33, 15)
    assert parent["books"] == 15_400 and parent["teaching_aux_area_m2"] == 3_300
    assert parent["merged_teaching_points"] == 1 and parent["is_included"]
    point = by_id["2190000003"]
    assert not point["is_included"] and point["exclusion_rule_id"] == "merged_into_parent"
    assert point["exclusion_reason_zh"] == "教学点并入所属学校计算"
    # a teaching point whose parent is not in the year falls back to the exclusion rules
    assert by_id["2190000004"]["exclusion_rule_id"] == "teaching_point"
    # the coefficients use the recomputed parent: books per pupil 15400/540 against 6000/300
    cv = tiny_warehouse.table(
        "marts.county_indicator_cv",
        "standard_id = 'basic_2012_merge_teaching_points' and indicator_id = 'books_per_student'",
    ).row(0, named=True)
    expected = weighted_cv([15_400 / 540, 6_000 / 300], [540, 300])
    assert cv["n_schools"] == 2 and cv["cv"] == pytest.approx(expected.cv, rel=1e-12)
    # the national standard leaves the teaching point out and the parent as it was
    national = {r["school_id"]: r for r in sections(tiny_warehouse).iter_rows(named=True)}
    assert national["2190000001"]["students"] == 500 and national["2190000001"]["merged_teaching_points"] == 0
    assert national["2190000003"]["exclusion_rule_id"] == "teaching_point"


def test_the_python_statement_of_the_method_merges_teaching_points_as_the_sql_does(tiny_warehouse, standards):
    """pipelines/lib/synthetic/official.py implements the merge_into_parent option too: the same
    sections (pupils, books, included or not) and the same coefficients as the SQL."""
    tiny_warehouse.use_standards([standards["basic_2012"], merge_variant()])
    rows = [PARENT, OTHER, POINT, ORPHAN]
    tiny_warehouse.load(rows)
    variant = merge_variant()
    sql = sections(tiny_warehouse, variant.standard_id).sort("school_id")
    python = official.sections(census_frame(rows), variant).sort("school_id")
    assert (
        python.select("school_id", "students", "books", "is_included").rows()
        == sql.select("school_id", "students", "books", "is_included").rows()
    )
    want = official.county_cvs(census_frame(rows), variant).filter(
        pl.col("indicator_id") == "books_per_student"
    )
    got = tiny_warehouse.table(
        "marts.county_indicator_cv",
        f"standard_id = '{variant.standard_id}' and indicator_id = 'books_per_student'",
    )
    assert want["n_schools"].to_list() == got["n_schools"].to_list() == [2]
    assert want["cv"][0] == pytest.approx(got["cv"][0], rel=1e-12)
