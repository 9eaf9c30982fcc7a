"""Backsliding alerts on a generated province, through the real Dagster graph.

Every scenario planted in truth.json must raise its expected severity in its year and stage (and
indicator for quality); the improving county and never-certified counties raise nothing; the
evidence equals monitoring.school_drivers; reloading the last two years gives the same alert ids; the run-status
sensor leaves the run's new alerts in the reports folder.
"""

import csv
import json
import shutil

import dagster as dg
import polars as pl
import pytest

from pipelines.cli import main
from pipelines.definitions import build_definitions
from pipelines.defs.monitoring.sensors import new_alerts_file
from pipelines.defs.resources import Warehouse
from pipelines.lib.paths import MODELS_DIR, REPO_ROOT
from pipelines.lib.reference.alert_rules import load_rules
from pipelines.lib.synthetic.province import generate
from pipelines.lib.warehouse import connect, query_frame
from pipelines.runner import run_pipeline

pytestmark = pytest.mark.integration

YEARS = list(range(2017, 2025))


@pytest.fixture(scope="module")
def province(tmp_path_factory):
    root = tmp_path_factory.mktemp("alerts")
    landing, warehouse = root / "landing", root / "junheng.duckdb"
    published = root / "published" / "junheng.duckdb"
    truth = generate(landing, counties=9, years=YEARS, seed=5)
    home = root / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        run_pipeline(
            landing=landing,
            warehouse=warehouse,
            published=published,
            instance=instance,
            progress=lambda _: None,
        )
        with connect(warehouse, read_only=True) as con:
            first = query_frame(con, "select * from monitoring.backsliding_alerts order by alert_id")
        last_run = instance.get_runs(limit=1)[0]
        reports = root / "reports"
        with dg.build_run_status_sensor_context(
            sensor_name="new_alerts_file",
            dagster_instance=instance,
            dagster_run=last_run,
            dagster_event=next(
                e
                for e in instance.all_logs(last_run.run_id)
                if e.dagster_event is not None and e.dagster_event.event_type_value == "PIPELINE_SUCCESS"
            ).dagster_event,
            resources={
                "warehouse": Warehouse(
                    database=str(warehouse), published=str(published), reports=str(reports)
                )
            },
        ) as sensor_context:
            sensor_result = new_alerts_file(sensor_context)
        metadata_new = next(
            e.asset_materialization.metadata
            for e in instance.all_logs(last_run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
            if e.asset_materialization.asset_key == dg.AssetKey(["monitoring", "backsliding_alerts"])
        )
        # the last two years again (a reload compares with the years before it, as loaded)
        run_pipeline(
            landing=landing,
            warehouse=warehouse,
            published=published,
            instance=instance,
            census_years=YEARS[-2:],
            progress=lambda _: None,
        )
        reload = instance.get_runs(limit=1)[0]
        metadata_reload = next(
            e.asset_materialization.metadata
            for e in instance.all_logs(reload.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
            if e.asset_materialization.asset_key == dg.AssetKey(["monitoring", "backsliding_alerts"])
        )
    with connect(warehouse, read_only=True) as con:
        second = query_frame(con, "select * from monitoring.backsliding_alerts order by alert_id")
        certified = query_frame(con, "select * from marts.certifications")
        plans = query_frame(con, "select * from monitoring.what_if_plans")
        drivers = query_frame(con, "select * from monitoring.school_drivers where driver_rank <= 3")
    return {
        "root": root,
        "warehouse": warehouse,
        "truth": truth,
        "alerts": first,
        "second": second,
        "certified": certified,
        "drivers": drivers,
        "plans": plans,
        "sensor_result": sensor_result,
        "reports": reports,
        "last_year_new": metadata_new,
        "reload": metadata_reload,
    }


SEVERITY_RANK = {s.severity: s.rank for s in load_rules(MODELS_DIR / "rules").severities}


def test_one_active_row_per_problem(province):
    alerts = active(province["alerts"])
    keys = ["census_year", "county_code", "stage", "standard_id", "metric_id"]
    assert alerts.select(keys).n_unique() == alerts.height
    assert (alerts["fired_rules"].list.first() == alerts["rule_id"]).all()


def active(alerts: pl.DataFrame) -> pl.DataFrame:
    return alerts.filter(pl.col("status").is_in(["new", "continuing"]))


def test_every_planted_scenario_raises_its_expected_severity(province):
    alerts = active(province["alerts"])
    for scenario in province["truth"]["scenarios"]:
        for expected in scenario["expected_alerts"]:
            # one row per problem: the expected rule is among its fired rules, at its severity or worse
            stage = expected.get("stage", scenario["stage"])  # none: a finding on either stage
            match = alerts.filter(
                (pl.col("census_year") == expected["census_year"])
                & (pl.col("county_code") == scenario["county_code"])
                & ((pl.col("stage") == stage) if stage else pl.lit(True))
                & (pl.col("standard_id") == scenario["standard_id"])
                & pl.col("fired_rules").list.contains(expected["rule_id"])
            )
            if expected["severity"] == "breach":  # a per-metric rule: the planted metric itself
                match = match.filter(pl.col("metric_id") == (scenario["indicator_id"] or "composite"))
            assert match.height == 1, (scenario["scenario_id"], expected)
            row = match.row(0, named=True)
            assert row["severity_rank"] >= SEVERITY_RANK[expected["severity"]], (
                scenario["scenario_id"],
                expected,
            )
            if expected["rule_id"] == "standard_not_met":
                # the breach is new that year: the problem was new, or at a lower severity the year before
                assert row["first_seen_year"] <= expected["census_year"]
                before = province["alerts"].filter(
                    (pl.col("census_year") == expected["census_year"] - 1)
                    & (pl.col("county_code") == row["county_code"])
                    & (pl.col("stage") == row["stage"])
                    & (pl.col("standard_id") == row["standard_id"])
                    & (pl.col("metric_id") == row["metric_id"])
                    & pl.col("status").is_in(["new", "continuing"])
                )
                assert (before["severity_rank"] < SEVERITY_RANK["breach"]).all()


def test_the_crossings_are_not_breaches_the_year_before(province):
    alerts = active(province["alerts"])
    for scenario in province["truth"]["scenarios"]:
        first = scenario["first_failing_year"]
        if scenario["scenario_id"].endswith("crossing"):
            earlier = alerts.filter(
                (pl.col("county_code") == scenario["county_code"])
                & (pl.col("census_year") < first)
                & pl.col("severity").is_in(["breach", "critical"])
            )
            assert earlier.is_empty(), scenario["scenario_id"]


def test_the_planted_certification_year_dip_is_found_once_and_nowhere_else(province):
    """The county whose figures were unusually good in its certification year and the year before
    gets one finding, in the year after certification, with the dip, the province and the rebound;
    its rebound is not also an unusual-rise watch; no other county gets such a finding."""
    dip = next(s for s in province["truth"]["scenarios"] if s["scenario_id"] == "certification_year_dip")
    findings = province["alerts"].filter(pl.col("rule_id") == "certification_year_dip")
    assert findings["county_code"].to_list() == [dip["county_code"]]
    row = findings.row(0, named=True)
    assert (row["census_year"], row["status"], row["severity"]) == (
        max(dip["dip_years"]) + 1,
        "new",
        "warning",
    )
    assert row["certified_year"] == dip["basic_certified_year"] and row["dip_year"] in dip["dip_years"]
    assert row["dip_before_year"] == min(dip["dip_years"]) - 1
    if row["stage"] == "primary":  # the truth records the primary composite
        values = {y["census_year"]: y["value"] for y in dip["years"]}
        assert row["dip_before_value"] == pytest.approx(values[row["dip_before_year"]], rel=1e-9)
        assert row["dip_value"] == pytest.approx(values[row["dip_year"]], rel=1e-9)
        assert row["observed_value"] == pytest.approx(values[row["census_year"]], rel=1e-9)
    assert row["dip_share"] >= 0.15 and row["rebound_share"] >= 0.5
    assert row["dip_robust_z"] <= -3 or row["rebound_robust_z"] >= 3  # unusual against the province
    assert row["n_counted_metrics"] == row["n_checked_metrics"] == 2  # both stages' composites
    assert f"{row['certified_year']} 年认定" in row["message_zh"] and "建议复核" in row["message_zh"]
    rebound_watches = active(province["alerts"]).filter(
        (pl.col("county_code") == dip["county_code"])
        & (pl.col("census_year") == row["census_year"])
        & (pl.col("rule_id") != "certification_year_dip")
        & pl.col("fired_rules").list.contains("unusual_rise")
    )
    assert rebound_watches.is_empty()


def test_the_planted_retention_slide_is_found_with_its_evidence(province):
    """The quality-certified county whose junior three-year retention (checklist C36) slides under
    95% after certification gets a checklist finding in its first failing year, with the cohort
    behind the figure, continued while it stays under; a lapse is found in no other county's C36."""
    slide = next(s for s in province["truth"]["scenarios"] if s["scenario_id"] == "retention_slide")
    lapses = province["alerts"].filter(
        (pl.col("rule_id") == "checkpoint_lapse") & (pl.col("checkpoint_code") == "C36")
    )
    assert set(lapses["county_code"]) == {slide["county_code"]}
    planned = {y["census_year"]: y for y in slide["years"]}
    first = slide["first_failing_year"]
    for row in lapses.sort("census_year").iter_rows(named=True):
        year = row["census_year"]
        assert row["status"] == ("new" if year == first else "continuing"), row
        assert row["severity"] == "warning" and row["stage"] == "junior"
        assert row["checkpoint_value"] == pytest.approx(planned[year]["value"], abs=5e-4)
        assert row["checkpoint_value"] < 0.95 and not planned[year]["passes"]
        assert row["checkpoint_value"] == pytest.approx(
            row["checkpoint_numerator"] / row["checkpoint_denominator"]
        )
        assert row["checkpoint_base_year"] == year - 2
        assert row["checkpoint_last_met_year"] >= slide["quality_certified_year"]
        assert (
            "初中三年巩固率" in row["message_zh"]
            and f"{row['checkpoint_last_met_year']} 年曾达标" in row["message_zh"]
        )
    assert sorted(lapses["census_year"]) == [y for y in YEARS if y >= first]


def test_the_rising_county_never_breaches(province):
    rising = next(s for s in province["truth"]["scenarios"] if s["scenario_id"] == "near_threshold_rising")
    assert rising["expected_alerts"], "the plan must reach the warning ratio"
    worst = active(province["alerts"]).filter(
        (pl.col("county_code") == rising["county_code"]) & (pl.col("stage") == rising["stage"])
    )
    assert not set(worst["severity"]) & {"breach", "critical"}


def test_the_improving_county_raises_nothing(province):
    improving = next(s for s in province["truth"]["scenarios"] if s["scenario_id"] == "improving_steadily")
    assert improving["basic_certified_year"] is not None
    assert province["alerts"].filter(pl.col("county_code") == improving["county_code"]).is_empty()


def test_counties_that_were_never_certified_raise_nothing(province):
    never = {s["county_code"] for s in province["truth"]["scenarios"]} | set(
        province["certified"]["county_code"]
    )
    with connect(province["warehouse"], read_only=True) as con:
        counties = set(query_frame(con, "select county_code from marts.dim_counties")["county_code"])
    uncertified = counties - never
    assert uncertified, "the generator plants at least one never-certified county"
    assert province["alerts"].filter(pl.col("county_code").is_in(list(uncertified))).is_empty()


def test_alerts_only_in_monitored_years(province):
    alerts = province["alerts"].join(province["certified"], on=["county_code", "standard_id"], how="left")
    outside = alerts.filter(
        pl.col("certified_year_right").is_null() | (pl.col("census_year") < pl.col("certified_year_right"))
    )
    assert outside.is_empty()


def test_a_second_run_gives_the_same_alert_ids_and_rows(province):
    first, second = province["alerts"], province["second"]
    assert first["alert_id"].to_list() == second["alert_id"].to_list()
    assert first.drop("driver_schools").equals(second.drop("driver_schools"))


def test_driver_evidence_equals_monitoring_school_drivers(province):
    alerts = active(province["alerts"]).filter(pl.col("driver_indicator_id").is_not_null())
    assert alerts.height > 0
    drivers = province["drivers"]
    for row in alerts.iter_rows(named=True):
        expected = drivers.filter(
            (pl.col("census_year") == row["census_year"])
            & (pl.col("county_code") == row["county_code"])
            & (pl.col("stage") == row["stage"])
            & (pl.col("standard_id") == row["standard_id"])
            & (pl.col("indicator_id") == row["driver_indicator_id"])
        ).sort("driver_rank")
        shown = row["driver_schools"]
        assert [d["school_id"] for d in shown] == expected["school_id"].to_list()
        for d, e in zip(shown, expected.iter_rows(named=True), strict=True):
            assert (d["value"], d["mean_value"], d["contribution_change"]) == (
                e["value"],
                e["mean_value"],
                e["contribution_change"],
            )


def test_breaches_carry_a_what_if(province):
    breaches = active(province["alerts"]).filter(pl.col("fired_rules").list.contains("standard_not_met"))
    assert breaches.height > 0
    plans = province["plans"]
    for row in breaches.iter_rows(named=True):
        metric = row[
            "evidence_metric_id"
        ]  # its own metric, or the worst of those a county-stage row folds in
        assert row["metric_id"] in (None, metric)
        rows = plans.filter(
            (pl.col("census_year") == row["census_year"])
            & (pl.col("county_code") == row["county_code"])
            & (pl.col("stage") == row["stage"])
            & (pl.col("standard_id") == row["standard_id"])
            & (pl.col("plan_metric_id") == metric)
        )
        plan = rows.filter(pl.col("metric_id") == metric).row(0, named=True)
        assert plan["is_needed"] and plan["cv_after"] <= plan["target_cv"]
        if metric == "composite":
            assert plan["floor_share_of_mean"] > 0 and rows.height == 1 + 8
        else:
            assert plan["floor_value"] > 0 and plan["amount_needed"] > 0 and plan["amount_unit"]
        assert row["what_if_zh"] and row["message_zh"] and row["message_en"]


def test_the_run_status_sensor_writes_the_runs_new_alerts_as_the_workbook_shows_them(province):
    files = list((province["reports"] / "alerts").glob("new_alerts_*.csv"))
    assert len(files) == 1
    with open(files[0], encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    latest = province["alerts"].filter((pl.col("census_year") == YEARS[-1]) & (pl.col("status") == "new"))
    assert latest.height > 0  # a first load: every new alert of the latest year is announced
    assert sorted(r["预警编号"] for r in rows) == sorted(latest["alert_id"].to_list())
    assert province["last_year_new"]["announced_alert_ids"].value == latest["alert_id"].to_list()
    assert province["last_year_new"]["announced_year"].value == YEARS[-1]
    assert {r["预警状态"] for r in rows} == {"新增"}  # the glossary's words, not the codes
    by_id = {r["预警编号"]: r for r in rows}
    for alert in latest.iter_rows(named=True):  # rounded as the workbook rounds them
        row = by_id[alert["alert_id"]]
        assert row["差异系数"] == (
            "" if alert["observed_value"] is None else f"{alert['observed_value']:.3f}"
        )
        assert row["县区名称"] == alert["county_name"]


def test_loading_years_again_announces_nothing_announced_before(province):
    """The reload of the last two years builds the same alerts: none is new to the warehouse."""
    assert province["reload"]["announced_alert_ids"].value == []
    assert province["reload"]["new"].value > 0  # though the year still has alerts new that year


def test_the_alert_asset_reports_severity_counts(province):
    metadata = province["last_year_new"]
    latest = active(province["alerts"]).filter(pl.col("census_year") == YEARS[-1])
    for severity in ("watch", "warning", "breach", "critical"):
        assert metadata[f"active_{severity}"].value == latest.filter(pl.col("severity") == severity).height
    worst = latest.filter(pl.col("severity").is_in(["breach", "critical"]))
    assert worst.height > 0
    table = metadata["breaches"].value.splitlines()
    assert len(table) == 2 + worst.height  # a header, its rule and a row per alert at breach or worse
    assert all(
        any(r["county_code"] in line and r["rule_id"] in line for line in table) for r in worst.to_dicts()
    )


def test_the_alerts_command_in_every_format(province, capsys):
    warehouse = str(province["warehouse"])
    assert main(["alerts", "--warehouse", warehouse, "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert {r["census_year"] for r in records} == {YEARS[-1]}
    assert main(["alerts", "--warehouse", warehouse, "--format", "csv", "--min-severity", "breach"]) == 0
    rows = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    assert rows and all(r["severity"] in ("breach", "critical") for r in rows)
    county = rows[0]["county_code"]
    assert main(["alerts", "--warehouse", warehouse, "--county", county, "--year", str(YEARS[-2])]) == 0
    table = capsys.readouterr().out
    assert "预警等级" in table and county in table and "有效预警" in table
    assert main(["alerts", "--warehouse", warehouse, "--county", county, "--english"]) == 0
    english = capsys.readouterr().out
    assert "severity" in english and "active alerts" in english and "预警等级" not in english
    assert main(["alerts", "--warehouse", warehouse, "--year", "1999"]) == 0
    assert "没有预警" in capsys.readouterr().out


def test_the_definitions_hold_the_alert_sensor():
    defs = build_definitions()
    assert defs.resolve_sensor_def("new_alerts_file") is not None
