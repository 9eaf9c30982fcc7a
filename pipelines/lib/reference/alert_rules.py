"""Backsliding rules as data: models/rules/*.yaml, checked, and the warehouse tables made from them.

A rule names a condition kind (implemented once in pipelines.lib.monitoring.alerts), its severity, its scope
and its numbers. Settings are the trend and data-hold numbers the SQL and the rules share.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from contracts import yaml_files

SCOPES = ("metric", "stage", "certification", "checklist")

KIND_PARAMS: dict[str, tuple[str, tuple[str, ...]]] = {
    # kind: (scope it works on, required params)
    "ratio_at_least": ("metric", ("ratio", "max_ratio")),
    "projected_breach_within": ("metric", ("years",)),
    "unusual_rise": ("metric", ("robust_z", "min_ratio")),
    "ratio_and_rising": ("metric", ("ratio", "max_ratio", "rising_years", "projected_within")),
    "above_threshold": ("metric", ()),
    "metrics_at_severity": ("stage", ("severity", "min_metrics", "min_ratio")),
    "school_sections_failing": ("stage", ("min_sections",)),
    "breach_years_running": ("stage", ("years",)),
    "metrics_above_threshold": ("stage", ("min_metrics",)),
    "certification_year_dip": (
        "certification",
        ("robust_z", "min_dip_share", "min_rebound_share", "min_metric_share"),
    ),
    "checkpoint_lapse": ("checklist", ("judged_by",)),
}
"""Every condition kind a rules file may use, the scope it needs and the params it reads."""

REQUIRED_SETTINGS = (
    "slope_window_years",
    "slope_min_points",
    "robust_z_min_counties",
    "robust_z_mad_scale",
    "data_hold_max_rejected_share",
    "data_hold_max_missing_school_share",
    "what_if_target_ratio",
    "what_if_max_floor_share",
    "projection_horizon_years",
    "min_rise",
    "top_driver_schools",
)

RUNS = ("metric", "cv_rule", "school_rule")
UNIT_COST_BASES = (
    "one_off",
    "yearly",
)  # built or bought once; recurring each year (models/rules/unit_costs.yaml)
"""What a rule's `run` may name: the failing run its message states (models/rules/backsliding.yaml)."""

MESSAGE_KEYS = (
    "also_fired_zh",
    "also_fired_en",
    "resolved_metric_zh",
    "resolved_metric_en",
    "resolved_stage_zh",
    "resolved_stage_en",
)
WHAT_IF_KEYS = (
    "indicator_zh",
    "indicator_en",
    "composite_zh",
    "composite_en",
    "not_needed_zh",
    "not_needed_en",
    "not_reachable_zh",
    "not_reachable_en",
)

DATA_HOLD = "data_hold"
WARNING = "warning"
BREACH = "breach"
"""The severity ids the code relies on (a public interface, on the ladder of the rules file):
data_hold is set by the data checks, not by a rule; from `warning` up an alert is shown in
summaries; from `breach` up the county no longer meets its standard. Everything else about the
ladder (the other levels, their order, names and notes) is read from the rules file."""


class RulesError(ValueError):
    """A rules file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class Rule:
    rule_id: str
    severity: str
    scope: str
    kind: str
    params: dict[str, Any]
    note: str
    message_zh: str
    message_en: str
    name_zh: str
    clear_below: float | None = None
    order: int = 0
    run: str | None = None


@dataclass(frozen=True)
class Severity:
    severity: str
    rank: int
    name_zh: str
    note: str


@dataclass
class RuleSet:
    rules: list[Rule]
    severities: list[Severity]
    settings: dict[str, float]
    setting_notes: dict[str, str] = field(default_factory=dict)
    data_hold_messages: tuple[str, str] = ("", "")
    sources: list[str] = field(default_factory=list)
    messages: dict[str, str] = field(default_factory=dict)  # MESSAGE_KEYS -> template
    what_if: dict[str, str] = field(default_factory=dict)  # WHAT_IF_KEYS -> template
    what_if_units: list[dict[str, Any]] = field(default_factory=list)
    unit_costs: list[dict[str, Any]] = field(default_factory=list)

    def rank(self, severity: str) -> int:
        return next(s.rank for s in self.severities if s.severity == severity)

    def severity_names(self) -> list[str]:
        return [s.severity for s in sorted(self.severities, key=lambda s: s.rank)]


def _need(doc: dict[str, Any], key: str, where: str) -> Any:
    if key not in doc or doc[key] in (None, ""):
        raise RulesError(f"{where}: missing '{key}'")
    return doc[key]


def _rule(entry: dict[str, Any], where: str, order: int) -> Rule:
    kind = str(_need(entry, "kind", where))
    if kind not in KIND_PARAMS:
        raise RulesError(f"{where}: unknown kind '{kind}' (known: {', '.join(KIND_PARAMS)})")
    scope = str(_need(entry, "scope", where))
    if scope != KIND_PARAMS[kind][0]:
        raise RulesError(f"{where}: kind '{kind}' works on scope '{KIND_PARAMS[kind][0]}', not '{scope}'")
    params = dict(entry.get("params") or {})
    missing = [p for p in KIND_PARAMS[kind][1] if p not in params]
    if missing:
        raise RulesError(f"{where}: kind '{kind}' needs params {missing}")
    clear_below = entry.get("clear_below")
    if clear_below is not None and scope != "metric":
        raise RulesError(f"{where}: clear_below (hysteresis) applies to metric rules only")
    run = entry.get("run")
    if run is not None and run not in RUNS:
        raise RulesError(f"{where}: run '{run}' is not one of {', '.join(RUNS)}")
    return Rule(
        rule_id=str(_need(entry, "rule_id", where)),
        severity=str(_need(entry, "severity", where)),
        scope=scope,
        kind=kind,
        params=params,
        note=str(_need(entry, "note", where)).strip(),
        message_zh=str(_need(entry, "message_zh", where)),
        message_en=str(_need(entry, "message_en", where)),
        name_zh=str(_need(entry, "name_zh", where)),
        clear_below=None if clear_below is None else float(clear_below),
        order=order,
        run=None if run is None else str(run),
    )


def _severity(entry: dict[str, Any], where: str) -> Severity:
    return Severity(
        severity=str(_need(entry, "severity", where)),
        rank=int(_need(entry, "rank", where)),
        name_zh=str(_need(entry, "name_zh", where)),
        note=str(_need(entry, "note", where)).strip(),
    )


def _add_settings(
    source: str, doc: dict[str, Any], settings: dict[str, float], notes: dict[str, str]
) -> None:
    for key, entry in (doc.get("settings") or {}).items():
        if key in settings:
            raise RulesError(f"{source}: setting '{key}' is defined twice")
        if not isinstance(entry, dict) or "value" not in entry or not entry.get("note"):
            raise RulesError(f"{source}: setting '{key}' needs a value and a note")
        settings[key] = float(entry["value"])
        notes[key] = str(entry["note"]).strip()


def _check_rule_set(rule_set: RuleSet) -> None:
    names = [s.severity for s in rule_set.severities]
    if len(set(names)) != len(names) or DATA_HOLD not in names:
        raise RulesError(f"severities must be listed once each and include '{DATA_HOLD}' (got {names})")
    missing_settings = [k for k in REQUIRED_SETTINGS if k not in rule_set.settings]
    if missing_settings:
        raise RulesError(f"missing settings {missing_settings}")
    ids = [r.rule_id for r in rule_set.rules]
    if len(set(ids)) != len(ids):
        raise RulesError(f"rule ids must be unique (got {ids})")
    for rule in rule_set.rules:
        if rule.severity not in names or rule.severity == DATA_HOLD:
            raise RulesError(f"rule {rule.rule_id}: severity '{rule.severity}' is not a rule severity")
        if rule.kind == "metrics_at_severity" and rule.params["severity"] not in names:
            raise RulesError(f"rule {rule.rule_id}: unknown severity {rule.params['severity']!r}")
    if not rule_set.data_hold_messages[0]:
        raise RulesError("no data_hold messages (a 'data_hold' block with message_zh and message_en)")
    for block, keys, got in (
        ("messages", MESSAGE_KEYS, rule_set.messages),
        ("what_if", WHAT_IF_KEYS, rule_set.what_if),
    ):
        missing = [k for k in keys if not got.get(k)]
        if missing:
            raise RulesError(f"{block}: missing templates {missing}")
    if not rule_set.what_if_units:
        raise RulesError(
            "what_if_units: none given (one per indicator unit, with shown_unit, per_shown_unit, step)"
        )
    for unit in rule_set.what_if_units:
        if not all(
            unit.get(k) not in (None, "") for k in ("unit", "shown_unit", "per_shown_unit", "step", "note")
        ):
            raise RulesError(f"what_if_units: {unit} needs unit, shown_unit, per_shown_unit, step and note")
    _check_unit_costs(rule_set.unit_costs)
    _check_templates(rule_set)


def _check_unit_costs(costs: list[dict[str, Any]]) -> None:
    seen: set[str] = set()
    for cost in costs:
        where = f"unit_costs: {cost.get('indicator_id')!r}"
        if not all(cost.get(k) not in (None, "") for k in ("indicator_id", "cost_wan_yuan", "basis", "note")):
            raise RulesError(f"{where} needs indicator_id, cost_wan_yuan, basis and note")
        if cost["basis"] not in UNIT_COST_BASES:
            raise RulesError(f"{where}: basis must be one of {list(UNIT_COST_BASES)}")
        if not isinstance(cost["cost_wan_yuan"], int | float) or cost["cost_wan_yuan"] < 0:
            raise RulesError(f"{where}: cost_wan_yuan must be a number ≥ 0")
        if cost["indicator_id"] in seen:
            raise RulesError(f"{where}: given twice")
        seen.add(cost["indicator_id"])


def _check_templates(rule_set: RuleSet) -> None:
    """Every slot of every message names a column of the row it is written from (the alert row,
    or for the what-if a plan row), so a typo fails here with its rule, not in a report."""
    from pipelines.lib.catalog import table_doc
    from pipelines.lib.sentences import slots

    alert_columns = set(table_doc("monitoring.backsliding_alerts").columns)
    plan_columns = set(table_doc("monitoring.what_if_plans").columns)
    templates = [
        (f"rule {r.rule_id}", t, alert_columns) for r in rule_set.rules for t in (r.message_zh, r.message_en)
    ]
    templates += [("data_hold", t, alert_columns) for t in rule_set.data_hold_messages]
    templates += [(f"messages.{k}", t, alert_columns) for k, t in rule_set.messages.items()]
    templates += [(f"what_if.{k}", t, plan_columns) for k, t in rule_set.what_if.items()]
    for where, template, columns in templates:
        unknown = sorted({column for column, _ in slots(template)} - columns)
        if unknown:
            raise RulesError(f"{where}: the message names {unknown}, which are not columns of its row")


def parse_rules(docs: list[tuple[str, dict[str, Any]]]) -> RuleSet:
    """One rule set from one or more parsed files (settings and severities may appear once)."""
    rules: list[Rule] = []
    severities: list[Severity] = []
    settings: dict[str, float] = {}
    notes: dict[str, str] = {}
    hold_messages = ("", "")
    messages: dict[str, str] = {}
    what_if: dict[str, str] = {}
    units: list[dict[str, Any]] = []
    costs: list[dict[str, Any]] = []
    for source, doc in docs:
        messages.update({k: str(v) for k, v in (doc.get("messages") or {}).items()})
        what_if.update({k: str(v) for k, v in (doc.get("what_if") or {}).items() if k != "note"})
        units += [dict(u) for u in doc.get("what_if_units") or []]
        costs += [dict(c) for c in doc.get("unit_costs") or []]
        if doc.get("data_hold"):
            hold = doc["data_hold"]
            hold_messages = (
                str(_need(hold, "message_zh", f"{source}: data_hold")),
                str(_need(hold, "message_en", f"{source}: data_hold")),
            )
        _add_settings(source, doc, settings, notes)
        severities += [
            _severity(entry, f"{source}: severity {entry.get('severity')!r}")
            for entry in doc.get("severities") or []
        ]
        for entry in doc.get("rules") or []:
            rules.append(_rule(entry, f"{source}: rule {entry.get('rule_id')!r}", order=len(rules) + 1))
    rule_set = RuleSet(
        rules,
        severities,
        settings,
        notes,
        hold_messages,
        [s for s, _ in docs],
        messages,
        what_if,
        units,
        costs,
    )
    _check_rule_set(rule_set)
    return rule_set


def load_rules(rules_dir: Path) -> RuleSet:
    paths = sorted(rules_dir.glob("*.yaml"))
    if not paths:
        raise RulesError(f"{rules_dir}: no rules files (*.yaml)")
    docs = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            docs.append((path.name, yaml_files.safe_load(f) or {}))
    return parse_rules(docs)


def message_templates(rule_set: RuleSet) -> dict[str, tuple[str, str]]:
    """The sentences other than the rules' own, by message id: data_hold, also_fired,
    resolved_metric, resolved_stage, what_if_indicator, what_if_composite, what_if_not_needed and
    what_if_not_reachable, each (Chinese, English)."""
    out = {"data_hold": rule_set.data_hold_messages}
    for key in MESSAGE_KEYS[::2]:
        base = key.removesuffix("_zh")
        out[base] = (rule_set.messages[key], rule_set.messages[base + "_en"])
    for key in WHAT_IF_KEYS[::2]:
        base = key.removesuffix("_zh")
        out["what_if_" + base] = (rule_set.what_if[key], rule_set.what_if[base + "_en"])
    return out


def rule_tables(rule_set: RuleSet) -> dict[str, pl.DataFrame]:
    return {
        "alert_settings": pl.DataFrame(
            [
                {"setting_id": k, "value": v, "note": rule_set.setting_notes.get(k, "")}
                for k, v in rule_set.settings.items()
            ],
            schema={"setting_id": pl.String, "value": pl.Float64, "note": pl.String},
        ),
        "alert_severities": pl.DataFrame(
            [vars(s) for s in rule_set.severities],
            schema={"severity": pl.String, "rank": pl.Int32, "name_zh": pl.String, "note": pl.String},
        ),
        "alert_rules": pl.DataFrame(
            [
                {
                    "rule_id": r.rule_id,
                    "name_zh": r.name_zh,
                    "rule_order": r.order,
                    "severity": r.severity,
                    "scope": r.scope,
                    "kind": r.kind,
                    "params": json.dumps(r.params, sort_keys=True),
                    "clear_below": r.clear_below,
                    "run": r.run,
                    "message_zh": r.message_zh,
                    "message_en": r.message_en,
                    "note": r.note,
                }
                for r in rule_set.rules
            ],
            schema={
                "rule_id": pl.String,
                "name_zh": pl.String,
                "rule_order": pl.Int32,
                "severity": pl.String,
                "scope": pl.String,
                "kind": pl.String,
                "params": pl.String,
                "clear_below": pl.Float64,
                "run": pl.String,
                "message_zh": pl.String,
                "message_en": pl.String,
                "note": pl.String,
            },
        ),
        "alert_messages": pl.DataFrame(
            [
                {"message_id": message_id, "message_zh": zh, "message_en": en}
                for message_id, (zh, en) in message_templates(rule_set).items()
            ],
            schema={"message_id": pl.String, "message_zh": pl.String, "message_en": pl.String},
        ),
        "what_if_units": pl.DataFrame(
            [
                {
                    "unit": str(u["unit"]),
                    "shown_unit": str(u["shown_unit"]),
                    "per_shown_unit": float(u["per_shown_unit"]),
                    "step": float(u["step"]),
                    "note": str(u["note"]).strip(),
                }
                for u in rule_set.what_if_units
            ],
            schema={
                "unit": pl.String,
                "shown_unit": pl.String,
                "per_shown_unit": pl.Float64,
                "step": pl.Float64,
                "note": pl.String,
            },
        ),
        "unit_costs": pl.DataFrame(
            [
                {
                    "indicator_id": str(c["indicator_id"]),
                    "unit_cost_wan_yuan": float(c["cost_wan_yuan"]),
                    "cost_basis": str(c["basis"]),
                    "note": " ".join(str(c["note"]).split()),
                }
                for c in rule_set.unit_costs
            ],
            schema={
                "indicator_id": pl.String,
                "unit_cost_wan_yuan": pl.Float64,
                "cost_basis": pl.String,
                "note": pl.String,
            },
        ),
    }


RULE_TABLES = (
    "alert_settings",
    "alert_severities",
    "alert_rules",
    "alert_messages",
    "what_if_units",
    "unit_costs",
)
"""Tables built from the YAML files; each is documented by its sidecar models/marts/<table>.yml."""
