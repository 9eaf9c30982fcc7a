"""The demo's alert list against what its generator planted (truth.json): every planted alert is
found, and in every year at least 90% of the active alerts at warning or worse are real problems
(a planted one, or a coefficient above its threshold, or schools failing the per-school rule). The
figures the demo prints are checked against a count of the alert table made here."""

import json

import duckdb
import polars as pl
import pytest

from pipelines.lib.monitoring.alert_quality import measure, planted_alerts
from pipelines.lib.warehouse import query_frame

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def measured(demo):
    truth = json.loads((demo.landing / "truth.json").read_text(encoding="utf-8"))
    with duckdb.connect(str(demo.warehouse), read_only=True) as con:
        alerts = query_frame(con, "select * from monitoring.backsliding_alerts")
        quality = measure(con, truth)
    return truth, alerts, quality


def test_every_planted_alert_is_found_and_nine_in_ten_warnings_are_real(measured, demo):
    truth, alerts, quality = measured
    assert quality.n_planted == sum(len(s["expected_alerts"]) for s in truth["scenarios"]) > 0
    assert quality.n_found == quality.n_planted and quality.all_found  # recall 100%
    assert quality.years and all(year["precision"] >= 0.9 for year in quality.years), quality.years
    assert quality.max_watch_rows <= 2
    assert f"召回：预设预警 {quality.n_planted} 条，发现 {quality.n_found} 条（全部发现）" in demo.output


def test_the_measure_agrees_with_a_count_of_the_alert_table(measured):
    truth, alerts, quality = measured
    active = alerts.filter(pl.col("status").is_in(["new", "continuing"]))
    planted = planted_alerts(truth)
    groups = set(planted.select("county_code", "stage", "standard_id").iter_rows())
    warnings = active.filter(pl.col("severity").is_in(["warning", "breach", "critical"]))
    expected = []
    for (year,), rows in sorted(warnings.group_by("census_year")):
        real = [
            (r["county_code"], r["stage"], r["standard_id"]) in groups
            or (r["observed_value"] is not None and r["observed_value"] > r["threshold"])
            or (r["n_failing_schools"] or 0) > 0
            for r in rows.iter_rows(named=True)
        ]
        expected.append((year, len(real), sum(real)))
    assert [(y["census_year"], y["n_alerts"], y["n_real"]) for y in quality.years] == expected
    found = sum(
        not active.filter(
            (pl.col("census_year") == p["census_year"])
            & (pl.col("county_code") == p["county_code"])
            & (pl.col("stage") == p["stage"])
            & (pl.col("standard_id") == p["standard_id"])
            & pl.col("fired_rules").list.contains(p["rule_id"])
        ).is_empty()
        for p in planted.iter_rows(named=True)
    )
    assert found == quality.n_found
    watch = active.filter(pl.col("severity") == "watch").group_by("census_year", "county_code").len()
    assert quality.max_watch_rows == (watch["len"].max() if watch.height else 0)
