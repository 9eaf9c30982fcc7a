"""The alert list as people and scripts read it: `junheng alerts` and the demo summary (the
new-alert files the run-status sensor leaves in the reports folder are pipelines.lib.outputs.excel's).

Chinese by default (the glossary's words and headers, pipelines/lib/sentences.py), English with
lang="en" (ids and English messages). Counts are the warehouse's (monitoring.year_summary), the
same the province overview prints: active alerts are problems, resolved ones are counted apart.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata

import duckdb
import polars as pl

from pipelines.lib.catalog import table_doc
from pipelines.lib.monitoring.alerts import ACTIVE, ALERTS_RELATION, LIST_COLUMNS, with_rule_names
from pipelines.lib.queries import sql
from pipelines.lib.reference.alert_rules import WARNING
from pipelines.lib.sentences import Words, format_value, read_words, render
from pipelines.lib.warehouse import query_frame, scalar, table_exists

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class NoAlerts(LookupError):
    """The warehouse has no alert table (or no alerts for the year asked)."""


def safe_cell(value: object) -> object:
    """Text that a spreadsheet would read as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def latest_year(con: duckdb.DuckDBPyConnection) -> int | None:
    if not table_exists(con, "monitoring", "backsliding_alerts"):
        return None
    year = scalar(con, sql("alerts/latest_year"))
    return None if year is None else int(year)  # type: ignore[call-overload]


def _min_rank(con: duckdb.DuckDBPyConnection, min_severity: str | None) -> int:
    if not min_severity:
        return -1
    rank = scalar(con, sql("alerts/severity_rank"), {"severity": min_severity})
    if rank is None:
        raise ValueError(f"unknown severity {min_severity!r}")
    return int(rank)  # type: ignore[call-overload]


def read_alert_list(
    con: duckdb.DuckDBPyConnection,
    census_year: int | None = None,
    min_severity: str | None = None,
    county_code: str | None = None,
    status: str | None = None,
    alert_ids: list[str] | None = None,
) -> pl.DataFrame:
    """Alerts of one census year (the latest by default), worst first.

    status: new, continuing, resolved, or active (new and continuing); all by default. alert_ids:
    only these alerts (the ones a run announces).
    """
    if not table_exists(con, "monitoring", "backsliding_alerts"):
        raise NoAlerts("no monitoring.backsliding_alerts table: run the pipeline first (junheng run)")
    year = census_year or latest_year(con)
    statuses = (
        list(ACTIVE) if status == "active" else [status] if status else ["new", "continuing", "resolved"]
    )
    params = {
        "census_year": year,
        "min_rank": _min_rank(con, min_severity),
        "statuses": statuses,
        "county_code": county_code,
        "alert_ids": alert_ids,
    }
    alerts = query_frame(con, sql("alerts/alert_list"), params)
    return with_rule_names(alerts, dict(con.execute(sql("alerts/rule_names")).fetchall())).select(
        LIST_COLUMNS
    )


def display_width(text: str) -> int:
    """Terminal columns: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    gap = " " * max(0, width - display_width(text))
    return gap + text if right else text + gap


TABLE_COLUMNS = [
    # column, format (pipelines/lib/sentences.py), right-aligned
    ("severity", "severity", False),
    ("status", "label", False),
    ("county_code", None, False),
    ("county_name", None, False),
    ("stage", "label", False),
    ("standard_id", "label", False),
    ("evidence_metric_id", "metric", False),
    ("rule_name_zh", None, False),
    ("observed_value", "cv", True),
    ("threshold", "threshold", True),
    ("change", "signed", True),
    ("projected_breach_year", "year", True),
]
"""The terminal table: one line per alert, its message (and what-if) below it."""


def format_table(alerts: pl.DataFrame, words: Words, lang: str = "zh", messages: bool = True) -> str:
    """An aligned terminal table (Chinese headers and words, or English ids with lang="en")."""
    if alerts.is_empty():
        return "没有预警" if lang == "zh" else "no alerts"
    columns = [
        ("rule_id", None, False) if lang != "zh" and column == "rule_name_zh" else (column, fmt, right)
        for column, fmt, right in TABLE_COLUMNS
    ]
    records = alerts.to_dicts()
    rows = [[format_value(r, c, f, words, lang) for c, f, _ in columns] for r in records]
    own = table_doc(ALERTS_RELATION).columns_zh  # the alert table's own names (observed_value: 差异系数)
    headers = [words.column(c, own) if lang == "zh" else c for c, _, _ in columns]
    widths = [
        max(display_width(x) for x in [headers[i], *(row[i] for row in rows)]) for i in range(len(headers))
    ]
    lines = ["  ".join(_pad(h, w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row, record in zip(rows, records, strict=True):
        lines.append(
            "  ".join(
                _pad(x, w, right) for x, w, (_, _, right) in zip(row, widths, columns, strict=True)
            ).rstrip()
        )
        if messages:
            lines.append(f"    {record['message_zh' if lang == 'zh' else 'message_en']}")
            if lang == "zh" and record.get("what_if_zh"):
                lines.append(f"    {record['what_if_zh']}")
    return "\n".join(lines)


YEAR_LINE = {
    "zh": (
        "{census_year:year} 年：有效预警 {n_active_alerts:int} 条（新增 {n_new_alerts:int}、持续 "
        "{n_continuing_alerts:int}），涉及 {n_counties_with_active_alerts:int} 个已认定县；"
        "已解除 {n_resolved_alerts:int} 条（不计入有效预警）。"
    ),
    "en": (
        "census year {census_year:year}: {n_active_alerts:int} active alerts ({n_new_alerts:int} new, "
        "{n_continuing_alerts:int} continuing) in {n_counties_with_active_alerts:int} certified counties; "
        "{n_resolved_alerts:int} resolved (not counted as active)."
    ),
}
"""The closing line of `junheng alerts` and the head of the demo's summary (monitoring.year_summary)."""


def year_line(con: duckdb.DuckDBPyConnection, census_year: int, words: Words, lang: str = "zh") -> str:
    frame = query_frame(con, sql("alerts/year_summary"), {"census_year": census_year})
    if frame.is_empty():
        return ""
    return render(YEAR_LINE[lang], frame.row(0, named=True), words, lang=lang)


def summary(
    con: duckdb.DuckDBPyConnection, census_year: int | None = None, limit: int = 30, lang: str = "zh"
) -> str:
    """A few lines for the end of `junheng demo`: the year's alert counts and, per county, stage
    and standard, its worst active alert at warning or worse."""
    year = census_year or latest_year(con)
    if year is None:
        return "没有预警表" if lang == "zh" else "no alerts table"
    words = read_words(con)
    params = {"census_year": year, "min_rank": _min_rank(con, WARNING), "limit": limit}
    worst = with_rule_names(
        query_frame(con, sql("alerts/worst_per_group"), params),
        dict(con.execute(sql("alerts/rule_names")).fetchall()),
    )
    head = year_line(con, year, words, lang)
    if worst.is_empty():
        return head
    n_more = int(worst["n_more"][0])
    title = (
        "各县、学段、标准最严重的预警（预警及以上）："
        if lang == "zh"
        else "worst alert per county, stage and standard (warning or worse):"
    )
    body = title + "\n" + format_table(worst, words, lang)
    more = ""
    if n_more:  # the limit left some out: say how many and where to see them
        more = (
            f"\n… 另有 {n_more} 条：junheng alerts --year {year}"
            if lang == "zh"
            else f"\n… {n_more} more: junheng alerts --year {year}"
        )
    return f"{head}\n{body}{more}"


def to_csv(alerts: pl.DataFrame, headers: list[str] | None = None) -> str:
    """CSV with a header row; text that a spreadsheet would run as a formula is neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(headers or alerts.columns)
    for row in alerts.iter_rows():
        writer.writerow(["" if v is None else safe_cell(v) for v in row])
    return out.getvalue()


def to_json(alerts: pl.DataFrame) -> str:
    return json.dumps(alerts.to_dicts(), ensure_ascii=False, indent=2)
