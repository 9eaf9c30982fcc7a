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

    def is_planted(r: dict) -> bool:  # a planted finding without a stage stands on either stage
        return any(
            (c, sd) == (r["county_code"], r["standard_id"]) and st in (None, r["stage"])
            for c, st, sd in groups
        )

    warnings = active.filter(pl.col("severity").is_in(["warning", "breach", "critical"]))
    expected = []
    for (year,), rows in sorted(warnings.group_by("census_year")):
        real = [
            is_planted(r)
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
            & ((pl.col("stage") == p["stage"]) if p["stage"] else pl.lit(True))
            & (pl.col("standard_id") == p["standard_id"])
            & pl.col("fired_rules").list.contains(p["rule_id"])
        ).is_empty()
        for p in planted.iter_rows(named=True)
    )
    assert found == quality.n_found
    watch = active.filter(pl.col("severity") == "watch").group_by("census_year", "county_code").len()
    assert quality.max_watch_rows == (watch["len"].max() if watch.height else 0)


def test_every_certified_county_meets_its_standard_in_its_certification_year(demo):
    """A certification the demo records is one the county earned: every rule of the standard holds
    (both stages) in the certification year, and the year is within the method's dates."""
    with duckdb.connect(str(demo.warehouse), read_only=True) as con:
        checked = query_frame(
            con,
            """
            select c.county_code, c.standard_id, c.certified_year, s.certified_from_year,
                s.certified_until_year, count(b.stage) as n_stages,
                bool_and(coalesce(b.meets_standard, false)) as meets
            from marts.certifications as c
            inner join marts.standards as s using (standard_id)
            left join marts.county_balance as b
                on b.county_code = c.county_code and b.standard_id = c.standard_id
                and b.census_year = c.certified_year
            group by all
            """,
        )
    assert checked.height > 0
    for r in checked.iter_rows(named=True):
        assert r["certified_from_year"] <= r["certified_year"], r
        assert r["certified_until_year"] is None or r["certified_year"] <= r["certified_until_year"], r
        if r["n_stages"]:  # certified within the loaded years
            assert r["n_stages"] == 2 and r["meets"], r
    assert checked.filter(pl.col("n_stages") > 0).height >= 10
