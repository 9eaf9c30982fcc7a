"""xlsx exports for monitoring staff: the alert list (`junheng alerts --format xlsx`), the county
balance table of one census year (`junheng report`), and a run's new alerts as CSV in the same
words and rounding (the file the new_alerts_file sensor leaves in the reports folder).

The files travel by e-mail and shared drives and get opened in whatever spreadsheet program is at
hand, so three rules hold for every cell:
- text is written with write_string, never write(), and text that a spreadsheet would read as a
  formula (= + - @, a leading tab or CR) gets alert_list.safe_cell's apostrophe: opening the file
  never runs anything;
- numbers stay numbers (written with write_number; the number format rounds the display, not the
  value), booleans read 是/否, nulls are empty cells;
- the file appears under its final name only when complete (written to a temporary file in the
  same folder, then os.replace).

Headers are the glossary's Chinese column names (models/glossary_zh.yaml, or the table's own name
from its sidecar's columns_zh), the same words the data dictionary, the HTML reports and
`junheng alerts` use. Codes become the glossary's words (stages, standards, statuses, verdicts),
severities and rules the rules file's names, indicators their names in marts.standard_indicators;
a code without a word is shown as the code.
"""

from __future__ import annotations

import csv
import io
import math
import os
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

from pipelines.lib.catalog import table_doc
from pipelines.lib.monitoring.alert_list import display_width, latest_year, read_alert_list, safe_cell
from pipelines.lib.monitoring.alerts import LIST_COLUMNS
from pipelines.lib.queries import sql
from pipelines.lib.sentences import Words, read_words
from pipelines.lib.warehouse import query_frame, scalar, table_exists

YES, NO = "是", "否"

CV = "0.000"
SIGNED_CV = "+0.000;-0.000;0.000"
# Excel number format -> how the same value reads, for sizing the column to its content.
NUMBER_FORMATS: dict[str, str] = {CV: "{:.3f}", SIGNED_CV: "{:+.3f}", "0.0%": "{:.1%}", "0.00": "{:.2f}"}
# Float columns and their display format (the stored value keeps full precision).
FLOAT_FORMATS: dict[str, str] = {
    "observed_value": CV,
    "threshold": CV,
    "margin": SIGNED_CV,
    "change": SIGNED_CV,
    "slope": SIGNED_CV,
    "composite_cv": CV,
    "max_indicator_cv": CV,
    "cv_threshold": CV,
    "cv": CV,
    "compliant_share": "0.0%",
    "mean_value": "0.00",
    "sd_value": "0.00",
}

MIN_WIDTH, MAX_WIDTH, PADDING = 6, 60, 3  # padding leaves room for the autofilter button
HEADER_WIDTH = 24

# The alert list's columns, as read_alert_list returns them; indicator_id is left out (metric_id
# already names the indicator of a per-indicator alert) and the alert id goes last.
ALERT_SHEET_COLUMNS = [c for c in LIST_COLUMNS if c not in ("alert_id", "indicator_id")] + ["alert_id"]


class NoBalance(LookupError):
    """The warehouse has no county balance table, or no rows for the census year asked."""


@dataclass(frozen=True)
class Sheet:
    name: str
    frame: pl.DataFrame  # columns in display order, codes already in words
    words: Words
    relation: str  # the table the rows come from (its sidecar's columns_zh name some columns)
    headers: dict[str, str] | None = None  # headers of columns no table has (the wide sheet)
    formats: dict[str, str] | None = None  # number formats of those columns

    def header(self, column: str) -> str:
        """The column's Chinese name (the glossary's, or the table's own); a column with none is
        a programming error (KeyError), never an English header."""
        if self.headers and column in self.headers:
            return self.headers[column]
        own = table_doc(self.relation).columns_zh
        if column not in own and column not in self.words.columns:
            raise KeyError(
                f"{column}: no Chinese name in models/glossary_zh.yaml or {self.relation}'s sidecar"
            )
        return self.words.column(column, own)

    def number_format(self, column: str) -> str | None:
        return (self.formats or {}).get(column) or FLOAT_FORMATS.get(column)


SIGNIFICANT_COLUMNS = ("mean_value", "sd_value")
"""Means and standard deviations are shown to 3 significant digits (师生比 0.0453, 图书 43.3,
设备 3,353): a fixed number of decimals shows a teacher ratio as 0.05 and yuan as 3353.25."""


def significant_format(value: float, digits: int = 3) -> str:
    """An Excel number format showing `value` to `digits` significant digits."""
    if value == 0 or not math.isfinite(value):
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    return "#,##0" if decimals == 0 else "0." + "0" * decimals


# --- words ---------------------------------------------------------------------------------------

CODED = ("stage", "standard_id", "status", "cv_rule", "judged_by", "null_reason", "area_level", "comparison")
"""Columns whose codes are written as the glossary's words."""


def _metric_name(words: Words, column: str) -> Callable[[dict], str | None]:
    def name(row: dict) -> str | None:
        return words.metric(row["standard_id"], row[column]) or None

    return name


def _value_word(words: Words, column: str) -> Callable[[Any], str]:
    def word(value: Any) -> str:
        return words.value(column, value)

    return word


def in_words(frame: pl.DataFrame, words: Words, metric_columns: Iterable[str] = ()) -> pl.DataFrame:
    """Codes, severities, verdicts and indicator ids as words (formatting only: each value is
    looked up, nothing is worked out)."""
    exprs = []
    for column in frame.columns:
        dtype = frame.schema[column]
        if column in metric_columns:
            exprs.append(
                pl.struct("standard_id", column)
                .map_elements(_metric_name(words, column), return_dtype=pl.String)
                .alias(column)
            )
        elif column == "severity":
            exprs.append(pl.col(column).map_elements(words.severity, return_dtype=pl.String))
        elif column in CODED or (dtype == pl.Boolean and column in words.values):
            exprs.append(
                pl.col(column).map_elements(
                    _value_word(words, column), return_dtype=pl.String, skip_nulls=False
                )
            )
        elif dtype == pl.List(pl.String) and column in words.values:
            exprs.append(
                pl.col(column)
                .list.eval(pl.element().replace_strict(dict(words.values[column]), default=pl.element()))
                .list.join("、")
            )
    return frame.with_columns(exprs) if exprs else frame


# --- sheets ----------------------------------------------------------------------------------------


def alert_sheet(alerts: pl.DataFrame, words: Words) -> Sheet:
    frame = in_words(alerts, words, ["metric_id", "evidence_metric_id"])
    return Sheet("预警清单", frame.select(ALERT_SHEET_COLUMNS), words, "monitoring.backsliding_alerts")


PRINT_COLUMNS = [
    "severity",
    "status",
    "county_code",
    "county_name",
    "stage",
    "standard_id",
    "rule_name_zh",
    "message_zh",
]
"""The alert list as it is read on paper: who, how bad, and the sentence (the rest is on the first sheet)."""


def alert_print_sheet(alerts: pl.DataFrame, words: Words) -> Sheet:
    """The alert list's printed form: eight columns, the message wrapped, so that a landscape A4
    page holds it at a readable size (the full sheet's 25 columns would shrink to a few points)."""
    frame = in_words(alerts, words, ["metric_id", "evidence_metric_id"])
    return Sheet("打印版", frame.select(PRINT_COLUMNS), words, "monitoring.backsliding_alerts")


def balance_year(con: duckdb.DuckDBPyConnection, census_year: int | None) -> int:
    if not table_exists(con, "marts", "county_balance"):
        raise NoBalance("no marts.county_balance table: run the pipeline first (junheng run)")
    if census_year is not None:
        return census_year
    year = scalar(con, sql("outputs/latest_balance_year"))
    if year is None:
        raise NoBalance("marts.county_balance is empty: run the pipeline first (junheng run)")
    return int(year)  # type: ignore[call-overload]


def balance_sheets(con: duckdb.DuckDBPyConnection, census_year: int, words: Words) -> list[Sheet]:
    """The county balance of one year and the indicator CVs behind it."""
    balance_raw = query_frame(con, sql("outputs/balance_sheet"), {"census_year": census_year})
    if balance_raw.is_empty():
        raise NoBalance(f"no county balance for census year {census_year}")
    balance = in_words(balance_raw, words, ["max_indicator_id"])
    raw_cv = query_frame(con, sql("outputs/indicator_cv_sheet"), {"census_year": census_year})
    indicator_cv = in_words(raw_cv.drop("indicator_order"), words, ["indicator_id"])
    wide = [wide_cv_sheet(raw_cv, balance_raw, standard_id, words) for standard_id in _standards(raw_cv)]
    return [
        Sheet("县域均衡", balance, words, "marts.county_balance"),
        Sheet("指标差异系数", indicator_cv, words, "marts.county_indicator_cv"),
        *wide,
        *checklist_sheets(con, census_year, words),
    ]


def checklist_sheets(con: duckdb.DuckDBPyConnection, census_year: int, words: Words) -> list[Sheet]:
    """The evaluation checklist of every county (marts.county_checklist) and its counts per county
    and for the province (marts.county_checklist_summary); none before the checklist is built."""
    if not table_exists(con, "marts", "county_checklist"):
        return []
    params = {"census_year": census_year}
    rows = in_words(query_frame(con, sql("outputs/checklist_sheet"), params), words)
    summary = in_words(query_frame(con, sql("outputs/checklist_summary_sheet"), params), words)
    return [
        Sheet(
            "督导评估清单",
            rows,
            words,
            "marts.county_checklist",
            headers={"shown_value": "检查值", "shown_standard": "标准值"},
            formats={"shown_value": "#,##0.###", "shown_standard": "#,##0.###"},
        ),
        Sheet("督导评估清单汇总", summary, words, "marts.county_checklist_summary"),
    ]


def _standards(frame: pl.DataFrame) -> list[str]:
    return sorted(frame["standard_id"].unique().to_list())


def wide_cv_sheet(indicator_cv: pl.DataFrame, balance: pl.DataFrame, standard_id: str, words: Words) -> Sheet:
    """The official summary table's shape (表Ⅲ): one row per county and stage, every indicator's CV
    side by side in the standard's order, then the composite, the threshold and the verdict."""
    cv = indicator_cv.filter(pl.col("standard_id") == standard_id)
    order = cv.select("indicator_id", "indicator_order").unique().sort("indicator_order", "indicator_id")
    indicators = order["indicator_id"].unique(maintain_order=True).to_list()
    wide = cv.pivot(on="indicator_id", index=["county_code", "county_name", "stage"], values="cv")
    verdict = balance.filter(pl.col("standard_id") == standard_id).select(
        "county_code", "stage", "composite_cv", "cv_threshold", "meets_standard"
    )
    frame = (
        wide.join(verdict, on=["county_code", "stage"], how="left")
        .select(
            "county_code",
            "county_name",
            "stage",
            *indicators,
            "composite_cv",
            "cv_threshold",
            "meets_standard",
        )
        .sort("county_code", pl.col("stage").replace_strict({"primary": 0, "junior": 1}, default=2))
    )
    frame = in_words(frame.with_columns(pl.lit(standard_id).alias("standard_id")), words).drop("standard_id")
    headers = {i: f"{words.metric(standard_id, i)}差异系数" for i in indicators}
    return Sheet(
        f"{words.standard(standard_id)}差异系数表",
        frame,
        words,
        "marts.county_balance",
        headers,
        dict.fromkeys(indicators, CV),
    )


# --- writing ---------------------------------------------------------------------------------------


def _shown(value: object, number_format: str | None) -> str:
    """The text a spreadsheet shows for a cell: rounded as its number format rounds it."""
    if not isinstance(value, float) or number_format is None:
        return str(value)
    if number_format in NUMBER_FORMATS:
        return NUMBER_FORMATS[number_format].format(value)
    if number_format == "#,##0":
        return f"{value:,.0f}"
    if number_format.startswith("0.") and set(number_format[2:]) == {"0"}:
        return f"{value:.{len(number_format) - 2}f}"
    return str(value)


def _float_format(sheet: Sheet, column: str, value: float) -> str | None:
    """The number format of a float cell: 3 significant digits for means and deviations, else the
    column's."""
    return significant_format(value) if column in SIGNIFICANT_COLUMNS else sheet.number_format(column)


def sheet_csv(sheet: Sheet) -> str:
    """The sheet as CSV text: its Chinese headers, and every value as the sheet shows it (rounded by
    its number format, 是/否, codes in words; nothing a spreadsheet would run as a formula)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([sheet.header(column) for column in sheet.frame.columns])
    for values in sheet.frame.iter_rows():
        cells = []
        for column, value in zip(sheet.frame.columns, values, strict=True):
            if value is None or (isinstance(value, float) and not math.isfinite(value)):
                cells.append("")
            elif isinstance(value, bool):
                cells.append(YES if value else NO)
            elif isinstance(value, float):
                cells.append(_shown(value, _float_format(sheet, column, value)))
            else:
                cells.append(str(safe_cell(str(value))))
        writer.writerow(cells)
    return out.getvalue()


def column_width(header: str, shown: Iterable[str]) -> float:
    """Display width of the widest cell (CJK characters count two), padded and capped; a header
    counts up to HEADER_WIDTH (a longer one wraps, the header row's format wraps text)."""
    widest = max([min(display_width(header), HEADER_WIDTH), *(display_width(text) for text in shown)])
    return float(min(MAX_WIDTH, max(MIN_WIDTH, widest + PADDING)))


def write_sheet(workbook: xlsxwriter.Workbook, sheet: Sheet) -> None:
    """One sheet: bold Chinese headers, frozen header row, autofilter, columns sized to content,
    long texts wrapped, landscape A4 printed fit to the page width with the header on every page,
    and no "number stored as text" marks on codes."""
    worksheet = workbook.add_worksheet(sheet.name)
    bold = workbook.add_format({"bold": True, "bg_color": "#EEEEEE", "bottom": 1, "text_wrap": True})
    wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
    number_formats: dict[str, Any] = {}
    columns = sheet.frame.columns
    long_text = {
        column
        for column, dtype in sheet.frame.schema.items()
        if dtype == pl.String
        and any(display_width(v) + PADDING > MAX_WIDTH for v in sheet.frame[column].drop_nulls().to_list())
    }
    shown: list[list[str]] = [[] for _ in columns]
    for col, column in enumerate(columns):
        worksheet.write_string(0, col, sheet.header(column), bold)
    for row, values in enumerate(sheet.frame.iter_rows(), start=1):
        for col, (column, value) in enumerate(zip(columns, values, strict=True)):
            if value is None:
                continue
            if isinstance(value, bool):
                text = YES if value else NO
                worksheet.write_string(row, col, text)
            elif isinstance(value, int | float):
                if isinstance(value, float) and not math.isfinite(value):
                    continue  # NaN or infinity: no number to show
                fmt = _float_format(sheet, column, value) if isinstance(value, float) else None
                if fmt and fmt not in number_formats:
                    number_formats[fmt] = workbook.add_format({"num_format": fmt})
                worksheet.write_number(row, col, value, number_formats.get(fmt) if fmt else None)
                text = _shown(value, fmt)
            else:
                text = str(safe_cell(str(value)))
                worksheet.write_string(row, col, text, wrap if column in long_text else None)
            shown[col].append(text)
    header_lines = 1
    for col, column in enumerate(columns):
        width = column_width(sheet.header(column), shown[col])
        worksheet.set_column(col, col, width)
        header_lines = max(header_lines, math.ceil(display_width(sheet.header(column)) / max(width - 1, 1)))
    worksheet.set_row(0, 15 * header_lines + 3)  # a wrapped header shows whole, on screen and on paper
    worksheet.freeze_panes(1, 0)
    worksheet.autofilter(0, 0, max(sheet.frame.height, 1), len(columns) - 1)
    worksheet.ignore_errors(
        {"number_stored_as_text": f"A1:{xl_col_to_name(len(columns) - 1)}{sheet.frame.height + 1}"}
    )
    worksheet.set_landscape()
    worksheet.set_paper(9)  # A4
    worksheet.fit_to_pages(1, 0)  # the width of one page, as many pages down as it takes
    worksheet.repeat_rows(0)
    worksheet.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)


def write_workbook(path: Path, sheets: list[Sheet], title: str) -> None:
    """Write the sheets to a temporary file next to `path`, then move it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        workbook = xlsxwriter.Workbook(
            str(temporary),
            {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False},
        )
        workbook.set_properties({"title": title, "comments": "junheng"})
        for sheet in sheets:
            write_sheet(workbook, sheet)
        workbook.close()
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


# --- public API ------------------------------------------------------------------------------------


def write_alert_list_xlsx(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    census_year: int | None = None,
    min_severity: str | None = None,
    county_code: str | None = None,
    status: str | None = None,
) -> int:
    """The alert list of read_alert_list (same filters and defaults) as an xlsx file; rows written.

    Raises alert_list.NoAlerts when the warehouse has no alert table."""
    alerts = read_alert_list(con, census_year, min_severity, county_code, status)
    words = read_words(con)
    sheet = alert_sheet(alerts, words)
    write_workbook(
        path, [sheet, alert_print_sheet(alerts, words)], f"{census_year or latest_year(con)} 年回退预警清单"
    )
    return sheet.frame.height


def write_county_balance_xlsx(
    con: duckdb.DuckDBPyConnection, path: Path, census_year: int | None = None
) -> int:
    """The county balance of one census year (the latest by default) as an xlsx file, with the
    indicator CVs on a second sheet; returns the county balance rows written.

    Raises NoBalance when there is no county balance for the year."""
    year = balance_year(con, census_year)
    sheets = balance_sheets(con, year, read_words(con))
    write_workbook(path, sheets, f"{year} 年县域义务教育均衡差异系数")
    return sheets[0].frame.height


def write_new_alerts_csv(
    con: duckdb.DuckDBPyConnection, folder: Path, census_year: int, run_id: str, alert_ids: list[str]
) -> Path:
    """The alerts a run announces (`alert_ids`, of `census_year`), as the alert-list workbook shows
    them, in a CSV file (UTF-8 with BOM, so spreadsheet programs show the Chinese): one row per
    alert, the workbook's Chinese headers, words and rounding."""
    text = sheet_csv(alert_sheet(read_alert_list(con, census_year, alert_ids=alert_ids), read_words(con)))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"new_alerts_{census_year}_{run_id[:8]}.csv"
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8-sig")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path
