"""Per-school base-form workbooks (教基): values are found by their labels, so inserted rows and
moved columns are still read; a missing form, an unknown form or a workbook without 教基1001 is
refused with the form's name; a bad value is reported with its form and cell."""

from pathlib import Path

import openpyxl
import polars as pl
import pytest

from pipelines.lib.ingest.census_ingest import FileRejected, load_file
from pipelines.lib.synthetic.form_books import write_form_books
from tests.conftest import census_frame, census_row

CODES = ["900101"]


def workbook(tmp_path: Path, **overrides) -> Path:
    frame = census_frame([census_row(**overrides)]).with_columns(pl.lit(2024).alias("census_year"))
    write_form_books(frame, tmp_path, 2024)
    return next(tmp_path.glob("*.xlsx"))


def load(path: Path):
    return load_file(path, f"2024/{path.name}", 2024, CODES)


def test_a_school_workbook_loads_every_value_with_its_form_and_cell(tmp_path):
    accepted, rejected, report = load(workbook(tmp_path))
    assert rejected.is_empty()
    row = accepted.row(0, named=True)
    assert (row["school_id"], row["county_code"], row["school_type_code"]) == ("2190000001", "900101", "211")
    assert row["equipment_value_yuan"] == 1_000_000.0  # written in 万元 on 教基5176
    assert (row["junior_students"], row["junior_key_teachers"]) == (0, 0)  # a 小学 files no 初中 forms
    assert report.shape == "jiaoji_forms"
    assert report.cells[(1, "primary_students")] == "教基3112!C3（总计·在校生数）"
    assert report.cells[(1, "school_name")].startswith("教基1001!")


def test_an_inserted_row_and_a_moved_column_are_still_found(tmp_path):
    path = workbook(tmp_path)
    book = openpyxl.load_workbook(path)
    sheet = book["教基5170"]
    sheet.insert_rows(3)  # a row the layout does not know, above 教学及辅助用房
    sheet["A3"] = "其中：危房"
    sheet.insert_cols(2)  # and a column before the values
    book.save(path)
    accepted, rejected, report = load(path)
    assert rejected.is_empty()
    assert accepted["teaching_aux_area_m2"][0] == 3000.0
    assert report.cells[(1, "teaching_aux_area_m2")] == "教基5170!D4（教学及辅助用房·建筑面积）"


def test_the_checklists_cells_are_read_and_a_form_without_them_loads_them_unknown(tmp_path):
    """Grade enrolment, 随迁子女 and certified teachers where the forms have them; a form without
    their rows or columns (an older layout) loads the school with them null, never refuses it."""
    counts = {"primary_migrant_students": 40, "primary_certified_teachers": 29}
    (tmp_path / "with").mkdir()
    (tmp_path / "without").mkdir()
    accepted, rejected, report = load(workbook(tmp_path / "with", **counts))
    assert rejected.is_empty()
    assert {c: accepted[c][0] for c in counts} == counts
    assert report.cells[(1, "primary_migrant_students")] == "教基3112!D3（总计·进城务工人员随迁子女）"

    path = workbook(tmp_path / "without", **counts)
    book = openpyxl.load_workbook(path)
    book["教基3112"].delete_cols(4)  # no 进城务工人员随迁子女 column
    book["教基4155"].delete_cols(5)  # no 持有教师资格证 column
    book.save(path)
    accepted, rejected, report = load(path)
    assert rejected.is_empty() and accepted.height == 1
    assert accepted["primary_migrant_students"][0] is None
    assert accepted["primary_certified_teachers"][0] is None
    assert accepted["primary_students"][0] == 500


def test_a_missing_form_of_a_stage_the_school_teaches_refuses_the_workbook(tmp_path):
    path = workbook(tmp_path)
    book = openpyxl.load_workbook(path)
    del book["教基3112"]
    book.save(path)
    with pytest.raises(FileRejected, match="缺少报表 教基3112"):
        load(path)


def test_an_unknown_form_is_refused_by_its_name(tmp_path):
    path = workbook(tmp_path)
    book = openpyxl.load_workbook(path)
    book.create_sheet("基础基312")
    book.save(path)
    with pytest.raises(FileRejected, match="报表 基础基312 的格式尚未收录"):
        load(path)


def test_a_workbook_without_the_identity_form_is_refused(tmp_path):
    path = workbook(tmp_path)
    book = openpyxl.load_workbook(path)
    del book["教基1001"]
    book.save(path)
    with pytest.raises(FileRejected, match="缺少学校基本情况表 教基1001"):
        load(path)


def test_a_bad_value_refuses_the_school_with_its_form_and_cell(tmp_path):
    path = workbook(tmp_path)
    book = openpyxl.load_workbook(path)
    book["教基5176"]["C3"] = "很多"  # 运动场地面积
    book.save(path)
    accepted, rejected, _ = load(path)  # the school is refused, the file (and its year) is not
    assert accepted.is_empty()
    assert rejected["message_zh"][0] == (
        f"2024/{path.name} 教基5176!C3（运动场地面积·数量）: '很多' 不是有效的数值"
    )


def county_workbook(tmp_path: Path) -> Path:
    rows = [
        census_row(),
        census_row(school_id="2190000002", school_name="二小", primary_students=480),
        census_row(
            school_id="2190000003",
            school_name="一中",
            school_type_code="311",
            primary_students=0,
            junior_students=900,
            junior_classes=18,
            junior_teachers=60,
        ),
    ]
    frame = census_frame(rows).with_columns(pl.lit(2024).alias("census_year"))
    write_form_books(frame, tmp_path, 2024, by_county=True)
    return next(tmp_path.glob("*.xlsx"))


def test_a_workbook_of_many_schools_is_read_school_by_school(tmp_path):
    path = county_workbook(tmp_path)
    assert "教基1001 (2)" in openpyxl.load_workbook(path, read_only=True).sheetnames
    accepted, rejected, report = load(path)
    assert rejected.is_empty()
    assert accepted.select("source_row", "school_id", "primary_students", "junior_students").rows() == [
        (1, "2190000001", 500, 0),
        (2, "2190000002", 480, 0),
        (3, "2190000003", 0, 900),
    ]
    assert report.cells[(2, "primary_students")] == "教基3112 (2)!C3（总计·在校生数）"
    assert report.cells[(3, "junior_students")] == "教基3115 (3)!C3（总计·在校生数）"
    assert "3 所学校" in report.message


def test_a_bad_value_in_a_workbook_of_many_schools_refuses_that_school_and_names_its_sheet(tmp_path):
    path = county_workbook(tmp_path)
    book = openpyxl.load_workbook(path)
    book["教基5176 (2)"]["C3"] = "很多"
    book.save(path)
    accepted, rejected, _ = load(path)
    assert accepted["school_id"].to_list() == ["2190000001", "2190000003"]
    assert rejected["source_row"].to_list() == [2]
    assert rejected["message_zh"][0].startswith(f"2024/{path.name} 教基5176 (2)!C3（运动场地面积·数量）: ")


def test_sheets_named_after_their_school_are_grouped_by_name():
    from pipelines.lib.ingest.forms import schools_of

    groups = schools_of(["城关小学_教基1001", "城关小学_教基3112", "教基1001-二小", "教基3112-二小", "说明"])
    assert groups == {
        "城关小学": {"教基1001": "城关小学_教基1001", "教基3112": "城关小学_教基3112"},
        "二小": {"教基1001": "教基1001-二小", "教基3112": "教基3112-二小"},
    }


def test_a_school_of_a_many_school_workbook_without_its_identity_form_refuses_the_workbook(tmp_path):
    path = county_workbook(tmp_path)
    book = openpyxl.load_workbook(path)
    del book["教基1001 (3)"]
    book.save(path)
    with pytest.raises(FileRejected, match=r"缺少学校基本情况表 教基1001（工作表 教基3115 \(3\)"):
        load(path)
