"""The tables a county files, per certified county and census year: its 差异系数表 of each standard,
the school table and the fix list, as a workbook and as a printable page (HTML, and PDF through
pipelines/lib/outputs/pdf.py).

Written by `junheng report` (pipelines/lib/outputs/folder.py) into the reports folder:

    counties/<code>_县域均衡表_<year>.xlsx   the workbook (one sheet per table, A4 print setup)
    counties/<code>_县域均衡表_<year>.html   the same tables as a page to print (cited figures)
    counties/<code>_县域均衡表_<year>.pdf    that page printed by Chromium (when it is installed)

Like the reports, this module only selects and arranges: every figure is a column of a warehouse
row read by models/queries/filing.sql (the school values and verdicts of marts.school_indicators
and marts.school_compliance, the fix list of monitoring.school_fix_list with its county totals).
Nothing here compares, counts or sums.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import xlsxwriter
from jinja2 import Template
from markupsafe import Markup
from xlsxwriter.worksheet import Worksheet

from pipelines.lib.monitoring.messages import Templates
from pipelines.lib.outputs.excel import significant_format
from pipelines.lib.outputs.reports.build import SAFE_CODE, YEAR_META, environment
from pipelines.lib.outputs.reports.data import Row, by_county, group, index, read_rows
from pipelines.lib.outputs.reports.facts import FACTS_ELEMENT_ID, Facts
from pipelines.lib.queries import sql
from pipelines.lib.sentences import Words, read_words

STAGES = ("primary", "junior")
CV_FORMAT, THRESHOLD_FORMAT = "0.000", "0.00"


def file_stem(county_code: str, census_year: int) -> str:
    return f"{county_code}_县域均衡表_{census_year}"


# --- what the tables hold ------------------------------------------------------------------------


@dataclass(frozen=True)
class CvTable:
    """One standard's 差异系数表: the indicators in the standard's order, the stages side by side."""

    standard: Row
    rows: list[tuple[Row, list[Row | None]]]  # (indicator, its marts.county_indicator_cv row per stage)
    balances: list[Row | None]  # marts.county_balance per stage
    is_composite: bool
    has_school_rule: bool


@dataclass(frozen=True)
class SchoolTable:
    """The school table of a standard with per-school minimums: one row per included section."""

    standard: Row
    indicators: list[Row]  # marts.standard_indicators with a minimum (the first stage's, for names)
    minimums: dict[tuple[str, str], Row]  # (stage, indicator_id) -> marts.standard_indicators
    sections: list[tuple[Row, dict[str, Row]]]  # (marts.school_compliance, indicator_id -> value row)


@dataclass(frozen=True)
class FixList:
    """A standard's fix list: the schools, most costly first (each school's rows of
    monitoring.school_fix_list, the first carrying its total), then the county's totals per stage
    and indicator (one row each, the first carrying the standard's total)."""

    standard: Row
    schools: list[list[Row]]
    totals: list[Row]
    indicators: dict[tuple[str, str], Row]  # (stage, indicator_id) -> marts.standard_indicators


@dataclass(frozen=True)
class CountyFiling:
    census_year: int
    county: Row
    words: Words
    templates: Templates
    year_summary: Row
    cv_tables: list[CvTable]
    school_tables: list[SchoolTable]
    fix_lists: list[FixList] = field(default_factory=list)  # per standard with per-school minimums


def certified_counties(con: duckdb.DuckDBPyConnection, census_year: int) -> list[str]:
    rows = con.execute(sql("filing/certified_counties"), {"census_year": census_year}).fetchall()
    return [str(r[0]) for r in rows if SAFE_CODE.match(str(r[0]))]


@dataclass(frozen=True)
class Shared:
    """What every county's tables of one census year read alike (read once)."""

    census_year: int
    words: Words
    templates: Templates
    standards: list[Row]
    indicators: list[Row]
    year_summary: Row

    @classmethod
    def read(cls, con: duckdb.DuckDBPyConnection, census_year: int) -> Shared:
        summary = read_rows(
            con, "monitoring.year_summary", "filing/year_summary", {"census_year": census_year}
        )
        return cls(
            census_year=census_year,
            words=read_words(con),
            templates=Templates.from_warehouse(con),
            standards=read_rows(con, "marts.standards", "filing/standards"),
            indicators=read_rows(con, "marts.standard_indicators", "filing/indicators"),
            year_summary=summary[0],
        )


FILING_BATCH = 200
"""Counties read together: each statement of filing.sql runs once per batch (a national year's
school values take about as long for 200 counties as for one), and a batch's rows stay a few
hundred thousand Python rows at most."""


COUNTY_STATEMENTS = {
    "balance": "marts.county_balance",
    "indicator_cv": "marts.county_indicator_cv",
    "school_sections": "marts.school_compliance",
    "school_values": "marts.school_indicators",
    "fix_list": "monitoring.school_fix_list",
    "fix_totals": "monitoring.school_fix_list",
}
"""The statements of filing.sql that read each county's rows of a census year, and the table each reads."""


def read_county_filings(
    con: duckdb.DuckDBPyConnection, census_year: int, county_codes: list[str], shared: Shared | None = None
) -> Iterator[CountyFiling]:
    """The tables of each county in `county_codes`, in that order, read a batch at a time."""
    shared = shared or Shared.read(con, census_year)
    for start in range(0, len(county_codes), FILING_BATCH):
        batch = county_codes[start : start + FILING_BATCH]
        params = {"census_year": census_year, "county_codes": batch}
        read = {
            statement: by_county(read_rows(con, relation, f"filing/{statement}", params))
            for statement, relation in COUNTY_STATEMENTS.items()
        }
        counties = by_county(read_rows(con, "marts.dim_counties", "filing/county", {"county_codes": batch}))
        for code in batch:
            county_rows = {name: by_code.get(code, []) for name, by_code in read.items()}
            yield _county_filing(census_year, counties[code][0], shared, county_rows)


def _county_filing(census_year: int, county: Row, shared: Shared, read: dict[str, list[Row]]) -> CountyFiling:
    """One county's tables from its rows of each statement of filing.sql (`read`, by statement)."""
    standards = shared.standards
    by_stage = group(shared.indicators, "standard_id", "stage")
    balance = index(read["balance"], "standard_id", "stage")
    cvs = index(read["indicator_cv"], "standard_id", "stage", "indicator_id")
    sections = group(read["school_sections"], "standard_id")
    values = group(read["school_values"], "standard_id", "stage", "school_id")
    fixes = group(read["fix_list"], "standard_id")
    fix_totals = group(read["fix_totals"], "standard_id")

    cv_tables, school_tables, fix_lists = [], [], []
    for std in standards:
        sid = std["standard_id"]
        first = by_stage.get((sid, STAGES[0]), [])
        cv_tables.append(
            CvTable(
                standard=std,
                rows=[(ind, [cvs.get((sid, st, ind["indicator_id"])) for st in STAGES]) for ind in first],
                balances=[balance.get((sid, st)) for st in STAGES],
                is_composite=std["cv_rule"] == "composite",
                has_school_rule=std["school_rule_min_met"] is not None,
            )
        )
        if std["school_rule_min_met"] is None:
            continue
        with_minimum = [ind for ind in first if ind["standard_value"] is not None]
        minimums = {(st, ind["indicator_id"]): ind for st in STAGES for ind in by_stage.get((sid, st), [])}
        school_tables.append(
            SchoolTable(
                standard=std,
                indicators=with_minimum,
                minimums=minimums,
                sections=[
                    (
                        s,
                        {v["indicator_id"]: v for v in values.get((sid, s["stage"], s["school_id"]), [])},
                    )
                    for s in sections.get((sid,), [])
                ],
            )
        )
        fix_lists.append(
            FixList(
                standard=std,
                schools=list(group(fixes.get((sid,), []), "school_rank").values()),
                totals=fix_totals.get((sid,), []),
                indicators=minimums,
            )
        )
    return CountyFiling(
        census_year=census_year,
        county=county,
        words=shared.words,
        templates=shared.templates,
        year_summary=shared.year_summary,
        cv_tables=cv_tables,
        school_tables=school_tables,
        fix_lists=fix_lists,
    )


# --- the printable page ------------------------------------------------------------------------------


def css_text(text: str) -> Markup:
    """Text for a CSS string in the page's style element (the running title): a county name from a
    census file must not end the string or the element."""
    return Markup("".join(ch for ch in text if ch not in '"\\<>\r\n'))


def page_template() -> Template:
    return environment().get_template("county_tables.html")


def render_html(filing: CountyFiling, printed: date, template: Template | None = None) -> str:
    """The printable page; pass `template` (page_template()) when writing many, so it is compiled once."""
    facts = Facts(filing.words, filing.templates)
    template = template or page_template()
    title = f"{filing.county['county_name']} {filing.census_year} 年县域义务教育均衡发展材料"
    return template.render(
        running_title=css_text(title),
        filing=filing,
        county=filing.county,
        census_year=filing.census_year,
        year_summary=filing.year_summary,
        stages=STAGES,
        words=filing.words,
        cite=facts.cite,
        facts=facts,
        facts_element_id=FACTS_ELEMENT_ID,
        year_meta=YEAR_META,
        printed=printed.isoformat(),
    )


# --- the workbook ------------------------------------------------------------------------------------

SIGNATURE = ("填报单位（盖章）：", "填表人：", "审核人：", "填报日期：      年    月    日")


class _Book:
    """xlsxwriter formats of the filing workbook (one set per workbook)."""

    def __init__(self, workbook: xlsxwriter.Workbook):
        self.workbook = workbook
        base = {"font_name": "宋体", "font_size": 10.5, "valign": "vcenter"}
        self.title = workbook.add_format({**base, "bold": True, "font_size": 15, "align": "center"})
        self.note = workbook.add_format({**base, "font_size": 9.5, "text_wrap": True})
        self.head = workbook.add_format(
            {**base, "bold": True, "border": 1, "align": "center", "text_wrap": True, "bg_color": "#EEEEEE"}
        )
        self.text = workbook.add_format({**base, "border": 1, "text_wrap": True})
        self.center = workbook.add_format({**base, "border": 1, "align": "center"})
        self.bold = workbook.add_format({**base, "border": 1, "bold": True, "text_wrap": True})
        self.sign = workbook.add_format({**base, "font_size": 11})
        self._numbers: dict[str, Any] = {}

    def number(self, num_format: str) -> Any:
        if num_format not in self._numbers:
            self._numbers[num_format] = self.workbook.add_format(
                {"font_name": "宋体", "font_size": 10.5, "border": 1, "num_format": num_format}
            )
        return self._numbers[num_format]


def _cell(ws: Worksheet, book: _Book, row: int, col: int, value: Any, num_format: str | None = None) -> None:
    """A number as a number (rounded only by its format), a boolean as 是/否, nothing as "—"."""
    if value is None:
        ws.write_string(row, col, "—", book.center)
    elif isinstance(value, bool):
        ws.write_string(row, col, "是" if value else "否", book.center)
    elif isinstance(value, int | float):
        fmt = num_format or (significant_format(float(value)) if isinstance(value, float) else "0")
        ws.write_number(row, col, value, book.number(fmt))
    else:
        ws.write_string(row, col, str(value), book.text)


def _print_setup(ws: Worksheet, header_rows: tuple[int, int], landscape: bool, footer: str) -> None:
    if landscape:
        ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(*header_rows)
    ws.set_margins(left=0.5, right=0.5, top=0.7, bottom=0.7)
    ws.set_footer(f"&L{footer}&R第 &P 页，共 &N 页", {"margins": 0.3})
    ws.hide_gridlines(0)


def _signature(ws: Worksheet, book: _Book, row: int, width: int) -> None:
    """The lines a county fills in by hand before filing."""
    step = max(1, width // 2)
    for i, label in enumerate(SIGNATURE):
        ws.write_string(row + i // 2, (i % 2) * step, label, book.sign)


def _cv_sheet(book: _Book, filing: CountyFiling, table: CvTable) -> None:
    words, std = filing.words, table.standard
    name = words.standard(std["standard_id"])
    ws = book.workbook.add_worksheet(f"{name}差异系数表")
    width = 1 + 5 * len(STAGES)
    county = filing.county["county_name"]
    ws.merge_range(
        0, 0, 0, width - 1, f"{county}{filing.census_year}年{std['name_zh']}差异系数表", book.title
    )
    ws.merge_range(
        1,
        0,
        1,
        width - 1,
        f"依据：{std['document']}　统计时点：{filing.census_year}年9月1日（全国教育事业统计）　"
        "县均值、标准差按学生数加权计算，差异系数 = 标准差 ÷ 县均值",
        book.note,
    )
    ws.merge_range(2, 0, 3, 0, "指标（单位）", book.head)
    for s, stage in enumerate(STAGES):
        left = 1 + 5 * s
        ws.merge_range(2, left, 2, left + 4, words.stage(stage), book.head)
        for k, label in enumerate(("县均值", "标准差", "差异系数", "标准值", "是否达标")):
            ws.write_string(3, left + k, label, book.head)
    row = 4
    for indicator, cells in table.rows:
        ws.write_string(row, 0, f"{indicator['name_zh']}（{indicator['unit']}）", book.text)
        for s, cv in enumerate(cells):
            left = 1 + 5 * s
            if cv is None:
                for k in range(5):
                    _cell(ws, book, row, left + k, None)
                continue
            _cell(ws, book, row, left, cv["mean_value"])
            _cell(ws, book, row, left + 1, cv["sd_value"])
            _cell(ws, book, row, left + 2, cv["cv"], CV_FORMAT)
            _cell(ws, book, row, left + 3, cv["cv_threshold"], THRESHOLD_FORMAT)
            _cell(ws, book, row, left + 4, cv["passes"])
        row += 1
    label = "综合差异系数" if table.is_composite else "综合差异系数（参考，不作判定）"
    ws.write_string(row, 0, label, book.bold)
    for s, b in enumerate(table.balances):
        left = 1 + 5 * s
        _cell(ws, book, row, left, None)
        _cell(ws, book, row, left + 1, None)
        _cell(ws, book, row, left + 2, None if b is None else b["composite_cv"], CV_FORMAT)
        _cell(
            ws,
            book,
            row,
            left + 3,
            b["cv_threshold"] if b is not None and table.is_composite else None,
            THRESHOLD_FORMAT,
        )
        _cell(ws, book, row, left + 4, b["meets_cv_rule"] if b is not None and table.is_composite else None)
    row += 1
    if table.has_school_rule:
        ws.write_string(
            row,
            0,
            f"校际资源配置：未达到要求的学校数（每校至少 {std['school_rule_min_met']} 项达到标准，"
            f"其余不低于标准的 {std['school_rule_unmet_min_ratio']:.0%}）",
            book.bold,
        )
        for s, b in enumerate(table.balances):
            left = 1 + 5 * s
            ws.merge_range(row, left, row, left + 3, "", book.center)
            _cell(ws, book, row, left, None if b is None else b["n_failing_school_rule"], "0")
            _cell(ws, book, row, left + 4, None if b is None else b["meets_school_rule"])
        row += 1
    ws.write_string(row, 0, "判定（是否达到本标准）", book.bold)
    for s, b in enumerate(table.balances):
        left = 1 + 5 * s
        verdict = "—" if b is None else words.value("meets_standard", b["meets_standard"])
        ws.merge_range(row, left, row, left + 4, verdict, book.center)
    row += 2
    ws.write_string(
        row,
        0,
        "说明：基本均衡只判定综合差异系数（各项指标差异系数的平均值），单项指标不设标准值；"
        "优质均衡判定每一项指标的差异系数，综合差异系数仅供参考。"
        if table.is_composite
        else "说明：优质均衡判定每一项指标的差异系数，并要求每所学校达到校际资源配置要求；综合差异系数仅供参考。",
        book.sign,
    )
    _signature(ws, book, row + 2, width)
    ws.set_column(0, 0, 46)
    ws.set_column(1, width - 1, 10)
    ws.set_row(0, 28)
    ws.set_row(1, 30)
    _print_setup(ws, (2, 3), landscape=True, footer=f"{county} {filing.census_year} 年 {name}差异系数表")


def _school_sheet(book: _Book, filing: CountyFiling, table: SchoolTable) -> None:
    words, std = filing.words, table.standard
    name = words.standard(std["standard_id"])
    county = filing.county["county_name"]
    ws = book.workbook.add_worksheet(f"{name}学校明细")
    fixed = ["学校标识码", "学校名称", "学段", "学生数"]
    tail = [
        "达到标准项数",
        "校际资源配置",
        "学校规模（人）",
        "规模上限",
        "最大班额",
        "班额上限",
        "需音乐教室",
        "需美术教室",
        "专用教室",
    ]
    width = len(fixed) + 2 * len(table.indicators) + len(tail)
    ws.merge_range(
        0, 0, 0, width - 1, f"{county}{filing.census_year}年{std['name_zh']}学校明细表", book.title
    )
    ws.merge_range(
        1,
        0,
        1,
        width - 1,
        f"每所计入学校（分学段）一行：各项指标的本校值及是否达到校际标准（标准值见表头，小学/初中），"
        f"至少 {std['school_rule_min_met']} 项达到标准、其余不低于标准的 {std['school_rule_unmet_min_ratio']:.0%} 为达到校际资源配置要求。",
        book.note,
    )
    for col, label in enumerate(fixed):
        ws.merge_range(2, col, 3, col, label, book.head)
    col = len(fixed)
    for ind in table.indicators:
        minimums = "/".join(
            _plain(table.minimums[(st, ind["indicator_id"])]["standard_value"])
            for st in STAGES
            if (st, ind["indicator_id"]) in table.minimums
        )
        ws.merge_range(2, col, 2, col + 1, f"{ind['name_zh']}（{ind['unit']}；标准 {minimums}）", book.head)
        ws.write_string(3, col, "本校值", book.head)
        ws.write_string(3, col + 1, "达标", book.head)
        col += 2
    for k, label in enumerate(tail):
        ws.merge_range(2, col + k, 3, col + k, label, book.head)
    row = 4
    for section, values in table.sections:
        ws.write_string(row, 0, str(section["school_id"]), book.text)
        ws.write_string(row, 1, str(section["school_name"] or ""), book.text)
        ws.write_string(row, 2, words.stage(section["stage"]), book.center)
        _cell(ws, book, row, 3, section["students"], "#,##0")
        col = len(fixed)
        for ind in table.indicators:
            value = values.get(ind["indicator_id"])
            _cell(ws, book, row, col, None if value is None else value["value"])
            met = None if value is None else value["meets_standard"]
            ws.write_string(row, col + 1, words.value("meets_standard", met), book.center)
            col += 2
        _cell(ws, book, row, col, f"{section['n_met']}/{section['n_indicators']}")
        ws.write_string(row, col + 1, words.value("is_compliant", section["is_compliant"]), book.center)
        _cell(ws, book, row, col + 2, section["school_students"], "#,##0")
        _cell(ws, book, row, col + 3, section["max_school_students"], "#,##0")
        _cell(ws, book, row, col + 4, section["max_class_size"], "0")
        _cell(ws, book, row, col + 5, section["class_size_limit"], "0")
        _cell(ws, book, row, col + 6, section["music_rooms_needed"], "0")
        _cell(ws, book, row, col + 7, section["art_rooms_needed"], "0")
        ws.write_string(
            row, col + 8, words.value("breaks_room_standard", section["breaks_room_standard"]), book.center
        )
        row += 1
    ws.set_column(0, 0, 13)
    ws.set_column(1, 1, 26)
    ws.set_column(2, width - 1, 9)
    ws.set_row(1, 30)
    ws.freeze_panes(4, 2)
    _print_setup(ws, (2, 3), landscape=True, footer=f"{county} {filing.census_year} 年 {name}学校明细表")


def _plain(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


FIX_NOTE = (
    "低于校际标准的每所学校补足到标准所需的投入：教师、教室、计算机、图书按整数，面积按整平方米，经费按万元保留"
    "一位小数，均向上取整。估算费用按参考单价计算（项目估算，不是官方价格，各地应按本地造价、工资和采购价格"
    "调整）；教师费用按一年计。学校按估算费用由高到低排列，表末为全县各指标合计。"
)


def _fix_sheet(book: _Book, filing: CountyFiling, fixes: FixList) -> None:
    words = filing.words
    std = fixes.standard
    name = words.standard(std["standard_id"])
    county = filing.county["county_name"]
    ws = book.workbook.add_worksheet(f"{name}补足清单")
    headers = [
        "序号",
        "学校名称",
        "学校标识码",
        "学段",
        "学生数",
        "指标（单位）",
        "本校值",
        "校际标准",
        "所需投入",
        "投入单位",
        "补足后本校值",
        "参考单价（万元）",
        "估算费用（万元）",
        "本校合计（万元）",
    ]
    width = len(headers)
    ws.merge_range(
        0, 0, 0, width - 1, f"{county}{filing.census_year}年{std['name_zh']}学校补足清单", book.title
    )
    ws.merge_range(1, 0, 1, width - 1, FIX_NOTE, book.note)
    for col, label in enumerate(headers):
        ws.write_string(2, col, label, book.head)
    row = 3
    if not fixes.schools:
        ws.merge_range(row, 0, row, width - 1, "本年度没有低于校际标准的学校。", book.center)
        row += 1
    for school in fixes.schools:
        first = school[0]
        last = row + len(school) - 1
        for col, value, fmt in (
            (0, first["school_rank"], "0"),
            (1, str(first["school_name"] or ""), None),
            (2, str(first["school_id"]), None),
            (13, first["school_cost_wan_yuan"], "#,##0.0"),
        ):
            if last > row:
                ws.merge_range(row, col, last, col, "", book.text if fmt is None else book.number(fmt))
            if fmt is None:
                ws.write_string(row, col, str(value), book.text)
            else:
                _cell(ws, book, row, col, value, fmt)
        for r in school:
            indicator = fixes.indicators[(r["stage"], r["indicator_id"])]
            ws.write_string(row, 3, words.stage(r["stage"]), book.center)
            _cell(ws, book, row, 4, r["students"], "#,##0")
            ws.write_string(row, 5, f"{indicator['name_zh']}（{indicator['unit']}）", book.text)
            _cell(ws, book, row, 6, r["value"])
            _cell(ws, book, row, 7, r["standard_value"])
            _cell(ws, book, row, 8, r["amount_needed"], _amount_format(r["amount_needed"]))
            ws.write_string(row, 9, str(r["amount_unit"]), book.center)
            _cell(ws, book, row, 10, r["value_after"])
            _cell(ws, book, row, 11, r["unit_cost_wan_yuan"], "#,##0.0##")
            _cell(ws, book, row, 12, r["cost_wan_yuan"], "#,##0.0")
            row += 1
    if fixes.totals:
        row = _fix_totals(ws, book, filing, fixes, row + 1)
    _signature(ws, book, row + 1, width)
    ws.set_column(0, 0, 5)
    ws.set_column(1, 1, 24)
    ws.set_column(2, 2, 12)
    ws.set_column(3, 4, 7)
    ws.set_column(5, 5, 30)
    ws.set_column(6, width - 1, 9.5)
    ws.set_row(1, 44)
    ws.set_row(2, 30)
    ws.freeze_panes(3, 0)
    _print_setup(ws, (2, 2), landscape=True, footer=f"{county} {filing.census_year} 年 {name}学校补足清单")


def _fix_totals(ws: Worksheet, book: _Book, filing: CountyFiling, fixes: FixList, row: int) -> int:
    """The county's totals per stage and indicator under the schools; returns the next free row."""
    words = filing.words
    ws.merge_range(row, 0, row, 13, "全县合计（按学段、指标）", book.bold)
    row += 1
    heads = [
        (0, 2, "学段"),
        (3, 5, "指标（单位）"),
        (6, 7, "未达标学校数"),
        (8, 8, "所需投入"),
        (9, 9, "投入单位"),
    ]
    heads += [(10, 10, "费用性质"), (11, 11, "参考单价（万元）"), (12, 13, "估算费用（万元）")]
    for first, last, label in heads:
        _merged(ws, row, first, last, label, book.head)
    row += 1
    for t in fixes.totals:
        indicator = fixes.indicators[(t["stage"], t["indicator_id"])]
        _merged(ws, row, 0, 2, words.stage(t["stage"]), book.center)
        _merged(ws, row, 3, 5, f"{indicator['name_zh']}（{indicator['unit']}）", book.text)
        ws.merge_range(row, 6, row, 7, "", book.number("#,##0"))
        _cell(ws, book, row, 6, t["n_schools_short"], "#,##0")
        _cell(ws, book, row, 8, t["county_amount_needed"], _amount_format(t["county_amount_needed"]))
        ws.write_string(row, 9, str(t["amount_unit"]), book.center)
        ws.write_string(row, 10, words.value("cost_basis", t["cost_basis"]), book.center)
        _cell(ws, book, row, 11, t["unit_cost_wan_yuan"], "#,##0.0##")
        ws.merge_range(row, 12, row, 13, "", book.number("#,##0.0"))
        _cell(ws, book, row, 12, t["county_cost_wan_yuan"], "#,##0.0")
        row += 1
    total = fixes.totals[0]
    _merged(ws, row, 0, 11, f"全县合计（{total['county_schools_to_fix']} 所学校）", book.bold)
    ws.merge_range(row, 12, row, 13, "", book.number("#,##0.0"))
    _cell(ws, book, row, 12, total["county_total_cost_wan_yuan"], "#,##0.0")
    return row + 1


def _merged(ws: Worksheet, row: int, first: int, last: int, text: str, fmt: Any) -> None:
    if last > first:
        ws.merge_range(row, first, row, last, text, fmt)
    else:
        ws.write_string(row, first, text, fmt)


def _amount_format(value: Any) -> str:
    return "#,##0" if value is None or float(value).is_integer() else "#,##0.0"


def write_workbook(filing: CountyFiling, path: Path) -> None:
    """The workbook, written to a temporary file next to `path` and moved into place."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        workbook = xlsxwriter.Workbook(
            str(temporary),
            {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False},
        )
        workbook.set_properties(
            {
                "title": f"{filing.county['county_name']} {filing.census_year} 年县域义务教育均衡发展材料",
                "comments": "junheng",
            }
        )
        book = _Book(workbook)
        for table in filing.cv_tables:
            _cv_sheet(book, filing, table)
        for school_table in filing.school_tables:
            _school_sheet(book, filing, school_table)
        for fixes in filing.fix_lists:
            _fix_sheet(book, filing, fixes)
        workbook.close()
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


@dataclass(frozen=True)
class FilingFiles:
    workbooks: list[Path]
    pages: list[Path]


def write_county_filings(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    census_year: int,
    county_code: str | None = None,
    printed: date | None = None,
) -> FilingFiles:
    """The workbook and the printable page of every certified county (or of `county_code`, when
    it is certified) into `folder`; the PDFs are printed from the pages afterwards (pdf.py)."""
    folder.mkdir(parents=True, exist_ok=True)
    codes = certified_counties(con, census_year)
    if county_code is not None:
        codes = [c for c in codes if c == county_code]
    workbooks, pages = [], []
    template = page_template()
    for code, filing in zip(codes, read_county_filings(con, census_year, codes), strict=True):
        stem = file_stem(code, census_year)
        write_workbook(filing, folder / f"{stem}.xlsx")
        write_text(folder / f"{stem}.html", render_html(filing, printed or date.today(), template))
        workbooks.append(folder / f"{stem}.xlsx")
        pages.append(folder / f"{stem}.html")
    return FilingFiles(workbooks, pages)
