"""The real Dagster graph on a small synthetic province, into a temporary warehouse.

Generates 6 counties x 3 census years, runs `run_pipeline` (the same in-process Dagster jobs as
`junheng run`) against a real on-disk Dagster instance and a real DuckDB file, then checks the
marts against the extract, recomputed independently in Python.
"""

import json
import math
import shutil
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from contracts.code_lists import load_code_list
from contracts.columns import CENSUS_DTYPES
from pipelines.lib.method.equity import weighted_cv
from pipelines.lib.paths import MODELS_DIR, REPO_ROOT
from pipelines.lib.sql_models import load_models
from pipelines.lib.synthetic import official
from pipelines.lib.synthetic.province import generate
from pipelines.lib.warehouse import connect, query_frame
from pipelines.runner import run_pipeline
from tests.oracles import equity_measures as equity

pytestmark = pytest.mark.integration

YEARS = [2022, 2023, 2024]


@pytest.fixture(scope="module")
def province(tmp_path_factory):
    root = tmp_path_factory.mktemp("province")
    landing, warehouse = root / "landing", root / "junheng.duckdb"
    truth = generate(landing, counties=6, years=YEARS, seed=11)
    home = root / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")  # the project's own instance config
    with dg.DagsterInstance.from_config(str(home)) as instance:
        pool_limit = instance.get_concurrency_config().pool_config.default_pool_limit
        run_tag_limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
        summary = run_pipeline(
            landing=landing, warehouse=warehouse, instance=instance, progress=lambda _: None
        )
        runs = instance.get_runs()
    return {
        "landing": landing,
        "warehouse": warehouse,
        "truth": truth,
        "summary": summary,
        "runs": runs,
        "pool_limit": pool_limit,
        "run_tag_limits": run_tag_limits,
    }


def read_extract(landing: Path) -> pl.DataFrame:
    frames = [
        pl.read_csv(p, infer_schema=False) for p in sorted(landing.glob("20*/*.csv")) if "申报" not in p.name
    ]
    census = pl.concat(frames)
    return census.with_columns(
        (pl.col(c) == "true") if t == pl.Boolean else pl.col(c).cast(t) for c, t in CENSUS_DTYPES.items()
    )


def table(province, sql: str) -> pl.DataFrame:
    with connect(province["warehouse"], read_only=True) as con:
        return query_frame(con, sql)


def test_the_instance_limits_warehouse_writers_to_one(province):
    assert province["pool_limit"] == 1


def test_loads_are_queued_one_at_a_time(province):
    # one limit for the key, whatever the value: reference and census-year runs together
    assert {"key": "junheng/loads", "limit": 1} in province["run_tag_limits"]
    expected = {"census_year_job": "census_year", "reference_job": "reference"}
    assert province["runs"] and all(
        r.tags.get("junheng/loads") == expected[r.job_name] for r in province["runs"]
    )


def test_every_year_ran_as_a_successful_dagster_run(province):
    assert province["summary"].census_years == YEARS
    runs = province["runs"]
    assert len(runs) == 2  # the reference job, then one run of every census year
    assert all(r.is_success for r in runs)
    census = next(r for r in runs if r.job_name == "census_year_job")
    tags = census.tags  # a range of partitions: the census years, in one run
    assert (tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"]) == (
        str(YEARS[0]),
        str(YEARS[-1]),
    )


def test_loads_log_reconciles_every_file(province):
    loads = table(province, "select * from audit.loads")
    files = sorted(  # census extracts and the counties' declaration files (申报表)
        p.relative_to(province["landing"]).as_posix()
        for p in province["landing"].glob("20*/*")
        if p.suffix in (".csv", ".xlsx")
    )
    assert sorted(loads["source_file"].to_list()) == files
    declared = loads.filter(pl.col("shape") == "declaration")
    assert declared.height > 0 and declared["source_file"].str.contains("申报").all()
    assert (loads["status"] == "loaded").all()
    assert (loads["rows_read"] == loads["rows_accepted"] + loads["rows_rejected"]).all()
    assert loads["sha256"].str.len_chars().to_list() == [64] * len(files)


def test_every_extract_row_is_loaded(province):
    census = read_extract(province["landing"])
    raw = table(province, "select census_year, count(*) as n from raw.census_schools group by 1 order by 1")
    expected = census.group_by("census_year").len().sort("census_year")
    assert raw["n"].to_list() == expected["len"].to_list()
    assert table(province, "select count(*) as n from audit.rejected_rows")["n"][0] == 0


@pytest.mark.parametrize("model", load_models(MODELS_DIR), ids=lambda m: m.relation)
def test_model_grain_has_no_duplicate_keys(province, model):
    key = ", ".join(model.unique_key)
    duplicates = table(
        province, f"select {key}, count(*) as n from {model.relation} group by all having n > 1"
    )
    assert duplicates.is_empty()
    assert table(province, f"select count(*) as n from {model.relation}")["n"][0] > 0


def test_every_coefficient_table_has_exactly_the_rows_the_official_method_gives(province, golden_standards):
    """Row counts of the method's tables, from the extract and the hand-typed official numbers."""
    census = read_extract(province["landing"])
    counties_with_schools = census.select("census_year", "county_code").unique()
    expected: dict[str, int] = {
        "staging.school_sections": 0,
        "marts.school_indicators": 0,
        "marts.county_indicator_cv": 0,
        "marts.county_balance": 0,
    }
    for standard in golden_standards.values():
        sections = official.sections(census, standard)
        values = official.school_values(census, standard)
        expected["staging.school_sections"] += sections.height  # every section, excluded ones too
        expected["marts.school_indicators"] += values.height  # included sections x indicators
        groups = sections.select("census_year", "county_code", "stage").unique()
        expected["marts.county_indicator_cv"] += groups.height * len(standard.indicators)
        expected["marts.county_balance"] += groups.height
    assert counties_with_schools.height == 6 * len(YEARS)
    for relation, rows in expected.items():
        assert table(province, f"select count(*) as n from {relation}")["n"][0] == rows, relation


def test_every_cv_equals_an_independent_recomputation(province, golden_standards):
    census = read_extract(province["landing"])
    warehouse = table(province, "select * from marts.county_indicator_cv")
    checked = 0
    for standard in golden_standards.values():
        values = official.school_values(census, standard)
        expected = {}
        for key, group in values.group_by(["census_year", "county_code", "stage", "indicator_id"]):
            expected[key] = weighted_cv(group["value"].to_list(), group["weight"].to_list())
        got = warehouse.filter(pl.col("standard_id") == standard.standard_id)
        assert got.height == len(expected)
        for row in got.iter_rows(named=True):
            want = expected[(row["census_year"], row["county_code"], row["stage"], row["indicator_id"])]
            assert row["n_schools"] == want.n_schools
            assert row["mean_value"] == pytest.approx(want.mean_value, rel=1e-9)
            if want.cv is None:
                assert row["cv"] is None and row["cv_null_reason"] == want.null_reason
            else:
                assert row["cv"] == pytest.approx(want.cv, rel=1e-9)
            checked += 1
    assert checked > 100


def test_county_balance_applies_each_standards_rule(province, golden_standards):
    balance = table(province, "select * from marts.county_balance")
    cvs = table(province, "select * from marts.county_indicator_cv")
    for row in balance.iter_rows(named=True):
        standard = golden_standards[row["standard_id"]]
        mine = cvs.filter(
            (pl.col("census_year") == row["census_year"])
            & (pl.col("county_code") == row["county_code"])
            & (pl.col("stage") == row["stage"])
            & (pl.col("standard_id") == row["standard_id"])
        )["cv"].to_list()
        threshold = standard.cv_thresholds[row["stage"]]
        assert row["cv_threshold"] == threshold
        if None in mine:
            assert row["passes"] is None
            continue
        assert row["composite_cv"] == pytest.approx(math.fsum(mine) / len(mine), rel=1e-12)
        if standard.cv_rule == "composite":
            assert row["passes"] == (row["composite_cv"] <= threshold)
            assert row["n_indicators_over_threshold"] is None
        else:
            assert row["passes"] == all(cv <= threshold for cv in mine)
            assert row["n_indicators_over_threshold"] == sum(cv > threshold for cv in mine)


def test_planted_scenarios_show_up_in_the_right_county_year_stage(province):
    truth = province["truth"]
    assert {s["scenario_id"] for s in truth["scenarios"]} == {
        "basic_composite_crossing",
        "quality_indicator_crossing",
        "near_threshold_rising",
        "improving_steadily",
        "quality_school_slide",
    }
    balance = table(province, "select * from marts.county_balance")
    cvs = table(province, "select * from marts.county_indicator_cv")
    compliance = table(province, "select * from marts.school_compliance")
    for scenario in truth["scenarios"]:
        for year in scenario["years"]:
            where = (
                (pl.col("census_year") == year["census_year"])
                & (pl.col("county_code") == scenario["county_code"])
                & (pl.col("stage") == scenario["stage"])
                & (pl.col("standard_id") == scenario["standard_id"])
            )
            if scenario["metric"] == "composite_cv":
                row = balance.filter(where).row(0, named=True)
                value, passes = row["composite_cv"], row["passes"]
            elif scenario["metric"] == "school_rule":  # exactly the planted schools fail the rule
                failing = compliance.filter(where & ~pl.col("is_compliant"))
                sliding = {
                    s["school_id"] for s in scenario["schools"] if s["from_year"] <= year["census_year"]
                }
                assert set(failing["school_id"]) == sliding, (scenario["scenario_id"], year["census_year"])
                value, passes = failing.height, failing.is_empty()
            else:
                row = cvs.filter(where & (pl.col("indicator_id") == scenario["indicator_id"])).row(
                    0, named=True
                )
                value, passes = row["cv"], row["passes"]
            assert value == pytest.approx(year["value"], rel=1e-9), scenario["scenario_id"]
            assert passes == year["passes"], (scenario["scenario_id"], year["census_year"])
    crossing = {s["scenario_id"]: s for s in truth["scenarios"]}
    # the planted crossings fail from the planned year on, and pass before it
    for scenario_id in ("basic_composite_crossing", "quality_indicator_crossing"):
        s = crossing[scenario_id]
        planned = s["planned_first_failing_year"]
        assert planned in YEARS[1:], scenario_id
        assert [y["passes"] for y in s["years"]] == [y < planned for y in YEARS], scenario_id
        assert s["first_failing_year"] == planned
    assert all(y["passes"] for y in crossing["near_threshold_rising"]["years"])
    quality = crossing["quality_indicator_crossing"]
    mean_of_seven = balance.filter(
        (pl.col("county_code") == quality["county_code"])
        & (pl.col("stage") == "junior")
        & (pl.col("standard_id") == "quality_2017")
        & (pl.col("census_year") == YEARS[-1])
    )["composite_cv"][0]
    assert mean_of_seven < quality["threshold"]  # the mean hides the failing indicator


def test_certifications_are_loaded_from_the_landing_folder(province):
    certs = table(province, "select * from marts.certifications order by all")
    written = pl.read_csv(province["landing"] / "reference" / "certifications.csv", infer_schema=False)
    assert certs.height == written.height > 0
    assert set(certs["standard_id"]) == {"basic_2012", "quality_2017"}


def test_the_planted_failing_indicator_shows_its_schools_at_the_top_of_the_drivers(province):
    scenario = next(
        s for s in province["truth"]["scenarios"] if s["scenario_id"] == "quality_indicator_crossing"
    )
    top = table(
        province,
        "select school_id from monitoring.school_drivers where census_year = 2024 and county_code = "
        f"'{scenario['county_code']}' and stage = 'junior' and standard_id = 'quality_2017' and indicator_id = "
        "'pe_art_teachers_per_100' and driver_rank <= 3 order by driver_rank",
    )
    assert top["school_id"].to_list() == scenario["top_drivers_final_year"]


def test_driver_contributions_and_changes_add_up_for_every_county_indicator(province):
    gaps = table(
        province,
        "select max(abs(fsum(contribution) - any_value(county_cv) ^ 2)) over () as total_gap, "
        "max(abs(fsum(contribution_change) - (any_value(county_cv) ^ 2 - any_value(previous_county_cv) ^ 2))) "
        "over () as change_gap from monitoring.school_drivers group by census_year, county_code, stage, "
        "standard_id, indicator_id",
    )
    assert gaps["total_gap"][0] < 1e-12
    assert gaps["change_gap"][0] is None or gaps["change_gap"][0] < 1e-12


def test_every_equity_measure_equals_the_python_statement(province, golden_standards):
    census = read_extract(province["landing"])
    area = {e["code"]: e["area_class"] for e in load_code_list("urban_rural")}
    classes = dict(zip(census["school_id"], census["urban_rural_code"].replace_strict(area), strict=False))
    got = table(province, "select * from marts.county_equity")
    checked = 0
    for standard in golden_standards.values():
        values = official.school_values(census, standard)
        mine = got.filter(pl.col("standard_id") == standard.standard_id)
        groups = dict(values.group_by(["census_year", "county_code", "stage", "indicator_id"]).__iter__())
        assert mine.height == len(groups)
        for row in mine.iter_rows(named=True):
            g = groups[(row["census_year"], row["county_code"], row["stage"], row["indicator_id"])]
            x, p = g["value"].to_list(), g["weight"].to_list()
            between, within, by_area = equity.theil_decomposition(x, p, [classes[s] for s in g["school_id"]])
            expected = {
                "gini": equity.weighted_gini(x, p),
                "theil_t": equity.theil_t(x, p),
                "theil_between_area": between,
                "theil_within_area": within,
                "theil_within_rural": by_area.get("乡村"),
                "mcloone": equity.mcloone(x, p),
                "federal_range_ratio": equity.federal_range_ratio(x, p),
                "p05_value": equity.weighted_percentile(x, p, 0.05),
            }
            for column, want in expected.items():
                if want is None:
                    assert row[column] is None, column
                else:
                    assert row[column] == pytest.approx(want, rel=1e-9, abs=1e-12), column
            checked += 1
    assert checked > 100


def test_truth_file_is_written_beside_the_extracts(province):
    truth = json.loads((province["landing"] / "truth.json").read_text(encoding="utf-8"))
    assert truth["generator"]["years"] == YEARS


def test_every_column_of_every_model_carries_a_comment(province):
    missing = table(
        province,
        "select schema_name, table_name, column_name from duckdb_columns() "
        "where schema_name in ('staging', 'marts', 'raw', 'audit') and (comment is null or comment = '')",
    )
    assert missing.is_empty(), missing


def test_published_columns_use_plain_types(province):
    # HUGEINT (what DuckDB gives a sum of BIGINTs) is awkward in spreadsheets and pandas
    odd = table(
        province,
        "select table_name, column_name, data_type from duckdb_columns() "
        "where schema_name in ('marts', 'staging') and data_type in ('HUGEINT', 'UHUGEINT')",
    )
    assert odd.is_empty(), odd


def test_rerunning_the_same_files_changes_nothing(province, tmp_path):
    before = table(province, "select * from marts.county_indicator_cv order by all")
    run_pipeline(
        landing=province["landing"],
        warehouse=province["warehouse"],
        census_years=[2023],
        progress=lambda _: None,
    )
    after = table(province, "select * from marts.county_indicator_cv order by all")
    assert before.equals(after)
