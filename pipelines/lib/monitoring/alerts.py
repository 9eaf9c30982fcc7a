"""Backsliding alerts (docs/methodology.md §5): the rules of models/rules/*.yaml applied to one census year
of monitoring.county_trends, with a status against last year's alerts and the evidence a
monitoring officer can check by hand.

Two pure steps. fire_alerts() decides which rules fire for which county, stage, standard and
metric, and whether each alert is new, continuing or resolved. attach_evidence() adds the schools
driving the coefficient (monitoring.school_drivers) and the what-if sentence of the metric's plan
(monitoring.what_if_plans). The Dagster asset (pipelines/defs/monitoring) only reads the inputs and
writes the result.

Every figure a message states is a column of the alert row, filled from the warehouse (a trend,
a verdict's failing run, a count of failing schools) before the message is written from its
template (pipelines/lib/monitoring/messages.py), so the words cannot say more than the row.

Each condition kind of the rules file is one small function below (METRIC_KINDS, STAGE_KINDS).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import polars as pl

from pipelines.lib.monitoring.messages import Templates, alert_message, what_if_message
from pipelines.lib.queries import sql
from pipelines.lib.reference.alert_rules import BREACH, DATA_HOLD, Rule, RuleSet
from pipelines.lib.sentences import Words, read_words
from pipelines.lib.warehouse import frame_schema, replace_year, scalar, table_exists

ACTIVE = ("new", "continuing")
STATUSES = ("new", "continuing", "resolved")


def alert_schema() -> dict[str, pl.DataType]:
    """The table's columns and types, from its sidecar (models/monitoring/backsliding_alerts.yml);
    read on first use, never at import."""
    return frame_schema("monitoring.backsliding_alerts")


def _driver_fields() -> list[str]:
    return list(alert_schema()["driver_schools"].inner.to_schema())  # type: ignore[attr-defined]


TREND_FIELDS = (
    "threshold",
    "margin",
    "ratio_to_threshold",
    "change",
    "slope",
    "projected_breach_year",
    "projection_null_reason",
    "projection_horizon_years",
    "rising_years",
    "breach_years",
    "robust_z",
    "peer_share_below",
    "certified_year",
    "n_points",
)
"""What an alert row copies from the trend row of its evidence metric."""


@dataclass
class AlertInputs:
    """Everything one census year of alerts is decided from (all read by the asset)."""

    census_year: int
    trends: pl.DataFrame  # monitoring.county_trends: this year and the earlier years rules look back on
    data_status: pl.DataFrame  # monitoring.county_data_status: this year
    school_rule: pl.DataFrame  # county_code, stage, standard_id, n_failing_school_rule (marts.county_balance)
    verdict_runs: pl.DataFrame  # monitoring.county_verdict_runs: this year
    previous_alerts: pl.DataFrame  # monitoring.backsliding_alerts of last year (may be empty)
    county_names: dict[str, str] = field(default_factory=dict)
    words: Words | None = None  # for the messages (the glossary's words and the warehouse's names)
    # monitoring.certification_year_checks of this year (the counties certified last year)
    certification_checks: pl.DataFrame | None = None
    # marts.county_checklist: this year's judged census checkpoints (alerts/checklist_checks)
    checklist_checks: pl.DataFrame | None = None

    @cached_property
    def province_codes(self) -> dict[str, str]:
        return dict(self.trends.select("county_code", "province_code").unique().iter_rows())


def alert_id(census_year: int, county_code: str, stage: str, standard_id: str, metric_id: str | None) -> str:
    """One id per problem: the county-stage-standard and the metric (none for the whole county-stage)."""
    text = "|".join([str(census_year), county_code, stage, standard_id, metric_id or ""])
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


# --- condition kinds: metric rules look at one row of monitoring.county_trends ---------------------


def _in_band(row: dict, p: dict) -> bool:
    """At or above `ratio` of the threshold and at most `max_ratio` (1.0: not above it)."""
    return p["ratio"] <= row["ratio_to_threshold"] <= p["max_ratio"]


def _ratio_at_least(row: dict, p: dict, year: int) -> bool:
    return _in_band(row, p)


def _projected_within(row: dict, years: int, year: int) -> bool:
    return row["projected_breach_year"] is not None and row["projected_breach_year"] <= year + years


def _projected_breach_within(row: dict, p: dict, year: int) -> bool:
    return _projected_within(row, int(p["years"]), year)


def _unusual_rise(row: dict, p: dict, year: int) -> bool:
    """A rise unusual against the province's other counties, in a CV at or above `min_ratio` of
    its threshold (a rise far below the threshold is no sign of backsliding)."""
    unusual = row["robust_z"] is not None and row["change"] > 0 and row["robust_z"] >= p["robust_z"]
    return unusual and row["ratio_to_threshold"] >= p["min_ratio"]


def _ratio_and_rising(row: dict, p: dict, year: int) -> bool:
    rising = row["rising_years"] >= p["rising_years"]
    return _in_band(row, p) and (rising or _projected_within(row, int(p["projected_within"]), year))


def _above_threshold(row: dict, p: dict, year: int) -> bool:
    return row["value"] > row["threshold"]


METRIC_KINDS: dict[str, Callable[[dict, dict, int], bool]] = {
    "ratio_at_least": _ratio_at_least,
    "projected_breach_within": _projected_breach_within,
    "unusual_rise": _unusual_rise,
    "ratio_and_rising": _ratio_and_rising,
    "above_threshold": _above_threshold,
}


# --- stage rules look at a whole county x stage x standard ------------------------------------------


@dataclass
class StageView:
    census_year: int
    judged: list[dict]  # this year's judged metrics with a value, in the standard's order
    metric_alerts: list[dict]  # metric alerts fired this year for the group
    n_failing_schools: int | None  # None when the standard has no per-school rule
    cv_rule_run: dict | None  # monitoring.county_verdict_runs, verdict cv_rule
    certified_year: int | None
    rank: Callable[[str], int]


@dataclass(frozen=True)
class Finding:
    """What a stage rule found: the count its message states and the metrics it counted."""

    count: int
    metrics: list[str] = field(default_factory=list)


def _metrics_at_severity(view: StageView, p: dict) -> Finding | None:
    """Metrics at `severity` or worse whose CV is at or above `min_ratio` of its threshold: a watch
    far below the threshold stays a watch and never escalates."""
    floor = view.rank(p["severity"])
    at = {a["metric_id"] for a in view.metric_alerts if view.rank(a["severity"]) >= floor}
    metrics = [
        r["metric_id"]
        for r in view.judged
        if r["metric_id"] in at and r["ratio_to_threshold"] >= p["min_ratio"]
    ]
    return Finding(len(metrics), metrics) if len(metrics) >= p["min_metrics"] else None


def _school_sections_failing(view: StageView, p: dict) -> Finding | None:
    n = view.n_failing_schools
    return Finding(n) if n is not None and n >= p["min_sections"] else None


def _breach_years_running(view: StageView, p: dict) -> Finding | None:
    """The CV rule has failed `years` monitored years running (the run itself may be longer)."""
    run = view.cv_rule_run
    if run is None or not run["is_failing"] or view.certified_year is None:
        return None
    monitored = min(int(run["failing_years"]), view.census_year - view.certified_year + 1)
    return Finding(int(run["failing_years"])) if monitored >= int(p["years"]) else None


def _metrics_above_threshold(view: StageView, p: dict) -> Finding | None:
    metrics = [r["metric_id"] for r in view.judged if r["value"] > r["threshold"]]
    return Finding(len(metrics), metrics) if len(metrics) >= p["min_metrics"] else None


NOT_ABOUT_COEFFICIENTS = ("school_sections_failing",)


# --- certification rules look at a county and standard around its certification --------------------


def _certification_year_dip(checks: list[dict], p: dict) -> tuple[dict, list[dict], int] | None:
    """Figures unusually good in the inspection years that rebound (monitoring.certification_year_checks):
    of the county's judged coefficients the check could compare (both stages), those whose lower
    inspection year is `min_dip_share` or more below the year before, that regained
    `min_rebound_share` of the fall this year, and whose fall or rebound is unusual against the
    province's other counties over the same years (robust z at most -`robust_z`, or at least
    `robust_z`). Fires when they are at least `min_metric_share` of the compared ones; returns the
    evidence (the most unusual of them), the counted rows and how many were compared."""
    compared = [r for r in checks if r["check_null_reason"] is None]
    counted = [
        r
        for r in compared
        if r["dip_share"] >= p["min_dip_share"]
        and r["rebound_share"] is not None
        and r["rebound_share"] >= p["min_rebound_share"]
        and _unusual_dip_or_rebound(r) >= p["robust_z"]
    ]
    if not counted or len(counted) < p["min_metric_share"] * len(compared):
        return None
    evidence = min(counted, key=lambda r: (-_unusual_dip_or_rebound(r), r["stage"], r["metric_order"]))
    return evidence, counted, len(compared)


def _unusual_dip_or_rebound(row: dict) -> float:
    """How unusual the fall or the rebound is against the province, whichever is more so."""
    scores = [-row["dip_robust_z"] if row["dip_robust_z"] is not None else None, row["rebound_robust_z"]]
    return max((z for z in scores if z is not None), default=float("-inf"))


CERTIFICATION_KINDS: dict[str, Callable[[list[dict], dict], tuple[dict, list[dict], int] | None]] = {
    "certification_year_dip": _certification_year_dip,
}

CERTIFICATION_FIELDS = {  # alert column: monitoring.certification_year_checks column
    "dip_before_year": "before_year",
    "dip_before_value": "value_before",
    "dip_year": "dip_year",
    "dip_value": "value_dip",
    "dip_share": "dip_share",
    "dip_robust_z": "dip_robust_z",
    "peer_median_dip_change": "peer_median_dip_change",
    "rebound_share": "rebound_share",
    "rebound_robust_z": "rebound_robust_z",
}

CHECKLIST_FIELDS = {  # alert column: alerts/checklist_checks column (marts.county_checklist)
    "checkpoint_code": "checkpoint_code",
    "checkpoint_wording_zh": "wording_zh",
    "checkpoint_value_type": "value_type",
    "checkpoint_value": "value",
    "checkpoint_standard_value": "standard_value",
    "checkpoint_unit": "unit",
    "checkpoint_numerator": "numerator",
    "checkpoint_denominator": "denominator",
    "checkpoint_base_year": "base_year",
    "checkpoint_last_met_year": "last_met_year",
}
CHECKLIST_STAGE = "primary"
"""The stage column of a finding about a county-wide checkpoint (the alert table is by stage)."""

STAGE_KINDS: dict[str, Callable[[StageView, dict], Finding | None]] = {
    "metrics_at_severity": _metrics_at_severity,
    "school_sections_failing": _school_sections_failing,
    "breach_years_running": _breach_years_running,
    "metrics_above_threshold": _metrics_above_threshold,
}


# --- firing ----------------------------------------------------------------------------------------


def _key(county_code: str, stage: str, standard_id: str, metric_id: str | None, rule_id: str = "") -> tuple:
    """A problem: a metric of a county-stage-standard, or ("") the county-stage-standard as a
    whole; a data hold is a problem of its own (about the data, not the schools)."""
    return (county_code, stage, standard_id, metric_id or ("@" + DATA_HOLD if rule_id == DATA_HOLD else ""))


def _fired_before(previous: dict | None, rule_id: str) -> bool:
    """Whether last year's alert of a problem had this rule among its fired rules."""
    if previous is None:
        return False
    return rule_id in (previous.get("fired_rules") or [previous["rule_id"]])


def _worst(judged: list[dict]) -> dict | None:
    return max(judged, key=lambda r: (r["ratio_to_threshold"], r["metric_id"]), default=None)


@dataclass(frozen=True)
class _YearContext:
    """What every group of one census year is judged against."""

    inputs: AlertInputs
    rules: RuleSet
    held: dict[str, dict]  # county_code -> its data status, for counties whose figures are on hold
    school_rule: dict[tuple[str, str, str], int]  # group -> sections failing the per-school rule
    runs: dict[tuple[str, str, str, str], dict]  # (group, verdict) -> its failing run this year
    previous: dict[tuple, dict]  # alert key -> last year's active alert
    # (county, stage, standard, metric) whose rise this year is the rebound of a certification-year
    # finding: not also an unusual rise
    rebounds: frozenset[tuple[str, str, str, str]] = frozenset()

    @property
    def year(self) -> int:
        return self.inputs.census_year


def _alert_row(
    ctx: _YearContext,
    group: tuple[str, str, str],
    rule_id: str,
    severity: str,
    evidence: dict | None,
    metric_id: str | None,
    is_hysteresis: bool = False,
) -> dict:
    """metric_id is the alert's own metric (metric rules), or None (county-stage rules); the
    evidence row is the trend row whose figures the alert shows."""
    county_code, stage, standard_id = group
    shown = evidence or {}
    return {
        "alert_id": alert_id(ctx.year, county_code, stage, standard_id, metric_id),
        "census_year": ctx.year,
        "county_code": county_code,
        "county_name": ctx.inputs.county_names.get(county_code),
        "province_code": ctx.inputs.province_codes.get(county_code),
        "stage": stage,
        "standard_id": standard_id,
        "metric_id": metric_id,
        "indicator_id": None if metric_id in (None, "composite") else metric_id,
        "rule_id": rule_id,
        "fired_rules": [rule_id],
        "severity": severity,
        "severity_rank": ctx.rules.rank(severity),
        "is_hysteresis": is_hysteresis,
        "observed_value": shown.get("value"),
        **{name: shown.get(name) for name in TREND_FIELDS},
        "evidence_metric_id": shown.get("metric_id"),
        "counted_metric_ids": None,
        "n_counted_metrics": None,
        "n_failing_schools": None,
        "failing_since_year": None,
        "failing_years": None,
        "hold_reasons": None,
        **dict.fromkeys(CERTIFICATION_FIELDS),
        "n_checked_metrics": None,
        **dict.fromkeys(CHECKLIST_FIELDS),
    }


def _with_run(ctx: _YearContext, row: dict, rule: Rule, metric_row: dict | None) -> dict:
    """The failing run the rule's message states (rule.run), from the warehouse."""
    if rule.run == "metric" and metric_row is not None:
        return row | {
            "failing_since_year": metric_row["breach_since_year"],
            "failing_years": metric_row["breach_years"],
        }
    if rule.run in ("cv_rule", "school_rule"):
        run = ctx.runs.get((row["county_code"], row["stage"], row["standard_id"], rule.run))
        if run is not None and run["is_failing"]:
            return row | {
                "failing_since_year": run["failing_since_year"],
                "failing_years": run["failing_years"],
            }
    return row


def fire_alerts(inputs: AlertInputs, rules: RuleSet) -> pl.DataFrame:
    """The alerts of one census year, without evidence (see attach_evidence): per monitored
    county-stage-standard, a data hold or the rules that fire; then each alert's status against
    last year, and a resolved row for each alert of last year that no longer fires."""
    year = inputs.census_year
    current = inputs.trends.filter((pl.col("census_year") == year) & pl.col("is_monitored"))
    # findings with a lifecycle of their own: certification findings are made once, checklist
    # findings continue and resolve by checkpoint (_checklist_findings)
    once = {r.rule_id for r in rules.rules if r.scope in ("certification", "checklist")}
    ctx = _YearContext(
        inputs=inputs,
        rules=rules,
        held={
            r["county_code"]: r
            for r in inputs.data_status.filter(pl.col("is_provisional")).iter_rows(named=True)
        },
        school_rule={
            (r["county_code"], r["stage"], r["standard_id"]): int(r["n_failing_school_rule"])
            for r in inputs.school_rule.iter_rows(named=True)
        },
        runs={
            (r["county_code"], r["stage"], r["standard_id"], r["verdict"]): r
            for r in inputs.verdict_runs.iter_rows(named=True)
        },
        previous=_previous_problems(inputs.previous_alerts, once),
    )
    groups: dict[tuple[str, str, str], list[dict]] = {}
    for row in current.sort("county_code", "stage", "standard_id", "metric_order").iter_rows(named=True):
        groups.setdefault((row["county_code"], row["stage"], row["standard_id"]), []).append(row)
    findings = _certification_findings(ctx, current)
    rebounds = frozenset((f["county_code"], *m) for f in findings for m in f.pop("rebounds"))
    ctx = dataclasses.replace(ctx, rebounds=rebounds)

    fired: list[dict] = []
    for group, rows in groups.items():
        fired += _one_row_per_problem(_group_alerts(ctx, group, rows), rules)
    fired_keys = _set_status(ctx, fired)
    fired += _resolved_alerts(ctx, groups, fired_keys)
    fired += _fold_rebounds(findings, ctx)
    fired += _checklist_findings(ctx, current)
    templates = Templates.from_rules(rules)
    words = inputs.words or Words(values={}, columns={})
    for alert in fired:
        alert["message_zh"] = alert_message(alert, templates, words)
        alert["message_en"] = alert_message(alert, templates, words, lang="en")
    frame = pl.DataFrame(fired, schema={k: v for k, v in alert_schema().items() if k in _fire_columns()})
    return frame.sort(
        "county_code",
        "stage",
        "standard_id",
        "severity_rank",
        "rule_id",
        "metric_id",
        descending=[False, False, False, True, False, False],
        nulls_last=True,
    )


def _previous_problems(previous_alerts: pl.DataFrame, once: set[str]) -> dict[tuple, dict]:
    """Last year's active alerts by problem (a warehouse built before one row per problem may
    hold several rows of one problem: the most severe stands for it). Findings made once
    (`once`: certification rules) neither continue nor resolve."""
    problems: dict[tuple, dict] = {}
    active = previous_alerts.filter(pl.col("status").is_in(ACTIVE) & ~pl.col("rule_id").is_in(list(once)))
    active = active.sort("severity_rank")
    for r in active.iter_rows(named=True):
        key = _key(r["county_code"], r["stage"], r["standard_id"], r["metric_id"], r["rule_id"])
        fired = set(r.get("fired_rules") or [r["rule_id"]])
        if key in problems:
            fired |= set(problems[key]["fired_rules"])
            r = r | {"first_seen_year": min(r["first_seen_year"], problems[key]["first_seen_year"])}
        problems[key] = r | {"fired_rules": sorted(fired)}
    return problems


def _one_row_per_problem(alerts: list[dict], rules: RuleSet) -> list[dict]:
    """Merge the rules that fired for the same problem (same metric, or the county-stage as a
    whole) into one row at the highest severity; the others are listed in fired_rules (and the
    message names them)."""
    order = {r.rule_id: r.order for r in rules.rules}
    problems: dict[str | None, list[dict]] = {}
    for alert in alerts:
        problems.setdefault(alert["metric_id"], []).append(alert)
    merged = []
    for rows in problems.values():
        rows = sorted(rows, key=lambda a: (-a["severity_rank"], order.get(a["rule_id"], -1)))
        top = dict(rows[0])
        top["fired_rules"] = [a["rule_id"] for a in rows]
        for other in rows[1:]:  # facts another rule found, where the top rule has none
            for column in ("n_failing_schools", "counted_metric_ids", "n_counted_metrics"):
                if top[column] is None:
                    top[column] = other[column]
        merged.append(top)
    return _fold_into_stage_failure(merged, rules)


def _cv_failure_rules(rules: RuleSet) -> set[str]:
    """The stage rules that state the standard's CV rule failing (run: cv_rule)."""
    return {r.rule_id for r in rules.rules if r.scope == "stage" and r.run == "cv_rule"}


def _fold_into_stage_failure(alerts: list[dict], rules: RuleSet) -> list[dict]:
    """The standard's CV rule failing for the county-stage (a stage rule whose run is cv_rule) and
    the metric breaches it consists of are one problem: the metrics above their threshold fold
    into the stage row, their rules listed in its fired_rules and the metrics in
    counted_metric_ids (`folded`: their problem keys, for the status)."""
    failure = _cv_failure_rules(rules)
    stage = next((a for a in alerts if a["metric_id"] is None and set(a["fired_rules"]) & failure), None)
    breach = rules.rank(BREACH)
    folded = [a for a in alerts if a["metric_id"] is not None and a["severity_rank"] >= breach]
    if stage is None or not folded:
        return alerts
    stage["fired_rules"] += [r for a in folded for r in a["fired_rules"] if r not in stage["fired_rules"]]
    metrics = list(dict.fromkeys([*(stage["counted_metric_ids"] or []), *(a["metric_id"] for a in folded)]))
    stage["counted_metric_ids"], stage["n_counted_metrics"] = metrics, len(metrics)
    stage["folded"] = [_problem(a) for a in folded]
    return [a for a in alerts if a not in folded]


def _problem(alert: dict) -> tuple:
    return _key(
        alert["county_code"], alert["stage"], alert["standard_id"], alert["metric_id"], alert["rule_id"]
    )


def _judged(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r["is_judged"] and r["value"] is not None]


def _group_alerts(ctx: _YearContext, group: tuple[str, str, str], rows: list[dict]) -> list[dict]:
    """One county-stage-standard: a data hold (nothing else is judged), or its metric rules then
    its stage rules."""
    judged = _judged(rows)
    worst = _worst(judged)
    if group[0] in ctx.held:
        return [_hold_alert(ctx, group, worst)]
    metric_alerts = _metric_alerts(ctx, group, judged)
    view = StageView(
        census_year=ctx.year,
        judged=judged,
        metric_alerts=metric_alerts,
        n_failing_schools=ctx.school_rule.get(group),
        cv_rule_run=ctx.runs.get((*group, "cv_rule")),
        certified_year=rows[0]["certified_year"] if rows else None,
        rank=ctx.rules.rank,
    )
    return metric_alerts + _stage_alerts(ctx, group, view, worst)


def _hold_alert(ctx: _YearContext, group: tuple[str, str, str], worst: dict | None) -> dict:
    """The county's figures are provisional this year: one data_hold row saying why."""
    status = ctx.held[group[0]]
    row = _alert_row(ctx, group, DATA_HOLD, DATA_HOLD, worst, None)
    row["hold_reasons"] = [x for x in (status["provisional_reason"] or "").split("; ") if x]
    return row


def _metric_alerts(ctx: _YearContext, group: tuple[str, str, str], judged: list[dict]) -> list[dict]:
    """Every metric rule on every judged metric; an alert of last year stays (hysteresis) while
    the value is at or above the rule's clear_below (and still within its max_ratio)."""
    alerts = []
    for row in judged:
        rebound = (*group, row["metric_id"]) in ctx.rebounds
        for rule in (r for r in ctx.rules.rules if r.scope == "metric"):
            if rebound and rule.kind == "unusual_rise":
                continue  # the rebound of a certification-year finding: that row states it
            holds = METRIC_KINDS[rule.kind](row, rule.params, ctx.year)
            hysteresis = (
                not holds
                and rule.clear_below is not None
                and _fired_before(ctx.previous.get(_key(*group, row["metric_id"])), rule.rule_id)
                and rule.clear_below
                <= row["ratio_to_threshold"]
                <= rule.params.get("max_ratio", float("inf"))
            )
            if holds or hysteresis:
                alert = _alert_row(ctx, group, rule.rule_id, rule.severity, row, row["metric_id"], hysteresis)
                alerts.append(_with_run(ctx, alert, rule, row))
    return alerts


def _stage_alerts(
    ctx: _YearContext, group: tuple[str, str, str], view: StageView, worst: dict | None
) -> list[dict]:
    """Every rule about the whole county-stage (how many metrics, sections or years)."""
    alerts = []
    for rule in (r for r in ctx.rules.rules if r.scope == "stage"):
        found = STAGE_KINDS[rule.kind](view, rule.params)
        if found is None:
            continue
        # the evidence: the worst of the metrics the rule counted, else the worst judged metric;
        # the school rule is about schools, not coefficients: no CV evidence for it
        counted = [r for r in view.judged if r["metric_id"] in found.metrics]
        shown = None if rule.kind in NOT_ABOUT_COEFFICIENTS else (_worst(counted) or worst)
        alert = _alert_row(ctx, group, rule.rule_id, rule.severity, shown, None)
        alert["n_failing_schools"] = view.n_failing_schools
        if found.metrics:
            alert["counted_metric_ids"] = found.metrics
            alert["n_counted_metrics"] = found.count
        alerts.append(_with_run(ctx, alert, rule, None))
    return alerts


def _certification_findings(ctx: _YearContext, current: pl.DataFrame) -> list[dict]:
    """The certification rules, per county and standard certified last year (one row each, on the
    stage of the evidence metric; never for a county whose figures are on hold). Each row carries,
    for the moment, the (stage, standard, metric) rebounds it counted whose rise it states."""
    checks = ctx.inputs.certification_checks
    if checks is None or checks.is_empty():
        return []
    trend_rows = {
        (r["county_code"], r["stage"], r["standard_id"], r["metric_id"]): r
        for r in current.iter_rows(named=True)
    }
    per_county: dict[tuple[str, str], list[dict]] = {}
    for row in checks.iter_rows(named=True):
        per_county.setdefault((row["county_code"], row["standard_id"]), []).append(row)
    findings = []
    for (county_code, standard_id), rows in sorted(per_county.items()):
        if county_code in ctx.held:
            continue
        for rule in (r for r in ctx.rules.rules if r.scope == "certification"):
            found = CERTIFICATION_KINDS[rule.kind](rows, rule.params)
            if found is None:
                continue
            evidence, counted, n_compared = found
            group = (county_code, evidence["stage"], standard_id)
            shown = trend_rows.get((*group, evidence["metric_id"]))
            if shown is None:  # not monitored this year (revoked), or no trend row
                continue
            alert = _alert_row(ctx, group, rule.rule_id, rule.severity, shown, None)
            alert["alert_id"] = alert_id(
                ctx.year, county_code, evidence["stage"], standard_id, "@" + rule.rule_id
            )
            alert |= {column: evidence[source] for column, source in CERTIFICATION_FIELDS.items()}
            alert |= {"n_counted_metrics": len(counted), "n_checked_metrics": n_compared}
            alert |= {"status": "new", "first_seen_year": ctx.year}
            alert["rebounds"] = [(r["stage"], standard_id, r["metric_id"]) for r in counted]
            findings.append(alert)
    return findings


def _checklist_findings(ctx: _YearContext, current: pl.DataFrame) -> list[dict]:
    """The checklist rules, per county monitored for the checklist's standard this year (figures
    not on hold) and checkpoint judged by the rule's `judged_by`: a checkpoint that stops being
    met (not met this year, met in an earlier year since the certification) is new; it continues
    while last year's active alert of the rule had it and it is still not met; last year's alert
    of a checkpoint met again this year is resolved. A checkpoint never met since certification
    is a standing condition, not a lapse; a checkpoint the census does not decide this year (met
    null: not in the frame) neither fires nor resolves."""
    checks = ctx.inputs.checklist_checks
    rules = [r for r in ctx.rules.rules if r.scope == "checklist"]
    if checks is None or checks.is_empty() or not rules:
        return []
    certified = {
        (r["county_code"], r["standard_id"]): r["certified_year"]
        for r in current.select("county_code", "standard_id", "certified_year").unique().iter_rows(named=True)
    }
    previous = ctx.inputs.previous_alerts.filter(pl.col("status").is_in(ACTIVE))
    before = {
        (r["rule_id"], r["county_code"], r["standard_id"], r["checkpoint_code"]): r
        for r in previous.iter_rows(named=True)
        if r.get("checkpoint_code")
    }
    found = []
    for rule in rules:
        for row in checks.filter(pl.col("judged_by") == rule.params["judged_by"]).iter_rows(named=True):
            county_code, standard_id = row["county_code"], row["standard_id"]
            since = certified.get((county_code, standard_id))
            if since is None or county_code in ctx.held:
                continue
            earlier = before.get((rule.rule_id, county_code, standard_id, row["checkpoint_code"]))
            lapsed = row["last_met_year"] is not None and row["last_met_year"] >= since
            if earlier is None and (row["met"] or not lapsed):
                continue
            group = (county_code, row["stage"] or CHECKLIST_STAGE, standard_id)
            alert = _alert_row(ctx, group, rule.rule_id, rule.severity, None, None)
            alert["alert_id"] = alert_id(
                ctx.year, county_code, group[1], standard_id, f"@{rule.rule_id}:{row['checkpoint_code']}"
            )
            alert |= {column: row[source] for column, source in CHECKLIST_FIELDS.items()}
            # observed_value is a coefficient in every list and page: the checkpoint's value has its own column
            if row["met"]:
                alert |= {"status": "resolved", "severity": earlier["severity"]}  # type: ignore[index]
                alert["severity_rank"] = ctx.rules.rank(alert["severity"])
            else:
                alert["status"] = "continuing" if earlier else "new"
            alert["first_seen_year"] = earlier["first_seen_year"] if earlier else ctx.year
            found.append(alert)
    return found


def _fold_rebounds(findings: list[dict], ctx: _YearContext) -> list[dict]:
    """A certification finding lists the unusual-rise rule among its fired rules when a rise it
    counted as a rebound would have fired it."""
    rule = next((r for r in ctx.rules.rules if r.kind == "unusual_rise"), None)
    if rule is None:
        return findings
    trend_rows = {
        (r["county_code"], r["stage"], r["standard_id"], r["metric_id"]): r
        for r in ctx.inputs.trends.filter(pl.col("census_year") == ctx.year).iter_rows(named=True)
    }
    for finding in findings:
        rebounds = [
            k for k in ctx.rebounds if k[0] == finding["county_code"] and k[2] == finding["standard_id"]
        ]
        if any(
            k in trend_rows and METRIC_KINDS[rule.kind](trend_rows[k], rule.params, ctx.year)
            for k in rebounds
        ):
            finding["fired_rules"] = [*finding["fired_rules"], rule.rule_id]
    return findings


def _set_status(ctx: _YearContext, fired: list[dict]) -> set[tuple]:
    """New or continuing against last year's active alerts; returns the keys that fired (with
    the metric problems a stage row folds in, and the stage problem that folded a metric last
    year, so that neither is resolved while the failure goes on in the other shape)."""
    failure = _cv_failure_rules(ctx.rules)
    folded_before = {  # metric problem -> last year's stage failure that folded it
        _key(key[0], key[1], key[2], metric): before
        for key, before in ctx.previous.items()
        if set(before["fired_rules"]) & failure
        for metric in before.get("counted_metric_ids") or []
    }
    fired_keys = set()
    for alert in fired:
        key = _problem(alert)
        folded = alert.pop("folded", [])
        fired_keys |= {key, *folded}
        earlier = [ctx.previous.get(key), *(ctx.previous.get(k) for k in folded), folded_before.get(key)]
        before = [b for b in earlier if b]
        if folded_before.get(key):
            fired_keys.add(_problem(folded_before[key]))
        alert["status"] = "continuing" if before else "new"
        alert["first_seen_year"] = min(b["first_seen_year"] for b in before) if before else ctx.year
    return fired_keys


def _resolved_alerts(
    ctx: _YearContext, groups: dict[tuple[str, str, str], list[dict]], fired_keys: set[tuple]
) -> list[dict]:
    """An alert of last year that no longer fires is resolved, where the county is still
    monitored and its figures are not on hold (a held year decides nothing)."""
    resolved = []
    for key, before in sorted(ctx.previous.items()):
        county_code, stage, standard_id = key[:3]
        metric, rule_id = before["metric_id"], before["rule_id"]
        group = (county_code, stage, standard_id)
        if key in fired_keys or group not in groups or county_code in ctx.held:
            continue
        rows = groups[group]
        metric_row = next((r for r in rows if r["metric_id"] == metric), None) if metric else None
        alert = _alert_row(
            ctx, group, rule_id, before["severity"], metric_row or _worst(_judged(rows)), metric or None
        )
        alert["status"] = "resolved"
        alert["fired_rules"] = list(before["fired_rules"])
        alert["first_seen_year"] = before["first_seen_year"]
        resolved.append(alert)
    return resolved


def _fire_columns() -> list[str]:
    return [c for c in alert_schema() if not c.startswith(("driver_", "what_if_"))]


# --- evidence ----------------------------------------------------------------------------------------


@dataclass
class EvidenceInputs:
    drivers: pl.DataFrame  # monitoring.school_drivers rows of the alerted groups (top_driver_schools)
    plans: pl.DataFrame  # monitoring.what_if_plans: each plan's own row
    trends: pl.DataFrame  # this year's monitoring.county_trends (for the composite's highest indicator)
    templates: Templates
    words: Words


def attach_evidence(alerts: pl.DataFrame, evidence: EvidenceInputs) -> pl.DataFrame:
    """Driver schools and the what-if sentence for every active alert (not for data holds or
    resolved alerts)."""
    highest = {
        (r["county_code"], r["stage"], r["standard_id"]): r["metric_id"]
        for r in evidence.trends.filter(pl.col("indicator_id").is_not_null() & pl.col("value").is_not_null())
        .sort("value", "metric_id", descending=[False, True])
        .iter_rows(named=True)
    }  # the last one written per group is the highest CV
    drivers: dict[tuple, list[dict]] = {}
    fields = _driver_fields()
    for r in evidence.drivers.sort("driver_rank").iter_rows(named=True):
        key = (r["county_code"], r["stage"], r["standard_id"], r["indicator_id"])
        drivers.setdefault(key, []).append({k: r[k] for k in fields})
    plans = {
        (r["county_code"], r["stage"], r["standard_id"], r["plan_metric_id"]): r
        for r in evidence.plans.iter_rows(named=True)
    }
    rows = []
    for alert in alerts.iter_rows(named=True):
        metric = alert["evidence_metric_id"]
        about_schools = alert["dip_year"] is None  # a certification finding is about figures, not schools
        if (
            alert["status"] in ACTIVE
            and alert["rule_id"] != DATA_HOLD
            and metric is not None
            and about_schools
        ):
            group = (alert["county_code"], alert["stage"], alert["standard_id"])
            driver_indicator = highest.get(group) if metric == "composite" else metric
            plan = plans.get((*group, metric))
            alert = alert | {
                "driver_indicator_id": driver_indicator,
                "driver_schools": drivers.get((*group, driver_indicator), []),
                "what_if_zh": None
                if plan is None
                else what_if_message(plan, evidence.templates, evidence.words),
                "what_if_en": None
                if plan is None
                else what_if_message(plan, evidence.templates, evidence.words, lang="en"),
            }
        rows.append(alert)
    return pl.DataFrame(rows, schema=alert_schema())


def severity_counts(alerts: pl.DataFrame, severities: list[str]) -> dict[str, int]:
    """Active alerts (new or continuing) per severity, every severity listed (Dagster metadata)."""
    active = alerts.filter(pl.col("status").is_in(ACTIVE))
    return {s: active.filter(pl.col("severity") == s).height for s in severities}


def breach_table(alerts: pl.DataFrame, breach_rank: int, limit: int = 50) -> str:
    """Markdown table of the active alerts at breach or worse (for Dagster metadata)."""
    worst = alerts.filter(pl.col("status").is_in(ACTIVE) & (pl.col("severity_rank") >= breach_rank))
    if worst.is_empty():
        return "No breach or critical alerts."
    lines = [
        "| county | stage | standard | metric | rule | severity | value | threshold | status |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in (
        worst.sort("severity_rank", "county_code", descending=[True, False]).head(limit).iter_rows(named=True)
    ):
        value = "—" if r["observed_value"] is None else f"{r['observed_value']:.3f}"
        threshold = "—" if r["threshold"] is None else f"{r['threshold']:g}"
        lines.append(
            f"| {r['county_code']} {r['county_name'] or ''} | {r['stage']} | {r['standard_id']} | "
            f"{r['metric_id'] or r['evidence_metric_id'] or ''} | {r['rule_id']} | {r['severity']} | "
            f"{value} | {threshold} | {r['status']} |"
        )
    if worst.height > limit:
        lines.append(f"| … {worst.height - limit} more in monitoring.backsliding_alerts | | | | | | | | |")
    return "\n".join(lines)


# --- reading the inputs from the warehouse -------------------------------------------------------------

ALERTS_RELATION = "monitoring.backsliding_alerts"


def read_inputs(con, census_year: int) -> AlertInputs:
    """This year's trends (and the earlier years the rules look back on), data status, failing
    school sections, the verdicts' failing runs, last year's alerts, county names and words."""
    from pipelines.lib.warehouse import query_frame, table_exists

    year = {"census_year": census_year}
    previous = (
        query_frame(con, sql("alerts/previous_alerts"), year)
        if table_exists(con, "monitoring", "backsliding_alerts")
        else pl.DataFrame(schema=alert_schema())
    )
    return AlertInputs(
        census_year=census_year,
        trends=query_frame(con, sql("alerts/trends"), year),
        data_status=query_frame(con, sql("alerts/data_status"), year),
        school_rule=query_frame(con, sql("alerts/school_rule_counts"), year),
        verdict_runs=query_frame(con, sql("alerts/verdict_runs"), year),
        previous_alerts=previous,
        county_names=dict(query_frame(con, sql("alerts/county_names")).iter_rows()),
        words=read_words(con),
        certification_checks=query_frame(con, sql("alerts/certification_year_checks"), year),
        checklist_checks=query_frame(con, sql("alerts/checklist_checks"), year)
        if table_exists(con, "marts", "county_checklist")
        else None,
    )


@dataclass(frozen=True)
class AlertsBuilt:
    rows: int
    duplicate_ids: int
    latest: pl.DataFrame
    """The alerts of the latest census year the run loads (of the latest year built when it
    loads none): the year monitoring staff act on."""
    announced: pl.DataFrame
    """The alerts to announce: new (a problem's first year) in the warehouse's latest census year
    and not there before this run. An alert is announced once, whatever years are loaded again."""


def rebuild_alerts(con, years: list[int], run_years: list[int], rules: RuleSet) -> AlertsBuilt:
    """Build and write the alerts of `years` in order (a year's status reads the year before's
    alerts as written here); `run_years`: the census years the run loads. `years` ends with the
    warehouse's latest census year (the run's years and every loaded year after them)."""
    rows = duplicates = 0
    latest = announced = pl.DataFrame(schema=alert_schema())
    newest = max(years, default=None)
    known: set[str] = set()  # (a fresh warehouse has no alert table until the first year is written)
    if table_exists(con, "monitoring", "backsliding_alerts"):
        known = {i for (i,) in con.execute(sql("alerts/alert_ids"), {"census_year": newest}).fetchall()}
    for year in years:
        result = build_alerts(con, year, rules)
        rows += replace_year(con, ALERTS_RELATION, year, result)
        duplicates += int(scalar(con, sql("alerts/duplicate_alert_ids"), {"census_year": year}) or 0)  # type: ignore[call-overload]
        if year in run_years or not run_years:
            latest = result
        if year == newest:
            announced = result.filter((pl.col("status") == "new") & ~pl.col("alert_id").is_in(list(known)))
    return AlertsBuilt(rows, duplicates, latest, announced)


def build_alerts(con, census_year: int, rules: RuleSet) -> pl.DataFrame:
    """The census year's alerts, from the warehouse as it is (the year's trends, data status,
    verdict runs, drivers and what-if plans, and last year's alerts for their status)."""
    inputs = read_inputs(con, census_year)
    fired = fire_alerts(inputs, rules)
    return attach_evidence(fired, read_evidence(con, inputs, fired, rules))


def read_evidence(con, inputs: AlertInputs, alerts: pl.DataFrame, rules: RuleSet) -> EvidenceInputs:
    """Driver schools and what-if plans of the county-stage-standards that have an active alert
    (this year's trends come from the inputs already read)."""
    from pipelines.lib.warehouse import query_frame

    groups = (
        alerts.filter(pl.col("status").is_in(ACTIVE)).select("county_code", "stage", "standard_id").unique()
    )
    con.register("alert_groups", groups.to_arrow())
    params = {"census_year": inputs.census_year}
    drivers = query_frame(con, sql("alerts/driver_schools"), params)
    con.unregister("alert_groups")
    return EvidenceInputs(
        drivers=drivers,
        plans=query_frame(con, sql("alerts/what_if_plans"), params),
        trends=inputs.trends.filter(pl.col("census_year") == inputs.census_year),
        templates=Templates.from_rules(rules),
        words=inputs.words or read_words(con),
    )


LIST_COLUMNS = [
    "alert_id",
    "census_year",
    "county_code",
    "county_name",
    "stage",
    "standard_id",
    "metric_id",
    "indicator_id",
    "evidence_metric_id",
    "rule_id",
    "rule_name_zh",
    "fired_rules_zh",
    "severity",
    "status",
    "first_seen_year",
    "failing_since_year",
    "failing_years",
    "observed_value",
    "threshold",
    "margin",
    "change",
    "slope",
    "projected_breach_year",
    "breach_years",
    "certified_year",
    "message_zh",
    "message_en",
    "what_if_zh",
]
"""The columns of an alert list (CLI, new-alert files): what a monitoring officer reads."""


def with_rule_names(alerts: pl.DataFrame, names: dict[str, str]) -> pl.DataFrame:
    """rule_name_zh and fired_rules_zh: the rules in the words of the rules file (a table written
    before fired_rules existed has one rule per row)."""
    fired = pl.coalesce(pl.col("fired_rules"), pl.concat_list(pl.col("rule_id")))
    return alerts.with_columns(
        pl.col("rule_id").replace_strict(names, default=pl.col("rule_id")).alias("rule_name_zh"),
        fired.list.eval(pl.element().replace_strict(names, default=pl.element()))
        .list.join("、")
        .alias("fired_rules_zh"),
    )


def rule_names(rules: RuleSet) -> dict[str, str]:
    names = {r.rule_id: r.name_zh for r in rules.rules}
    return names | {s.severity: s.name_zh for s in rules.severities if s.severity == DATA_HOLD}
