"""Sentences from facts: the one place where warehouse values become words and numbers people read.

Every sentence a person reads (an alert message, a what-if, a line of a county page) is a
template kept as data (models/rules/*.yaml, models/glossary_zh.yaml) whose slots name columns of
one warehouse row:

    "{county_name}{stage:label}{metric_id:metric}差异系数 {observed_value:cv}，已达阈值 {threshold:threshold} 的 {ratio_to_threshold:pct}。"

`render` fills the slots from the row and writes each value the way its format says (FORMATS); it
compares, counts and rounds to a verdict nothing: a fact that needs working out is a column. The
alert engine stores the plain sentence (message_zh); the reports render the same template with
`mark`, which wraps every slot in an element naming its table, key and column, so that a test can
check each number on a page against the warehouse.

Words for coded values come from one glossary (Words): the `values:` of models/glossary_zh.yaml,
indicator names from marts.standard_indicators, rule and severity names from marts.alert_rules and
marts.alert_severities. In English (lang="en") a label is the id itself.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from contracts import yaml_files
from pipelines.lib.paths import MODELS_DIR

NONE = "—"
"""How a missing value reads."""

BEIJING = timezone(timedelta(hours=8), "北京时间")

SLOT = re.compile(r"\{(\w+)(?::(\w+))?\}")


# ----------------------------------------------------------------------------- number formats


def missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def fmt_cv(value: float | None) -> str:
    """A coefficient, 3 decimals as published."""
    return NONE if missing(value) else f"{value:.3f}"


def fmt_cv4(value: float | None) -> str:
    """A coefficient to 4 decimals, where two values agree at 3 (0.5224 against a target 0.5225)."""
    return NONE if missing(value) else f"{value:.4f}"


def fmt_num(value: float | int | None) -> str:
    """A count or amount: whole numbers with thousands separators, else two decimals."""
    if missing(value):
        return NONE
    assert value is not None
    return f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:,.2f}"


def fmt_int(value: float | int | None) -> str:
    """A count or a year as written: no separators."""
    return NONE if missing(value) else str(int(value))  # type: ignore[arg-type]


def fmt_pct(value: float | None, decimals: int = 0) -> str:
    if missing(value):
        return NONE
    assert value is not None
    return f"{value * 100:.{decimals}f}%"


def fmt_pct1(value: float | None) -> str:
    return fmt_pct(value, 1)


def fmt_signed(value: float | None, decimals: int = 3) -> str:
    """A change with its sign; one that rounds to zero reads 0.000, never -0.000 or +0.000."""
    if missing(value):
        return NONE
    assert value is not None
    text = f"{value:+.{decimals}f}"
    return text[1:] if float(text) == 0 else text


def fmt_signed4(value: float | None) -> str:
    return fmt_signed(value, 4)


def fmt_plain(value: float | None) -> str:
    """A standard's own number as written in the standard (4.2, 1, 2000)."""
    return NONE if missing(value) else f"{value:g}"


def fmt_threshold(value: float | None) -> str:
    """A CV threshold as the documents print it (0.65, 0.50)."""
    return NONE if missing(value) else f"{value:.2f}"


def fmt_value(value: float | None) -> str:
    """An indicator value to three significant digits (yuan per student, teachers per student)."""
    if missing(value):
        return NONE
    assert value is not None
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def fmt_amount(value: float | None) -> str:
    """A what-if amount in whole units or tenths (3 人, 1,250 m², 12.5 万元)."""
    if missing(value):
        return NONE
    assert value is not None
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def fmt_date(value: Any) -> str:
    """A moment as its Beijing date (China has one time zone and no daylight saving)."""
    if missing(value):
        return NONE
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(BEIJING)
        return value.strftime("%Y-%m-%d")
    return str(value)


def fmt_z(value: float | None) -> str:
    return NONE if missing(value) else f"{value:.1f}"


NUMBER_FORMATS: dict[str, Callable[[Any], str]] = {
    "cv": fmt_cv,
    "cv4": fmt_cv4,
    "num": fmt_num,
    "int": fmt_int,
    "year": fmt_int,
    "pct": fmt_pct,
    "pct1": fmt_pct1,
    "signed": fmt_signed,
    "signed4": fmt_signed4,
    "plain": fmt_plain,
    "threshold": fmt_threshold,
    "value": fmt_value,
    "amount": fmt_amount,
    "z": fmt_z,
    "date": fmt_date,
}
"""Formats of a number; every other format is a word (WORD_FORMATS)."""


# ----------------------------------------------------------------------------- words


def _key(value: Any) -> str:
    """A value as a key of the glossary's `values:` ("true", "false", "null" for booleans)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class Words:
    """The Chinese words of every coded value and column (see the module docstring)."""

    values: Mapping[str, Mapping[str, str]]  # column -> value -> 中文 (glossary `values:`)
    columns: Mapping[str, str]  # column -> 中文 (glossary `columns:`)
    indicators: Mapping[tuple[str, str], str] = field(default_factory=dict)  # (standard, id) -> 中文
    rules: Mapping[str, str] = field(default_factory=dict)  # rule_id -> 中文
    severities: Mapping[str, str] = field(default_factory=dict)  # severity -> 中文
    severity_rank: Mapping[str, int] = field(default_factory=dict)
    phrases: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # glossary `phrases:`

    def phrase(self, column: str, value: Any) -> str:
        """The sentence fragment for a column's value (a template over the same row)."""
        options = self.phrases.get(column, {})
        try:
            # `default` stands for every value the column's phrases do not name
            return options[_key(value)] if _key(value) in options else options["default"]
        except KeyError:
            raise KeyError(f"models/glossary_zh.yaml has no phrase for {column} = {value!r}") from None

    def value(self, column: str, value: Any) -> str:
        """The word for a column's value; the value itself where the glossary has none."""
        if column == "severity" and value in self.severities:
            return self.severities[value]
        words = self.values.get(column, {})
        key = _key(value)
        if key in words:
            return words[key]
        return NONE if value is None else str(value)

    def stage(self, stage: str) -> str:
        return self.value("stage", stage)

    def standard(self, standard_id: str) -> str:
        return self.value("standard_id", standard_id)

    def status(self, status: str) -> str:
        return self.value("status", status)

    def severity(self, severity: str | None) -> str:
        return self.value("severity", severity or "none")

    def metric(self, standard_id: str | None, metric_id: str | None) -> str:
        """An indicator's name, or the composite's ("综合"); empty for no metric."""
        if metric_id is None:
            return ""
        if (standard_id or "", metric_id) in self.indicators:
            return self.indicators[(standard_id or "", metric_id)]
        return self.value("metric_id", metric_id)

    def rule(self, rule_id: str) -> str:
        return self.rules.get(rule_id) or self.severities.get(rule_id) or rule_id

    def column(self, column: str, own: Mapping[str, str] | None = None) -> str:
        """A column's Chinese header: the table's own name (a sidecar's columns_zh) over the glossary."""
        return (own or {}).get(column) or self.columns.get(column) or column


def read_glossary(models_dir: Path = MODELS_DIR) -> dict[str, Any]:
    with open(models_dir / "glossary_zh.yaml", encoding="utf-8") as f:
        return yaml_files.safe_load(f) or {}


def glossary_words(models_dir: Path = MODELS_DIR) -> Words:
    """The glossary's words alone (no warehouse tables: indicator, rule and severity names empty)."""
    doc = read_glossary(models_dir)
    values = {
        column: {_key(k): str(v) for k, v in (mapping or {}).items()}
        for column, mapping in (doc.get("values") or {}).items()
    }
    phrases = {
        column: {_key(k): str(v) for k, v in (mapping or {}).items()}
        for column, mapping in (doc.get("phrases") or {}).items()
    }
    return Words(
        values=values, columns={k: str(v) for k, v in (doc.get("columns") or {}).items()}, phrases=phrases
    )


def read_words(con, models_dir: Path = MODELS_DIR) -> Words:
    """The glossary plus the names the warehouse holds (indicators, rules, severities)."""
    from pipelines.lib.queries import sql
    from pipelines.lib.warehouse import table_exists

    base = glossary_words(models_dir)

    def rows(relation: str, statement: str) -> list[tuple]:
        schema, table = relation.split(".")
        return con.execute(sql(statement)).fetchall() if table_exists(con, schema, table) else []

    severities = rows("marts.alert_severities", "outputs/severity_names")
    return Words(
        values=base.values,
        columns=base.columns,
        indicators={(s, i): n for s, i, n in rows("marts.standard_indicators", "outputs/indicator_names")},
        rules=dict(rows("marts.alert_rules", "outputs/rule_names")),
        severities={severity: name for severity, _, name in severities},
        severity_rank={severity: int(rank) for severity, rank, _ in severities},
        phrases=base.phrases,
    )


# ----------------------------------------------------------------------------- rendering


def _join(items: Iterable[str]) -> str:
    return "、".join(items)


Mark = Callable[[str, str, str], str]
"""mark(column, fmt, text) -> the text as the page shows it (an element naming its source)."""


def format_value(row: Mapping[str, Any], column: str, fmt: str | None, words: Words, lang: str = "zh") -> str:
    """One slot: the row's column written in the format `fmt` (see the module docstring)."""
    value = row.get(column)
    if fmt in NUMBER_FORMATS:
        return NUMBER_FORMATS[fmt](value)
    if fmt is None or fmt == "text":
        return NONE if missing(value) else str(value)
    english = lang != "zh"
    if fmt == "label":
        return (NONE if value is None else str(value)) if english else words.value(column, value)
    if fmt == "columns":
        items = list(value or [])
        return ", ".join(items) if english else _join(words.column(c) for c in items)
    if fmt == "labels":
        # a list, or the "a; b" text some tables keep (county_data_status.provisional_reason)
        items = [v for v in value.split("; ") if v] if isinstance(value, str) else list(value or [])
        return ", ".join(items) if english else _join(words.value(column, v) for v in items)
    if fmt == "severity":
        return str(value) if english else words.severity(value)
    if fmt == "metric":
        return str(value or "") if english else words.metric(row.get("standard_id"), value)
    if fmt == "metrics":
        items = list(value or [])
        return ", ".join(items) if english else _join(words.metric(row.get("standard_id"), m) for m in items)
    if fmt in ("rules", "other_rules"):
        items = list(value or [])[1:] if fmt == "other_rules" else list(value or [])
        return _join(words.rule(r) for r in items)
    if fmt == "years":  # 2023–2024 for consecutive years, else 2023、2025
        years = [int(v) for v in value or []]
        if len(years) > 1 and years == list(range(years[0], years[-1] + 1)):
            return f"{years[0]}–{years[-1]}"
        return _join(str(y) for y in years)
    if fmt in ("ids", "other_ids"):
        items = list(value or [])[1:] if fmt == "other_ids" else list(value or [])
        return ", ".join(str(v) for v in items)
    raise ValueError(f"unknown format {fmt!r} for slot {column!r}")


def render(
    template: str,
    row: Mapping[str, Any],
    words: Words,
    *,
    lang: str = "zh",
    mark: Mark | None = None,
    literal: Callable[[str], str] = str,
) -> str:
    """The template with every {column[:format]} slot filled from the row.

    `phrase` slots are the glossary's words for the value, themselves rendered as a template over
    the same row (e.g. projection_null_reason null: "按当前趋势预计 {projected_breach_year:year} 年…").
    With `mark`, each filled slot is passed through mark(column, fmt, text) and the template's own
    text through `literal` (the reports pass an HTML escape and their source attributes).
    """
    out: list[str] = []
    position = 0
    for match in SLOT.finditer(template):
        out.append(literal(template[position : match.start()]))
        position = match.end()
        column, fmt = match.group(1), match.group(2)
        if column not in row:
            raise KeyError(f"slot {{{column}}} has no column in the row (columns: {', '.join(row)})")
        if fmt == "phrase":
            if lang != "zh":
                out.append(literal(str(row.get(column) or "")))
            else:
                phrase = words.phrase(column, row.get(column))
                out.append(render(phrase, row, words, lang=lang, mark=mark, literal=literal))
            continue
        text = format_value(row, column, fmt, words, lang)
        out.append(mark(column, fmt or "text", text) if mark else literal(text))
    out.append(literal(template[position:]))
    return "".join(out)


def slots(template: str) -> list[tuple[str, str | None]]:
    """The (column, format) slots of a template, in order."""
    return [(m.group(1), m.group(2)) for m in SLOT.finditer(template)]
