"""The synthetic province written as exports of the education statistics system (`county_export`).

One workbook per county and census year, as a county office downloads it: a title row, then a
two-row header (在校生数 merged over 小学 / 初中, 专任教师 over 小学 / 初中, …), the county by name
(统计二级 prefecture, 统计三级 county) and no county code, 办学类型 and 举办者类型 as text, and
teaching points as the units not counted as schools (是否计校数 = 否, 办学类型 小学). Amounts are
written in the census' canonical units (元, 册) so that the warehouse loaded from these files
equals, value for value, the one loaded from the canonical CSV files of the same province.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import xlsxwriter

from contracts.code_lists import load_code_list

STAGE_WORDS = {"primary": "小学", "junior": "初中", "senior": "高中"}
# per-stage measures under a parent header merged over the stages (the joined header is an alias)
STAGE_GROUPS = [
    ("在校生数", "students", ("primary", "junior", "senior")),
    ("班数", "classes", ("primary", "junior")),
    ("专任教师", "teachers", ("primary", "junior")),
    ("高于规定学历教师数", "teachers_above_degree", ("primary", "junior")),
    ("中级及以上职称教师数", "teachers_senior_title", ("primary", "junior")),
    ("县级及以上骨干教师数", "key_teachers", ("primary", "junior")),
    ("体育艺术专任教师数", "pe_art_teachers", ("primary", "junior")),
]
SCHOOL_FACILITIES = [
    ("最大班额", "max_class_size"),
    ("教学及辅助用房面积(平方米)", "teaching_aux_area_m2"),
    ("室内体育用房面积(平方米)", "indoor_sports_area_m2"),
    ("运动场地面积(平方米)", "sports_ground_area_m2"),
    ("教学仪器设备资产值(元)", "equipment_value_yuan"),
    ("教学用计算机(台)", "computers"),
    ("图书(册)", "books"),
    ("网络多媒体教室(间)", "multimedia_classrooms"),
    ("音乐专用教室(间)", "music_rooms"),
    ("音乐专用教室面积(平方米)", "music_room_area_m2"),
    ("美术专用教室(间)", "art_rooms"),
    ("美术专用教室面积(平方米)", "art_room_area_m2"),
]
# the checklist columns, each under its own header merged down over both header rows (the first
# alias in contracts/headers.yaml); written only for census years whose rows carry them
CHECKLIST_HEADERS = [
    ("初一在校生数", "junior_grade7_students"),
    ("初二在校生数", "junior_grade8_students"),
    ("初三在校生数", "junior_grade9_students"),
    ("小学随迁子女数", "primary_migrant_students"),
    ("初中随迁子女数", "junior_migrant_students"),
    ("小学持证专任教师数", "primary_certified_teachers"),
    ("初中持证专任教师数", "junior_certified_teachers"),
]
TEACHING_POINT = "218"  # written as 办学类型 小学 with 是否计校数 否 (contracts/ingest_rules.yaml)


def _columns(
    names: dict[str, tuple[str, str]], present: list[str]
) -> list[tuple[str, str, Callable[[dict], object]]]:
    """(upper header, lower header, cell of a census row) for every column of the export (the
    checklist columns only where `present`, the census' columns, has them)."""
    type_names = {e["code"]: e["name_zh"] for e in load_code_list("school_types")}

    def type_name(row: dict) -> str:
        code = "211" if row["school_type_code"] == TEACHING_POINT else row["school_type_code"]
        return type_names.get(code, code)

    columns: list[tuple[str, str, Callable[[dict], object]]] = [
        ("统计二级", "", lambda r: names[r["county_code"]][1]),
        ("统计三级", "", lambda r: names[r["county_code"]][0]),
        ("学校标识码", "", lambda r: r["school_id"]),
        ("学校名称", "", lambda r: r["school_name"]),
        ("办学类型", "", type_name),
        ("是否计校数", "", lambda r: "否" if r["school_type_code"] == TEACHING_POINT else "是"),
        ("所属学校标识码", "", lambda r: r["parent_school_id"]),
        ("城乡分类代码", "", lambda r: r["urban_rural_code"]),
        (
            "举办者类型",
            "",
            lambda r: {"public": "公办", "private": "民办"}.get(r["ownership"], r["ownership"]),
        ),
        ("是否县管", "", lambda r: "是" if r["is_county_run"] else "否"),
    ]
    for parent, measure, stages in STAGE_GROUPS:
        for i, stage in enumerate(stages):
            columns.append((parent if i == 0 else "", STAGE_WORDS[stage], _cell(f"{stage}_{measure}")))
    columns += [(header, "", _cell(column)) for header, column in CHECKLIST_HEADERS if column in present]
    columns += [(header, "", _cell(column)) for header, column in SCHOOL_FACILITIES]
    return columns


def _cell(column: str) -> Callable[[dict], object]:
    return lambda row: row[column]


def write_county_exports(
    census: pl.DataFrame, folder: Path, census_year: int, names: dict[str, tuple[str, str]]
) -> list[Path]:
    """One export workbook per county of `census` into `folder`; `names`: county code ->
    (county name, prefecture name). Returns the files written."""
    columns = _columns(names, census.columns)
    written = []
    for (county_code,), part in census.sort("school_id").group_by("county_code", maintain_order=True):
        county, _ = names[str(county_code)]
        path = folder / f"{census_year}年{county}教育事业统计基层表汇总_{county_code}.xlsx"
        book = xlsxwriter.Workbook(path, {"strings_to_numbers": False})
        sheet = book.add_worksheet("学校基本情况")
        sheet.merge_range(0, 0, 0, len(columns) - 1, f"{census_year}年教育事业统计 基层表汇总（{county}）")
        c = 0
        while c < len(columns):
            upper, lower, _ = columns[c]
            if not lower:  # a header merged down over both rows
                sheet.merge_range(1, c, 2, c, upper)
                c += 1
                continue
            end = c + 1
            while end < len(columns) and columns[end][0] == "" and columns[end][1]:
                end += 1
            if end - c > 1:
                sheet.merge_range(1, c, 1, end - 1, upper)
            else:
                sheet.write_string(1, c, upper)
            for j in range(c, end):
                sheet.write_string(2, j, columns[j][1])
            c = end
        for r, row in enumerate(part.iter_rows(named=True), start=3):
            for j, (_, _, cell) in enumerate(columns):
                value = cell(row)
                if value is None:
                    continue
                if isinstance(value, (bool, str)):
                    sheet.write_string(r, j, str(value))
                else:
                    sheet.write_number(r, j, value)
        book.close()
        written.append(path)
    return written
