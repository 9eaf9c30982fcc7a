"""The xlsx exports: Chinese headers, frozen header row, widths, numbers kept as numbers, and no
cell that a spreadsheet would run as a formula, even for hostile names in the data."""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import openpyxl
import polars as pl
import pytest

from pipelines.lib.catalog import table_doc
from pipelines.lib.outputs.excel import (
    ALERT_SHEET_COLUMNS,
    MAX_WIDTH,
    NoBalance,
    Sheet,
    column_width,
    significant_format,
    write_alert_list_xlsx,
    write_county_balance_xlsx,
    write_workbook,
)
from pipelines.lib.sentences import glossary_words

WORDS = glossary_words()
ALERTS = "monitoring.backsliding_alerts"
BALANCE = "marts.county_balance"


def header(column: str, relation: str = BALANCE) -> str:
    """The one Chinese name of a column: the table's own (columns_zh), else the glossary's."""
    return WORDS.column(column, table_doc(relation).columns_zh)


# Names a spreadsheet would run as a formula (or a DDE call) if written as they are: a hyperlink
# formula, an @-function, a leading minus (Excel parses "-2+3" as a formula), and a tab before "=".
HOSTILE_NAMES = ['=HYPERLINK("http://x","y")', "@SUM(1+1)", "-2+3", "\t=1+1"]


def widths(ws) -> dict[int, float]:
    """Column index (1-based) -> width; openpyxl groups adjacent columns of equal width."""
    out = {}
    for dimension in ws.column_dimensions.values():
        if dimension.width:
            for index in range(dimension.min, dimension.max + 1):
                out[index] = dimension.width
    return out


def assert_no_formulas(path: Path) -> None:
    """Neither openpyxl nor the raw sheet XML sees a formula anywhere in the workbook."""
    workbook = openpyxl.load_workbook(path)
    for ws in workbook.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                xml = archive.read(name)
                assert b"<f>" not in xml and b"<f " not in xml, name


def header_row(ws) -> list[str]:
    return [cell.value for cell in ws[1]]


def column_values(ws, header: str) -> list:
    index = header_row(ws).index(header) + 1
    return [ws.cell(row, index).value for row in range(2, ws.max_row + 1)]


# --- tiny frames -----------------------------------------------------------------------------------


def test_column_width_counts_cjk_as_two_and_is_capped():
    assert column_width("县区", ["金龙区"]) == 6 + 3  # three CJK characters, plus filter-button room
    assert column_width("县区代码", ["900101"]) == 8 + 3  # the header is the widest
    assert column_width("x", []) >= 6
    assert column_width("说明", ["很长" * 100]) == MAX_WIDTH
    assert (
        column_width("每百名学生拥有体育、艺术(美术、音乐)专任教师数差异系数", ["0.288"]) == 24 + 3
    )  # wraps


def test_three_significant_digits_for_means_and_spreads():
    assert significant_format(0.04505) == "0.0000"  # 0.0451, not 0.05
    assert significant_format(5.2179) == "0.00"
    assert significant_format(43.26) == "0.0"
    assert significant_format(3765.65) == "#,##0"
    assert significant_format(0.0) == "0"


def test_cells_are_neutralised_numbers_stay_numbers(tmp_path):
    frame = pl.DataFrame(
        {
            "county_name": [*HOSTILE_NAMES, "金龙区", None],
            "composite_cv": [0.123456, 0.5, float("nan"), None, 0.25, 1.0],
            "students": [10, 20, 30, 40, 50, None],
            "meets_school_standards": [True, False, None, True, False, True],
        }
    )
    path = tmp_path / "t.xlsx"
    write_workbook(path, [Sheet("表", frame, WORDS, BALANCE)], "test")
    assert_no_formulas(path)
    ws = openpyxl.load_workbook(path)["表"]
    assert header_row(ws) == ["县区名称", "综合差异系数", "在校生数", "学校均达到校际资源配置要求"]
    names = column_values(ws, "县区名称")
    assert names[:4] == ["'" + name for name in HOSTILE_NAMES]
    assert names[4:] == ["金龙区", None]
    cvs = column_values(ws, "综合差异系数")
    assert cvs[0] == 0.123456  # the stored value keeps full precision; the format shows 0.123
    assert ws.cell(2, 2).number_format == "0.000"
    assert cvs[2] is None and cvs[3] is None  # NaN and null: empty cells
    assert column_values(ws, "在校生数")[:2] == [10, 20]
    assert column_values(ws, "学校均达到校际资源配置要求") == ["是", "否", None, "是", "否", "是"]


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "out.xlsx"
    write_workbook(path, [Sheet("表", pl.DataFrame({"county_code": ["900101"]}), WORDS, BALANCE)], "first")
    before = path.read_bytes()
    with pytest.raises(KeyError):  # a column without a Chinese header is a programming error
        write_workbook(path, [Sheet("表", pl.DataFrame({"no_such_column": [1]}), WORDS, BALANCE)], "second")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.xlsx"]


def test_alert_sheet_headers_are_unique():
    headers = [header(c, ALERTS) for c in ALERT_SHEET_COLUMNS]
    assert len(set(headers)) == len(headers)


# --- the demo province -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def warehouse(demo, tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("excel") / "junheng.duckdb"
    shutil.copy(demo.warehouse, copy)
    return copy


@pytest.fixture
def con(warehouse) -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        yield connection


def latest_balance_year(con) -> int:
    return con.execute("select max(census_year) from marts.county_balance").fetchall()[0][0]


def check_layout(ws) -> None:
    """Bold headers, frozen header row, autofilter over the table, every column given a width."""
    assert ws.freeze_panes == "A2"
    assert all(cell.font.b for cell in ws[1])
    assert ws.auto_filter.ref.startswith("A1:")
    assert set(widths(ws)) == set(range(1, ws.max_column + 1))
    assert len(set(header_row(ws))) == ws.max_column


def test_alert_list_xlsx(con, tmp_path):
    path = tmp_path / "alerts.xlsx"
    rows = write_alert_list_xlsx(con, path)
    year = con.execute("select max(census_year) from monitoring.backsliding_alerts").fetchall()[0][0]
    expected = con.execute(
        "select count(*) from monitoring.backsliding_alerts where census_year = $y", {"y": year}
    ).fetchall()[0][0]
    assert rows == expected > 0
    ws = openpyxl.load_workbook(path)["预警清单"]
    assert ws.max_row == rows + 1
    assert header_row(ws)[:5] == ["统计年度", "县区代码", "县区名称", "学段", "评估标准"]
    assert header_row(ws) == [header(c, ALERTS) for c in ALERT_SHEET_COLUMNS]
    check_layout(ws)
    assert set(column_values(ws, "学段")) <= {"小学", "初中"}
    assert set(column_values(ws, "评估标准")) <= {"基本均衡", "优质均衡"}
    assert set(column_values(ws, "预警等级")) <= {"数据待核", "关注", "预警", "超过阈值", "严重"}
    assert all(isinstance(v, float) for v in column_values(ws, "差异系数") if v is not None)
    assert_no_formulas(path)


# the labels the sheet shows, typed here (the rules file is what the writer reads)
SEVERITY_LABELS = {"warning": "预警", "breach": "超过阈值", "critical": "严重"}
STATUS_LABELS = {"new": "新增", "continuing": "持续"}


def test_alert_list_xlsx_filters_like_the_cli(con, tmp_path):
    path = tmp_path / "alerts.xlsx"
    rows = write_alert_list_xlsx(con, path, min_severity="warning", status="active")
    # what the warehouse holds for that filter, asked directly (not through the writer's reader)
    expected = con.execute(
        """
        select alert_id, county_code, severity, status
        from monitoring.backsliding_alerts
        where census_year = (select max(census_year) from monitoring.backsliding_alerts)
          and severity in ('warning', 'breach', 'critical') and status in ('new', 'continuing')
        order by alert_id
        """
    ).fetchall()
    assert expected, "the demo province has active warnings or worse in its latest year"
    ws = openpyxl.load_workbook(path)["预警清单"]
    read_back = sorted(
        zip(
            column_values(ws, header("alert_id", ALERTS)),
            column_values(ws, header("county_code", ALERTS)),
            column_values(ws, header("severity", ALERTS)),
            column_values(ws, header("status", ALERTS)),
            strict=True,
        )
    )
    assert rows == len(expected) == ws.max_row - 1
    assert read_back == [
        (alert_id, county, SEVERITY_LABELS[severity], STATUS_LABELS[status])
        for alert_id, county, severity, status in expected
    ]
    # the printed form: seven columns on landscape A4, one page wide at a readable size (no
    # shrinking: the columns' widths fit the page), the header on every page, messages wrapped
    printed = openpyxl.load_workbook(path)["打印版"]
    assert header_row(printed) == [
        "预警等级",
        "预警状态",
        "县区代码",
        "县区名称",
        "学段",
        "评估标准",
        "规则",
        "预警说明",
    ]
    assert printed.max_row == rows + 1
    assert printed.page_setup.orientation == "landscape" and printed.page_setup.paperSize == 9
    assert printed.sheet_properties.pageSetUpPr.fitToPage and printed.page_setup.fitToWidth in (None, 1)
    assert printed.print_title_rows == "$1:$1"
    widths = [printed.column_dimensions[c].width for c in "ABCDEFGH"]
    # a landscape A4 line holds about 140 widths at 11 pt: the page is shrunk to at least 87% (9.5 pt)
    assert sum(widths) <= 160, widths
    assert printed["H2"].alignment.wrap_text


def test_county_balance_xlsx(con, tmp_path):
    path = tmp_path / "balance.xlsx"
    rows = write_county_balance_xlsx(con, path)
    year = latest_balance_year(con)
    counts = {
        table: con.execute(
            f"select count(*) from marts.{table} where census_year = $y", {"y": year}
        ).fetchall()[0][0]
        for table in ("county_balance", "county_indicator_cv")
    }
    assert rows == counts["county_balance"] > 0
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == [
        "县域均衡",
        "指标差异系数",
        "基本均衡差异系数表",
        "优质均衡差异系数表",
        "督导评估清单",
        "督导评估清单汇总",
    ]
    balance, indicator_cv = workbook["县域均衡"], workbook["指标差异系数"]
    assert balance.max_row == rows + 1
    assert indicator_cv.max_row == counts["county_indicator_cv"] + 1
    assert header_row(balance)[:5] == ["统计年度", "县区代码", "县区名称", "学段", "评估标准"]
    # a header wider than its column wraps, and its row is tall enough to show it whole
    assert workbook["基本均衡差异系数表"].row_dimensions[1].height >= 30
    for name in ("综合差异系数", "差异系数阈值", "差异系数达标", "超过阈值的指标数"):
        assert name in header_row(balance)
    # every header is the glossary's name of its column: the one source the dictionary and pages use
    for ws, relation in ((balance, BALANCE), (indicator_cv, "marts.county_indicator_cv")):
        check_layout(ws)
        assert all(
            WORDS.column(c, table_doc(relation).columns_zh) in header_row(ws)
            for c in ("county_code", "stage", "standard_id")
        )
    assert set(column_values(balance, "差异系数达标")) <= {"是", "否", "—"}
    assert set(column_values(balance, "学段")) == {"小学", "初中"}
    assert set(column_values(balance, "评估标准")) == {"基本均衡", "优质均衡"}
    assert None not in column_values(balance, "县区名称")
    # every row read back equals the warehouse's row, asked directly
    expected = con.execute(
        "select county_code, stage, standard_id, composite_cv, passes from marts.county_balance "
        "where census_year = $y order by all",
        {"y": year},
    ).fetchall()
    stage_labels, standard_labels = (
        {"primary": "小学", "junior": "初中"},
        {"basic_2012": "基本均衡", "quality_2017": "优质均衡"},
    )
    verdicts = {True: "是", False: "否", None: "—"}
    read_back = sorted(
        zip(
            *(
                column_values(balance, h)
                for h in ("县区代码", "学段", "评估标准", "综合差异系数", "差异系数达标")
            ),
            strict=True,
        )
    )
    want = sorted(
        (county, stage_labels[stage], standard_labels[standard], cv, verdicts[passes])
        for county, stage, standard, cv, passes in expected
    )
    assert [r[:3] + r[4:] for r in read_back] == [w[:3] + w[4:] for w in want]
    # the sheet keeps 16 significant digits of each coefficient
    assert [r[3] for r in read_back] == pytest.approx([w[3] for w in want], rel=1e-15)
    # the county name column is sized by display width: CJK characters count two
    longest = max(len(name) for name in column_values(balance, "县区名称"))
    assert widths(balance)[header_row(balance).index("县区名称") + 1] >= 2 * longest
    # CVs are numbers at full precision, shown to 3 decimals
    stored = con.execute(
        "select composite_cv from marts.county_balance where census_year = $y "
        "order by county_code, standard_id, stage desc",
        {"y": year},
    ).fetchall()
    cv_column = header_row(balance).index("综合差异系数") + 1
    written = [balance.cell(r, cv_column).value for r in range(2, rows + 2)]
    # xlsx stores 16 significant digits (Excel computes with 15): equal to that, never rounded to 3
    assert written == pytest.approx([v for (v,) in stored], rel=1e-14, nan_ok=False)
    assert any(v is not None and v != round(v, 3) for v in written)
    assert balance.cell(2, cv_column).number_format == "0.000"
    assert_no_formulas(path)


def test_county_balance_xlsx_of_an_earlier_year(con, tmp_path):
    first = con.execute("select min(census_year) from marts.county_balance").fetchall()[0][0]
    rows = write_county_balance_xlsx(con, tmp_path / "balance.xlsx", census_year=first)
    expected = con.execute(
        "select count(*) from marts.county_balance where census_year = $y", {"y": first}
    ).fetchall()[0][0]
    assert rows == expected
    assert set(column_values(openpyxl.load_workbook(tmp_path / "balance.xlsx")["县域均衡"], "统计年度")) == {
        first
    }
    with pytest.raises(NoBalance):
        write_county_balance_xlsx(con, tmp_path / "none.xlsx", census_year=1900)
    assert not (tmp_path / "none.xlsx").exists()


def test_hostile_county_names_are_neutralised(warehouse, tmp_path):
    # County names come from the reference files a province supplies. Alerts carry the name they
    # were raised with (monitoring.backsliding_alerts.county_name); the balance sheet reads
    # marts.dim_counties. Both get the hostile names.
    copy = tmp_path / "hostile.duckdb"
    shutil.copy(warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        codes = [
            code
            for (code,) in con.execute(
                # the counties with an alert in the latest year first (the alert sheet shows them)
                "select county_code from marts.dim_counties order by county_code in (select county_code "
                "from monitoring.backsliding_alerts where census_year = (select max(census_year) from "
                "monitoring.backsliding_alerts)) desc, county_code"
            ).fetchall()
        ][: len(HOSTILE_NAMES)]
        assert len(codes) == len(HOSTILE_NAMES)
        for code, name in zip(codes, HOSTILE_NAMES, strict=True):
            params = {"name": name, "code": code}
            con.execute("update marts.dim_counties set county_name = $name where county_code = $code", params)
            con.execute(
                "update monitoring.backsliding_alerts set county_name = $name where county_code = $code",
                params,
            )
        write_alert_list_xlsx(con, tmp_path / "alerts.xlsx")
        write_county_balance_xlsx(con, tmp_path / "balance.xlsx")
    expected = dict(zip(codes, ["'" + name for name in HOSTILE_NAMES], strict=True))
    for path in (tmp_path / "alerts.xlsx", tmp_path / "balance.xlsx"):
        assert_no_formulas(path)
        for ws in openpyxl.load_workbook(path).worksheets:
            if "县区代码" not in header_row(
                ws
            ):  # 督导评估清单汇总: the province and its counties, by area code
                continue
            shown = dict(zip(column_values(ws, "县区代码"), column_values(ws, "县区名称"), strict=True))
            assert {code: shown[code] for code in codes if code in shown} == {
                code: expected[code] for code in codes if code in shown
            }
            assert any(code in shown for code in codes)
            names_column = header_row(ws).index("县区名称") + 1
            for row in range(2, ws.max_row + 1):
                cell = ws.cell(row, names_column)
                assert cell.data_type == "s"
                assert not str(cell.value).startswith(("=", "+", "-", "@", "\t", "\r"))


def test_county_balance_xlsx_prints_and_reads_like_the_official_tables(con, tmp_path):
    """The wide 表Ⅲ sheet, three significant digits for means, wrapped long text, landscape A4
    fit to the page width with the header row on every page, and no text-number marks on codes."""
    path = tmp_path / "balance.xlsx"
    write_county_balance_xlsx(con, path)
    workbook = openpyxl.load_workbook(path)
    year = latest_balance_year(con)
    basic = workbook["基本均衡差异系数表"]
    headers = header_row(basic)
    assert headers[:3] == ["县区代码", "县区名称", "学段"]
    assert headers[3] == "生均教学及辅助用房面积差异系数"  # the standard's order, official names
    assert headers[-3:] == ["综合差异系数", "差异系数阈值", "达标判定"]
    assert len(headers) == 3 + 8 + 3
    n_counties = con.execute(
        "select count(distinct county_code) from marts.county_balance where census_year = $y", {"y": year}
    ).fetchall()[0][0]
    assert basic.max_row == 2 * n_counties + 1  # one row per county and stage
    first = {h: basic.cell(2, i + 1).value for i, h in enumerate(headers)}
    want = con.execute(
        "select cv from marts.county_indicator_cv where census_year = $y and county_code = $c "
        "and standard_id = 'basic_2012' and stage = 'primary' and indicator_id = 'teaching_area_per_student'",
        {"y": year, "c": first["县区代码"]},
    ).fetchall()[0][0]
    assert first["学段"] == "小学" and first["生均教学及辅助用房面积差异系数"] == pytest.approx(
        want, rel=1e-14
    )
    assert basic.cell(2, 4).number_format == "0.000"
    quality = workbook["优质均衡差异系数表"]
    assert len(header_row(quality)) == 3 + 7 + 3
    # means at three significant digits: a teacher ratio is not shown as 0.05
    cvs = workbook["指标差异系数"]
    mean = header_row(cvs).index(header("mean_value", "marts.county_indicator_cv")) + 1
    for r in range(2, cvs.max_row + 1):
        value, fmt = cvs.cell(r, mean).value, cvs.cell(r, mean).number_format
        if value:
            assert fmt == significant_format(value)
    for ws in workbook.worksheets:
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.page_setup.fitToWidth in (None, 1) and ws.page_setup.fitToHeight == 0
        assert ws.print_title_rows == "$1:$1"
        check_layout(ws)
    with zipfile.ZipFile(path) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "numberStoredAsText" in sheet_xml  # 县区代码 is text on purpose: no green triangles


def test_long_alert_texts_wrap(con, tmp_path):
    path = tmp_path / "alerts.xlsx"
    write_alert_list_xlsx(con, path)
    ws = openpyxl.load_workbook(path).active
    column = header_row(ws).index(header("message_zh", ALERTS)) + 1
    longest = max(range(2, ws.max_row + 1), key=lambda r: len(ws.cell(r, column).value or ""))
    if len(ws.cell(longest, column).value or "") > 30:
        assert ws.cell(longest, column).alignment.wrap_text
    assert widths(ws)[column] <= 60 + 1  # openpyxl reads the width back with a 0.71 padding


def test_the_balance_workbook_holds_every_countys_checklist(con, tmp_path):
    """督导评估清单: one row per county and checkpoint of marts.county_checklist, a percentage in
    per cent with its unit, the verdict and the reason in words; 督导评估清单汇总: the province first."""
    year = con.execute("select max(census_year) from marts.county_checklist").fetchall()[0][0]
    write_county_balance_xlsx(con, tmp_path / "balance.xlsx", census_year=year)
    workbook = openpyxl.load_workbook(tmp_path / "balance.xlsx")
    rows = list(workbook["督导评估清单"].iter_rows(values_only=True))
    expected = con.execute(
        "select count(*) from marts.county_checklist where census_year = $y", {"y": year}
    ).fetchall()[0][0]
    assert len(rows) - 1 == expected
    head = list(rows[0])
    assert head[:3] == ["县区代码", "县区名称", "一级指标编号"]
    assert {"检查值", "标准值", "判定方式", "是否达标", "未判定原因", "申报人"} <= set(head)
    by_code = [dict(zip(head, r, strict=True)) for r in rows[1:]]
    c36 = next(r for r in by_code if r["检查点编号"] == "C36" and r["检查值"] is not None)
    stored = con.execute(
        "select value from marts.county_checklist where census_year = $y and county_code = $c "
        "and checkpoint_code = 'C36'",
        {"y": year, "c": c36["县区代码"]},
    ).fetchall()[0][0]
    assert c36["检查值"] == pytest.approx(stored * 100) and c36["单位"] == "%" and c36["标准值"] == 95
    assert {r["判定方式"] for r in by_code} == {"普查计算", "县区申报", "实地核查"}
    assert {r["是否达标"] for r in by_code} <= {"达标", "未达标", "—"}
    summary = list(workbook["督导评估清单汇总"].iter_rows(values_only=True))
    assert (
        summary[1][0] == "全省"
        and len(summary) - 2 == con.execute("select count(*) from marts.dim_counties").fetchall()[0][0]
    )
