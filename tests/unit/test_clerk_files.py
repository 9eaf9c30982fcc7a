"""Files shaped the way county offices really send them, and nothing of them loaded in silence.

Each test writes its file the way a clerk's tool leaves it (Excel, WPS, a web system's "Excel"
export, a copy still in progress) and checks that the year loads whole, or that the file, sheet,
line and reason are named in Chinese.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from pipelines.lib.ingest.census_ingest import FileRejected, YearRejected, load_census_year, load_file
from pipelines.lib.ingest.validate import validate_paths
from pipelines.lib.reference.registry import read_counties
from tests.conftest import census_row
from tests.unit.test_readers import rows_as_text, write_csv

REGISTRY = ["900101"]
IDS = [f"21900000{i:02d}" for i in range(1, 7)]


def schools(n: int = 3, **overrides) -> list[dict]:
    return [census_row(school_id=IDS[i], **overrides) for i in range(n)]


def load(path: Path, previous: pl.DataFrame | None = None):
    return load_file(path, f"2024/{path.name}", 2024, REGISTRY, previous)


def refusal(path: Path, previous: pl.DataFrame | None = None) -> str:
    with pytest.raises(FileRejected) as refused:
        load(path, previous)
    return str(refused.value)


def text_lines(rows: list[dict], separator: str = ",") -> list[str]:
    headers, body = rows_as_text(rows, chinese=True)
    return [separator.join(headers)] + [separator.join(r) for r in body]


def workbook(path: Path, sheets: dict[str, list[list[object]]], hidden: tuple[str, ...] = ()) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
        if name in hidden:
            sheet.sheet_state = "hidden"
    book.save(path)
    return path


def table(rows: list[dict]) -> list[list[object]]:
    headers, body = rows_as_text(rows, chinese=True)
    return [headers, *body]


# 1. every sheet accounted for ------------------------------------------------------------------


def test_a_second_sheet_continuing_the_first_without_a_header_is_read(tmp_path):
    rows = table(schools(5))
    path = workbook(tmp_path / "a.xlsx", {"Sheet1": rows[:4], "Sheet2": rows[4:]})
    accepted, rejected, report = load(path)
    assert accepted.height == 5 and rejected.is_empty()
    assert "工作表 'Sheet2' 没有表头，按 'Sheet1' 的续表读取（2 行）" in (report.message or "")


def test_a_bad_value_on_a_continuation_sheet_is_named_by_its_own_sheet_and_row(tmp_path):
    rows = table(schools(5))
    rows[5][rows[0].index("小学在校生数")] = "五百"
    path = workbook(tmp_path / "a.xlsx", {"Sheet1": rows[:4], "Sheet2": rows[4:]})
    accepted, rejected, _ = load(path)
    assert accepted.height == 4
    assert rejected["message_zh"][0].startswith("2024/a.xlsx 工作表 Sheet2 第2行 小学在校生数: '五百'")


def test_a_sheet_of_data_that_does_not_line_up_is_refused_by_name(tmp_path):
    rows = table(schools(3))
    shifted = [[IDS[5], "500", "12", "30"]]  # the ids in column A, where the header has 统计年度
    message = refusal(workbook(tmp_path / "a.xlsx", {"Sheet1": rows[:3], "Sheet2": shifted}))
    assert "工作表 'Sheet2' 有数据但没有表头" in message


def test_hidden_sheets_and_notes_are_named_not_dropped_in_silence(tmp_path):
    rows = table(schools(2))
    path = workbook(
        tmp_path / "a.xlsx",
        {"学校": rows, "说明": [["填表说明：请按统计口径填写"]], "旧表": rows},
        hidden=("旧表",),
    )
    accepted, _, report = load(path)
    assert accepted.height == 2
    assert "隐藏的工作表 '旧表'（3 行）未读取" in (report.message or "")
    assert "工作表 '说明' 没有表头，也没有学校数据" in (report.message or "")


def test_last_years_copy_on_a_second_sheet_is_named_and_this_years_read(tmp_path):
    path = workbook(tmp_path / "a.xlsx", {"2024年": table(schools(3)), "2023年": table(schools(2))})
    accepted, _, report = load(path)
    assert accepted.height == 3 and report.sheet == "2024年"
    assert "工作表 '2023年' 是 2023 年度的表，未读取" in (report.message or "")


# 2. a file cut short ---------------------------------------------------------------------------


def test_a_csv_cut_in_the_middle_of_a_number_is_refused_naming_its_last_complete_line(tmp_path):
    data = ("\n".join(text_lines(schools(4))) + "\n").encode("utf-8")
    cut = data[: data.rindex(b"\n", 0, len(data) - 1) + 20]  # into the last line, mid-value
    path = tmp_path / "a.csv"
    path.write_bytes(cut)
    message = refusal(path)
    assert "文件不完整" in message and "最后一个完整的行是第4行" in message and "第5行" in message


def test_a_csv_ending_in_zero_bytes_is_refused(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(("\n".join(text_lines(schools(2))) + "\n").encode("utf-8") + b"\x00" * 64)
    assert "空字节" in refusal(path)


def test_an_xlsx_cut_short_is_refused_as_incomplete(tmp_path):
    whole = workbook(tmp_path / "whole.xlsx", {"Sheet1": table(schools(3))}).read_bytes()
    path = tmp_path / "a.xlsx"
    path.write_bytes(whole[: len(whole) * 6 // 10])
    assert "文件不完整或已损坏" in refusal(path)


# 3. stated units checked too -------------------------------------------------------------------


def test_a_wan_yuan_header_over_values_in_yuan_is_refused_with_both_readings(tmp_path):
    rows = schools(4)
    previous = pl.DataFrame(
        {"school_id": IDS[:4], "equipment_value_yuan": [1_000_000.0] * 4, "books": [15000] * 4}
    )
    headers, body = rows_as_text(rows, chinese=True)  # header 教学仪器设备资产值(万元)
    column = headers.index("教学仪器设备资产值(万元)")
    for r in body:
        r[column] = "1020000"  # typed in 元 under a 万元 header
    path = write_csv(tmp_path / "a.csv", headers, body, "utf-8")
    message = refusal(path, previous)
    assert "列 '教学仪器设备资产值(万元)' 的数值约为上一年度同一批学校（4 所）的 10,200 倍" in message
    assert "按表头的单位（万元）读，中位数是 10,200,000,000 元" in message
    assert "则是 1,020,000 元；上一年度是 1,000,000 元" in message


# 4. readers never crash, and say what a file really is -----------------------------------------


def _with_namespace_prefix(source: Path, target: Path) -> Path:
    """The same workbook with its XML written with a namespace prefix (<x:row>), as some tools
    write it; valid, and Excel and WPS read it."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as out:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/workbook.xml" or item.filename.startswith("xl/worksheets/"):
                text = data.decode("utf-8").replace(f'xmlns="{main}"', f'xmlns:x="{main}"')
                text = re.sub(r"<(/?)(?![?!])([A-Za-z]+)(?=[\s>/])", r"<\1x:\2", text)
                data = text.encode("utf-8")
            out.writestr(item, data)
    return target


def test_an_xlsx_whose_xml_uses_a_namespace_prefix_loads_with_excels_row_numbers(tmp_path):
    rows = [["2024年 示例县学校情况"], [], *table(schools(3))]
    rows[4][rows[2].index("小学在校生数")] = "-5"
    plain = workbook(tmp_path / "plain.xlsx", {"Sheet1": rows})
    path = _with_namespace_prefix(plain, tmp_path / "a.xlsx")
    assert "<x:row" in zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode()
    accepted, rejected, _ = load(path)
    assert accepted.height == 2
    assert rejected["message_zh"][0].startswith("2024/a.xlsx 第5行 小学在校生数")


def test_tab_separated_text_named_csv_loads(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("\n".join(text_lines(schools(3), "\t")) + "\n", encoding="utf-8")
    accepted, rejected, report = load(path)
    assert accepted.height == 3 and rejected.is_empty()
    assert "按制表符分列读取" in (report.message or "")


def test_tab_separated_utf16_text_named_xls_loads(tmp_path):
    """A statistics system's "Excel" export that is Excel's Unicode text."""
    path = tmp_path / "a.xls"
    path.write_bytes(("\n".join(text_lines(schools(3), "\t")) + "\n").encode("utf-16"))
    accepted, _, report = load(path)
    assert accepted.height == 3 and report.encoding == "utf-16"
    assert "扩展名是 .xls，但内容是文本表格，已按文本读取" in (report.message or "")


def test_a_web_page_saved_as_xls_is_refused_saying_what_it_is(tmp_path):
    path = tmp_path / "a.xls"
    cells = "".join(f"<td>{h}</td>" for h in text_lines(schools(1))[0].split(","))
    path.write_text(f"<html><body><table><tr>{cells}</tr></table></body></html>", encoding="utf-8")
    message = refusal(path)
    assert (
        "扩展名是 .xls，但文件内容实际是网页（HTML 表格）" in message
        and "另存为 Excel 工作簿（.xlsx）" in message
    )


def test_a_workbook_renamed_csv_is_refused_saying_what_it_is(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(workbook(tmp_path / "b.xlsx", {"Sheet1": table(schools(2))}).read_bytes())
    message = refusal(path)
    assert "扩展名是 .csv，但文件内容实际是 Excel 工作簿（.xlsx）" in message and "改为 .xlsx" in message


def test_a_line_with_an_extra_unheaded_cell_loads_and_is_noted(tmp_path):
    lines = text_lines(schools(3))
    lines[2] += ",备注：新校区"
    path = tmp_path / "a.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    accepted, rejected, report = load(path)
    assert accepted.height == 3 and rejected.is_empty()
    assert "第3行在表头之外还有单元格（'备注：新校区'）" in (report.message or "")


def test_an_empty_file_beside_a_real_one_is_skipped_with_a_note(tmp_path):
    year = tmp_path / "2024"
    year.mkdir()
    (year / "a.csv").write_text("\n".join(text_lines(schools(3))) + "\n", encoding="utf-8")
    (year / "新建文本文档.csv").write_bytes(b"")
    (year / "新建 XLSX 工作表.xlsx").write_bytes(b"")
    loaded = load_census_year(tmp_path, 2024, REGISTRY, "load-1")
    assert loaded.accepted.height == 3
    skipped = {f.source_file: f for f in loaded.files if f.status == "ignored"}
    assert set(skipped) == {"2024/新建文本文档.csv", "2024/新建 XLSX 工作表.xlsx"}
    assert all("空文件，已跳过" in (f.message or "") for f in skipped.values())


def test_a_folder_of_only_empty_files_is_refused(tmp_path):
    (tmp_path / "2024").mkdir()
    (tmp_path / "2024" / "a.csv").write_bytes(b"")
    with pytest.raises(YearRejected, match="没有数据文件"):
        load_census_year(tmp_path, 2024, REGISTRY, "load-1")


# 6. what clerks write --------------------------------------------------------------------------


@pytest.mark.parametrize("marker", ["——", "–", "N/A", "#N/A", "暂无", "不详", "空"])
def test_every_unknown_marker_loads_as_unknown_with_a_note(tmp_path, marker):
    headers, body = rows_as_text(schools(3), chinese=True)
    body[1][headers.index("图书")] = marker
    path = write_csv(tmp_path / "a.csv", headers, body, "utf-8")
    accepted, rejected, report = load(path)
    assert rejected.is_empty() and accepted.height == 3
    assert accepted["books"].to_list() == [15000, None, 15000]
    assert f"1 个单元格写的是表示未知的记号（'{marker}' 1 个），按未知值载入" in (report.message or "")


def test_excel_error_cells_are_named_as_errors_with_their_cell(tmp_path):
    rows = table(schools(5))
    column = rows[0].index("图书")
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    sheet.cell(row=2, column=column + 1).value = "#REF!"  # openpyxl writes an error cell (t="e")
    sheet.cell(row=4, column=column + 1).value = "#DIV/0!"
    assert sheet.cell(row=2, column=column + 1).data_type == "e"
    path = tmp_path / "a.xlsx"
    book.save(path)
    accepted, rejected, _ = load(path)
    assert accepted.height == 3
    letter = openpyxl.utils.get_column_letter(column + 1)
    assert rejected["message_zh"].to_list() == [
        f"2024/a.xlsx 第2行 图书: 单元格 {letter}2 是 Excel 错误值 #REF!（公式出错，没有数值），该行未载入；"
        "请在 Excel 中改正公式或直接填写数值",
        f"2024/a.xlsx 第4行 图书: 单元格 {letter}4 是 Excel 错误值 #DIV/0!（公式出错，没有数值），该行未载入；"
        "请在 Excel 中改正公式或直接填写数值",
    ]


def test_an_excel_error_saved_into_a_csv_is_named_too(tmp_path):
    headers, body = rows_as_text(schools(2), chinese=True)
    body[0][headers.index("教学用计算机")] = "#VALUE!"
    _, rejected, _ = load(write_csv(tmp_path / "a.csv", headers, body, "utf-8"))
    assert "是 Excel 错误值 #VALUE!" in rejected["message_zh"][0] and rejected["check"][0] == "excel_error"


def test_a_units_row_under_the_header_gives_the_columns_units(tmp_path):
    headers, body = rows_as_text(schools(3), chinese=True)
    headers = [h.replace("(万元)", "") for h in headers]
    units = ["" for _ in headers]
    units[headers.index("小学在校生数")] = "人"
    units[headers.index("教学仪器设备资产值")] = "万元"
    units[headers.index("教学及辅助用房面积")] = "平方米"
    path = tmp_path / "a.xlsx"
    workbook(path, {"Sheet1": [headers, units, *body]})
    accepted, rejected, report = load(path)
    assert rejected.is_empty() and accepted.height == 3
    assert accepted["equipment_value_yuan"].to_list() == [1_000_000.0] * 3  # 100 万元
    assert "第2行是单位行，已作为各列的单位读取" in (report.message or "")


def test_footer_and_column_number_rows_are_skipped_with_one_note_each(tmp_path):
    headers, body = rows_as_text(schools(3), chinese=True)
    numbers = ["甲", "乙", *[str(i) for i in range(1, len(headers) - 1)]]
    lines = [
        ",".join(headers),
        ",".join(numbers),
        *(",".join(r) for r in body),
        "",
        "填表人：张三,,审核人：李四,,单位负责人：王五",
        "填报日期：2024年10月31日",
    ]
    path = tmp_path / "a.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    accepted, rejected, report = load(path)
    assert rejected.is_empty() and accepted.height == 3
    note = report.message or ""
    assert note.count("栏次行") == 1 and "第2行是栏次行，不是学校，已跳过" in note
    assert "第7、8行是表尾签字行（填表人、审核人等），不是学校，已跳过" in note


def test_a_teaching_point_of_a_refused_parent_names_the_parents_refusal(tmp_path):
    parent = census_row(school_id=IDS[0], primary_students=-3)
    point = census_row(school_id=IDS[1], school_type_code="218", parent_school_id=IDS[0])
    others = [census_row(school_id=IDS[i]) for i in (2, 3, 4)]
    year = tmp_path / "2024"
    headers, body = rows_as_text([parent, point, *others], chinese=True)
    write_csv(year / "a.csv", headers, body, "utf-8")
    loaded = load_census_year(tmp_path, 2024, REGISTRY, "load-1")
    orphan = loaded.rejected.filter(pl.col("school_id") == IDS[1])["message_zh"][0]
    assert f"所属学校 {IDS[0]}（2024/a.csv 第2行）本身未通过检查、未载入：'-3' 不能为负数" in orphan


def test_invisible_characters_are_stripped(tmp_path):
    headers, body = rows_as_text(schools(2), chinese=True)
    body[0][headers.index("学校标识码")] = "\u200b2190000001"
    body[1][headers.index("图书")] = "15000\u200b\u00a0"
    headers[headers.index("教学用计算机")] = "教学用\u200b计算机"
    accepted, rejected, _ = load(write_csv(tmp_path / "a.csv", headers, body, "utf-8"))
    assert rejected.is_empty()
    assert accepted["school_id"].to_list() == IDS[:2] and accepted["books"].to_list() == [15000, 15000]


def test_a_registry_saved_by_excel_with_trailing_empty_lines_loads(tmp_path):
    path = tmp_path / "reference" / "counties.csv"
    path.parent.mkdir()
    header = "county_code,county_name,prefecture_code,prefecture_name,province_code,province_name"
    path.write_text(
        f"{header}\r\n900101,示例县,9001,示例市,90,示例省\r\n" + ",,,,,\r\n" * 3, encoding="utf-8"
    )
    registry = read_counties(tmp_path)
    assert registry["county_code"].to_list() == ["900101"]


# 8. validate judges what run judges ------------------------------------------------------------


def test_validate_refuses_a_year_whose_only_file_is_a_header(tmp_path):
    headers, _ = rows_as_text(schools(1), chinese=True)
    path = write_csv(tmp_path / "2024" / "a.csv", headers, [], "utf-8")
    verdict = validate_paths([path], REGISTRY)
    assert verdict.years_refused == [2024]
    assert "只有表头，没有学校行；本年度没有任何学校可以载入" in (verdict.verdicts[0].report.message or "")
    with pytest.raises(YearRejected, match="只有表头"):
        load_census_year(tmp_path, 2024, REGISTRY, "load-1")


def test_a_header_only_file_beside_real_ones_is_skipped_with_a_note(tmp_path):
    headers, body = rows_as_text(schools(2), chinese=True)
    write_csv(tmp_path / "2024" / "a.csv", headers, body, "utf-8")
    write_csv(tmp_path / "2024" / "b.csv", headers, [], "utf-8")
    loaded = load_census_year(tmp_path, 2024, REGISTRY, "load-1")
    assert loaded.accepted.height == 2
    skipped = next(f for f in loaded.files if f.source_file == "2024/b.csv")
    assert skipped.status == "ignored" and "只有表头，没有学校行，已跳过" in (skipped.message or "")


def test_an_xls_continuation_sheet_from_column_b_is_read_with_its_own_row_numbers(tmp_path):
    """WPS saving the older .xls, the table from column B and split over two sheets."""
    import xlwt

    rows = table(schools(5))
    rows[5][rows[0].index("小学在校生数")] = "-1"
    book = xlwt.Workbook(encoding="utf-8")
    for name, part, top in (("第一页", rows[:4], 2), ("第二页", rows[4:], 0)):
        sheet = book.add_sheet(name)
        for i, row in enumerate(part):
            for j, cell in enumerate(row):
                sheet.write(top + i, 1 + j, cell)
    path = tmp_path / "a.xls"
    book.save(str(path))
    accepted, rejected, report = load(path)
    assert accepted.height == 4 and report.sheet == "第一页、第二页"
    assert rejected["message_zh"][0].startswith("2024/a.xls 工作表 第二页 第2行 小学在校生数: '-1'")


def _docx() -> bytes:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("file_name", "data", "said"),
    [
        ("a.xlsx", bytes(range(256)) * 20, "既不是 Excel 工作簿，也不是文本表格"),
        (
            "a.xls",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 8,
            "文件无法按 Excel 工作簿读取（xls）",
        ),
        ("a.csv", bytes(range(128, 256)) * 20, "无法识别文件编码"),
        ("a.parquet", b"PAR1" + bytes(200), "文件无法按 Parquet 读取"),
        ("a.csv", b"PAR1" + bytes(200), "实际是 Parquet 文件"),
        ("a.xlsx", _docx(), "实际是 Word 文档"),
        (
            "a.xls",
            b'<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"/>',
            "XML 电子表格 2003",
        ),
        ("a.csv", "学校标识码,学校名称,行政区划代码".encode(), "文件中没有一行是完整的"),
    ],
)
def test_no_file_crashes_a_reader_each_is_refused_saying_what_it_is(tmp_path, file_name, data, said):
    path = tmp_path / file_name
    path.write_bytes(data)
    message = refusal(path)
    assert message.startswith(f"2024/{file_name}: ") and said in message


def test_the_run_summary_names_continuation_sheets_and_skipped_files(tmp_path):
    """What audit.loads says of the files reaches the run's summary, under the year's load line."""
    from pipelines.lib.outputs.summary import load_report
    from pipelines.lib.queries import sql
    from pipelines.lib.warehouse import connect, replace_census_year

    rows = table(schools(5))
    (tmp_path / "2024").mkdir()
    workbook(tmp_path / "2024" / "县甲.xlsx", {"Sheet1": rows[:4], "Sheet2": rows[4:]})
    (tmp_path / "2024" / "新建文本文档.csv").write_bytes(b"")
    loaded = load_census_year(tmp_path, 2024, REGISTRY, "load-1")
    with connect(tmp_path / "w.duckdb") as con:
        replace_census_year(con, 2024, loaded.accepted, loaded.rejected, "load-1", loaded.files)
        con.execute(
            sql("year_loads/loads_make_current"), {"census_year": 2024, "load_id": "load-1"}
        )  # the commit
        report = load_report(con, 2024).splitlines()
        english = load_report(con, 2024, lang="en").splitlines()
    assert report == [
        "载入学校 5 所，退回 0 行",
        "      2024/县甲.xlsx：读取工作表 'Sheet1'",
        "      2024/县甲.xlsx：工作表 'Sheet2' 没有表头，按 'Sheet1' 的续表读取（2 行）",
        "      2024/新建文本文档.csv：空文件，已跳过",
    ]
    assert (
        english[2]
        == "      2024/县甲.xlsx: sheet 'Sheet2' (no header) read as the continuation of 'Sheet1' (2 rows)"
    )
