"""County declaration files (县区申报表) as clerks make them: read, held to the checklist, and every
row accepted or rejected with the file, row, header as typed and rule (pipelines/lib/ingest/declarations.py)."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import polars as pl
import pytest
import yaml

from pipelines.lib.ingest.declarations import (
    ACCEPTED_SCHEMA,
    DeclarationLoad,
    is_declaration_file,
    load_checkpoints,
    read_declarations,
)

CHECKLIST = Path("models/checklists/quality_2017.yaml")
COUNTIES = ["900101", "900102"]
HEADER = ["序号", "县区代码", "检查点编号", "检查点内容", "申报值", "佐证说明", "申报人"]
TITLE = "某某县2024年义务教育优质均衡发展县区申报表"


@pytest.fixture(scope="module")
def checkpoints() -> dict[str, dict]:
    return load_checkpoints(CHECKLIST)


def _xlsx(path: Path, rows: list[list[object]], header: list[str] = HEADER, title: str = TITLE) -> Path:
    """A workbook as a clerk makes it: a merged title row, the header on row 2, a blank row 3,
    the data from row 4, a blank row and a 填表人 line at the foot."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "申报表"
    sheet["A1"] = title
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    sheet.append(header)
    sheet.append([])
    for row in rows:
        sheet.append(row)
    sheet.append([])
    sheet.append(["填表人：张三", None, None, "审核人：李四"])
    book.save(path)
    return path


def _csv(path: Path, lines: list[list[str]], encoding: str) -> Path:
    text = "\r\n".join(",".join(cells) for cells in lines) + "\r\n"
    path.write_bytes(text.encode(encoding))
    return path


def _read(path: Path, checkpoints: dict, name: str | None = None, year: int = 2024) -> DeclarationLoad:
    return read_declarations(path, name or f"2024/{path.name}", year, COUNTIES, checkpoints, "f" * 64)


def _by_row(load: DeclarationLoad) -> dict[int, dict]:
    return {r["source_row"]: r for r in load.accepted.iter_rows(named=True)}


def _rejected(load: DeclarationLoad, row: int) -> list[dict]:
    return load.rejected.filter(pl.col("source_row") == row).to_dicts()


def _every_row_answered(load: DeclarationLoad) -> None:
    rejected_rows = set(load.rejected["source_row"].to_list())
    accepted_rows = set(load.accepted["source_row"].to_list())
    assert not rejected_rows & accepted_rows
    assert load.rows_read == len(accepted_rows) + len(rejected_rows)


def test_load_checkpoints_reads_every_checkpoint_of_the_checklist(checkpoints):
    assert checkpoints["C31a"]["judged_by"] == "declared"
    assert checkpoints["C31a"]["value_type"] == "percent"
    assert checkpoints["C27"]["unit"] == "元"
    assert checkpoints["C36"]["judged_by"] == "census"
    assert checkpoints["C16"]["judged_by"] == "not_judged"
    assert {"C1", "C63", "C35b"} <= set(checkpoints)


@pytest.mark.parametrize(
    "name",
    [
        "县区申报_2024_900101.xlsx",
        "2024/某某县申报表.XLSX",
        "declaration_900101.csv",
        "County_Declarations.xls",
        "DECLARATION.csv",
        "９００１０１申报.csv",
    ],
)
def test_declaration_files_by_name(name):
    assert is_declaration_file(name)


@pytest.mark.parametrize(
    "name",
    [
        "教育事业统计_2024.xlsx",
        "县区申报.docx",
        "县区申报.pdf",
        "declaration.parquet",
        "~$县区申报.xlsx",
        ".申报.csv",
        "2024/schools.csv",
    ],
)
def test_other_files_are_not_declarations(name):
    assert not is_declaration_file(name)


def test_xlsx_round_trip_of_every_value_type(tmp_path, checkpoints):
    path = _xlsx(
        tmp_path / "县区申报_2024_900101.xlsx",
        [
            [1, 900101.0, "C29", "教师培训完成率", "96.5%", "培训台账", "张三"],  # row 4
            [2, 900101, " c31a ", "交流轮岗比例", 0.125, None, "张三"],  # row 5: a cell in a 0.0% format
            [3, "900101", "C27", "特教生均公用经费", "6,500元", None, "张三"],  # row 6
            [4, "900101", "C15", "办学规划", "达到", "", "张三"],  # row 7
            [5, "900102", "C38", "学校章程", "否", None, " 王五 "],  # row 8
            [6, "900102", "C63", "社会认可度", "８５．２％", None, "王五"],  # row 9: full-width
            [7, "900102", "C40", "培训经费", "5 %", None, "王五"],  # row 10
        ],
    )
    book = openpyxl.load_workbook(path)
    book.active["E5"].number_format = "0.0%"
    book.save(path)

    load = _read(path, checkpoints)

    assert load.file_message is None
    assert load.rejected.is_empty(), load.rejected["message_zh"].to_list()
    assert load.rows_read == 7
    assert dict(load.accepted.schema) == ACCEPTED_SCHEMA
    rows = _by_row(load)
    assert sorted(rows) == [4, 5, 6, 7, 8, 9, 10]
    expected = {
        4: ("900101", "C29", 0.965, "96.5%", "培训台账"),
        5: ("900101", "C31a", 0.125, "12.5%", None),
        6: ("900101", "C27", 6500.0, "6,500元", None),
        7: ("900101", "C15", 1.0, "达到", None),
        8: ("900102", "C38", 0.0, "否", None),
        9: ("900102", "C63", 0.852, "８５．２％", None),
        10: ("900102", "C40", 0.05, "5 %", None),
    }
    for row, (county, code, number, text, note) in expected.items():
        got = rows[row]
        assert (got["county_code"], got["checkpoint_code"], got["value_text"], got["evidence_note"]) == (
            county,
            code,
            text,
            note,
        )
        assert got["value_number"] == pytest.approx(number)
        assert got["census_year"] == 2024
        assert got["source_file"] == "2024/县区申报_2024_900101.xlsx"
        assert got["source_sha256"] == "f" * 64
    assert rows[8]["declared_by"] == "王五"
    assert "填表人" in (load.note or "")  # the foot is said, not passed over in silence


def test_gbk_csv_with_a_title_line(tmp_path, checkpoints):
    path = _csv(
        tmp_path / "申报表.csv",
        [
            ["某某县2024年县区申报表", "", "", ""],  # line 1
            ["县区代码", "指标编号", "完成情况", "填报人"],  # line 2
            ["", "", "", ""],  # line 3
            ["900101", "C29", "100%", "张三"],  # line 4
            ["900101.0", "C35a", "已落实", "张三"],  # line 5
            ["900101", "C33a", "96.5", "张三"],  # line 6: a bare percentage
            ["合计", "", "", ""],  # line 7: the foot
        ],
        "gbk",
    )
    load = _read(path, checkpoints)

    assert load.file_message is None
    rows = _by_row(load)
    assert sorted(rows) == [4, 5]
    assert rows[4]["value_number"] == 1.0
    assert rows[5]["county_code"] == "900101" and rows[5]["value_number"] == 1.0
    (bare,) = _rejected(load, 6)
    assert bare["check"] == "declared_value" and bare["column"] == "value" and bare["value"] == "96.5"
    assert bare["message_zh"].startswith("2024/申报表.csv 第6行 完成情况: ")  # the header as typed
    assert "百分比须写成“96.5%”的形式" in bare["message_zh"]
    assert "a percentage must be written like 96.5%" in bare["message_en"]
    assert load.rows_read == 3
    _every_row_answered(load)


def test_utf8_bom_csv_rejections_name_row_and_header(tmp_path, checkpoints):
    path = _csv(
        tmp_path / "declaration_2024.csv",
        [
            ["County_Code", "Checkpoint_Code", "申报数据", "备注", "申报人"],  # line 1
            ["900101.0", "C31b", "20%", "交流名单", "张三"],  # line 2: accepted
            ["900101", "C36", "96%", "", "张三"],  # line 3: computed from the census
            ["900101", "C16", "是", "", "张三"],  # line 4: judged on site
            ["900101", "C99", "是", "", "张三"],  # line 5: no such checkpoint
            ["900999", "C17", "是", "", "张三"],  # line 6: county not in the registry
            ["123", "C18", "是", "", "张三"],  # line 7: not a county code
            ["900101", "C27", "0.65万元", "", "张三"],  # line 8: another unit
            ["900101", "C19", "可以", "", "张三"],  # line 9: not a yes/no word
            ["900101", "C37", "120%", "", "张三"],  # line 10: above 100%
            ["900101", "C20", "", "", ""],  # line 11: blank value and declarant
        ],
        "utf-8-sig",
    )
    load = _read(path, checkpoints)

    assert load.file_message is None
    assert sorted(_by_row(load)) == [2]
    assert _by_row(load)[2]["county_code"] == "900101"
    assert _by_row(load)[2]["evidence_note"] == "交流名单"

    def only(row: int) -> dict:
        (found,) = _rejected(load, row)
        assert found["source_file"] == "2024/declaration_2024.csv"
        assert found["census_year"] == 2024
        assert found["load_id"] is None and found["school_id"] is None
        return found

    census = only(3)
    assert census["check"] == "declared_checkpoint" and census["column"] == "checkpoint_code"
    assert census["message_zh"] == (
        "2024/declaration_2024.csv 第3行 Checkpoint_Code: 检查点 C36 由普查数据计算，不接受申报"
    )
    assert "checkpoint C36 is computed from the census; it is not declared" in census["message_en"]
    assert "由督导评估组实地核查" in only(4)["message_zh"]
    assert "C99" in only(5)["message_zh"]
    unknown_county = only(6)
    assert unknown_county["check"] == "declared_county_code"
    assert "县区代码“900999”不在县区名录中" in unknown_county["message_zh"]
    assert unknown_county["county_code"] == "900999"
    assert "县区代码“123”不是 6 位数字" in only(7)["message_zh"]
    assert "单位须为 元" in only(8)["message_zh"] and "the unit must be 元" in only(8)["message_en"]
    assert "是" in only(9)["message_zh"] and only(9)["value"] == "可以"
    assert "0% 到 100%" in only(10)["message_zh"]
    blank = {r["column"]: r for r in _rejected(load, 11)}
    assert set(blank) == {"value", "declared_by"}
    assert "申报值为空" in blank["value"]["message_zh"]
    assert blank["declared_by"]["message_zh"].endswith("申报人: 申报人为空：每一项须写明申报人")
    _every_row_answered(load)


def test_rejected_has_the_columns_of_audit_rejected_rows(tmp_path, checkpoints):
    with open("models/audit/rejected_rows.yml", encoding="utf-8") as f:
        types = yaml.safe_load(f)["types"]
    path = _xlsx(tmp_path / "县区申报.xlsx", [[1, "900101", "C36", "", "96%", "", "张三"]])
    load = _read(path, checkpoints)
    assert load.rejected.columns == list(types)
    assert load.rejected.schema["census_year"] == pl.Int32
    assert load.rejected.schema["source_row"] == pl.Int64


def test_a_checkpoint_declared_twice_refuses_every_copy(tmp_path, checkpoints):
    path = _xlsx(
        tmp_path / "县区申报.xlsx",
        [
            [1, "900101", "C29", "", "100%", "", "张三"],  # row 4
            [2, "900101", "C30", "", "是", "", "张三"],  # row 5
            [3, "900101", "c29", "", "98%", "", "张三"],  # row 6: C29 again
            [4, "900102", "C29", "", "100%", "", "王五"],  # row 7: another county: fine
        ],
    )
    load = _read(path, checkpoints)
    assert sorted(_by_row(load)) == [5, 7]
    twice = load.rejected.filter(pl.col("check") == "declared_twice")
    assert twice["source_row"].to_list() == [4, 6]
    for message in twice["message_zh"]:
        assert "同一县区的检查点 C29 申报了两次（第 4 行、第 6 行）" in message
    _every_row_answered(load)


def test_a_missing_required_column_refuses_the_file(tmp_path, checkpoints):
    header = ["县区代码", "检查点编号", "检查点内容", "申报值", "佐证说明"]  # no 申报人
    path = _xlsx(tmp_path / "县区申报_2024_900101.xlsx", [["900101", "C29", "", "100%", ""]], header)
    load = _read(path, checkpoints)
    assert load.file_message is not None
    assert load.file_message.startswith("2024/县区申报_2024_900101.xlsx: 缺少必需的列“申报人”")
    assert "申报人、填报人、填表人" in load.file_message
    assert "missing required column declared_by" in load.file_message
    assert load.accepted.is_empty() and load.rejected.is_empty() and load.rows_read == 0


def test_a_file_without_the_value_column_is_refused_naming_it(tmp_path, checkpoints):
    path = _csv(
        tmp_path / "申报.csv", [["县区代码", "检查点编号", "申报人"], ["900101", "C29", "张三"]], "utf-8"
    )
    load = _read(path, checkpoints)
    assert load.file_message is not None
    assert "缺少必需的列“申报值”（可用列名：申报值、申报数据、数值、完成情况）" in load.file_message
    assert "missing required column value" in load.file_message


def test_another_years_declarations_are_refused(tmp_path, checkpoints):
    path = _xlsx(
        tmp_path / "县区申报.xlsx",
        [[1, "900101", "C29", "", "100%", "", "张三"]],
        title="某某县2023年义务教育优质均衡发展县区申报表",
    )
    load = _read(path, checkpoints)
    assert load.file_message is not None and "2023" in load.file_message
    assert load.accepted.is_empty()


def test_an_xls_workbook(tmp_path, checkpoints):
    xlwt = pytest.importorskip("xlwt")
    book = xlwt.Workbook()
    sheet = book.add_sheet("申报")
    sheet.write(0, 0, TITLE)
    for j, text in enumerate(["县区代码", "检查点编号", "申报值（%）", "申报人"]):  # a note in brackets
        sheet.write(1, j, text)
    percent = xlwt.easyxf(num_format_str="0.0%")
    for j, value in enumerate([900101.0, "C34", 0.85, "张三"]):
        sheet.write(2, j, value, percent if j == 2 else xlwt.Style.default_style)
    for j, value in enumerate([900101.0, "C34", 85.0, "张三"]):  # row 4: C34 again, a bare number
        sheet.write(3, j, value)
    path = tmp_path / "县区申报.xls"
    book.save(str(path))

    load = _read(path, checkpoints)
    assert load.file_message is None
    assert load.accepted.is_empty()  # both copies of C34 refused
    rows = load.rejected.select("source_row", "check").rows()
    assert (3, "declared_twice") in rows and (4, "declared_twice") in rows and (4, "declared_value") in rows
    assert (3, "declared_value") not in rows  # 0.85 in a 0.0% format reads as 85%
    _every_row_answered(load)


def test_a_row_in_the_middle_is_never_skipped_as_a_foot(tmp_path, checkpoints):
    path = _xlsx(
        tmp_path / "县区申报.xlsx",
        [
            [1, "900101", "C29", "", "100%", "", "张三"],  # row 4
            ["备注：以下为补报", None, None, None, None, None, None],  # row 5: not at the foot
            [2, "900101", "C30", "", "是", "", "张三"],  # row 6
        ],
    )
    load = _read(path, checkpoints)
    assert sorted(_by_row(load)) == [4, 6]
    assert set(load.rejected["source_row"]) == {5}
    assert load.rows_read == 3 and load.rows_skipped == 3  # blank rows 3 and 7, the 填表人 line 8
    _every_row_answered(load)
