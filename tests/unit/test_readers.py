"""Extracts as counties really send them: encodings, Excel layouts, Parquet, header drift, units.

Every file here is written by the test itself, one per real-world quirk.
"""

from pathlib import Path

import polars as pl
import pytest
import xlsxwriter
import yaml

from contracts.columns import CENSUS_COLUMN_NAMES
from pipelines.lib.ingest.census_ingest import FileRejected, load_file
from tests.conftest import census_row

REGISTRY = ["900101"]
HEADERS = yaml.safe_load(
    (Path(__file__).parents[2] / "contracts" / "headers.yaml").read_text(encoding="utf-8")
)


def chinese_header(column: str) -> str:
    if column == "equipment_value_yuan":
        return "教学仪器设备资产值(万元)"
    return HEADERS["columns"][column]["aliases"][0]


def rows_as_text(rows: list[dict], chinese: bool = False) -> tuple[list[str], list[list[str]]]:
    headers = [chinese_header(c) if chinese else c for c in CENSUS_COLUMN_NAMES]
    body = []
    for r in rows:
        cells = []
        for c in CENSUS_COLUMN_NAMES:
            v = r.get(c)
            if chinese and c == "equipment_value_yuan" and v is not None:
                v = v / 10_000
            cells.append("" if v is None else str(v).lower() if isinstance(v, bool) else str(v))
        body.append(cells)
    return headers, body


def write_csv(path: Path, headers: list[str], body: list[list[str]], encoding: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [",".join(headers)] + [",".join(f'"{c}"' if "," in c else c for c in row) for row in body]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


TWO_SCHOOLS = [
    census_row(school_id="2190000001"),
    census_row(school_id="2190000002", equipment_value_yuan=250_000.0),
]


def load(path: Path):
    return load_file(path, f"2024/{path.name}", 2024, REGISTRY)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_in_every_accepted_encoding_with_chinese_headers(tmp_path, encoding):
    # counties export from Excel as GBK; newer software writes UTF-8, with or without a BOM
    headers, body = rows_as_text(TWO_SCHOOLS, chinese=True)
    accepted, rejected, report = load(write_csv(tmp_path / "a.csv", headers, body, encoding))
    assert rejected.is_empty(), rejected
    assert accepted["school_id"].to_list() == ["2190000001", "2190000002"]
    assert accepted["equipment_value_yuan"].to_list() == [1_000_000.0, 250_000.0]  # 万元 -> yuan
    assert report.encoding == ("gb18030" if encoding.startswith("gb") else encoding)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le"])
def test_utf16_text_loads(tmp_path, encoding):
    """Excel's "Unicode text" is UTF-16 with a byte order mark; some tools write it without."""
    headers, body = rows_as_text(TWO_SCHOOLS, chinese=True)
    path = write_csv(tmp_path / "a.csv", headers, body, encoding)
    accepted, rejected, report = load(path)
    assert rejected.is_empty()
    assert accepted["school_id"].to_list() == ["2190000001", "2190000002"]
    assert report.encoding == "utf-16"


def test_bytes_that_are_neither_utf8_nor_gbk_are_refused(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b"school_id,school_name\n\x80\xff\xfe\x81\n")
    with pytest.raises(FileRejected, match="neither UTF-8 nor GBK"):
        load(path)


def test_xlsx_with_title_blank_and_total_rows_keeps_excel_row_numbers(tmp_path):
    headers, body = rows_as_text(TWO_SCHOOLS + [census_row(school_id="2190000003", books=-1)], chinese=True)
    path = tmp_path / "a.xlsx"
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("说明")
    sheet.write(0, 0, "填表说明: 本表由县教育局填报")  # a notes sheet comes first and has no header
    sheet = book.add_worksheet("学校基本情况")
    sheet.write(1, 1, "2024年 示例县 义务教育学校基本情况表")  # title in B2, row 1 empty
    sheet.write_row(3, 1, headers)  # header on Excel row 4, from column B
    for i, row in enumerate(body):
        sheet.write_row(4 + i, 1, row)  # data on Excel rows 5-7
    sheet.write_row(7, 1, ["合计", "", "", "", "", "", "", "", "", "", "1500"])  # total row 8
    book.close()
    accepted, rejected, report = load(path)
    assert report.file_format == "xlsx" and report.sheet == "学校基本情况"
    assert accepted["source_row"].to_list() == [5, 6]
    assert rejected["source_row"].to_list() == [7]  # the row a clerk finds in Excel
    assert "row 7" in rejected["message_en"][0]
    assert (
        report.rows_read == 3 and report.rows_skipped == 3
    )  # title and blank row above the header, total row
    assert accepted["equipment_value_yuan"].to_list() == [1_000_000.0, 250_000.0]


def test_xlsx_without_any_header_row_is_refused(tmp_path):
    path = tmp_path / "a.xlsx"
    book = xlsxwriter.Workbook(path)
    book.add_worksheet().write(0, 0, "没有数据")
    book.close()
    with pytest.raises(FileRejected, match="recognisable header"):
        load(path)


def test_parquet_with_english_headers(tmp_path):
    headers, body = rows_as_text(TWO_SCHOOLS)
    path = tmp_path / "a.parquet"
    pl.DataFrame(body, schema=headers, orient="row").write_parquet(path)
    accepted, rejected, report = load(path)
    assert rejected.is_empty() and accepted.height == 2 and report.file_format == "parquet"
    assert accepted["source_row"].to_list() == [1, 2]


def test_header_variants_full_width_brackets_spaces_and_units(tmp_path):
    headers, body = rows_as_text(TWO_SCHOOLS)
    renamed = {
        "school_id": "学校（机构）标识码",
        "school_name": " 学校 名称 ",
        "equipment_value_yuan": "教学仪器设备值【元】",
        "teaching_aux_area_m2": "教学及辅助用房面积(㎡)",
    }
    headers = [renamed.get(h, h) for h in headers]
    accepted, rejected, _ = load(write_csv(tmp_path / "a.csv", headers, body, "utf-8"))
    assert rejected.is_empty(), rejected
    assert accepted["equipment_value_yuan"].to_list() == [1_000_000.0, 250_000.0]


def test_units_on_count_headers_as_clerks_type_them(tmp_path):
    """小学在校生数（人）, 小学班数（个）, 最大班额（人）, 教学用计算机(台): a unit that changes nothing."""
    headers, body = rows_as_text(TWO_SCHOOLS, chinese=True)
    units = {
        "小学在校生数": "小学在校生数（人）",
        "小学班数": "小学班数（个）",
        "初中班数": "初中班数(班)",
        "最大班额": "最大班额（人）",
        "小学专任教师数": "小学专任教师数（人）",
    }
    headers = [units.get(h, h) for h in headers]
    assert set(units.values()) <= set(headers)
    accepted, rejected, report = load(write_csv(tmp_path / "a.csv", headers, body, "gbk"))
    assert rejected.is_empty() and report.unknown_columns == []
    assert accepted["primary_students"].to_list() == [r["primary_students"] for r in TWO_SCHOOLS]
    assert accepted["primary_classes"].to_list() == [r["primary_classes"] for r in TWO_SCHOOLS]


@pytest.mark.parametrize(("typed", "books"), [("1.2345", 12345), ("2", 20000), ("0.05", 500), ("1.2", 12000)])
def test_books_in_wan_ce_with_decimals_become_whole_books(tmp_path, typed, books):
    headers, body = rows_as_text(TWO_SCHOOLS, chinese=True)
    column = headers.index(chinese_header("books"))
    headers[column] = "图书(万册)"
    body[1][column] = typed
    body[0][column] = "1"
    accepted, rejected, _ = load(write_csv(tmp_path / "a.csv", headers, body, "utf-8"))
    assert rejected.is_empty(), rejected
    assert accepted["books"].to_list() == [10000, books]


def test_books_in_wan_ce_that_are_not_whole_books_are_refused_with_the_reason(tmp_path):
    headers, body = rows_as_text(TWO_SCHOOLS, chinese=True)
    column = headers.index(chinese_header("books"))
    headers[column] = "图书（万册）"
    body[1][column] = "1.23456"
    accepted, rejected, _ = load(write_csv(tmp_path / "a.csv", headers, body, "utf-8"))
    assert accepted.height == 1
    (row,) = rejected.iter_rows(named=True)
    assert (row["column"], row["check"], row["value"]) == ("books", "dtype", "1.23456")
    assert "乘以 10000 后不是整数" in row["message_zh"]


def test_unknown_unit_refuses_the_file(tmp_path):
    headers, body = rows_as_text(TWO_SCHOOLS)
    headers = ["教学仪器设备值(千元)" if h == "equipment_value_yuan" else h for h in headers]
    with pytest.raises(FileRejected, match="千元"):
        load(write_csv(tmp_path / "a.csv", headers, body, "utf-8"))


def test_two_headers_for_one_column_refuse_the_file(tmp_path):
    headers, body = rows_as_text(TWO_SCHOOLS)
    headers = ["学校名称" if h == "school_type_code" else h for h in headers]
    with pytest.raises(FileRejected, match="both mean school_name"):
        load(write_csv(tmp_path / "a.csv", headers, body, "utf-8"))


def test_unknown_columns_are_reported_not_fatal(tmp_path):
    headers, body = rows_as_text(TWO_SCHOOLS)
    path = write_csv(tmp_path / "a.csv", headers + ["备注"], [r + ["新建"] for r in body], "utf-8")
    accepted, _, report = load(path)
    assert accepted.height == 2 and report.unknown_columns == ["备注"]


def test_values_as_clerks_type_them(tmp_path):
    rows = [
        census_row(
            school_id="３１９０００００01",
            school_type_code="九年一贯制学校",
            ownership="公办",
            county_code="900101001002",
            primary_students="１,２００",
            junior_students=300,
            junior_classes=6,
            junior_teachers=20,
            books="12，000",
            max_class_size="—",
        ),
        census_row(school_id="2190000002", ownership="民办", is_county_run="否"),
    ]
    headers, body = rows_as_text(rows)
    accepted, rejected, _ = load(write_csv(tmp_path / "a.csv", headers, body, "utf-8"))
    assert rejected.is_empty(), rejected
    first, second = accepted.sort("school_id").iter_rows(named=True)
    assert second["school_id"] == "3190000001" and second["school_type_code"] == "312"
    assert second["county_code"] == "900101" and second["primary_students"] == 1200
    assert second["books"] == 12000 and second["max_class_size"] is None
    assert first["ownership"] == "private" and first["is_county_run"] is False


def test_numbers_as_excel_and_clerks_write_them(tmp_path):
    rows = [
        census_row(school_id="2190000001", books="15000.0", computers="60"),
        census_row(school_id="2190000002", books="1500.5"),
        census_row(school_id="2190000003", equipment_value_yuan="inf"),
        census_row(school_id="2190000004"),
        census_row(school_id="2190000005"),
    ]
    headers, body = rows_as_text(rows)
    accepted, rejected, _ = load(write_csv(tmp_path / "a.csv", headers, body, "utf-8"))
    assert accepted.filter(pl.col("school_id") == "2190000001")["books"].to_list() == [15000]
    assert sorted(rejected["school_id"].to_list()) == ["2190000002", "2190000003"]
    assert set(rejected["check"]) == {"dtype"}


def _schools(n: int, **values) -> list[dict]:
    return [census_row(school_id=f"219000{i:04d}", **values) for i in range(1, n + 1)]


def test_equipment_value_without_a_unit_that_reads_as_wan_yuan_is_refused_naming_the_unit(tmp_path):
    """The census reports 教学仪器设备资产值 in 万元; a header without the unit once loaded every
    value 10,000 times too small, with exit 0 and nothing refused."""
    rows = _schools(5)
    headers, body = rows_as_text(rows, chinese=True)  # values written in 万元 (the census's unit)
    column = headers.index("教学仪器设备资产值(万元)")
    headers[column] = "教学仪器设备资产值"  # ... but the unit left out of the header
    with pytest.raises(FileRejected) as refused:
        load(write_csv(tmp_path / "a.csv", headers, body, "gbk"))
    message = str(refused.value)
    assert "列 '教学仪器设备资产值' 没有写单位" in message and "万元" in message
    assert "教学仪器设备资产值(万元)" in message  # the header to write
    assert "\n" not in message


def test_equipment_value_without_a_unit_in_plausible_yuan_loads_as_yuan(tmp_path):
    rows = _schools(5)
    headers, body = rows_as_text(rows)  # English headers; values in yuan
    column = headers.index("equipment_value_yuan")
    headers[column] = "教学仪器设备资产值"
    accepted, rejected, _ = load(write_csv(tmp_path / "a.csv", headers, body, "utf-8"))
    assert rejected.is_empty()
    assert accepted["equipment_value_yuan"].to_list() == [r["equipment_value_yuan"] for r in rows]


def test_books_without_a_unit_that_read_as_wan_ce_are_refused(tmp_path):
    rows = _schools(4)
    headers, body = rows_as_text(rows, chinese=True)
    column = headers.index(chinese_header("books"))
    for row, school in zip(body, rows, strict=True):
        row[column] = f"{school['books'] / 10_000:g}"  # 1.2 (万册) where 12,000 books were meant
    with pytest.raises(FileRejected, match="列 .图书. 没有写单位.*看来是以万册为单位"):
        load(write_csv(tmp_path / "a.csv", headers, body, "utf-8"))


def test_too_few_schools_to_judge_a_unit_load_and_are_left_to_the_plausibility_warnings(tmp_path):
    headers, body = rows_as_text(_schools(2), chinese=True)
    column = headers.index("教学仪器设备资产值(万元)")
    headers[column] = "教学仪器设备资产值"
    accepted, _, _ = load(write_csv(tmp_path / "a.csv", headers, body, "gbk"))
    assert accepted.height == 2


def _two_row_header(headers: list[str]) -> tuple[list[str], list[str], list[tuple[int, int, str]]]:
    """The header as many county forms lay it out: 在校生数 merged over 小学 / 初中 / 高中 and
    班数 over 小学 / 初中, every other header merged down over both rows. Returns the upper row,
    the lower row and the horizontal merges (first column, last column, text)."""
    upper, lower, merges = [], [], []
    groups = {
        "在校生数": ["小学在校生数", "初中在校生数", "高中在校生数"],
        "班数": ["小学班数", "初中班数"],
    }
    for header in headers:
        parent = next((p for p, children in groups.items() if header in children), None)
        if parent is None:
            upper.append(header)
            lower.append("")
            continue
        child = header.replace(parent, "")
        upper.append(parent if parent not in upper else "")  # the text sits above its first column
        lower.append(child)
    for parent, children in groups.items():
        columns = [headers.index(c) for c in children if c in headers]
        merges.append((min(columns), max(columns), parent))
    return upper, lower, merges


def test_an_xlsx_with_a_two_row_merged_header_is_read(tmp_path):
    headers, body = rows_as_text(TWO_SCHOOLS, chinese=True)
    upper, lower, merges = _two_row_header(headers)
    path = tmp_path / "a.xlsx"
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("学校")
    sheet.merge_range(0, 0, 0, len(headers) - 1, "2024年 示例县 义务教育学校基本情况表")
    for c, (up, low) in enumerate(zip(upper, lower, strict=True)):
        if not low:
            sheet.merge_range(1, c, 2, c, up)  # merged down over both header rows
        else:
            sheet.write(2, c, low)
    for first, last, text in merges:
        sheet.merge_range(1, first, 1, last, text)
    for i, row in enumerate(body):
        sheet.write_row(3 + i, 0, row)
    book.close()
    accepted, rejected, report = load(path)
    assert rejected.is_empty() and report.unknown_columns == []
    assert accepted["source_row"].to_list() == [4, 5]  # title row 1, header rows 2-3
    assert accepted["primary_students"].to_list() == [r["primary_students"] for r in TWO_SCHOOLS]
    assert accepted["junior_classes"].to_list() == [r["junior_classes"] for r in TWO_SCHOOLS]
    assert report.rows_skipped == 2  # the title row and the upper header row


def test_a_csv_with_a_two_row_header_is_read(tmp_path):
    """The same layout saved as CSV: the parent text only above the first of its columns."""
    headers, body = rows_as_text(TWO_SCHOOLS, chinese=True)
    upper, lower, _ = _two_row_header(headers)
    lines = [",".join(upper), ",".join(lower)] + [",".join(row) for row in body]
    path = tmp_path / "a.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode("gbk"))
    accepted, rejected, report = load(path)
    assert rejected.is_empty() and report.unknown_columns == []
    assert accepted["source_row"].to_list() == [3, 4]
    assert accepted["senior_students"].to_list() == [r["senior_students"] for r in TWO_SCHOOLS]


def test_a_summary_sheet_first_is_passed_over_for_the_sheet_of_schools_and_the_choice_is_reported(tmp_path):
    headers, body = rows_as_text(TWO_SCHOOLS, chinese=True)
    path = tmp_path / "a.xlsx"
    book = xlsxwriter.Workbook(path)
    summary = book.add_worksheet("汇总")  # one row per county: it has headers, but no school ids
    summary.write_row(0, 0, ["县区代码", "小学在校生数", "初中在校生数", "小学班数", "初中班数"])
    summary.write_row(1, 0, ["900101", "1200", "800", "30", "20"])
    schools = book.add_worksheet("学校明细")
    schools.write_row(0, 0, headers)
    for i, row in enumerate(body):
        schools.write_row(1 + i, 0, row)
    book.close()
    accepted, _, report = load(path)
    assert report.sheet == "学校明细" and accepted.height == 2
    assert report.message is not None
    assert "读取工作表 '学校明细'" in report.message and "'汇总' 没有学校标识码列" in report.message


def test_two_sheets_of_schools_in_one_workbook_refuse_it_naming_both(tmp_path):
    headers, body = rows_as_text(TWO_SCHOOLS, chinese=True)
    path = tmp_path / "a.xlsx"
    book = xlsxwriter.Workbook(path)
    for name in ("东区", "西区"):
        sheet = book.add_worksheet(name)
        sheet.write_row(0, 0, headers)
        sheet.write_row(1, 0, body[0 if name == "东区" else 1])
    book.close()
    with pytest.raises(FileRejected, match="'东区'、'西区'"):
        load(path)


def test_last_years_values_of_the_same_schools_are_the_second_witness_of_an_unstated_unit(tmp_path):
    """Tiny schools with big libraries: 2 (万册) for 5 pupils is 0.4 books a pupil, or 4,000 in
    万册, both outside the plausible range, so the per-pupil reading cannot tell. Last year's load
    of the same schools (20,000 books each) can: this year's values are 1/10,000 of them."""
    rows = _schools(4, primary_students=5, junior_students=0, books=20000)
    headers, body = rows_as_text(rows, chinese=True)
    column = headers.index(chinese_header("books"))
    for row in body:
        row[column] = "2"
    path = write_csv(tmp_path / "a.csv", headers, body, "utf-8")
    previous = pl.DataFrame(
        {"school_id": [r["school_id"] for r in rows], "books": [20000] * 4},
        schema={"school_id": pl.String, "books": pl.Int64},
    )
    with pytest.raises(FileRejected) as refused:
        load_file(path, "2024/a.csv", 2024, REGISTRY, previous)
    assert "同一批学校的数值只有上一年度的 0.0001 倍（约 1/10000）" in str(refused.value)
    assert "看来是以万册为单位" in str(refused.value)
    same_unit = previous.with_columns(pl.lit(3, pl.Int64).alias("books"))  # last year 3 books: fine
    accepted, _, _ = load_file(path, "2024/a.csv", 2024, REGISTRY, same_unit)
    assert accepted["books"].to_list() == [2, 2, 2, 2]
