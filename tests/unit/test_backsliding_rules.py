"""Each backsliding rule on small hand-built coefficient series (docs/methodology.md §5, models/rules).

The series go into a real DuckDB file as marts.county_balance / marts.county_indicator_cv rows;
the real monitoring.county_trends SQL computes slopes, changes and z-scores, and the real rules
(pipelines.lib.monitoring.alerts.fire_alerts with models/rules/backsliding.yaml) decide, year by year, with
each year's alerts fed back as the next year's "previous" alerts, as the asset does.
"""

from __future__ import annotations

import duckdb
import numpy as np
import polars as pl
import pytest
from scipy import stats

from pipelines.lib.monitoring.alerts import AlertInputs, alert_id, alert_schema, fire_alerts, rule_names
from pipelines.lib.paths import MODELS_DIR
from pipelines.lib.reference.alert_rules import load_rules, rule_tables
from pipelines.lib.sentences import Words, glossary_words, render
from pipelines.lib.sql_models import load_models, run_model
from pipelines.lib.warehouse import connect, query_frame, replace_table

RULES = load_rules(MODELS_DIR / "rules")
MODELS = {m.relation: m for m in load_models(MODELS_DIR)}
TRENDS = MODELS["monitoring.county_trends"]
RUNS = MODELS["monitoring.county_verdict_runs"]
CHECKS = MODELS["monitoring.certification_year_checks"]
_GLOSSARY = glossary_words()
WORDS = Words(
    values=_GLOSSARY.values,
    columns=_GLOSSARY.columns,
    rules=rule_names(RULES),
    severities={s.severity: s.name_zh for s in RULES.severities},
    phrases=_GLOSSARY.phrases,
)
FAILING_SCHEMA = {
    "county_code": pl.String,
    "stage": pl.String,
    "standard_id": pl.String,
    "n_failing_school_rule": pl.Int64,
}
QUALITY = ["teaching_area_per_student", "pe_art_teachers_per_100", "key_teachers_per_100"]


class Series:
    """A tiny warehouse of county coefficients, certifications and data status."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        for table, frame in rule_tables(RULES).items():
            replace_table(con, f"marts.{table}", frame)
        con.execute(
            "create table marts.dim_counties (county_code varchar, county_name varchar, province_code varchar)"
        )
        con.execute(
            "create table marts.certifications (county_code varchar, standard_id varchar, "
            "certified_year bigint, revoked_year bigint)"
        )
        con.execute(
            "create table marts.county_balance (census_year integer, county_code varchar, stage varchar, "
            "standard_id varchar, cv_rule varchar, composite_cv double, cv_threshold double, "
            "meets_cv_rule boolean, meets_school_rule boolean, meets_standard boolean)"
        )
        con.execute("create table marts.standards (standard_id varchar, school_rule_min_met bigint)")
        con.execute("insert into marts.standards values ('basic_2012', null), ('quality_2017', 6)")
        con.execute(
            "create table marts.county_indicator_cv (census_year integer, county_code varchar, stage varchar, "
            "standard_id varchar, indicator_id varchar, indicator_order integer, cv double, cv_threshold double)"
        )
        self.held: set[tuple[str, int]] = set()
        self.failing: dict[tuple[str, int], int] = {}

    def county(
        self, code: str, certified: int | None = 2000, revoked: int | None = None, standard="basic_2012"
    ):
        self.con.execute("insert into marts.dim_counties values ($c, $c, '90')", {"c": code})
        if certified is not None:
            self.con.execute(
                "insert into marts.certifications values ($c, $s, $y, $r)",
                {"c": code, "s": standard, "y": certified, "r": revoked},
            )

    def composite(self, code: str, values: dict[int, float], threshold: float = 0.5, stage: str = "primary"):
        for year, value in values.items():
            self.con.execute(
                "insert into marts.county_balance values "
                "($y, $c, $st, 'basic_2012', 'composite', $v, $t, $v <= $t, null, $v <= $t)",
                {"y": year, "c": code, "st": stage, "v": value, "t": threshold},
            )

    def indicators(self, code: str, values: dict[int, list[float]], threshold: float = 0.5):
        """quality_2017 indicators (each judged); the composite row is their mean."""
        for year, cvs in values.items():
            for order, (indicator, cv) in enumerate(zip(QUALITY, cvs, strict=True), start=1):
                self.con.execute(
                    "insert into marts.county_indicator_cv values ($y, $c, 'primary', 'quality_2017', $i, $o, $v, $t)",
                    {"y": year, "c": code, "i": indicator, "o": order, "v": cv, "t": threshold},
                )
            self.con.execute(
                "insert into marts.county_balance values "
                "($y, $c, 'primary', 'quality_2017', 'each_indicator', $v, $t, $m, true, $m)",
                {"y": year, "c": code, "v": sum(cvs) / len(cvs), "t": threshold, "m": max(cvs) <= threshold},
            )

    def trends(self, year: int) -> pl.DataFrame:
        run_model(self.con, TRENDS, year)
        return query_frame(
            self.con, "select * from monitoring.county_trends where census_year = $y", {"y": year}
        )

    def run(self, years: range | list[int]) -> dict[int, pl.DataFrame]:
        """Alerts per year, each year seeing the previous year's alerts."""
        out: dict[int, pl.DataFrame] = {}
        previous = pl.DataFrame(schema=alert_schema())
        for year in years:
            self.trends(year)
            trends = query_frame(
                self.con, "select * from monitoring.county_trends where census_year <= $y", {"y": year}
            )
            codes = [r[0] for r in self.con.execute("select county_code from marts.dim_counties").fetchall()]
            status = pl.DataFrame(
                [
                    {
                        "county_code": c,
                        "is_provisional": (c, year) in self.held,
                        "provisional_reason": "rejected_rows" if (c, year) in self.held else "",
                        "rows_rejected": 40,
                        "rejected_share": 0.25,
                        "schools_missing": 0,
                        "missing_school_share": 0.0,
                    }
                    for c in codes
                ]
            )
            failing = pl.DataFrame(
                [
                    {
                        "county_code": c,
                        "stage": "primary",
                        "standard_id": "quality_2017",
                        "n_failing_school_rule": n,
                    }
                    for (c, y), n in self.failing.items()
                    if y == year
                ],
                schema=FAILING_SCHEMA,
            )
            for (c, y), n in self.failing.items():  # the per-school part of the verdict
                self.con.execute(
                    "update marts.county_balance set meets_school_rule = $ok, "
                    "meets_standard = meets_cv_rule and $ok "
                    "where county_code = $c and census_year = $y and standard_id = 'quality_2017'",
                    {"ok": n == 0, "c": c, "y": y},
                )
            run_model(self.con, RUNS, year)
            runs = query_frame(
                self.con, "select * from monitoring.county_verdict_runs where census_year = $y", {"y": year}
            )
            run_model(self.con, CHECKS, year)
            checks = query_frame(
                self.con,
                "select * from monitoring.certification_year_checks where census_year = $y",
                {"y": year},
            )
            inputs = AlertInputs(
                year, trends, status, failing, runs, previous, {c: c for c in codes}, WORDS, checks
            )
            fired = fire_alerts(inputs, RULES)
            out[year] = fired
            previous = fired
        return out


@pytest.fixture
def series(tmp_path):
    with connect(tmp_path / "w.duckdb") as con:
        yield Series(con)


def fired(alerts: pl.DataFrame, county: str | None = None, status: tuple = ("new", "continuing")) -> set[str]:
    """Every rule that fired (each problem's row lists its rules in fired_rules)."""
    frame = alerts.filter(pl.col("status").is_in(status))
    if county:
        frame = frame.filter(pl.col("county_code") == county)
    return set(frame["fired_rules"].explode().drop_nulls())


def with_rule(alerts: pl.DataFrame, rule_id: str) -> pl.DataFrame:
    return alerts.filter(pl.col("fired_rules").list.contains(rule_id))


def active_row(alerts: pl.DataFrame, metric_id: str) -> dict:
    return alerts.filter(
        pl.col("status").is_in(["new", "continuing"]) & (pl.col("metric_id") == metric_id)
    ).row(0, named=True)


def test_near_threshold_fires_at_exactly_90_percent_and_not_below(series):
    series.county("900101")
    series.composite("900101", {2020: 0.40, 2021: 0.449, 2022: 0.45})
    out = series.run(range(2020, 2023))
    assert "near_threshold" not in fired(out[2020]) | fired(out[2021])
    assert "near_threshold" in fired(out[2022])  # 0.45 / 0.5 = 0.90


def test_hysteresis_keeps_a_watch_until_the_value_drops_below_clear_below(series):
    # 90% raises it, 86% keeps it (clear_below 0.85), 84% resolves it, 88% does not raise it again
    series.county("900101")
    series.composite("900101", {2020: 0.45, 2021: 0.43, 2022: 0.42, 2023: 0.44})
    out = series.run(range(2020, 2024))
    near = {y: with_rule(out[y], "near_threshold") for y in out}
    assert near[2020]["status"].to_list() == ["new"] and near[2020]["is_hysteresis"].to_list() == [False]
    assert near[2021]["status"].to_list() == ["continuing"] and near[2021]["is_hysteresis"].to_list() == [
        True
    ]
    assert near[2021]["first_seen_year"].to_list() == [2020]
    assert near[2022]["status"].to_list() == ["resolved"]
    assert near[2023].is_empty()


def test_projected_breach_needs_four_points(series):
    # steep rise: with 3 points no slope (null with a reason), with the 4th the projection fires
    series.county("900101")
    series.composite("900101", {2018: 0.30, 2019: 0.34, 2020: 0.38, 2021: 0.42})
    out = series.run(range(2018, 2022))
    trends = series.trends(2020)
    assert trends["slope"].to_list() == [None]
    assert trends["slope_null_reason"].to_list() == ["fewer_than_min_points"]
    assert "projected_breach" not in fired(out[2020])
    assert "projected_breach" in fired(out[2021])
    row = series.trends(2021).row(0, named=True)
    assert row["slope"] == pytest.approx(0.04)
    assert row["projected_breach_year"] in (2023, 2024)  # 0.42 + 0.04k > 0.5 from k = 2 (or 3 by rounding)


def test_warning_needs_90_percent_and_two_years_of_rises(series):
    series.county("900101")  # rises twice into 92%: warning
    series.county("900102")  # at 92% but fell last year: watch only
    series.composite("900101", {2020: 0.40, 2021: 0.44, 2022: 0.46})
    series.composite("900102", {2020: 0.40, 2021: 0.47, 2022: 0.46})
    out = series.run(range(2020, 2023))
    assert "near_threshold_rising" in fired(out[2022], "900101")
    assert fired(out[2022], "900102") == {"near_threshold"}


def test_breach_is_strictly_above_the_threshold_and_critical_needs_two_monitored_years(series):
    series.county("900101", certified=2021)  # certified mid-window: 2020 is not monitored
    series.composite("900101", {2020: 0.55, 2021: 0.5, 2022: 0.51, 2023: 0.52})
    out = series.run(range(2020, 2024))
    assert out[2020].is_empty()  # before certification: no alerts at all
    assert "standard_not_met" not in fired(out[2021])  # equal to the threshold passes
    assert set(out[2021]["status"]) == {"new"}
    assert "standard_not_met" in fired(out[2022]) and "breach_repeated" not in fired(out[2022])
    assert {"standard_not_met", "breach_repeated"} <= fired(out[2023])
    critical = with_rule(out[2023], "breach_repeated").row(0, named=True)
    assert critical["severity"] == "critical" and critical["metric_id"] is None


def test_revocation_stops_monitoring_without_resolving(series):
    series.county("900101", certified=2018, revoked=2021)
    series.composite("900101", {2019: 0.55, 2020: 0.56, 2021: 0.57})
    out = series.run(range(2019, 2022))
    assert "breach_repeated" in fired(out[2020])
    assert out[2021].is_empty()  # revoked in 2021: neither alerts nor "resolved" rows
    assert series.trends(2021)["is_monitored"].to_list() == [False]


def test_an_uncertified_county_has_trends_but_no_alerts(series):
    series.county("900101", certified=None)
    series.composite("900101", {2020: 0.6, 2021: 0.7})
    out = series.run(range(2020, 2022))
    assert out[2021].is_empty()
    assert series.trends(2021)["value"].to_list() == [0.7]


def test_quality_rules_count_indicators(series):
    series.county("900101", standard="quality_2017")
    series.indicators(
        "900101",
        {
            2020: [0.30, 0.46, 0.47],  # two indicators at watch -> several_at_watch
            2021: [0.30, 0.51, 0.30],  # one above -> breach for that indicator only
            2022: [0.52, 0.51, 0.30],  # two above -> critical (and two years running)
        },
    )
    out = series.run(range(2020, 2023))
    assert "several_at_watch" in fired(out[2020])
    breach = with_rule(out[2021], "standard_not_met")
    assert breach["indicator_id"].to_list() == ["pe_art_teachers_per_100"]
    assert "breach_several_indicators" not in fired(out[2021])
    assert {"breach_several_indicators", "breach_repeated"} <= fired(out[2022])
    # the composite of a quality standard is not judged: no alert names it
    assert "composite" not in set(pl.concat(out.values())["metric_id"].drop_nulls())


def test_failing_school_sections_raise_a_warning(series):
    series.county("900101", standard="quality_2017")
    series.indicators("900101", {2020: [0.2, 0.2, 0.2], 2021: [0.2, 0.2, 0.2]})
    series.failing[("900101", 2021)] = 1
    series.failing[("900101", 2020)] = 0
    out = series.run(range(2020, 2022))
    assert "school_rule_failures" not in fired(out[2020])
    alert = with_rule(out[2021], "school_rule_failures").row(0, named=True)
    assert alert["severity"] == "warning" and "1 所学校" in alert["message_zh"]


def test_unusual_rise_against_the_other_counties_of_the_province(series):
    # six peers rise by about 0.001; one county jumps by 0.05
    for i in range(7):
        series.county(f"90010{i}")
        series.composite(f"90010{i}", {2020: 0.30, 2021: 0.301 + 0.0002 * i})
    series.county("900109")
    series.composite("900109", {2020: 0.30, 2021: 0.35})
    out = series.run(range(2020, 2022))
    assert fired(out[2021], "900109") == {"unusual_rise"}
    assert not any("unusual_rise" in fired(out[2021], f"90010{i}") for i in range(7))
    # told as a share of the province, the statistic only in the evidence
    alert = with_rule(out[2021], "unusual_rise").row(0, named=True)
    assert alert["peer_share_below"] == 1.0
    assert "升幅高于全省 100% 的其他县" in alert["message_zh"] and "稳健" not in alert["message_zh"]


def test_an_unusual_rise_far_below_the_threshold_raises_nothing(series):
    """Unusual against the province, but at 30% of the threshold: the county has room for the same
    rise again (the rule's min_ratio, 60%)."""
    for i in range(7):
        series.county(f"90010{i}")
        series.composite(f"90010{i}", {2020: 0.10, 2021: 0.101 + 0.0002 * i})
    series.county("900109")
    series.composite("900109", {2020: 0.10, 2021: 0.15})
    out = series.run(range(2020, 2022))
    row = series.trends(2021).filter(pl.col("county_code") == "900109").row(0, named=True)
    assert row["robust_z"] >= 3 and row["ratio_to_threshold"] == pytest.approx(0.30)
    assert fired(out[2021], "900109") == set()


@pytest.mark.parametrize(
    "risen, escalates",
    [((0.325, 0.35), False), ((0.43, 0.44), True)],
    ids=["at-65-and-70-percent", "at-86-and-88-percent"],
)
def test_watches_escalate_only_near_the_threshold(series, risen, escalates):
    """Two indicators with an unusual rise are two watches; they make a warning only when both
    CVs are at or above 80% of the threshold (several_at_watch's min_ratio)."""
    for i in range(7):
        series.county(f"90010{i}", standard="quality_2017")
        series.indicators(f"90010{i}", {2020: [0.20, 0.20, 0.20], 2021: [0.201 + 0.0002 * i] * 3})
    series.county("900109", standard="quality_2017")
    series.indicators("900109", {2020: [0.20, 0.20, 0.20], 2021: [0.20, *risen]})
    out = series.run(range(2020, 2022))
    alerts = out[2021].filter(pl.col("county_code") == "900109")
    watches = alerts.filter(pl.col("rule_id") == "unusual_rise")
    assert watches.height == 2 and set(watches["severity"]) == {"watch"}
    assert ("several_at_watch" in fired(out[2021], "900109")) == escalates
    assert ("warning" in set(alerts["severity"])) == escalates


def test_unusual_rise_needs_enough_peers(series):
    for i in range(4):  # four other counties, fewer than robust_z_min_counties (5)
        series.county(f"90010{i}")
        series.composite(f"90010{i}", {2020: 0.30, 2021: 0.301 + 0.0002 * i})
    series.county("900109")
    series.composite("900109", {2020: 0.30, 2021: 0.35})
    out = series.run(range(2020, 2022))
    assert "unusual_rise" not in fired(out[2021])
    row = series.trends(2021).filter(pl.col("county_code") == "900109").row(0, named=True)
    assert row["robust_z"] is None and row["robust_z_null_reason"] == "too_few_counties"


def test_a_provisional_year_gets_only_a_data_hold(series):
    series.county("900101")
    series.composite("900101", {2020: 0.55, 2021: 0.56, 2022: 0.57})
    series.held.add(("900101", 2021))
    out = series.run(range(2020, 2023))
    assert fired(out[2021]) == {"data_hold"}
    assert out[2021].filter(pl.col("status") == "resolved").is_empty()  # a held year decides nothing
    assert "data_hold" in fired(out[2022], status=("resolved",))
    assert "standard_not_met" in fired(out[2022])


def test_alert_ids_are_the_same_on_a_second_run(series, tmp_path):
    series.county("900101")
    series.composite("900101", {2020: 0.55, 2021: 0.56})
    first = series.run(range(2020, 2022))
    second = series.run(range(2020, 2022))
    for year in first:
        assert first[year]["alert_id"].to_list() == second[year]["alert_id"].to_list()
    row = with_rule(first[2020], "standard_not_met").row(0, named=True)
    assert row["alert_id"] == alert_id(2020, "900101", "primary", "basic_2012", "composite")
    whole = with_rule(first[2021], "breach_repeated").row(0, named=True)  # the breach folded in
    assert whole["alert_id"] == alert_id(2021, "900101", "primary", "basic_2012", None)


@pytest.mark.parametrize("seed", range(8))
def test_theil_sen_slope_equals_scipy(series, seed):
    rng = np.random.default_rng(seed)
    years = list(range(2015, 2015 + int(rng.integers(4, 10))))
    values = {y: float(v) for y, v in zip(years, 0.3 + rng.normal(0, 0.05, len(years)).cumsum(), strict=True)}
    # a gap in the series, sometimes: the window is by census year, not by count of points
    if seed % 3 == 0 and len(years) > 6:
        del values[years[-3]]
    series.county("900101")
    series.composite("900101", values)
    last = years[-1]
    row = series.trends(last).row(0, named=True)
    window = [y for y in values if y > last - 6]
    expected = stats.theilslopes([values[y] for y in window], window).slope
    assert row["n_points"] == len(window)
    assert row["slope"] == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_robust_z_equals_a_leave_one_out_statement(series):
    rng = np.random.default_rng(3)
    changes = rng.normal(0.0, 0.01, 9)
    for i, change in enumerate(changes):
        series.county(f"90010{i}")
        series.composite(f"90010{i}", {2020: 0.3, 2021: 0.3 + float(change)})
    trends = series.trends(2021).sort("county_code")
    for i, row in enumerate(trends.iter_rows(named=True)):
        others = np.delete(changes, i)
        median = np.median(others)
        mad = np.median(np.abs(others - median))
        assert row["robust_z"] == pytest.approx((changes[i] - median) / (1.4826 * mad), rel=1e-9)


def test_one_row_per_problem_at_its_highest_severity_listing_every_rule(series):
    # rising into a breach: near threshold, near threshold rising and the breach all fire on the
    # composite; two years over, the county-stage's CV rule failing and the composite's breach are
    # one failure: one row, at the highest severity, listing both rules
    series.county("900101", certified=2018)
    series.composite("900101", {2018: 0.40, 2019: 0.44, 2020: 0.48, 2021: 0.52, 2022: 0.56})
    out = series.run(range(2018, 2023))
    composite = active_row(out[2021], "composite")  # the first year over: the breach alone
    assert composite["severity"] == "breach" and composite["rule_id"] == "standard_not_met"
    assert composite["fired_rules"][0] == "standard_not_met"
    # over the threshold the value is not "near" it: the near-threshold rules stop at max_ratio 1.0
    assert not {"near_threshold", "near_threshold_rising"} & set(composite["fired_rules"])
    assert "接近阈值" not in composite["message_zh"]
    rising = active_row(out[2020], "composite")  # 96%, rising: near, and the rules it also fired named
    assert {"near_threshold_rising", "near_threshold"} <= set(rising["fired_rules"])
    assert "（同时触发：接近阈值" in rising["message_zh"]
    active = out[2022].filter(pl.col("status").is_in(["new", "continuing"]))
    assert active.height == 1
    whole = active.row(0, named=True)
    assert whole["metric_id"] is None and whole["severity"] == "critical"
    assert whole["fired_rules"] == ["breach_repeated", "standard_not_met"]
    assert whole["counted_metric_ids"] == ["composite"] and whole["evidence_metric_id"] == "composite"
    assert "（同时触发：差异系数超过阈值）" in whole["message_zh"]
    # continuing since the problem first appeared, whatever its severity or shape then; last year's
    # breach of the composite goes on in this row and is not "resolved"
    assert whole["status"] == "continuing" and whole["first_seen_year"] < 2021
    assert out[2022].filter(pl.col("status") == "resolved").is_empty()


def test_a_failure_that_narrows_to_one_indicator_goes_on_without_being_resolved(series):
    """Quality: two indicators over (one stage row folding both), then one (its own breach): the
    problem continues in the other shape; only when nothing is over is it resolved."""
    series.county("900101", standard="quality_2017", certified=2018)
    series.indicators(
        "900101", {2020: [0.30, 0.51, 0.52], 2021: [0.30, 0.30, 0.52], 2022: [0.30, 0.30, 0.30]}
    )
    out = series.run(range(2020, 2023))
    first = out[2020].filter(pl.col("status").is_in(["new", "continuing"]))
    assert first.height == 1 and first["rule_id"].to_list() == ["breach_several_indicators"]
    assert first["counted_metric_ids"].to_list() == [["pe_art_teachers_per_100", "key_teachers_per_100"]]
    second = out[2021].filter(pl.col("status") != "resolved")
    assert second.height == 1  # the CV rule failing two years, folding the one indicator still over
    row = second.row(0, named=True)
    assert row["rule_id"] == "breach_repeated" and row["counted_metric_ids"] == ["key_teachers_per_100"]
    assert row["status"] == "continuing" and row["first_seen_year"] == 2020
    assert out[2021].filter(pl.col("status") == "resolved").is_empty()
    assert out[2022].filter(pl.col("status") == "resolved").height == 1


def test_the_breach_run_counts_every_year_over_the_threshold(series):
    series.county("900101", certified=2018)
    series.composite("900101", {2020: 0.45, 2021: 0.51, 2022: 0.52, 2023: 0.53, 2024: 0.55})
    out = series.run(range(2020, 2025))
    assert series.trends(2024)["breach_years"].to_list() == [4]
    assert series.trends(2020)["breach_years"].to_list() == [0]
    critical = with_rule(out[2024], "breach_repeated").row(0, named=True)
    assert (critical["failing_since_year"], critical["failing_years"]) == (2021, 4)
    assert "差异系数要求自 2021 年起已连续 4 年未达到" in critical["message_zh"]
    # the composite's breach is part of the same failure: one row, both rules listed
    assert critical["fired_rules"] == ["breach_repeated", "standard_not_met"]
    assert critical["breach_years"] == 4 and critical["counted_metric_ids"] == ["composite"]
    breach = with_rule(out[2021], "standard_not_met").row(0, named=True)  # its first year: the breach alone
    assert breach["metric_id"] == "composite" and breach["rule_id"] == "standard_not_met"
    assert (breach["breach_years"], breach["failing_since_year"], breach["failing_years"]) == (1, 2021, 1)
    assert "自 2021 年起已连续 1 年超过阈值" in breach["message_zh"]
    # the problem was first seen when the value came near the line, a different fact with its own name
    assert breach["first_seen_year"] == critical["first_seen_year"] == 2020


def test_no_projection_beyond_the_horizon_and_the_words_say_so(series):
    # +0.005 a year from 0.40: the line is crossed in 2040, beyond the 10-year horizon
    series.county("900101")
    series.composite("900101", {2020: 0.385, 2021: 0.39, 2022: 0.395, 2023: 0.40})
    series.run(range(2020, 2024))
    row = series.trends(2023).row(0, named=True)
    assert row["slope"] == pytest.approx(0.005)
    assert row["projected_breach_year"] is None and row["projection_null_reason"] == "beyond_horizon"
    assert row["projection_horizon_years"] == 10
    assert render("{projection_null_reason:phrase}", row, WORDS) == "按当前趋势 10 年内不会超过阈值"


def test_a_projection_within_the_horizon_is_kept(series):
    series.county("900101")
    series.composite("900101", {2020: 0.40, 2021: 0.41, 2022: 0.42, 2023: 0.43})  # +0.01: 2031
    series.run(range(2020, 2024))
    assert series.trends(2023)["projected_breach_year"].to_list() == [2031]


def test_last_years_alerts_written_one_row_per_rule_still_give_the_status(series):
    """A warehouse built before one row per problem: last year's rows have no fired_rules and one
    problem may have several rows; this year's status and first-seen year follow the problem."""
    series.county("900101")
    series.composite("900101", {2020: 0.40, 2021: 0.46, 2022: 0.47})
    out = series.run(range(2020, 2022))
    old = out[2021].with_columns(pl.lit(None, pl.List(pl.String)).alias("fired_rules"))
    old = pl.concat(
        [
            old,
            old.with_columns(
                pl.lit("projected_breach").alias("rule_id"), pl.lit(2019).alias("first_seen_year")
            ),
        ]
    )
    series.trends(2022)
    trends = query_frame(series.con, "select * from monitoring.county_trends where census_year <= 2022")
    status = pl.DataFrame({"county_code": ["900101"], "is_provisional": [False], "provisional_reason": [""]})
    failing = pl.DataFrame(schema=FAILING_SCHEMA)
    run_model(series.con, RUNS, 2022)
    runs = query_frame(series.con, "select * from monitoring.county_verdict_runs where census_year = 2022")
    alerts = fire_alerts(
        AlertInputs(2022, trends, status, failing, runs, old, {"900101": "900101"}, WORDS), RULES
    )
    row = alerts.filter(pl.col("metric_id") == "composite").row(0, named=True)
    assert row["status"] == "continuing" and row["first_seen_year"] == 2019


def test_near_threshold_never_fires_on_a_metric_over_its_threshold_even_by_hysteresis(series):
    # near the line in 2020, over it in 2021 (a breach), near again in 2022: "接近阈值" is said
    # only of a value at or under the threshold, never kept by hysteresis once it is over
    series.county("900101")
    series.composite("900101", {2020: 0.46, 2021: 0.53, 2022: 0.47})
    out = series.run(range(2020, 2023))
    assert "near_threshold" in fired(out[2020])
    over = active_row(out[2021], "composite")
    assert over["observed_value"] > over["threshold"]
    assert over["fired_rules"] == ["standard_not_met"] and "接近阈值" not in over["message_zh"]
    assert "near_threshold" in fired(out[2022])


def test_a_change_too_small_to_show_is_no_rise(series):
    # +0.00003 reads "0.000" at three decimals: the trend does not call it a rise
    series.county("900101")
    series.composite("900101", {2020: 0.40, 2021: 0.44, 2022: 0.44003})
    series.run(range(2020, 2023))
    assert series.trends(2021)["rising_years"].to_list() == [1]
    assert series.trends(2022)["rising_years"].to_list() == [0]


def test_a_rule_that_counts_metrics_lists_them_and_shows_the_worst_of_them(series):
    # two indicators at watch; the evidence box is about one of those two, never about a third
    series.county("900101", standard="quality_2017")
    series.indicators("900101", {2020: [0.30, 0.46, 0.47]})
    out = series.run([2020])
    row = out[2020].filter(pl.col("rule_id") == "several_at_watch").row(0, named=True)
    assert row["counted_metric_ids"] == ["pe_art_teachers_per_100", "key_teachers_per_100"]
    assert row["n_counted_metrics"] == 2
    assert row["evidence_metric_id"] in row["counted_metric_ids"]
    assert row["evidence_metric_id"] == "key_teachers_per_100"  # the worst of the two (0.47)
    assert "有 2 项指标处于关注及以上" in row["message_zh"]


def _steady_peers(series, years: range, level: float = 0.40, stages=("primary",)) -> None:
    """Seven counties of the province, certified long ago, whose CVs barely move (±0.01)."""
    rng = np.random.default_rng(7)
    for i in range(7):
        series.county(f"90010{i}")
        for stage in stages:
            series.composite(f"90010{i}", {y: level + rng.uniform(-0.01, 0.01) for y in years}, stage=stage)


def test_a_certification_year_dip_that_rebounds_is_found_once_with_its_evidence(series):
    """Certified in 2021: both stages' composites 30% lower in 2020 and 2021 than in 2019, back in
    2022. One finding for the county and standard, in 2022, stating the dip, the province and the
    rebound; the rebound is not also an unusual rise; nothing in the other years."""
    years = range(2018, 2025)
    _steady_peers(series, years, stages=("primary", "junior"))
    series.county("900109", certified=2021)
    dipped = {2018: 0.40, 2019: 0.40, 2020: 0.28, 2021: 0.29, 2022: 0.39, 2023: 0.40, 2024: 0.40}
    series.composite("900109", dipped)
    series.composite("900109", {y: v * 0.9 for y, v in dipped.items()}, stage="junior")
    out = series.run(years)
    found = {y: with_rule(out[y], "certification_year_dip") for y in out}
    assert [y for y in found if found[y].height] == [2022]
    row = found[2022].row(0, named=True)
    assert (row["county_code"], row["standard_id"], row["severity"], row["status"]) == (
        "900109",
        "basic_2012",
        "warning",
        "new",
    )
    assert row["metric_id"] is None and row["evidence_metric_id"] == "composite"
    assert (row["dip_before_year"], row["dip_year"], row["certified_year"]) == (2019, 2020, 2021)
    values = {"primary": (0.40, 0.28, 0.39), "junior": (0.36, 0.252, 0.351)}[row["stage"]]
    assert (row["dip_before_value"], row["dip_value"], row["observed_value"]) == pytest.approx(values)
    assert row["dip_share"] == pytest.approx(0.3)
    assert row["rebound_share"] == pytest.approx(11 / 12)
    assert row["dip_robust_z"] <= -3
    assert (row["n_counted_metrics"], row["n_checked_metrics"]) == (2, 2)
    assert "unusual_rise" in row["fired_rules"]  # the rebound would have been an unusual rise
    mine = out[2022].filter(pl.col("county_code") == "900109")
    assert mine.height == 1  # the finding is the county's only row: no unusual-rise watches of its own
    assert "认定年度数据异常" in render_rule_name(row)
    assert "2021 年认定" in row["message_zh"] and "降至 2020 年的" in row["message_zh"]
    assert "下降 30%" in row["message_zh"] and "可比较的 2 项差异系数中有 2 项" in row["message_zh"]
    # once: 2023 neither continues nor resolves it
    assert out[2023].filter(pl.col("county_code") == "900109").is_empty()


def render_rule_name(row: dict) -> str:
    return rule_names(RULES)[row["rule_id"]]


@pytest.mark.parametrize(
    "path",
    [
        {2018: 0.55, 2019: 0.55, 2020: 0.54, 2021: 0.40, 2022: 0.40, 2023: 0.41},  # improved, stayed
        {2018: 0.40, 2019: 0.40, 2020: 0.37, 2021: 0.38, 2022: 0.40, 2023: 0.40},  # a dip of 7.5%
        {2018: 0.40, 2019: 0.40, 2020: 0.28, 2021: 0.29, 2022: 0.31, 2023: 0.40},  # no rebound yet
    ],
    ids=["improved-and-held", "small-dip", "rebound-too-late"],
)
def test_no_certification_finding_without_an_unusual_dip_and_rebound(series, path):
    years = range(2018, 2024)
    _steady_peers(series, years)
    series.county("900109", certified=2021)
    series.composite("900109", path)
    out = series.run(years)
    assert not any(with_rule(out[y], "certification_year_dip").height for y in out)


def test_the_certification_check_needs_the_year_before_the_inspection(series):
    """Certified in 2020 with 2019 the first loaded year: nothing to compare the dip with."""
    years = range(2019, 2023)
    _steady_peers(series, years)
    series.county("900109", certified=2020)
    series.composite("900109", {2019: 0.28, 2020: 0.29, 2021: 0.40, 2022: 0.40})
    out = series.run(years)
    assert with_rule(out[2021], "certification_year_dip").is_empty()
    run_model(series.con, CHECKS, 2021)
    reasons = series.con.execute(
        "select distinct check_null_reason from monitoring.certification_year_checks where county_code = '900109'"
    ).fetchall()
    assert reasons == [("years_not_loaded",)]
