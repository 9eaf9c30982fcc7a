"""The alert list as people and scripts read it: `junheng alerts`, the demo summary and the
new-alert files the run-status sensor leaves in the reports folder."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from pathlib import Path

import duckdb
import polars as pl

from pipelines.lib.monitoring.alerts import ACTIVE, LIST_COLUMNS, with_rule_names
from pipelines.lib.queries import sql
from pipelines.lib.reference.alert_rules import WARNING
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


def read_alert_list(
    con: duckdb.DuckDBPyConnection,
    census_year: int | None = None,
    min_severity: str | None = None,
    county_code: str | None = None,
    status: str | None = None,
) -> pl.DataFrame:
    """Alerts of one census year (the latest by default), worst first.

    status: new, continuing, resolved, or active (new and continuing); all by default.
    """
    if not table_exists(con, "monitoring", "backsliding_alerts"):
        raise NoAlerts("no monitoring.backsliding_alerts table: run the pipeline first (junheng run)")
    year = census_year or latest_year(con)
    min_rank = -1
    if min_severity:
        rank = scalar(con, sql("alerts/severity_rank"), {"severity": min_severity})
        if rank is None:
            raise ValueError(f"unknown severity {min_severity!r}")
        min_rank = int(rank)  # type: ignore[call-overload]
    statuses = (
        list(ACTIVE) if status == "active" else [status] if status else ["new", "continuing", "resolved"]
    )
    params = {"census_year": year, "min_rank": min_rank, "statuses": statuses, "county_code": county_code}
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
    ("severity", "级别", False),
    ("status", "状态", False),
    ("county_code", "县区代码", False),
    ("county_name", "县区", False),
    ("stage", "学段", False),
    ("standard_id", "标准", False),
    ("metric_id", "指标", False),
    ("rule_name_zh", "规则", False),
    ("observed_value", "差异系数", True),
    ("threshold", "阈值", True),
    ("change", "年变化", True),
    ("projected_breach_year", "预计超标", True),
]


def _cell(column: str, value: object, record: dict) -> str:
    if column == "metric_id" and value is None and record.get("evidence_metric_id"):
        return f"({record['evidence_metric_id']})"  # a county-stage rule, shown with its worst metric
    if value is None:
        return "—" if column in ("change", "projected_breach_year", "metric_id") else ""
    if column == "observed_value":
        return f"{value:.3f}"
    if column == "threshold":
        return f"{value:g}"
    if column == "change":
        return f"{value:+.3f}"
    return str(value)


def format_table(alerts: pl.DataFrame, messages: bool = True) -> str:
    """An aligned terminal table (Chinese headers and names), with each alert's message below it."""
    if alerts.is_empty():
        return "没有预警 / no alerts"
    rows = [[_cell(c, r[c], r) for c, _, _ in TABLE_COLUMNS] for r in alerts.iter_rows(named=True)]
    headers = [h for _, h, _ in TABLE_COLUMNS]
    widths = [
        max(display_width(x) for x in [headers[i], *(row[i] for row in rows)]) for i in range(len(headers))
    ]
    lines = ["  ".join(_pad(h, w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row, record in zip(rows, alerts.iter_rows(named=True), strict=True):
        lines.append(
            "  ".join(
                _pad(x, w, right) for x, w, (_, _, right) in zip(row, widths, TABLE_COLUMNS, strict=True)
            ).rstrip()
        )
        if messages:
            lines.append(f"    {record['message_zh']}")
            if record.get("what_if_zh"):
                lines.append(f"    {record['what_if_zh']}")
    return "\n".join(lines)


def to_csv(alerts: pl.DataFrame) -> str:
    """CSV with a header row; text that a spreadsheet would run as a formula is neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(alerts.columns)
    for row in alerts.iter_rows():
        writer.writerow(["" if v is None else safe_cell(v) for v in row])
    return out.getvalue()


def to_json(alerts: pl.DataFrame) -> str:
    return json.dumps(alerts.to_dicts(), ensure_ascii=False, indent=2)


def summary(con: duckdb.DuckDBPyConnection, census_year: int | None = None, limit: int = 30) -> str:
    """A few lines for the end of `junheng demo`: active alerts by severity and the worst ones."""
    year = census_year or latest_year(con)
    if year is None:
        return "no alerts table"
    frame = read_alert_list(con, year, status="active")
    counts = frame.group_by("severity").len()
    by_severity = dict(counts.iter_rows())
    ladder = con.execute(sql("alerts/ladder_worst_first")).fetchall()
    severities = [severity for severity, _ in ladder]
    summarised = [s for s, rank in ladder if rank >= dict(ladder)[WARNING]]  # warning or worse
    counties = frame.select("county_code").n_unique()
    head = (
        f"{year} 年预警 / alerts: {frame.height} active in {counties} certified counties ("
        + ", ".join(f"{s} {by_severity.get(s, 0)}" for s in severities)
        + ")"
    )
    # one line per county, stage and standard: its worst alert (the list is already worst first)
    worst = frame.filter(pl.col("severity").is_in(summarised)).unique(
        ["county_code", "stage", "standard_id"], keep="first", maintain_order=True
    )
    shown = worst.head(limit)
    body = (
        "worst alert per county, stage and standard:\n" + format_table(shown, messages=True)
        if not shown.is_empty()
        else f"no {', '.join(summarised)} alerts"
    )
    more = f"\n… {worst.height - limit} more: junheng alerts --year {year}" if worst.height > limit else ""
    return f"{head}\n{body}{more}"


def write_new_alerts_file(
    records: list[dict], folder: Path, census_year: int, run_id: str, total: int
) -> Path:
    """A CSV of one run's new alerts (UTF-8 with BOM, so spreadsheet programs show the Chinese)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"new_alerts_{census_year}_{run_id[:8]}.csv"
    frame = pl.DataFrame(records, schema=None if records else dict.fromkeys(LIST_COLUMNS, pl.String))
    text = to_csv(frame)
    if total > len(records):
        text += (
            f"# {total - len(records)} more new alerts: junheng alerts --year {census_year} --status new\n"
        )
    temporary = path.with_suffix(".csv.tmp")
    temporary.write_text(text, encoding="utf-8-sig")
    temporary.replace(path)
    return path
