"""Official thresholds and rules at their exact boundaries, through the real SQL models.

What this file proves, each with numbers typed by hand (never read from the standards YAML or
pipelines/lib/synthetic/official.py):

- a county CV exactly at its threshold passes and one ulp above fails, for the basic composite
  (教督〔2012〕3号: primary 0.65, junior 0.55) and for every quality indicator (教督〔2017〕6号:
  primary 0.50, junior 0.45);
- a county-stage with one included school has no CV, and hence no verdict; two schools give the
  student-weighted CV computed by hand;
- the per-school rule of 教督〔2017〕6号 holds at exactly 85% of a minimum and not just below it;
- sections without students, teaching points and nine-year schools are split and excluded as
  the standards say, with the apportioned amounts computed by hand.
"""

import math

import pytest

from pipelines.lib.sql_models import run_model
from tests.conftest import census_row, empty_stage

YEAR = 2024
COUNTY = "900101"

# 教督〔2012〕3号: the eight basic-balance indicators, judged on the mean of their CVs
BASIC_INDICATORS = (
    "teaching_area_per_student",
    "sports_area_per_student",
    "equipment_value_per_student",
    "computers_per_100",
    "books_per_student",
    "teachers_per_student",
    "degree_teachers_per_student",
    "senior_title_teachers_per_student",
)
# 教督〔2017〕6号: the seven quality-balance indicators, each judged on its own
QUALITY_INDICATORS = (
    "degree_teachers_per_100",
    "key_teachers_per_100",
    "pe_art_teachers_per_100",
    "teaching_area_per_student",
    "sports_area_per_student",
    "equipment_value_per_student",
    "multimedia_rooms_per_100",
)


def junior_school(school_id: str, **overrides) -> dict:
    """A county-run junior secondary school (311) with 400 pupils and the default facilities."""
    return census_row(
        school_id=school_id,
        school_name="测试初中",
        school_type_code="311",
        **empty_stage("primary"),
        junior_students=400,
        junior_classes=9,
        junior_teachers=35,
        junior_teachers_above_degree=30,
        junior_teachers_senior_title=15,
        junior_key_teachers=5,
        junior_pe_art_teachers=4,
        **overrides,
    )


def load_small_county(wh) -> None:
    """Two primary and two junior schools in one county: every indicator of both stages has a CV."""
    wh.load(
        [
            census_row(),
            census_row(school_id="2190000002", books=20_000, computers=80),
            junior_school("3190000001"),
            junior_school("3190000002", books=30_000, equipment_value_yuan=1_500_000.0),
        ],
        YEAR,
    )


def one_row(wh, relation: str, where: str) -> dict:
    rows = wh.table(relation, where)
    assert rows.height == 1, f"{relation} where {where}: {rows.height} rows"
    return rows.row(0, named=True)


def balance_with_cvs(wh, standard_id: str, stage: str, cvs: dict[str, float]) -> dict:
    """Overwrite the county's indicator CVs, rerun only marts.county_balance, return its row."""
    where = f"county_code = '{COUNTY}' and standard_id = '{standard_id}' and stage = '{stage}'"
    existing = wh.table("marts.county_indicator_cv", where)
    assert sorted(existing["indicator_id"].to_list()) == sorted(cvs)
    for indicator_id, cv in cvs.items():
        wh.con.execute(
            f"update marts.county_indicator_cv set cv = $cv where {where} and indicator_id = $indicator",
            {"cv": cv, "indicator": indicator_id},
        )
    run_model(wh.con, wh.models["marts.county_balance"], YEAR)
    return one_row(wh, "marts.county_balance", where)


def weighted_cv_by_hand(students: list[int], values: list[float]) -> float:
    """x_i per school, P_i its students: mean = Σ P_i x_i / P, sd = sqrt(Σ (P_i/P)(x_i − mean)²)."""
    total = sum(students)
    mean = sum(p * x for p, x in zip(students, values, strict=True)) / total
    sd = math.sqrt(sum(p / total * (x - mean) ** 2 for p, x in zip(students, values, strict=True)))
    return sd / mean


# 1. CV thresholds: at the threshold passes, one ulp above fails


@pytest.mark.parametrize(
    ("stage", "threshold"),
    [("primary", 0.65), ("junior", 0.55)],  # 教督〔2012〕3号: 综合差异系数 小学 ≤ 0.65, 初中 ≤ 0.55
)
def test_basic_composite_at_threshold_passes_and_one_ulp_above_fails(tiny_warehouse, stage, threshold):
    load_small_county(tiny_warehouse)
    # county_balance sums the CVs with fsum (exactly rounded), then divides by 8: eight CVs equal
    # to t sum to exactly 8t (a power-of-two multiple) and 8t / 8 is t again, bit for bit
    row = balance_with_cvs(tiny_warehouse, "basic_2012", stage, dict.fromkeys(BASIC_INDICATORS, threshold))
    assert row["cv_rule"] == "composite" and row["cv_threshold"] == threshold
    assert row["composite_cv"] == threshold
    assert row["passes"] is True and row["passes_null_reason"] is None

    above = math.nextafter(threshold, 1)
    row = balance_with_cvs(tiny_warehouse, "basic_2012", stage, dict.fromkeys(BASIC_INDICATORS, above))
    assert row["composite_cv"] == above
    assert row["passes"] is False

    # single indicators are not judged: t + 2^-10 and t − 2^-10 are exact doubles in [0.5, 1)
    # (same exponent as t), so the exact sum is still 8t and the composite is exactly t
    mixed = dict.fromkeys(BASIC_INDICATORS, threshold)
    mixed["books_per_student"] = threshold + 2**-10
    mixed["computers_per_100"] = threshold - 2**-10
    row = balance_with_cvs(tiny_warehouse, "basic_2012", stage, mixed)
    assert row["composite_cv"] == threshold and row["max_indicator_cv"] == threshold + 2**-10
    assert row["passes"] is True


@pytest.mark.parametrize(
    ("stage", "threshold"),
    [("primary", 0.50), ("junior", 0.45)],  # 教督〔2017〕6号: 各项指标差异系数 小学 ≤ 0.50, 初中 ≤ 0.45
)
def test_quality_each_indicator_at_threshold_passes_and_one_ulp_above_fails(tiny_warehouse, stage, threshold):
    load_small_county(tiny_warehouse)
    row = balance_with_cvs(
        tiny_warehouse, "quality_2017", stage, dict.fromkeys(QUALITY_INDICATORS, threshold)
    )
    assert row["cv_rule"] == "each_indicator" and row["cv_threshold"] == threshold
    assert row["max_indicator_cv"] == threshold
    assert row["n_indicators_over_threshold"] == 0
    assert row["passes"] is True and row["passes_null_reason"] is None

    # each indicator in turn one ulp over while the six others sit exactly at t: the county fails
    above = math.nextafter(threshold, 1)
    for indicator_id in QUALITY_INDICATORS:
        cvs = dict.fromkeys(QUALITY_INDICATORS, threshold)
        cvs[indicator_id] = above
        row = balance_with_cvs(tiny_warehouse, "quality_2017", stage, cvs)
        assert row["max_indicator_cv"] == above and row["max_indicator_id"] == indicator_id
        assert row["n_indicators_over_threshold"] == 1, indicator_id
        assert row["passes"] is False, indicator_id


# 2. fewer than two included schools: no CV, no verdict


def test_one_included_school_has_no_cv_and_no_verdict_two_have_a_number(tiny_warehouse):
    # school 2 is private: basic_2012 leaves it out (one included school), quality_2017 counts it
    tiny_warehouse.load(
        [
            census_row(),  # equipment 1,000,000 / 500 = 2000 yuan per pupil
            census_row(school_id="2190000002", ownership="private", equipment_value_yuan=2_000_000.0),  # 4000
        ],
        YEAR,
    )
    basic = tiny_warehouse.table(
        "marts.county_indicator_cv", "standard_id = 'basic_2012' and stage = 'primary'"
    )
    assert basic.height == 8
    assert basic["n_schools"].to_list() == [1] * 8
    assert basic["cv"].to_list() == [None] * 8
    assert basic["cv_null_reason"].to_list() == ["fewer_than_2_schools"] * 8
    verdict = one_row(
        tiny_warehouse, "marts.county_balance", "standard_id = 'basic_2012' and stage = 'primary'"
    )
    assert verdict["composite_cv"] is None
    assert verdict["passes"] is None and verdict["passes_null_reason"] == "missing_indicator_cv"

    quality = one_row(
        tiny_warehouse,
        "marts.county_indicator_cv",
        "standard_id = 'quality_2017' and stage = 'primary' and indicator_id = 'equipment_value_per_student'",
    )
    # x = 2000 and 4000 with 500 pupils each: mean 3000, sd 1000, CV = 1/3
    expected = weighted_cv_by_hand([500, 500], [2000.0, 4000.0])
    assert expected == pytest.approx(1 / 3, abs=1e-15)
    assert quality["n_schools"] == 2 and quality["cv_null_reason"] is None
    assert quality["mean_value"] == pytest.approx(3000.0, abs=1e-9)
    assert quality["cv"] == pytest.approx(expected, abs=1e-12)
    assert quality["passes"] is True  # 1/3 ≤ 0.50 (教督〔2017〕6号, primary)
    verdict = one_row(
        tiny_warehouse, "marts.county_balance", "standard_id = 'quality_2017' and stage = 'primary'"
    )
    assert verdict["passes"] is True and verdict["passes_null_reason"] is None


# 3. the weighted CV by hand


def test_weighted_cv_matches_hand_computation_whatever_the_scale(tiny_warehouse):
    students = [500, 400, 900]
    tiny_warehouse.load(
        [
            census_row(school_id="2190000001", primary_students=500, books=10_000, computers=100),
            census_row(school_id="2190000002", primary_students=400, books=20_000, computers=200),
            census_row(school_id="2190000003", primary_students=900, books=45_000, computers=450),
        ],
        YEAR,
    )
    # books per pupil: 10000/500 = 20, 20000/400 = 50, 45000/900 = 50; computers per 100 pupils:
    # 100·100/500 = 20, 100·200/400 = 50, 100·450/900 = 50 (the same values at scale 100).
    # mean = (10000 + 20000 + 45000) / 1800 = 125/3; deviations −65/3, 25/3, 25/3;
    # variance = (500·65² + 1300·25²) / (9·1800) = 1625/9; sd = 5·√65 / 3; CV = √65 / 25 ≈ 0.3225
    expected = weighted_cv_by_hand(students, [20.0, 50.0, 50.0])
    assert expected == pytest.approx(math.sqrt(65) / 25, abs=1e-15)
    for indicator_id in ("books_per_student", "computers_per_100"):
        row = one_row(
            tiny_warehouse,
            "marts.county_indicator_cv",
            f"standard_id = 'basic_2012' and stage = 'primary' and indicator_id = '{indicator_id}'",
        )
        assert row["n_schools"] == 3 and row["students"] == 1800
        assert row["mean_value"] == pytest.approx(125 / 3, abs=1e-12)
        assert row["cv"] == pytest.approx(expected, abs=1e-12), indicator_id


# 4. the per-school rule at 85% of a minimum


def compliance_row(wh, school_id="2190000001") -> dict:
    return one_row(
        wh,
        "marts.school_compliance",
        f"school_id = '{school_id}' and standard_id = 'quality_2017' and stage = 'primary'",
    )


def test_quality_school_rule_at_exactly_85_percent_of_a_minimum(tiny_warehouse):
    # census_row meets six primary minimums of 教督〔2017〕6号 comfortably: degree teachers 25/500
    # = 5.0 per 100 (≥ 4.2), key 1.2 (≥ 1.0), PE/art 1.0 (≥ 0.9), teaching area 2800/500 = 5.6 m²
    # (≥ 4.5), sports 4200/500 = 8.4 m² (≥ 7.5), multimedia 2.4 per 100 (≥ 2.3). Equipment has a
    # minimum of 2000 yuan per pupil; 0.85 · 2000 · 500 = 850,000 yuan gives 1700 yuan per pupil.
    # 850000 / 500 = 1700 and 1700 / 2000 are exact in doubles up to the final rounding, which
    # gives the very double the literal 0.85 denotes, so the ratio equals 0.85 with no slack.
    tiny_warehouse.load(
        [
            census_row(school_id="2190000001", equipment_value_yuan=850_000.0),  # 1700 = 85%
            census_row(school_id="2190000002", equipment_value_yuan=849_999.0),  # 1699.998 = 84.9999%
            census_row(  # 85% equipment and multimedia 11/500 = 2.2 per 100 < 2.3: only 5 of 7 met
                school_id="2190000003", equipment_value_yuan=850_000.0, multimedia_classrooms=11
            ),
            census_row(school_id="2190000004"),  # equipment 2000 yuan, exactly the minimum: 7 of 7
        ],
        YEAR,
    )
    at_85 = compliance_row(tiny_warehouse, "2190000001")
    assert at_85["n_indicators"] == 7 and at_85["n_met"] == 6
    assert at_85["unmet_indicators"] == ["equipment_value_per_student"]
    assert at_85["min_unmet_ratio"] == 0.85
    assert at_85["is_compliant"] is True

    below = compliance_row(tiny_warehouse, "2190000002")
    assert below["n_met"] == 6 and below["unmet_indicators"] == ["equipment_value_per_student"]
    assert below["min_unmet_ratio"] == pytest.approx(849_999 / 500 / 2000, abs=1e-15)  # 0.849999
    assert below["is_compliant"] is False

    five_met = compliance_row(tiny_warehouse, "2190000003")
    assert five_met["n_met"] == 5
    assert five_met["unmet_indicators"] == ["equipment_value_per_student", "multimedia_rooms_per_100"]
    assert five_met["is_compliant"] is False

    at_minimum = compliance_row(tiny_warehouse, "2190000004")
    assert at_minimum["n_met"] == 7 and at_minimum["min_unmet_ratio"] is None
    assert at_minimum["is_compliant"] is True


# 5. sections without students


def test_a_section_without_students_is_excluded_and_contributes_nothing(tiny_warehouse):
    tiny_warehouse.load(
        [
            census_row(school_id="2190000001", books=15_000),  # 30 books per pupil
            census_row(school_id="2190000002", books=30_000),  # 60 books per pupil
            # no pupils but a million books: were it counted it would dominate the county
            census_row(school_id="2190000003", **empty_stage("primary"), books=1_000_000),
        ],
        YEAR,
    )
    for standard_id in ("basic_2012", "quality_2017"):
        empty = one_row(
            tiny_warehouse,
            "staging.school_sections",
            f"school_id = '2190000003' and standard_id = '{standard_id}'",
        )
        assert empty["is_included"] is False and empty["exclusion_rule_id"] == "no_students"
    assert tiny_warehouse.table("marts.school_indicators", "school_id = '2190000003'").is_empty()
    assert tiny_warehouse.table("marts.school_compliance", "school_id = '2190000003'").is_empty()

    books = one_row(
        tiny_warehouse,
        "marts.county_indicator_cv",
        "standard_id = 'basic_2012' and stage = 'primary' and indicator_id = 'books_per_student'",
    )
    # x = 30 and 60 with 500 pupils each: mean 45, sd 15, CV = 1/3
    assert books["n_schools"] == 2 and books["students"] == 1000
    assert books["mean_value"] == pytest.approx(45.0, abs=1e-12)
    assert books["cv"] == pytest.approx(weighted_cv_by_hand([500, 500], [30.0, 60.0]), abs=1e-12)


def test_nine_year_school_without_junior_pupils_gives_all_facilities_to_primary(tiny_warehouse):
    nine_year = census_row(
        school_id="3190000001",
        school_type_code="312",
        primary_students=600,
        **empty_stage("junior"),
        books=18_000,
    )
    tiny_warehouse.load([nine_year, census_row(school_id="2190000001")], YEAR)
    for standard_id in ("basic_2012", "quality_2017"):
        frame = tiny_warehouse.table(
            "staging.school_sections", f"school_id = '3190000001' and standard_id = '{standard_id}'"
        ).sort("stage")
        assert frame["stage"].to_list() == ["junior", "primary"]
        junior, primary = frame.iter_rows(named=True)
        # share = 1.0·600 / (1.0·600 + 1.1·0) = 1: everything shared goes to primary
        assert primary["facility_share"] == 1.0 and primary["books"] == 18_000
        assert primary["teaching_aux_area_m2"] == 3000.0 and primary["equipment_value_yuan"] == 1_000_000.0
        assert primary["is_included"] is True and primary["exclusion_rule_id"] is None
        assert junior["facility_share"] == 0.0 and junior["books"] == 0.0
        assert junior["is_included"] is False and junior["exclusion_rule_id"] == "no_students"
    # no junior section is included anywhere: the county has no junior coefficients at all
    assert tiny_warehouse.table("marts.county_indicator_cv", "stage = 'junior'").is_empty()
    books = one_row(
        tiny_warehouse,
        "marts.school_indicators",
        "school_id = '3190000001' and standard_id = 'basic_2012' and indicator_id = 'books_per_student'",
    )
    assert books["stage"] == "primary" and books["value"] == 30.0  # 18000 / 600


# 6. teaching points


def test_teaching_points_at_50_pupils_and_under_each_standard(tiny_warehouse):
    def point(school_id: str, pupils: int) -> dict:
        return census_row(
            school_id=school_id,
            school_type_code="218",
            parent_school_id="2190000001",
            primary_students=pupils,
            primary_classes=3,
            primary_teachers=4,
            primary_teachers_above_degree=3,
            primary_teachers_senior_title=2,
            primary_key_teachers=1,
            primary_pe_art_teachers=1,
        )

    tiny_warehouse.load(
        [census_row(school_id="2190000001"), census_row(school_id="2190000002"), point("2180000049", 49)]
        + [point("2180000050", 50)],
        YEAR,
    )
    expected = {
        # 教督〔2017〕6号: teaching points with fewer than 50 pupils are left out, 50 or more count
        ("quality_2017", "2180000049"): "small_teaching_point",
        ("quality_2017", "2180000050"): None,
        # 教督〔2012〕3号 as practised: every teaching point is left out
        ("basic_2012", "2180000049"): "teaching_point",
        ("basic_2012", "2180000050"): "teaching_point",
    }
    for (standard_id, school_id), rule in expected.items():
        section = one_row(
            tiny_warehouse,
            "staging.school_sections",
            f"school_id = '{school_id}' and standard_id = '{standard_id}'",
        )
        assert section["exclusion_rule_id"] == rule, (standard_id, school_id)
        assert section["is_included"] is (rule is None), (standard_id, school_id)

    n_schools = dict(
        tiny_warehouse.table(
            "marts.county_indicator_cv", "stage = 'primary' and indicator_id = 'teaching_area_per_student'"
        )
        .select("standard_id", "n_schools")
        .iter_rows()
    )
    assert n_schools == {"basic_2012": 2, "quality_2017": 3}  # the 50-pupil point counts as a school


# 7. combined-school split weights


def test_nine_year_school_split_600_to_1_1_times_300(tiny_warehouse):
    nine_year = census_row(
        school_id="3190000001",
        school_type_code="312",
        primary_students=600,
        junior_students=300,
        junior_classes=6,
        junior_teachers=20,
        junior_teachers_above_degree=15,
        junior_teachers_senior_title=8,
        junior_key_teachers=2,
        junior_pe_art_teachers=2,
        books=10_000,
    )
    tiny_warehouse.load([nine_year, census_row(school_id="2190000001")], YEAR)
    # weights as practised in county evaluations: primary 1.0, junior 1.1;
    # primary share = 1.0·600 / (1.0·600 + 1.1·300) = 600/930, junior share = 330/930
    for standard_id in ("basic_2012", "quality_2017"):
        sections = {
            row["stage"]: row
            for row in tiny_warehouse.table(
                "staging.school_sections", f"school_id = '3190000001' and standard_id = '{standard_id}'"
            ).iter_rows(named=True)
        }
        assert set(sections) == {"primary", "junior"}
        assert sections["primary"]["facility_share"] == pytest.approx(600 / 930, abs=1e-12)
        assert sections["junior"]["facility_share"] == pytest.approx(330 / 930, abs=1e-12)
        assert sections["primary"]["books"] == pytest.approx(10_000 * 600 / 930, abs=1e-9)  # 6451.6129…
        assert sections["junior"]["books"] == pytest.approx(10_000 * 330 / 930, abs=1e-9)  # 3548.3870…
        assert (sections["primary"]["students"], sections["junior"]["students"]) == (600, 300)
        assert all(row["is_included"] for row in sections.values())
    values = tiny_warehouse.table(
        "marts.school_indicators",
        "school_id = '3190000001' and standard_id = 'basic_2012' and indicator_id = 'books_per_student'",
    )
    # books per pupil: primary 6451.61… / 600 = 10000/930, junior 3548.38… / 300 = 11000/930
    by_stage = dict(values.select("stage", "value").iter_rows())
    assert by_stage["primary"] == pytest.approx(10_000 / 930, abs=1e-12)
    assert by_stage["junior"] == pytest.approx(11_000 / 930, abs=1e-12)


@pytest.mark.parametrize(
    "stage, threshold, low, high",
    [
        # per-pupil equipment values whose weighted CV is exactly the threshold in floating point:
        # two sections of equal size, values m + d and m - d, give CV = d / m (sd = d exactly)
        ("primary", 0.50, 1_000.0, 3_000.0),  # m = 2000, d = 1000: 1000 / 2000 = 0.5
        ("junior", 0.45, 1_100.0, 2_900.0),  # m = 2000, d = 900: 900 / 2000, the double nearest 0.45
    ],
)
def test_a_quality_indicator_exactly_at_its_threshold_passes_and_a_hair_above_fails(
    tiny_warehouse, stage, threshold, low, high
):
    """教督〔2017〕6号: each indicator passes when its CV is at most the threshold; the verdict of
    the indicator row itself (marts.county_indicator_cv.passes), computed from real sections."""
    pupils = 500

    def schools(low_value: float, high_value: float) -> list[dict]:
        if stage == "primary":
            return [
                census_row(
                    school_id="2190000001", equipment_value_yuan=low_value * pupils, primary_students=pupils
                ),
                census_row(
                    school_id="2190000002", equipment_value_yuan=high_value * pupils, primary_students=pupils
                ),
            ]
        return [
            {**junior_school(school_id, equipment_value_yuan=value * pupils), "junior_students": pupils}
            for school_id, value in (("3190000001", low_value), ("3190000002", high_value))
        ]

    where = (
        f"standard_id = 'quality_2017' and stage = '{stage}' and indicator_id = 'equipment_value_per_student'"
    )
    tiny_warehouse.load(schools(low, high), YEAR)
    row = one_row(tiny_warehouse, "marts.county_indicator_cv", where)
    assert row["cv"] == threshold  # exactly, not approximately
    assert row["cv_threshold"] == threshold and row["passes"] is True

    tiny_warehouse.load(schools(low - 1, high + 1), YEAR)  # d = 1001 (or 901): just over the line
    row = one_row(tiny_warehouse, "marts.county_indicator_cv", where)
    assert threshold < row["cv"] < threshold + 1e-3
    assert row["passes"] is False
