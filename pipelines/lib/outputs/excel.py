"""xlsx exports for monitoring staff: the alert list (`junheng alerts --format xlsx`) and the county
balance table of one census year (`junheng report`).

The files travel by e-mail and shared drives and get opened in whatever spreadsheet program is at
hand, so three rules hold for every cell:
- text is written with write_string, never write(), and text that a spreadsheet would read as a
  formula (= + - @, a leading tab or CR) gets alert_list.safe_cell's apostrophe: opening the file
  never runs anything;
- numbers stay numbers (written with write_number; the number format rounds the display, not the
  value), booleans read 是/否, nulls are empty cells;
- the file appears under its final name only when complete (written to a temporary file in the
  same folder, then os.replace).

Headers are Chinese, one mapping for every column (HEADERS). Codes become Chinese labels where the
project has them: stages, standards and "composite" from the rules file's `labels`, severities from
marts.alert_severities, indicators from marts.standard_indicators. A code without a label is shown
as the code.
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

from pipelines.lib.monitoring.alert_list import (
    TABLE_COLUMNS,
    display_width,
    latest_year,
    read_alert_list,
    safe_cell,
)
from pipelines.lib.monitoring.alerts import LIST_COLUMNS
from pipelines.lib.outputs.labels import Labels, read_labels
from pipelines.lib.queries import sql
from pipelines.lib.warehouse import query_frame, scalar, table_exists

YES, NO, UNKNOWN = "是", "否", "未知"

# Column -> Chinese header, for every column of every sheet. The terminal alert table's headers
# (alert_list.TABLE_COLUMNS) come first so `junheng alerts` and the xlsx say the same thing.
HEADERS: dict[str, str] = {column: header for column, header, _ in TABLE_COLUMNS} | {
    "alert_id": "预警编号",
    "rule_id": "规则编号",
    "fired_rules_zh": "触发的全部规则",
    "breach_years": "连续超过阈值年数",
    "census_year": "普查年度",
    "evidence_metric_id": "依据指标",
    "first_seen_year": "首次预警年度",
    "margin": "距阈值（阈值−差异系数）",
    "slope": "趋势斜率（每年）",
    "certified_year": "认定年度",
    "message_zh": "预警说明",
    "message_en": "预警说明（英文）",
    "what_if_zh": "改进测算",
    "cv_rule": "判定方式",
    "n_schools": "学校数（所）",
    "students": "学生数（人）",
    "composite_cv": "综合差异系数",
    "max_indicator_cv": "最大单项差异系数",
    "max_indicator_id": "差异系数最大的指标",
    "cv_threshold": "差异系数阈值",
    "n_indicators_over_threshold": "超过阈值的指标数（项）",
    "passes": "差异系数达标",
    "meets_standard": "达标（普查可判定部分）",
    "unmet_parts": "未达标的部分",
    "n_compliant_sections": "达到学校标准的学校数（所）",
    "compliant_share": "达到学校标准的学校占比",
    "meets_school_standards": "学校全部达标",
    "n_breaking_school_size": "超规模学校数（所）",
    "n_breaking_class_size": "有超大班额的学校数（所）",
    "n_breaking_room_standard": "功能教室不达标学校数（所）",
    "is_provisional": "暂定结果（有数据空缺）",
    "n_sections_missing_value": "有数据空缺的学校数（所）",
    "n_missing_value": "因数据空缺未计入的学校数（所）",
    "indicator_id": "指标",
    "unit": "单位",
    "mean_value": "均值（生均加权）",
    "sd_value": "标准差",
    "cv": "差异系数",
}

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
    frame: pl.DataFrame  # columns in display order, codes already labelled
    headers: dict[str, str] | None = None  # headers of columns HEADERS does not know (the wide sheet)
    formats: dict[str, str] | None = None  # number formats of those columns

    def header(self, column: str) -> str:
        return (self.headers or {}).get(column) or HEADERS[column]

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


# --- labels ----------------------------------------------------------------------------------------


def _name_indicators(frame: pl.DataFrame, names: pl.DataFrame, column: str) -> pl.DataFrame:
    """Replace the indicator ids of `column` with their Chinese names (by standard)."""
    renamed = names.rename({"indicator_id": column, "name_zh": "_name_zh"})
    joined = frame.join(renamed, on=["standard_id", column], how="left", maintain_order="left")
    return joined.with_columns(pl.coalesce("_name_zh", column).alias(column)).drop("_name_zh")


def label_codes(frame: pl.DataFrame, labels: Labels, indicator_columns: Iterable[str] = ()) -> pl.DataFrame:
    """Codes to Chinese labels; a code without a label stays as it is."""
    for column in indicator_columns:
        frame = _name_indicators(frame, labels.indicators, column)
    code_labels = {
        "stage": labels.stages,
        "standard_id": labels.standards,
        "severity": labels.severities,
        "status": labels.statuses,
        "cv_rule": labels.cv_rules,
    }
    return frame.with_columns(
        pl.col(column).replace(dict(mapping))
        for column, mapping in code_labels.items()
        if column in frame.columns and mapping
    )


def judged(passes: str, judged_when: pl.Expr) -> pl.Expr:
    """是/否 for a pass flag; 未知 where a rule applies but could not be judged, else empty."""
    return (
        pl.when(pl.col(passes))
        .then(pl.lit(YES))
        .when(~pl.col(passes))
        .then(pl.lit(NO))
        .when(judged_when)
        .then(pl.lit(UNKNOWN))
        .otherwise(pl.lit(None, pl.String))
        .alias(passes)
    )


# --- sheets ----------------------------------------------------------------------------------------


def alert_sheet(alerts: pl.DataFrame, labels: Labels) -> Sheet:
    frame = label_codes(alerts, labels, ["metric_id", "evidence_metric_id"])
    return Sheet("预警清单", frame.select(ALERT_SHEET_COLUMNS))


def balance_year(con: duckdb.DuckDBPyConnection, census_year: int | None) -> int:
    if not table_exists(con, "marts", "county_balance"):
        raise NoBalance("no marts.county_balance table: run the pipeline first (junheng run)")
    if census_year is not None:
        return census_year
    year = scalar(con, sql("outputs/latest_balance_year"))
    if year is None:
        raise NoBalance("marts.county_balance is empty: run the pipeline first (junheng run)")
    return int(year)  # type: ignore[call-overload]


def balance_sheets(con: duckdb.DuckDBPyConnection, census_year: int, labels: Labels) -> list[Sheet]:
    """The county balance of one year and the indicator CVs behind it."""
    balance = query_frame(con, sql("outputs/balance_sheet"), {"census_year": census_year})
    balance_raw = balance
    if balance.is_empty():
        raise NoBalance(f"no county balance for census year {census_year}")
    balance = label_codes(
        balance.with_columns(
            judged("passes", pl.col("cv_threshold").is_not_null()),
            judged("meets_standard", pl.lit(True)),
            pl.col("unmet_parts")
            .list.eval(pl.element().replace_strict(dict(labels.unmet_parts), default=pl.element()))
            .list.join("、"),
        ),
        labels,
        ["max_indicator_id"],
    )
    raw_cv = query_frame(con, sql("outputs/indicator_cv_sheet"), {"census_year": census_year})
    indicator_cv = label_codes(
        raw_cv.drop("indicator_order").with_columns(judged("passes", pl.col("cv_threshold").is_not_null())),
        labels,
        ["indicator_id"],
    )
    wide = [wide_cv_sheet(raw_cv, balance_raw, standard_id, labels) for standard_id in _standards(raw_cv)]
    return [Sheet("县域均衡", balance), Sheet("指标差异系数", indicator_cv), *wide]


def _standards(frame: pl.DataFrame) -> list[str]:
    return sorted(frame["standard_id"].unique().to_list())


def wide_cv_sheet(
    indicator_cv: pl.DataFrame, balance: pl.DataFrame, standard_id: str, labels: Labels
) -> Sheet:
    """The official summary table's shape (表Ⅲ): one row per county and stage, every indicator's CV
    side by side in the standard's order, then the composite, the threshold and the verdict."""
    cv = indicator_cv.filter(pl.col("standard_id") == standard_id)
    order = cv.select("indicator_id", "indicator_order").unique().sort("indicator_order", "indicator_id")
    indicators = order["indicator_id"].unique(maintain_order=True).to_list()
    wide = cv.pivot(on="indicator_id", index=["county_code", "county_name", "stage"], values="cv")
    verdict = balance.filter(pl.col("standard_id") == standard_id).select(
        "county_code",
        "stage",
        "composite_cv",
        "cv_threshold",
        judged("meets_standard", pl.lit(True)),
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
    frame = label_codes(frame, labels)
    names = labels.indicators.filter(pl.col("standard_id") == standard_id)
    headers = {r["indicator_id"]: f"{r['name_zh']}差异系数" for r in names.iter_rows(named=True)}
    return Sheet(f"{labels.standard(standard_id)}差异系数表", frame, headers, dict.fromkeys(indicators, CV))


# --- writing ---------------------------------------------------------------------------------------


def _shown(value: object, number_format: str | None) -> str:
    """The text a spreadsheet shows for a cell (for the column width)."""
    if isinstance(value, float) and number_format in NUMBER_FORMATS:
        return NUMBER_FORMATS[number_format].format(value)
    return str(value)


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
                fmt = sheet.number_format(column) if isinstance(value, float) else None
                if isinstance(value, float) and column in SIGNIFICANT_COLUMNS:
                    fmt = significant_format(value)
                if fmt and fmt not in number_formats:
                    number_formats[fmt] = workbook.add_format({"num_format": fmt})
                worksheet.write_number(row, col, value, number_formats.get(fmt) if fmt else None)
                text = _shown(value, fmt)
            else:
                text = str(safe_cell(str(value)))
                worksheet.write_string(row, col, text, wrap if column in long_text else None)
            shown[col].append(text)
    for col, column in enumerate(columns):
        worksheet.set_column(col, col, column_width(sheet.header(column), shown[col]))
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
    sheet = alert_sheet(alerts, read_labels(con))
    write_workbook(path, [sheet], f"{census_year or latest_year(con)} 年回退预警清单")
    return sheet.frame.height


def write_county_balance_xlsx(
    con: duckdb.DuckDBPyConnection, path: Path, census_year: int | None = None
) -> int:
    """The county balance of one census year (the latest by default) as an xlsx file, with the
    indicator CVs on a second sheet; returns the county balance rows written.

    Raises NoBalance when there is no county balance for the year."""
    year = balance_year(con, census_year)
    sheets = balance_sheets(con, year, read_labels(con))
    write_workbook(path, sheets, f"{year} 年县域义务教育均衡差异系数")
    return sheets[0].frame.height
