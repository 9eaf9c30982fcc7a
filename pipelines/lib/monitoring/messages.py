"""Which template an alert row or a what-if plan is written with, and the sentence it makes.

The templates are data (models/rules/*.yaml, in the warehouse as marts.alert_rules and
marts.alert_messages). The alert engine writes each row's message_zh/message_en and what_if_zh/en
with these functions; the reports call the same functions with `mark` (pipelines/lib/sentences.py),
so a page's sentence is the stored one with every figure marked with the column it came from.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pipelines.lib.queries import sql
from pipelines.lib.reference.alert_rules import DATA_HOLD, RuleSet, message_templates
from pipelines.lib.sentences import Mark, Words, render

RESOLVED = "resolved"


@dataclass(frozen=True)
class Templates:
    """Every sentence template of the alerts: each rule's own, and the others by message id."""

    rules: Mapping[str, tuple[str, str]]  # rule_id -> (zh, en)
    messages: Mapping[str, tuple[str, str]]  # message id (marts.alert_messages) -> (zh, en)

    @classmethod
    def from_rules(cls, rule_set: RuleSet) -> Templates:
        return cls(
            rules={r.rule_id: (r.message_zh, r.message_en) for r in rule_set.rules},
            messages=message_templates(rule_set),
        )

    @classmethod
    def from_warehouse(cls, con) -> Templates:
        """The templates a warehouse was built with (marts.alert_rules, marts.alert_messages)."""
        rules = con.execute(sql("alerts/rule_templates")).fetchall()
        messages = con.execute(sql("alerts/message_templates")).fetchall()
        return cls(
            rules={rule_id: (zh, en) for rule_id, zh, en in rules},
            messages={message_id: (zh, en) for message_id, zh, en in messages},
        )

    def pick(self, key: tuple[str, str], lang: str) -> str:
        return key[0] if lang == "zh" else key[1]


def alert_template_ids(row: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The templates an alert row's message is made of, in order: ("rule" | "message", id)."""
    if row["status"] == RESOLVED:
        return [("message", "resolved_metric" if row.get("metric_id") else "resolved_stage")]
    if row["rule_id"] == DATA_HOLD:
        return [("message", "data_hold")]
    parts = [("rule", str(row["rule_id"]))]
    if len(row.get("fired_rules") or []) > 1:
        parts.append(("message", "also_fired"))
    return parts


def template_ids(row: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The templates a row's sentence is made of: an alert row's message, or (a row of
    monitoring.what_if_plans) a plan's what-if."""
    return [("message", what_if_template_id(row))] if "plan_metric_id" in row else alert_template_ids(row)


def sentence(
    row: Mapping[str, Any],
    templates: Templates,
    words: Words,
    *,
    lang: str = "zh",
    mark: Mark | None = None,
    literal: Callable[[str], str] = str,
) -> str:
    """A row's sentence (see template_ids), every slot filled from the row."""
    texts = []
    for kind, key in template_ids(row):
        pair = templates.rules[key] if kind == "rule" else templates.messages[key]
        texts.append(render(templates.pick(pair, lang), row, words, lang=lang, mark=mark, literal=literal))
    return "".join(texts)


alert_message = sentence
"""An alert row's message: its top rule's sentence, and which other rules fired."""

what_if_message = sentence
"""A plan row's what-if."""


def what_if_template_id(plan: Mapping[str, Any]) -> str:
    """The what-if template of a plan row (monitoring.what_if_plans)."""
    if not plan["is_needed"]:
        return "what_if_not_needed"
    if plan["plan_null_reason"] is not None:
        return "what_if_not_reachable"
    if plan["metric_id"] == "composite":
        return "what_if_composite"
    return "what_if_indicator"
