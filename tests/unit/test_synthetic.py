"""The synthetic province: deterministic, shaped like a real one, scenarios planted."""

import json

import polars as pl
import pytest

from contracts.columns import CENSUS_DTYPES
from pipelines.lib.paths import MODELS_DIR
from pipelines.lib.reference.standards import load_standards
from pipelines.lib.synthetic import official
from pipelines.lib.synthetic.province import generate, plan_province


@pytest.fixture(scope="module")
def landing(tmp_path_factory):
    out = tmp_path_factory.mktemp("landing")
    truth = generate(out, counties=10, years=[2019, 2020, 2021, 2022], seed=5)
    census = pl.concat([pl.read_csv(p, infer_schema=False) for p in sorted(out.glob("20*/*.csv"))])
    census = census.with_columns(
        (pl.col(c) == "true") if t == pl.Boolean else pl.col(c).cast(t) for c, t in CENSUS_DTYPES.items()
    )
    return out, truth, census


def test_same_seed_same_files(tmp_path, landing):
    out, _, _ = landing
    generate(tmp_path, counties=10, years=[2019, 2020, 2021, 2022], seed=5)
    for path in sorted(out.rglob("*.csv")):
        assert (tmp_path / path.relative_to(out)).read_bytes() == path.read_bytes(), path.name
    assert json.loads((tmp_path / "truth.json").read_text()) == json.loads((out / "truth.json").read_text())


def test_landing_layout_follows_the_data_contract(landing):
    out, _, _ = landing
    assert (out / "reference" / "counties.csv").exists()
    assert (out / "reference" / "certifications.csv").exists()
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == [
        "2019",
        "2020",
        "2021",
        "2022",
        "reference",
    ]
    assert len(list((out / "2019").glob("*.csv"))) >= 2  # one extract per prefecture


def test_school_type_mix_is_realistic(landing):
    _, _, census = landing
    for year, frame in census.group_by("census_year"):
        primary_units = frame.filter(pl.col("primary_students") > 0)
        junior_units = frame.filter(pl.col("junior_students") > 0)
        teaching_points = (primary_units["school_type_code"] == "218").mean()
        nine_year = (junior_units["school_type_code"] == "312").mean()
        assert 0.30 <= teaching_points <= 0.50, (year, teaching_points)
        assert 0.10 <= nine_year <= 0.25, (year, nine_year)
    types = set(census["school_type_code"])
    assert {"341", "513", "211", "311", "312", "218"} <= types
    assert (census["ownership"] == "private").any() and (~census["is_county_run"]).any()


def test_school_sizes_are_skewed_like_a_log_normal(landing):
    _, _, census = landing
    sizes = census.filter(pl.col("school_type_code") == "211")["primary_students"]
    assert sizes.mean() > 1.3 * sizes.median()  # long right tail


def test_coefficients_fall_in_the_ranges_real_counties_publish(landing, standards):
    _, _, census = landing
    cvs = official.county_cvs(census, standards["basic_2012"]).drop_nulls("cv")
    assert cvs["cv"].quantile(0.05) >= 0.05 and cvs["cv"].quantile(0.95) <= 1.3
    composite = cvs.group_by("census_year", "county_code", "stage").agg(pl.col("cv").mean())
    assert 0.2 <= composite["cv"].median() <= 0.6


def test_the_official_method_narrowed_to_a_stage_or_an_indicator_gives_the_same_figures(landing, standards):
    """The generator aims each planted scenario at one stage or one indicator and computes only
    that (county_cvs with stages or indicator_ids): every figure is the one the whole computation
    gives, to the last bit."""
    _, _, census = landing
    for standard in standards.values():
        whole = official.county_cvs(census, standard)
        for stage in ("primary", "junior"):
            of_stage = whole.filter(pl.col("stage") == stage)
            assert official.county_cvs(census, standard, stages=(stage,)).equals(of_stage)
            for indicator in standard.indicators:
                one = official.county_cvs(
                    census, standard, stages=(stage,), indicator_ids=(indicator.indicator_id,)
                )
                assert one.height > 0
                assert one.equals(of_stage.filter(pl.col("indicator_id") == indicator.indicator_id))


def test_rural_small_schools_have_more_area_per_pupil(landing):
    _, _, census = landing
    schools = census.filter(pl.col("school_type_code") == "211").with_columns(
        (pl.col("teaching_aux_area_m2") / pl.col("primary_students")).alias("area")
    )
    village = schools.filter(pl.col("urban_rural_code") == "220")["area"].median()
    urban = schools.filter(pl.col("urban_rural_code") == "111")["area"].median()
    assert village > 1.2 * urban


def test_rural_enrolment_shrinks_and_urban_grows(landing):
    _, _, census = landing
    by_area = (
        census.group_by("census_year", pl.col("urban_rural_code").str.slice(0, 1).alias("area"))
        .agg(pl.col("primary_students").sum())
        .sort("census_year")
    )
    rural = by_area.filter(pl.col("area") == "2")["primary_students"].to_list()
    urban = by_area.filter(pl.col("area") == "1")["primary_students"].to_list()
    assert rural[-1] < rural[0] and urban[-1] > urban[0]


@pytest.mark.parametrize("years", [[2019, 2020, 2021, 2022], list(range(2015, 2025)), [2010, 2011, 2012]])
def test_certification_years_are_within_the_methods_dates(tmp_path, years):
    """Basic balance was certified 2013-2021, quality balance from 2021 (models/standards:
    certification_years), three years or more after basic; whatever the window, the generator
    certifies no county outside those dates."""
    standards = {s.standard_id: s for s in load_standards(MODELS_DIR / "standards")}
    assert (standards["basic_2012"].certified_from, standards["basic_2012"].certified_until) == (2013, 2021)
    assert (standards["quality_2017"].certified_from, standards["quality_2017"].certified_until) == (
        2021,
        None,
    )
    _, province = plan_province(8, years, seed=3)
    certified = 0
    for county in province.counties:
        for standard_id, year in (
            ("basic_2012", county.basic_certified),
            ("quality_2017", county.quality_certified),
        ):
            if year is None:
                continue
            certified += 1
            standard = standards[standard_id]
            assert standard.certified_from is not None and year >= standard.certified_from, (
                county,
                standard_id,
            )
            assert standard.certified_until is None or year <= standard.certified_until, (county, standard_id)
        if county.quality_certified is not None:
            assert county.basic_certified is not None
            assert county.quality_certified >= county.basic_certified + 3
    assert certified > 0 or years[-1] < 2013  # before 2013 nobody could be certified yet


def test_certifications_cover_most_counties(landing):
    out, _, _ = landing
    certs = pl.read_csv(out / "reference" / "certifications.csv", infer_schema=False)
    counties = pl.read_csv(out / "reference" / "counties.csv", infer_schema=False)
    basic = certs.filter(pl.col("standard_id") == "basic_2012")
    assert basic.height >= 0.6 * counties.height
    assert (certs["standard_id"] == "quality_2017").any()


def test_truth_describes_every_planted_scenario(landing):
    _, truth, _ = landing
    kinds = {s["scenario_id"]: s for s in truth["scenarios"]}
    assert set(kinds) == {
        "basic_composite_crossing",
        "quality_indicator_crossing",
        "near_threshold_rising",
        "improving_steadily",
        "quality_school_slide",
        "certification_year_dip",
    }
    dip = kinds["certification_year_dip"]
    assert dip["dip_years"] == [dip["basic_certified_year"] - 1, dip["basic_certified_year"]]
    values = {y["census_year"]: y["value"] for y in dip["years"]}
    before, after = values[min(dip["dip_years"]) - 1], values[max(dip["dip_years"]) + 1]
    assert all(values[y] < 0.8 * min(before, after) for y in dip["dip_years"])  # well below both sides
    assert dip["expected_alerts"] == [
        {
            "census_year": max(dip["dip_years"]) + 1,
            "severity": "warning",
            "rule_id": "certification_year_dip",
            "stage": None,
        }
    ]
    rising = [y["value"] for y in kinds["near_threshold_rising"]["years"]]
    assert rising == sorted(rising) and rising[-1] < kinds["near_threshold_rising"]["threshold"]
    improving = [y["value"] for y in kinds["improving_steadily"]["years"]]
    assert improving == sorted(improving, reverse=True)
