"""Backsliding alerts (docs/methodology.md §5): the rules of models/rules/*.yaml applied to one census year
of monitoring.county_trends, with a status against last year's alerts and the evidence a
monitoring officer can check by hand.

Two pure steps. fire_alerts() decides which rules fire for which county, stage, standard and
metric, and whether each alert is new, continuing or resolved. attach_evidence() adds the three
schools driving the coefficient (monitoring.school_drivers) and the what-if floor. The Dagster
asset (pipelines/defs/monitoring) only reads the inputs and writes the result.

Each condition kind of the rules file is one small function below (METRIC_KINDS, STAGE_KINDS).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import polars as pl

from pipelines.lib.method.what_if import composite_floor_for_target, floor_for_target
from pipelines.lib.queries import sql
from pipelines.lib.reference.alert_rules import DATA_HOLD, RuleSet
from pipelines.lib.warehouse import frame_schema

ACTIVE = ("new", "continuing")
STATUSES = ("new", "continuing", "resolved")

ALERT_SCHEMA = frame_schema("monitoring.backsliding_alerts")
"""The table's columns and types, from its sidecar (models/monitoring/backsliding_alerts.yml)."""

DRIVER_FIELDS = list(ALERT_SCHEMA["driver_schools"].inner.to_schema())  # type: ignore[attr-defined]


@dataclass
class AlertInputs:
    """Everything one census year of alerts is decided from (all read by the asset)."""

    census_year: int
    trends: pl.DataFrame  # monitoring.county_trends: this year and the earlier years rules look back on
    data_status: pl.DataFrame  # monitoring.county_data_status: this year
    failing_sections: pl.DataFrame  # county_code, stage, standard_id, n_failing_sections
    previous_alerts: pl.DataFrame  # monitoring.backsliding_alerts of last year (may be empty)
    county_names: dict[str, str] = field(default_factory=dict)
    metric_names: dict[tuple[str, str], str] = field(default_factory=dict)  # (standard_id, metric) -> 中文

    @cached_property
    def province_codes(self) -> dict[str, str]:
        return dict(self.trends.select("county_code", "province_code").unique().iter_rows())


def alert_id(census_year: int, county_code: str, stage: str, standard_id: str, metric_id: str | None) -> str:
    """One id per problem: the county-stage-standard and the metric (none for the whole county-stage)."""
    text = "|".join([str(census_year), county_code, stage, standard_id, metric_id or ""])
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


# --- condition kinds: metric rules look at one row of monitoring.county_trends ---------------------


def _ratio_at_least(row: dict, p: dict, year: int) -> bool:
    return row["ratio_to_threshold"] >= p["ratio"]


def _projected_within(row: dict, years: int, year: int) -> bool:
    return row["projected_breach_year"] is not None and row["projected_breach_year"] <= year + years


def _projected_breach_within(row: dict, p: dict, year: int) -> bool:
    return _projected_within(row, int(p["years"]), year)


def _unusual_rise(row: dict, p: dict, year: int) -> bool:
    return row["robust_z"] is not None and row["change"] > 0 and row["robust_z"] >= p["robust_z"]


def _ratio_and_rising(row: dict, p: dict, year: int) -> bool:
    rising = row["rising_years"] >= p["rising_years"]
    return row["ratio_to_threshold"] >= p["ratio"] and (
        rising or _projected_within(row, int(p["projected_within"]), year)
    )


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
    judged: list[dict]  # this year's judged metrics with a value
    metric_alerts: list[dict]  # metric alerts fired this year for the group
    n_failing_sections: int | None  # None when the standard has no per-school rule
    breach_years: set[int]  # monitored years (up to this one) in which a judged metric was above threshold
    rank: Callable[[str], int]


def _metrics_at_severity(view: StageView, p: dict) -> int | None:
    floor = view.rank(p["severity"])
    n = len({a["metric_id"] for a in view.metric_alerts if view.rank(a["severity"]) >= floor})
    return n if n >= p["min_metrics"] else None


def _school_sections_failing(view: StageView, p: dict) -> int | None:
    n = view.n_failing_sections
    return n if n is not None and n >= p["min_sections"] else None


def _breach_years_running(view: StageView, p: dict) -> int | None:
    """Fires after `years` failing years running; returns the whole run (what the message says)."""
    run = 0
    while view.census_year - run in view.breach_years:
        run += 1
    return run if run >= int(p["years"]) else None


def _metrics_above_threshold(view: StageView, p: dict) -> int | None:
    n = sum(1 for r in view.judged if r["value"] > r["threshold"])
    return n if n >= p["min_metrics"] else None


NOT_ABOUT_COEFFICIENTS = ("school_sections_failing",)

STAGE_KINDS: dict[str, Callable[[StageView, dict], int | None]] = {
    # each returns the count the message quotes when the rule fires, else None
    "metrics_at_severity": _metrics_at_severity,
    "school_sections_failing": _school_sections_failing,
    "breach_years_running": _breach_years_running,
    "metrics_above_threshold": _metrics_above_threshold,
}


# --- messages ------------------------------------------------------------------------------------


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def _context(rules: RuleSet, inputs: AlertInputs, group: tuple[str, str, str], row: dict | None) -> dict:
    county_code, stage, standard_id = group
    labels = rules.labels
    county_name = inputs.county_names.get(county_code, county_code)
    context = {
        "county_name": county_name,
        "stage_zh": labels["stages"].get(stage, stage),
        "stage_en": stage,
        "standard_zh": labels["standards"].get(standard_id, standard_id),
        "standard_id": standard_id,
    }
    if row is not None:
        metric = row["metric_id"]
        if metric == "composite":
            name_zh, name_en = labels["composite"]["zh"], labels["composite"]["en"]
        else:
            name_zh = inputs.metric_names.get((standard_id, metric), metric)
            name_en = metric
        over = None if row["value"] is None or row["threshold"] is None else row["value"] - row["threshold"]
        context.update(
            subject=f"{county_name}{context['stage_zh']}{name_zh}",
            subject_en=f"{county_name} {stage} {name_en} CV",
            value=_fmt(row["value"], ".3f"),
            threshold=_fmt(row["threshold"], "g"),
            ratio=_fmt(row["ratio_to_threshold"], ".0%"),
            change=_fmt(row["change"], "+.3f"),
            overshoot=_fmt(over, ".3f"),
            slope=_fmt(row["slope"], "+.3f"),
            projected_breach_year=row["projected_breach_year"] or "—",
            projection_zh=projection_words(row)[0],
            projection_en=projection_words(row)[1],
            n_points=row["n_points"],
            rising_years=row["rising_years"],
            breach_years=row.get("breach_years"),
            robust_z=_fmt(row["robust_z"], ".1f"),
            peer_share=_fmt(row.get("peer_share_below"), ".0%"),
            peer_share_zh=peer_words(row.get("peer_share_below")),
        )
    return context


def peer_words(share: float | None) -> str:
    """Where the county's change stands in its province, in words: "其他所有县" or "95% 的县"."""
    if share is None:
        return "其他县（无可比数据）"
    return "其他所有县" if share >= 1 else f" {share:.0%} 的县"


PROJECTION_WORDS = {
    # projection_null_reason (monitoring.county_trends) -> words; {horizon} is the horizon setting
    "above_threshold": ("已超过阈值", "already above the threshold"),
    "not_rising": ("近年未呈上升趋势", "not rising in recent years"),
    "no_slope": ("年份不足，暂不推算", "too few years to project"),
    "beyond_horizon": (
        "按当前趋势 {horizon} 年内不会超过阈值",
        "at the current trend it does not cross within {horizon} years",
    ),
}


def projection_words(row: dict) -> tuple[str, str]:
    """The projected breach year in words, or why there is none."""
    year = row.get("projected_breach_year")
    if year is not None:
        return f"按当前趋势预计 {year} 年超过阈值", f"projected to cross in {year} at the current trend"
    zh, en = PROJECTION_WORDS.get(row.get("projection_null_reason") or "", ("无法推算", "no projection"))
    horizon = row.get("projection_horizon_years")
    return zh.format(horizon=horizon), en.format(horizon=horizon)


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


def _breach_years(trends: pl.DataFrame) -> dict[tuple[str, str, str], set[int]]:
    """Per county-stage-standard, the monitored census years with a judged metric above threshold."""
    over = (
        trends.filter(pl.col("is_monitored") & pl.col("is_judged") & (pl.col("value") > pl.col("threshold")))
        .select("county_code", "stage", "standard_id", "census_year")
        .unique()
    )
    years: dict[tuple[str, str, str], set[int]] = {}
    for r in over.iter_rows(named=True):
        years.setdefault((r["county_code"], r["stage"], r["standard_id"]), set()).add(int(r["census_year"]))
    return years


def _alert_row(
    inputs: AlertInputs,
    rules: RuleSet,
    group: tuple[str, str, str],
    rule_id: str,
    severity: str,
    metric_row: dict | None,
    evidence_row: dict | None,
    message: tuple[str, str],
    metric_id: str | None,
    is_hysteresis: bool = False,
) -> dict:
    """metric_id is the alert's own metric (metric rules), or None (county-stage rules)."""
    county_code, stage, standard_id = group
    shown = metric_row or evidence_row or {}
    province_code = inputs.province_codes.get(county_code)
    return {
        "alert_id": alert_id(inputs.census_year, county_code, stage, standard_id, metric_id),
        "census_year": inputs.census_year,
        "county_code": county_code,
        "county_name": inputs.county_names.get(county_code),
        "province_code": province_code,
        "stage": stage,
        "standard_id": standard_id,
        "metric_id": metric_id,
        "indicator_id": None if metric_id in (None, "composite") else metric_id,
        "rule_id": rule_id,
        "fired_rules": [rule_id],
        "severity": severity,
        "severity_rank": rules.rank(severity),
        "is_hysteresis": is_hysteresis,
        "observed_value": shown.get("value"),
        "threshold": shown.get("threshold"),
        "margin": shown.get("margin"),
        "ratio_to_threshold": shown.get("ratio_to_threshold"),
        "change": shown.get("change"),
        "slope": shown.get("slope"),
        "projected_breach_year": shown.get("projected_breach_year"),
        "projection_null_reason": shown.get("projection_null_reason"),
        "rising_years": shown.get("rising_years"),
        "breach_years": shown.get("breach_years"),
        "robust_z": shown.get("robust_z"),
        "peer_share_below": shown.get("peer_share_below"),
        "certified_year": shown.get("certified_year"),
        "message_zh": message[0],
        "message_en": message[1],
        "evidence_metric_id": shown.get("metric_id"),
    }


@dataclass(frozen=True)
class _YearContext:
    """What every group of one census year is judged against."""

    inputs: AlertInputs
    rules: RuleSet
    held: dict[str, dict]  # county_code -> its data status, for counties whose figures are on hold
    failing: dict[tuple[str, str, str], int]  # group -> failing school sections
    previous: dict[tuple, dict]  # alert key -> last year's active alert
    breach_years: dict[tuple[str, str, str], set[int]]

    @property
    def year(self) -> int:
        return self.inputs.census_year


def fire_alerts(inputs: AlertInputs, rules: RuleSet) -> pl.DataFrame:
    """The alerts of one census year, without evidence (see attach_evidence): per monitored
    county-stage-standard, a data hold or the rules that fire; then each alert's status against
    last year, and a resolved row for each alert of last year that no longer fires."""
    year = inputs.census_year
    current = inputs.trends.filter((pl.col("census_year") == year) & pl.col("is_monitored"))
    ctx = _YearContext(
        inputs=inputs,
        rules=rules,
        held={
            r["county_code"]: r
            for r in inputs.data_status.filter(pl.col("is_provisional")).iter_rows(named=True)
        },
        failing={
            (r["county_code"], r["stage"], r["standard_id"]): int(r["n_failing_sections"])
            for r in inputs.failing_sections.iter_rows(named=True)
        },
        previous=_previous_problems(inputs.previous_alerts),
        breach_years=_breach_years(inputs.trends.filter(pl.col("census_year") <= year)),
    )
    groups: dict[tuple[str, str, str], list[dict]] = {}
    for row in current.sort("county_code", "stage", "standard_id", "metric_order").iter_rows(named=True):
        groups.setdefault((row["county_code"], row["stage"], row["standard_id"]), []).append(row)

    fired: list[dict] = []
    for group, rows in groups.items():
        fired += _one_row_per_problem(_group_alerts(ctx, group, rows), rules)
    fired_keys = _set_status(ctx, fired)
    fired += _resolved_alerts(ctx, groups, fired_keys)
    frame = pl.DataFrame(fired, schema={k: v for k, v in ALERT_SCHEMA.items() if k in _FIRE_COLUMNS})
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


def _previous_problems(previous_alerts: pl.DataFrame) -> dict[tuple, dict]:
    """Last year's active alerts by problem (a warehouse built before one row per problem may
    hold several rows of one problem: the most severe stands for it)."""
    problems: dict[tuple, dict] = {}
    active = previous_alerts.filter(pl.col("status").is_in(ACTIVE)).sort("severity_rank")
    for r in active.iter_rows(named=True):
        key = _key(r["county_code"], r["stage"], r["standard_id"], r["metric_id"], r["rule_id"])
        fired = set(r.get("fired_rules") or [r["rule_id"]])
        if key in problems:
            fired |= set(problems[key]["fired_rules"])
            r = r | {"first_seen_year": min(r["first_seen_year"], problems[key]["first_seen_year"])}
        problems[key] = r | {"fired_rules": sorted(fired)}
    return problems


def rule_name(rules: RuleSet, rule_id: str) -> str:
    """A rule's Chinese name (the data hold has none of its own: its severity's name)."""
    rule = next((r for r in rules.rules if r.rule_id == rule_id), None)
    if rule is not None:
        return rule.name_zh
    return next((s.name_zh for s in rules.severities if s.severity == rule_id), rule_id)


def _one_row_per_problem(alerts: list[dict], rules: RuleSet) -> list[dict]:
    """Merge the rules that fired for the same problem (same metric, or the county-stage as a
    whole) into one row at the highest severity; the others are listed in fired_rules and named
    at the end of the message."""
    order = {r.rule_id: r.order for r in rules.rules}
    problems: dict[str | None, list[dict]] = {}
    for alert in alerts:
        problems.setdefault(alert["metric_id"], []).append(alert)
    merged = []
    for rows in problems.values():
        rows = sorted(rows, key=lambda a: (-a["severity_rank"], order.get(a["rule_id"], -1)))
        top = dict(rows[0])
        top["fired_rules"] = [a["rule_id"] for a in rows]
        if len(rows) > 1:
            others_zh = "、".join(rule_name(rules, a["rule_id"]) for a in rows[1:])
            others_en = ", ".join(a["rule_id"] for a in rows[1:])
            top["message_zh"] = f"{top['message_zh']}（同时触发：{others_zh}）"
            top["message_en"] = f"{top['message_en']} (also: {others_en})"
        merged.append(top)
    return merged


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
        n_failing_sections=ctx.failing.get(group),
        breach_years=ctx.breach_years.get(group, set()),
        rank=ctx.rules.rank,
    )
    return metric_alerts + _stage_alerts(ctx, group, view, worst)


def _hold_alert(ctx: _YearContext, group: tuple[str, str, str], worst: dict | None) -> dict:
    """The county's figures are provisional this year: one data_hold row saying why."""
    rules, status = ctx.rules, ctx.held[group[0]]
    reasons = [x for x in (status["provisional_reason"] or "").split("; ") if x]
    context = _context(rules, ctx.inputs, group, None) | {
        "reasons_zh": "、".join(_HOLD_REASONS_ZH.get(x, x) for x in reasons),
        "reasons_en": ", ".join(_hold_reason_en(x, status) for x in reasons),
    }
    message = (
        rules.data_hold_messages[0].format(**context),
        rules.data_hold_messages[1].format(**context),
    )
    return _alert_row(ctx.inputs, rules, group, DATA_HOLD, DATA_HOLD, None, worst, message, None)


def _metric_alerts(ctx: _YearContext, group: tuple[str, str, str], judged: list[dict]) -> list[dict]:
    """Every metric rule on every judged metric; an alert of last year stays (hysteresis) while
    the value is at or above the rule's clear_below."""
    alerts = []
    for row in judged:
        for rule in (r for r in ctx.rules.rules if r.scope == "metric"):
            holds = METRIC_KINDS[rule.kind](row, rule.params, ctx.year)
            hysteresis = (
                not holds
                and rule.clear_below is not None
                and _fired_before(ctx.previous.get(_key(*group, row["metric_id"])), rule.rule_id)
                and row["ratio_to_threshold"] >= rule.clear_below
            )
            if holds or hysteresis:
                context = _context(ctx.rules, ctx.inputs, group, row)
                message = (rule.message_zh.format(**context), rule.message_en.format(**context))
                alerts.append(
                    _alert_row(
                        ctx.inputs,
                        ctx.rules,
                        group,
                        rule.rule_id,
                        rule.severity,
                        row,
                        row,
                        message,
                        row["metric_id"],
                        hysteresis,
                    )
                )
    return alerts


def _stage_alerts(
    ctx: _YearContext, group: tuple[str, str, str], view: StageView, worst: dict | None
) -> list[dict]:
    """Every rule about the whole county-stage (how many metrics, sections or years)."""
    alerts = []
    for rule in (r for r in ctx.rules.rules if r.scope == "stage"):
        count = STAGE_KINDS[rule.kind](view, rule.params)
        if count is None:
            continue
        context = _context(ctx.rules, ctx.inputs, group, worst) | {
            "n_metrics": count,
            "n_sections": count,
            "n_years": count,
        }
        message = (rule.message_zh.format(**context), rule.message_en.format(**context))
        # the school rule is about schools, not coefficients: no CV evidence for it
        shown = None if rule.kind in NOT_ABOUT_COEFFICIENTS else worst
        alerts.append(
            _alert_row(ctx.inputs, ctx.rules, group, rule.rule_id, rule.severity, None, shown, message, None)
        )
    return alerts


def _set_status(ctx: _YearContext, fired: list[dict]) -> set[tuple]:
    """New or continuing against last year's active alerts; returns the keys that fired."""
    fired_keys = set()
    for alert in fired:
        key = _key(
            alert["county_code"], alert["stage"], alert["standard_id"], alert["metric_id"], alert["rule_id"]
        )
        fired_keys.add(key)
        before = ctx.previous.get(key)
        alert["status"] = "continuing" if before else "new"
        alert["first_seen_year"] = before["first_seen_year"] if before else ctx.year
    return fired_keys


def _resolved_alerts(
    ctx: _YearContext, groups: dict[tuple[str, str, str], list[dict]], fired_keys: set[tuple]
) -> list[dict]:
    """An alert of last year that no longer fires is resolved, where the county is still
    monitored and its figures are not on hold (a held year decides nothing)."""
    rules, resolved = ctx.rules, []
    for key, before in sorted(ctx.previous.items()):
        county_code, stage, standard_id = key[:3]
        metric, rule_id = before["metric_id"], before["rule_id"]
        group = (county_code, stage, standard_id)
        if key in fired_keys or group not in groups or county_code in ctx.held:
            continue
        rows = groups[group]
        metric_row = next((r for r in rows if r["metric_id"] == metric), None) if metric else None
        worst = _worst(_judged(rows))
        context = _context(rules, ctx.inputs, group, metric_row)  # no metric: the county-stage as a whole
        subject_zh = context.get(
            "subject", f"{context['county_name']}{context['stage_zh']}{context['standard_zh']}"
        )
        subject_en = context.get("subject_en", f"{context['county_name']} {stage} {standard_id}")
        severity_zh = next(s.name_zh for s in rules.severities if s.severity == before["severity"])
        names_zh = "、".join(rule_name(rules, r) for r in before["fired_rules"])
        message = (
            f"{subject_zh}：上年“{severity_zh}”级提示（{names_zh}）本年度已解除。",
            f"{subject_en}: last year's alert ({', '.join(before['fired_rules'])}) no longer fires.",
        )
        alert = _alert_row(
            ctx.inputs,
            rules,
            group,
            rule_id,
            before["severity"],
            metric_row if metric else None,
            metric_row or worst,
            message,
            metric or None,
        )
        alert["status"] = "resolved"
        alert["fired_rules"] = list(before["fired_rules"])
        alert["first_seen_year"] = before["first_seen_year"]
        resolved.append(alert)
    return resolved


_FIRE_COLUMNS = [c for c in ALERT_SCHEMA if not c.startswith(("driver_", "what_if_"))]

_HOLD_REASONS_ZH = {
    "rejected_rows": "退回行过多",
    "missing_schools": "缺报学校过多",
    "no_rows_loaded": "无数据",
}


def _hold_reason_en(reason: str, status: dict) -> str:
    if reason == "rejected_rows":
        return f"{status['rows_rejected']} rows rejected ({status['rejected_share']:.1%})"
    if reason == "missing_schools":
        return f"{status['schools_missing']} of last year's schools missing ({status['missing_school_share']:.1%})"
    return "no rows loaded"


# --- evidence ----------------------------------------------------------------------------------------


@dataclass
class EvidenceInputs:
    drivers: pl.DataFrame  # monitoring.school_drivers rows with driver_rank <= 3 for the alerted groups
    school_values: (
        pl.DataFrame
    )  # marts.school_indicators (county, stage, standard, indicator, value, students)
    indicators: (
        pl.DataFrame
    )  # marts.standard_indicators: standard_id, stage, indicator_id, name_zh, unit, scale
    trends: pl.DataFrame  # this year's monitoring.county_trends (for the composite's highest indicator)
    target_ratio: float


def _what_if_sentences(result: dict, target_ratio: float) -> tuple[str | None, str | None]:
    """The what-if in words; `target_ratio` is the setting what_if_target_ratio (the target's share
    of the threshold), so the words say what the setting says."""
    if result.get("what_if_target_cv") is None:
        return None, None
    target = result["what_if_target_cv"]
    if result.get("what_if_already_met"):
        return (
            f"差异系数已不高于目标 {target:.3f}（阈值的 {target_ratio:.0%}），无需补足。",
            f"The CV is already at or below the target {target:.3f}; no floor is needed.",
        )
    if result.get("what_if_floor_share_of_mean") is not None:
        f = result["what_if_floor_share_of_mean"]
        return (
            f"若各项指标均将低于县均值 {f:.0%} 的学校补足到县均值的 {f:.0%}，综合差异系数可降至 "
            f"{result['what_if_cv_after']:.3f}（目标 {target:.3f}）；各指标所需投入见县区报告的测算明细。",
            f"Raising every school to at least {f:.0%} of the county mean on every indicator brings the "
            f"composite to {result['what_if_cv_after']:.3f} (target {target:.3f}); the cost per indicator "
            f"is in what_if_detail (and the county report).",
        )
    unit = result["what_if_unit"] or ""
    return (
        f"若将低于 {result['what_if_floor']:.3f} 的 {result['what_if_schools_raised']} 所学校补足到该水平，"
        f"共需 {result['what_if_cost']:,.1f} {unit}，差异系数可降至 {result['what_if_cv_after']:.3f}"
        f"（目标 {target:.3f}）。",
        f"Raising the {result['what_if_schools_raised']} schools below {result['what_if_floor']:.3f} to that "
        f"level costs {result['what_if_cost']:,.1f} {unit} and brings the CV to "
        f"{result['what_if_cv_after']:.3f} (target {target:.3f}).",
    )


def attach_evidence(alerts: pl.DataFrame, evidence: EvidenceInputs) -> pl.DataFrame:
    """Driver schools and what-if for every active alert (not for data holds or resolved alerts)."""
    meta = {
        (r["standard_id"], r["stage"], r["indicator_id"]): r
        for r in evidence.indicators.iter_rows(named=True)
    }
    highest = {
        (r["county_code"], r["stage"], r["standard_id"]): r["metric_id"]
        for r in evidence.trends.filter(pl.col("indicator_id").is_not_null() & pl.col("value").is_not_null())
        .sort("value", "metric_id", descending=[False, True])
        .iter_rows(named=True)
    }  # the last one written per group is the highest CV
    drivers: dict[tuple, list[dict]] = {}
    for r in evidence.drivers.filter(pl.col("driver_rank") <= 3).sort("driver_rank").iter_rows(named=True):
        key = (r["county_code"], r["stage"], r["standard_id"], r["indicator_id"])
        drivers.setdefault(key, []).append({k: r[k] for k in DRIVER_FIELDS})
    values: dict[tuple, tuple[list[float], list[float]]] = {}
    for part in evidence.school_values.partition_by(
        ["county_code", "stage", "standard_id", "indicator_id"], as_dict=False
    ):
        first = part.row(0, named=True)
        key = (first["county_code"], first["stage"], first["standard_id"], first["indicator_id"])
        values[key] = (part["value"].to_list(), part["students"].to_list())

    cache: dict[tuple, dict] = {}

    def evidence_for(county_code: str, stage: str, standard_id: str, metric: str, threshold: float) -> dict:
        key = (county_code, stage, standard_id, metric)
        if key in cache:
            return cache[key]
        driver_indicator = highest.get(key[:3]) if metric == "composite" else metric
        target = evidence.target_ratio * threshold
        result: dict[str, Any] = {
            "driver_indicator_id": driver_indicator,
            "driver_schools": drivers.get((county_code, stage, standard_id, driver_indicator), []),
            "what_if_target_cv": target,
        }
        if metric == "composite":
            ids = [
                ind
                for (std, stg, ind) in meta
                if std == standard_id and stg == stage and (county_code, stage, standard_id, ind) in values
            ]
            solved = composite_floor_for_target(
                [values[(county_code, stage, standard_id, i)] for i in ids], target
            )
            if solved is not None:
                detail = []
                for ind, floor in zip(ids, solved.floors, strict=True):
                    m = meta[(standard_id, stage, ind)]
                    detail.append(
                        {
                            "indicator_id": ind,
                            "floor": floor.floor,
                            "cost": floor.cost / m["scale"],
                            "unit": m["unit"],
                            "schools_raised": floor.schools_raised,
                            "cv_before": floor.cv_before,
                            "cv_after": floor.cv_after,
                        }
                    )
                result |= {
                    "what_if_floor_share_of_mean": None if solved.already_met else solved.share_of_mean,
                    "what_if_cv_after": solved.composite_after,
                    "what_if_detail": detail,
                    "what_if_already_met": solved.already_met,
                }
        else:
            pair = values.get((county_code, stage, standard_id, metric))
            solved_one = floor_for_target(*pair, target) if pair else None
            if solved_one is not None:
                m = meta[(standard_id, stage, metric)]
                result |= {
                    "what_if_floor": None if solved_one.already_met else solved_one.floor,
                    "what_if_cost": solved_one.cost / m["scale"],
                    "what_if_unit": m["unit"],
                    "what_if_schools_raised": solved_one.schools_raised,
                    "what_if_cv_after": solved_one.cv_after,
                    "what_if_already_met": solved_one.already_met,
                }
        result["what_if_zh"], result["what_if_en"] = _what_if_sentences(result, evidence.target_ratio)
        cache[key] = result
        return result

    rows = []
    for alert in alerts.iter_rows(named=True):
        if (
            alert["status"] in ACTIVE
            and alert["rule_id"] != DATA_HOLD
            and alert["evidence_metric_id"] is not None
            and alert["threshold"] is not None
        ):
            found = evidence_for(
                alert["county_code"],
                alert["stage"],
                alert["standard_id"],
                alert["evidence_metric_id"],
                alert["threshold"],
            )
            alert = alert | {k: v for k, v in found.items() if k in ALERT_SCHEMA}
        rows.append(alert)
    return pl.DataFrame(rows, schema=ALERT_SCHEMA)


def severity_counts(alerts: pl.DataFrame, severities: list[str]) -> dict[str, int]:
    """Active alerts (new or continuing) per severity, every severity listed."""
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
        lines.append(
            f"| {r['county_code']} {r['county_name'] or ''} | {r['stage']} | {r['standard_id']} | "
            f"{r['metric_id'] or r['evidence_metric_id'] or ''} | {r['rule_id']} | {r['severity']} | "
            f"{_fmt(r['observed_value'], '.3f')} | {_fmt(r['threshold'], 'g')} | {r['status']} |"
        )
    if worst.height > limit:
        lines.append(f"| … {worst.height - limit} more in monitoring.backsliding_alerts | | | | | | | | |")
    return "\n".join(lines)


# --- reading the inputs from the warehouse -------------------------------------------------------------

ALERTS_RELATION = "monitoring.backsliding_alerts"


def read_inputs(con, census_year: int, rules: RuleSet) -> AlertInputs:
    """This year's trends (and the earlier years the rules look back on), data status, failing
    school sections, last year's alerts, county and indicator names."""
    from pipelines.lib.warehouse import query_frame, table_exists

    year = {"census_year": census_year}
    trends = query_frame(con, sql("alerts/trends"), year)
    data_status = query_frame(con, sql("alerts/data_status"), year)
    failing = query_frame(con, sql("alerts/failing_sections"), year)
    previous = (
        query_frame(con, sql("alerts/previous_alerts"), year)
        if table_exists(con, "monitoring", "backsliding_alerts")
        else pl.DataFrame(schema=ALERT_SCHEMA)
    )
    names = query_frame(con, sql("alerts/county_names"))
    indicators = query_frame(con, sql("alerts/metric_names"))
    return AlertInputs(
        census_year=census_year,
        trends=trends,
        data_status=data_status,
        failing_sections=failing,
        previous_alerts=previous,
        county_names=dict(names.iter_rows()),
        metric_names={
            (r["standard_id"], r["indicator_id"]): r["name_zh"] for r in indicators.iter_rows(named=True)
        },
    )


def build_alerts(con, census_year: int, rules: RuleSet) -> pl.DataFrame:
    """The census year's alerts, from the warehouse as it is (the year's trends, data status and
    drivers, and last year's alerts for their status)."""
    inputs = read_inputs(con, census_year, rules)
    fired = fire_alerts(inputs, rules)
    return attach_evidence(fired, read_evidence(con, inputs, fired, rules))


def read_evidence(con, inputs: AlertInputs, alerts: pl.DataFrame, rules: RuleSet) -> EvidenceInputs:
    """Driver schools and school values of the county-stage-standards that have an active alert
    (this year's trends come from the inputs already read)."""
    census_year = inputs.census_year
    from pipelines.lib.warehouse import query_frame

    groups = (
        alerts.filter(pl.col("status").is_in(ACTIVE)).select("county_code", "stage", "standard_id").unique()
    )
    con.register("alert_groups", groups.to_arrow())
    params = {"census_year": census_year}
    drivers = query_frame(con, sql("alerts/driver_schools"), params)
    school_values = query_frame(con, sql("alerts/school_values"), params)
    indicators = query_frame(con, sql("alerts/indicators"))
    con.unregister("alert_groups")
    trends = inputs.trends.filter(pl.col("census_year") == census_year)
    return EvidenceInputs(drivers, school_values, indicators, trends, rules.settings["what_if_target_ratio"])


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
    return {r.rule_id: r.name_zh for r in rules.rules} | {DATA_HOLD: rule_name(rules, DATA_HOLD)}


def alert_records(alerts: pl.DataFrame, rules: RuleSet) -> list[dict]:
    """Alerts as plain records of LIST_COLUMNS (JSON-safe)."""
    return with_rule_names(alerts, rule_names(rules)).select(LIST_COLUMNS).to_dicts()
