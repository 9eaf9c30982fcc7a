"""Exports of the education statistics system: a two-row header, the county by name (统计三级,
统计二级 where a name occurs twice), 办学类型 as text and 是否计校数 marking teaching points. Every
row loads or is refused with file, row and the header as typed; a county is never guessed."""

from pathlib import Path

import openpyxl
import polars as pl

from pipelines.lib.ingest.census_ingest import load_file
from tests.conftest import census_row

REGISTRY = pl.DataFrame(
    {
        "county_code": ["900101", "900102", "900201", "900202"],
        "county_name": ["东山县", "朝阳区", "西河县", "朝阳区"],
        "prefecture_name": ["一市", "一市", "二市", "二市"],
    }
)
CODES = REGISTRY["county_code"].to_list()

# (upper header, lower header, value of a census row): 统计系统 exports merge a parent over its parts
COLUMNS = [
    ("统计二级", "", lambda r: r["prefecture"]),
    ("统计三级", "", lambda r: r["county"]),
    ("学校标识码", "", lambda r: r["school_id"]),
    ("学校名称", "", lambda r: r["school_name"]),
    ("办学类型", "", lambda r: r["type_name"]),
    ("城乡分类代码", "", lambda r: r["urban_rural_code"]),
    ("是否计校数", "", lambda r: r["counted"]),
    ("所属学校标识码", "", lambda r: r["parent_school_id"]),
    ("举办者类型", "", lambda r: "公办"),
    ("是否县管", "", lambda r: "是"),
    *(
        (upper if stage == "primary" else "", label, lambda r, c=f"{stage}_{measure}": r[c])
        for upper, measure in [
            ("在校生数", "students"),
            ("班数", "classes"),
            ("专任教师", "teachers"),
            ("高于规定学历教师数", "teachers_above_degree"),
            ("中级及以上职称教师数", "teachers_senior_title"),
            ("县级及以上骨干教师数", "key_teachers"),
            ("体育艺术专任教师数", "pe_art_teachers"),
        ]
        for stage, label in (("primary", "小学"), ("junior", "初中"))
    ),
    ("高中在校生数", "", lambda r: r["senior_students"]),
    ("最大班额", "", lambda r: r["max_class_size"]),
    ("教学及辅助用房面积(平方米)", "", lambda r: r["teaching_aux_area_m2"]),
    ("室内体育用房面积(平方米)", "", lambda r: r["indoor_sports_area_m2"]),
    ("运动场地面积(平方米)", "", lambda r: r["sports_ground_area_m2"]),
    ("教学仪器设备资产值(万元)", "", lambda r: r["equipment_value_yuan"] / 10000),
    ("教学用计算机(台)", "", lambda r: r["computers"]),
    ("图书(册)", "", lambda r: r["books"]),
    ("网络多媒体教室(间)", "", lambda r: r["multimedia_classrooms"]),
    ("音乐专用教室(间)", "", lambda r: r["music_rooms"]),
    ("音乐专用教室面积(平方米)", "", lambda r: r["music_room_area_m2"]),
    ("美术专用教室(间)", "", lambda r: r["art_rooms"]),
    ("美术专用教室面积(平方米)", "", lambda r: r["art_room_area_m2"]),
]


def school(school_id: str, county: str, prefecture: str = "一市", **overrides) -> dict:
    row = census_row(school_id=school_id, **overrides)
    row.update(county=county, prefecture=prefecture, type_name="小学", counted="是")
    row.update(overrides)
    return row


GOOD = [  # rows that load either way, so that a file is never mostly invalid
    school("2190000008", "东山县", code_in_file="900101"),
    school("2190000009", "东山县", code_in_file="900101"),
]


def write_export(path: Path, rows: list[dict], with_code: bool = False) -> Path:
    """An .xlsx as the statistics system saves it: a title row, a two-row header, the rows; with
    `with_code`, a 县区代码 column too (each row's `code_in_file`)."""
    columns = [*COLUMNS, ("县区代码", "", lambda r: r.get("code_in_file"))] if with_code else COLUMNS
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["2024年教育事业统计 基层表汇总（县区）"])
    sheet.append([upper for upper, _, _ in columns])
    sheet.append([lower for _, lower, _ in columns])
    for row in rows:
        sheet.append([value(row) for _, _, value in columns])
    book.save(path)
    return path


def load(tmp_path: Path, rows: list[dict]):
    path = write_export(tmp_path / "export.xlsx", rows)
    return load_file(path, "2024/export.xlsx", 2024, CODES, registry=REGISTRY)


def test_a_county_export_loads_with_codes_from_the_registry_and_teaching_points_as_such(tmp_path):
    rows = [
        school("2190000001", "东山县"),
        school("2190000002", "西河县", "二市", school_name="西河中心小学"),
        school(
            "2190000003",
            "东山县",
            counted="否",
            parent_school_id="2190000001",
            primary_students=20,
            primary_classes=2,
            primary_teachers=2,
            primary_teachers_above_degree=2,
            primary_teachers_senior_title=1,
            primary_key_teachers=0,
            primary_pe_art_teachers=1,
        ),
    ]
    accepted, rejected, report = load(tmp_path, rows)
    assert rejected.is_empty(), rejected["message_en"].to_list()
    assert report.shape == "county_export"
    got = {r["school_id"]: r for r in accepted.iter_rows(named=True)}
    assert got["2190000001"]["county_code"] == "900101"
    assert got["2190000002"]["county_code"] == "900201"
    assert got["2190000001"]["school_type_code"] == "211"  # 办学类型 小学 as text
    assert got["2190000003"]["school_type_code"] == "218"  # 是否计校数 = 否: a teaching point
    assert got["2190000003"]["parent_school_id"] == "2190000001"
    assert got["2190000001"]["equipment_value_yuan"] == 1_000_000.0  # 万元 in the header


def test_an_unknown_county_name_refuses_its_row_only_and_says_why(tmp_path):
    accepted, rejected, _ = load(tmp_path, [school("2190000001", "东山县"), school("2190000002", "南海县")])
    assert accepted["school_id"].to_list() == ["2190000001"]
    problem = rejected.filter(pl.col("column") == "county_name").row(0, named=True)
    assert problem["source_row"] == 5  # title, two header rows, then the rows
    assert problem["message_zh"].startswith("2024/export.xlsx 第5行 统计三级: '南海县' 不在县区名录中")


def test_a_name_in_two_prefectures_needs_the_prefecture(tmp_path):
    accepted, rejected, _ = load(
        tmp_path, [school("2190000001", "朝阳区", "二市"), school("2190000002", "朝阳区", prefecture=None)]
    )
    assert accepted.select("school_id", "county_code").rows() == [("2190000001", "900202")]
    message = rejected.filter(pl.col("column") == "county_name")["message_en"][0]
    assert "names more than one county of the registry (900102, 900202)" in message


def test_a_code_that_disagrees_with_the_name_is_refused_not_overwritten(tmp_path):
    rows = [school("2190000002", "西河县", "二市", code_in_file="900101"), *GOOD]
    path = write_export(tmp_path / "export.xlsx", rows, with_code=True)
    accepted, rejected, _ = load_file(path, "2024/export.xlsx", 2024, CODES, registry=REGISTRY)
    assert accepted["school_id"].to_list() == ["2190000008", "2190000009"]
    assert "is county 900201 in the registry, not the row's county code 900101" in rejected["message_en"][0]


def test_a_counts_as_school_cell_that_is_neither_yes_nor_no_refuses_the_row(tmp_path):
    accepted, rejected, _ = load(tmp_path, [school("2190000001", "东山县", counted="也许"), *GOOD])
    assert accepted["school_id"].to_list() == ["2190000008", "2190000009"]
    assert rejected["message_zh"][0] == "2024/export.xlsx 第4行 是否计校数: '也许' 应为“是”或“否”（1 或 0）"


def test_without_a_registry_a_county_name_cannot_be_resolved(tmp_path):
    path = write_export(tmp_path / "export.xlsx", [school("2190000001", "东山县"), *GOOD], with_code=True)
    accepted, rejected, _ = load_file(path, "2024/export.xlsx", 2024, CODES)
    assert "2190000001" not in accepted["school_id"].to_list()
    assert "no county registry" in rejected.filter(pl.col("column") == "county_name")["message_en"][0]


def test_a_three_row_header_joins_its_parents_and_never_reads_a_breakdown_as_the_total(tmp_path):
    """专任教师 / 小学 / 合计 is 小学专任教师; 专任教师 / 小学 / #按学历分 / 研究生 is a part of it,
    left unread (an unknown column), not a second 小学专任教师 that would refuse the file."""
    stacked = []
    for parent, measure in (("在校生数", "students"), ("专任教师", "teachers")):
        for stage, word in (("primary", "小学"), ("junior", "初中")):
            stacked += [
                (parent if stage == "primary" else "", word, "合计", lambda r, c=f"{stage}_{measure}": r[c]),
                ("", "", "其中：女" if measure == "students" else "#按学历分:研究生", lambda r: 1),
            ]
    flat = [(upper, "", "", value) for upper, lower, value in COLUMNS if not lower]
    flat += [
        (f"{word}{parent}", "", "", lambda r, c=f"{stage}_{measure}": r[c])
        for parent, measure in [
            ("班数", "classes"),
            ("高于规定学历教师数", "teachers_above_degree"),
            ("中级及以上职称教师数", "teachers_senior_title"),
            ("县级及以上骨干教师数", "key_teachers"),
            ("体育艺术专任教师数", "pe_art_teachers"),
        ]
        for stage, word in (("primary", "小学"), ("junior", "初中"))
    ]
    columns = flat + stacked
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["2024年教育事业统计 基层表汇总（县区）"])
    for level in range(3):
        sheet.append([column[level] for column in columns])
    rows = [school("2190000001", "东山县", primary_students=321, primary_teachers=30), *GOOD]
    for row in rows:
        sheet.append([column[3](row) for column in columns])
    path = tmp_path / "three.xlsx"
    book.save(path)
    accepted, rejected, report = load_file(path, "2024/three.xlsx", 2024, CODES, registry=REGISTRY)
    assert rejected.is_empty(), rejected["message_en"].to_list()
    first = accepted.filter(pl.col("school_id") == "2190000001").row(0, named=True)
    assert (first["primary_students"], first["primary_teachers"], first["source_row"]) == (321, 30, 5)
    assert "研究生" in " ".join(report.unknown_columns)
