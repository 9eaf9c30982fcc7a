"""Every entry of a census-year folder is read, ignored by name, or refused by name: nothing is
passed over in silence. Files are written here as county offices leave them: old .xls workbooks,
Office lock files beside an open workbook, a Word note, a subfolder per county.
"""

from pathlib import Path

import pytest
import xlwt

from pipelines.lib.ingest.census_ingest import FileRejected, YearRejected, load_census_year, load_file
from pipelines.lib.ingest.landing import scan
from pipelines.lib.ingest.readers import folder_entry
from pipelines.lib.ingest.validate import format_verdicts, validate_paths
from tests.conftest import census_row
from tests.unit.test_census_contract import REGISTRY, write_csv
from tests.unit.test_readers import rows_as_text


def write_xls(path: Path, rows: list[dict], title_rows: int = 2, total: bool = True) -> Path:
    """An .xls workbook as WPS or Excel 2003 saves it: a notes sheet first, then a title line,
    a blank line, the header from column B, the schools, and a 合计 row."""
    headers, body = rows_as_text(rows, chinese=True)
    book = xlwt.Workbook(encoding="utf-8")
    book.add_sheet("填表说明").write(0, 0, "本表由县教育局填报")
    sheet = book.add_sheet("学校")
    sheet.write(0, 1, "2024年 示例县 义务教育学校基本情况表")
    for j, header in enumerate(headers):
        sheet.write(title_rows, 1 + j, header)
    for i, row in enumerate(body):
        for j, cell in enumerate(row):
            sheet.write(title_rows + 1 + i, 1 + j, cell)
    if total:
        sheet.write(title_rows + 1 + len(body), 1, "合计")
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(str(path))
    return path


def test_an_xls_workbook_is_read_with_the_row_numbers_excel_shows(tmp_path):
    rows = [
        census_row(school_id="2190000001"),
        census_row(school_id="2190000002", equipment_value_yuan=250_000.0),
        census_row(school_id="2190000003", books=-1),
    ]
    path = write_xls(tmp_path / "2024" / "示例县.xls", rows)
    accepted, rejected, report = load_file(path, "2024/示例县.xls", 2024, REGISTRY)
    assert (report.file_format, report.sheet) == ("xls", "学校")
    # title on Excel row 1, blank row 2, header row 3, schools on rows 4-6, 合计 on row 7
    assert accepted["source_row"].to_list() == [4, 5]
    assert rejected["source_row"].to_list() == [6]
    assert "第6行" in rejected["message_zh"][0] or "row 6" in rejected["message_en"][0]
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (3, 2, 1)
    assert report.rows_skipped == 3  # the title and blank row above the header, and 合计
    assert accepted["school_id"].to_list() == ["2190000001", "2190000002"]
    assert accepted["equipment_value_yuan"].to_list() == [1_000_000.0, 250_000.0]


@pytest.mark.parametrize(
    ("name", "kind", "words"),
    [
        ("~$示例县.xlsx", "ignored", "Office 锁定文件"),
        (".~lock.示例县.xlsx#", "ignored", "隐藏文件"),
        ("Thumbs.db", "ignored", "系统文件"),
        (".DS_Store", "ignored", "系统文件"),
        ("说明.docx", "refused", "不支持的文件类型 .docx"),
        ("示例县.et", "refused", "不支持的文件类型 .et"),
        ("README", "refused", "不支持的文件类型"),
        ("示例县.xls", "extract", None),
        ("示例县.XLSX", "extract", None),
    ],
)
def test_every_kind_of_entry_is_named(tmp_path, name, kind, words):
    path = tmp_path / name
    path.write_bytes(b"x")
    entry = folder_entry(path, f"2024/{name}")
    assert entry.kind == kind
    if words:
        assert words in (entry.reason or "") and f"2024/{name}" in (entry.reason or "")


def test_lock_and_system_files_are_listed_as_ignored_and_the_year_loads(tmp_path):
    write_csv(tmp_path / "2024" / "a.csv", [census_row(school_id="2190000001")])
    (tmp_path / "2024" / "~$a.xlsx").write_bytes(b"\x00" * 165)  # what Excel leaves while open
    (tmp_path / "2024" / "Thumbs.db").write_bytes(b"\x00")
    load = load_census_year(tmp_path, 2024, REGISTRY, "load-1")
    assert load.accepted["school_id"].to_list() == ["2190000001"]
    statuses = {f.source_file: f.status for f in load.files}
    assert statuses == {"2024/Thumbs.db": "ignored", "2024/a.csv": "loaded", "2024/~$a.xlsx": "ignored"}
    assert all(f.message for f in load.files if f.status == "ignored")


@pytest.mark.parametrize("intruder", ["说明.docx", "县A"])
def test_a_file_that_is_not_an_extract_or_a_subfolder_refuses_the_year_by_name(tmp_path, intruder):
    write_csv(tmp_path / "2024" / "a.csv", [census_row(school_id="2190000001")])
    if intruder.endswith(".docx"):
        (tmp_path / "2024" / intruder).write_bytes(b"PK")
    else:
        write_csv(tmp_path / "2024" / intruder / "b.csv", [census_row(school_id="2190000002")])
    with pytest.raises(YearRejected) as refused:
        load_census_year(tmp_path, 2024, REGISTRY, "load-1")
    assert f"2024/{intruder}" in str(refused.value)
    statuses = {f.source_file: f.status for f in refused.value.files}
    assert statuses == {"2024/a.csv": "loaded", f"2024/{intruder}": "rejected"}


def test_a_folder_of_only_non_extracts_lists_each_of_them(tmp_path):
    (tmp_path / "2024").mkdir()
    (tmp_path / "2024" / "说明.docx").write_bytes(b"PK")
    (tmp_path / "2024" / "~$a.xlsx").write_bytes(b"\x00")
    with pytest.raises(YearRejected) as refused:
        load_census_year(tmp_path, 2024, REGISTRY, "load-1")
    message = str(refused.value)
    assert "no extract files" in message and "2024/说明.docx" in message and "2024/~$a.xlsx" in message
    assert {f.status for f in refused.value.files} == {"rejected", "ignored"}


def test_validate_says_what_run_does_with_each_entry(tmp_path):
    folder = tmp_path / "2024"
    write_csv(folder / "a.csv", [census_row(school_id="2190000001")])
    (folder / "~$a.xlsx").write_bytes(b"\x00")
    (folder / "说明.docx").write_bytes(b"PK")
    verdicts = validate_paths(sorted(folder.iterdir()), REGISTRY).verdicts
    assert [v.report.status for v in verdicts] == ["loaded", "ignored", "rejected"]  # a, ~$a, 说明
    text = format_verdicts(verdicts)
    assert "REFUSED " in text and "IGNORED " in text and "说明.docx" in text


def test_the_landing_sensor_sees_a_refused_file_but_not_a_lock_file(tmp_path):
    write_csv(tmp_path / "2024" / "a.csv", [census_row(school_id="2190000001")])
    before = scan(tmp_path)
    (tmp_path / "2024" / "~$a.xlsx").write_bytes(b"\x00")
    assert scan(tmp_path).keys() == before.keys()  # opening a workbook starts no run
    (tmp_path / "2024" / "说明.docx").write_bytes(b"PK")
    assert "2024/说明.docx" in scan(tmp_path)  # a run starts, and refuses it by name


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig"])
def test_a_csv_with_title_lines_blank_lines_and_a_total_line_keeps_file_line_numbers(tmp_path, encoding):
    rows = [
        census_row(school_id="2190000001"),
        census_row(school_id="2190000002"),
        census_row(school_id="2190000003", books=-1),
    ]
    headers, body = rows_as_text(rows, chinese=True)
    lines = [
        "2024年 示例县 义务教育学校基本情况表",  # line 1: a title
        "填报单位：示例县教育局,,填报日期：2024-10-31",  # line 2: a note with commas
        "",  # line 3: blank
        ",".join(headers),  # line 4: the header
        ",".join(body[0]),  # line 5
        "",  # line 6: a blank line between schools
        ",".join(body[1]),  # line 7
        ",".join(body[2]),  # line 8: a school with a negative book count
        "合计,,," + ",".join("" for _ in headers[4:]),  # line 9: the total line
    ]
    path = tmp_path / "2024" / "示例县.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    accepted, rejected, report = load_file(path, "2024/示例县.csv", 2024, REGISTRY)
    assert accepted["source_row"].to_list() == [5, 7]
    assert rejected["source_row"].unique().to_list() == [8]
    assert "第8行" in rejected["message_zh"][0] or "row 8" in rejected["message_en"][0]
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (3, 2, 1)
    assert report.rows_skipped == 5  # three lines above the header, the blank line, 合计


def test_a_csv_without_a_header_in_its_first_lines_is_refused_naming_what_line_1_holds(tmp_path):
    path = tmp_path / "2024" / "a.csv"
    path.parent.mkdir(parents=True)
    path.write_text("名单\n张三,李四\n", encoding="utf-8")
    with pytest.raises(Exception, match="no recognisable header in the first 30 lines.*名单"):
        load_file(path, "2024/a.csv", 2024, REGISTRY)


def _csv_with_title(path: Path, title: str) -> Path:
    headers, body = rows_as_text([census_row(school_id="2190000001")], chinese=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes("\n".join([title, ",".join(headers), ",".join(body[0])]).encode("gbk") + b"\n")
    return path


@pytest.mark.parametrize(
    ("file_name", "title", "said"),
    [
        (
            "示例县.csv",
            "2023年 示例县 义务教育学校基本情况表",
            "标题“2023年 示例县 义务教育学校基本情况表”写的是 2023 年",
        ),
        (
            "2023年示例县学校基本情况.csv",
            "学校基本情况表",
            "文件名“2023年示例县学校基本情况.csv”写的是 2023 年",
        ),
        ("示例县.csv", "示例县 2023-2024学年初 学校情况", "写的是 2023 年"),
    ],
)
def test_a_file_that_says_another_year_is_refused_not_loaded_as_the_folders(tmp_path, file_name, title, said):
    """A 2023 return with no year column, dropped into 2024/, once loaded as 2024."""
    path = _csv_with_title(tmp_path / "2024" / file_name, title)
    with pytest.raises(FileRejected) as refused:
        load_file(path, f"2024/{file_name}", 2024, REGISTRY)
    message = str(refused.value)
    assert said in message and "但文件放在 2024 文件夹中" in message and "move it to 2023/" in message


@pytest.mark.parametrize(
    "title",
    [
        "2024年 示例县 义务教育学校基本情况表 填报日期：2025年1月5日",
        "填报日期：2023年12月30日",
        "2024-2025学年 学校情况",
    ],
)
def test_a_fill_in_date_or_the_folders_own_year_does_not_refuse(tmp_path, title):
    path = _csv_with_title(tmp_path / "2024" / "示例县.csv", title)
    accepted, _, _ = load_file(path, "2024/示例县.csv", 2024, REGISTRY)
    assert accepted.height == 1


def test_an_excel_sheet_named_for_another_year_is_refused(tmp_path):
    path = write_xls(tmp_path / "2024" / "示例县.xls", [census_row(school_id="2190000001")])
    import xlrd  # the sheet 学校 of write_xls renamed to 2023年: rewrite it with that name

    book = xlwt.Workbook(encoding="utf-8")
    source = xlrd.open_workbook(str(path)).sheet_by_name("学校")
    sheet = book.add_sheet("2023年")
    for r in range(source.nrows):
        for c, value in enumerate(source.row_values(r)):
            if value != "":
                sheet.write(r, c, value.replace("2024年", "") if isinstance(value, str) else value)
    book.save(str(path))
    with pytest.raises(FileRejected, match="工作表名“2023年”写的是 2023 年"):
        load_file(path, "2024/示例县.xls", 2024, REGISTRY)


def test_validate_checks_a_file_with_the_files_already_in_its_year_folder(tmp_path):
    """Once, validate said OK to a file whose school was already in another file of the year, and
    `run` then refused the year. Now the file is checked as if dropped into the landing folder."""
    landing = tmp_path / "landing"
    write_csv(landing / "2024" / "a.csv", [census_row(school_id="2190000001")])
    write_csv(landing / "2024" / "c.csv", [census_row(school_id="2190000005")])
    inbox = tmp_path / "inbox"
    new = write_csv(
        inbox / "b.csv",
        [
            census_row(school_id="2190000001"),  # already in 2024/a.csv
            census_row(school_id="2190000002", parent_school_id="2190000005"),  # parent in 2024/c.csv
        ],
    )
    result = validate_paths([new], REGISTRY, landing, census_year=2024)
    (verdict,) = result.verdicts
    assert verdict.report.source_file == "2024/b.csv" and verdict.report.status == "rejected"
    assert "2190000001" in (verdict.report.message or "") and "2024/a.csv" in (verdict.report.message or "")
    assert result.years_refused == [2024] and "would not load" in result.notes[0]
    # the run's verdict on the same folder is the same
    write_csv(
        landing / "2024" / "b.csv",
        [
            census_row(school_id="2190000001"),
            census_row(school_id="2190000002", parent_school_id="2190000005"),
        ],
    )
    with pytest.raises(YearRejected) as refused:
        load_census_year(landing, 2024, REGISTRY, "load-1")
    by_file = {f.source_file: f.status for f in refused.value.files}
    assert by_file["2024/b.csv"] == "rejected"


def test_a_parent_school_in_another_file_of_the_year_is_found_by_validate_too(tmp_path):
    landing = tmp_path / "landing"
    write_csv(landing / "2024" / "a.csv", [census_row(school_id="2190000005")])
    new = write_csv(tmp_path / "b.csv", [census_row(school_id="2190000002", parent_school_id="2190000005")])
    result = validate_paths([new], REGISTRY, landing, census_year=2024)
    assert result.verdicts[0].report.rows_rejected == 0 and result.years_refused == []
    orphan = write_csv(
        tmp_path / "d.csv", [census_row(school_id="2190000003", parent_school_id="2190000009")]
    )
    result = validate_paths([orphan], REGISTRY, landing, census_year=2024)
    rejected = result.verdicts[0].rejected
    assert rejected["check"].to_list() == ["parent exists in the census year"]
    assert "不在本年度的任何文件中" in rejected["message_zh"][0]


def test_validate_takes_a_year_folder_and_agrees_with_run_file_by_file(tmp_path):
    landing = tmp_path / "landing"
    write_csv(
        landing / "2024" / "a.csv",
        [census_row(school_id="2190000001"), census_row(school_id="2190000002", books=-1)]
        + [census_row(school_id=f"219000001{i}") for i in range(3)],
    )
    write_csv(landing / "2024" / "b.csv", [census_row(school_id="2190000003")])
    (landing / "2024" / "~$a.xlsx").write_bytes(b"\x00")
    result = validate_paths([landing / "2024"], REGISTRY, landing)
    load = load_census_year(landing, 2024, REGISTRY, "load-1")
    said = {
        v.report.source_file: (v.report.status, v.report.rows_accepted, v.report.rows_rejected)
        for v in result.verdicts
    }
    ran = {f.source_file: (f.status, f.rows_accepted, f.rows_rejected) for f in load.files}
    assert said == ran
