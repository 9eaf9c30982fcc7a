"""The quality-balance checklist (docs/checklist.md): the checklist file, the census checkpoints
computed by hand on a hand-made county, a year without the checklist's census columns, and
declarations read from a workbook into marts.county_checklist."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import polars as pl
import pytest
import yaml

from pipelines.lib.ingest.declarations import load_checkpoints, read_declarations
from pipelines.lib.paths import MODELS_DIR
from pipelines.lib.reference.checklists import (
    ChecklistError,
    checklist_tables,
    load_checklists,
    parse_checklist,
)
from pipelines.lib.reference.standards import load_standards
from pipelines.lib.sql_models import build_year
from pipelines.lib.warehouse import replace_census_year
from tests.conftest import REJECTIONS_EMPTY, census_frame, census_row

CHECKLIST = MODELS_DIR / "checklists" / "quality_2017.yaml"
COUNTY = "900101"


def checkpoints() -> pl.DataFrame:
    return checklist_tables(load_checklists(MODELS_DIR / "checklists"))["checklist_checkpoints"]


# --- the checklist file ---------------------------------------------------------------------------


def test_the_checklist_has_every_area_and_each_checkpoint_once_with_one_of_three_judgements():
    table = checkpoints()
    assert table["area_name_zh"].unique(maintain_order=True).to_list() == [
        "资源配置",
        "政府保障程度",
        "教育质量",
        "社会认可度",
    ]
    assert table["checkpoint_code"].is_unique().all()
    counts = dict(table.group_by("judged_by").len().iter_rows())
    assert counts == {"census": 22, "declared": 23, "not_judged": 9}
    # the checkpoints the issue names, in their official wording
    wording = dict(table.select("checkpoint_code", "wording_zh").iter_rows())
    assert wording["C36"] == "全县初中三年巩固率达到95%及以上"
    assert wording["C24"] == "小学所有班级学生数不超过45人"
    assert wording["C32"] == "专任教师持有教师资格证上岗率达到100%"


def test_resource_checkpoints_carry_the_standards_own_minimums():
    """C1-C14 repeat the per-school minimums of the standards file: they must agree."""
    (quality,) = [s for s in load_standards(MODELS_DIR / "standards") if s.standard_id == "quality_2017"]
    minimums = {
        (i.indicator_id, stage): value for i in quality.indicators for stage, value in i.minimum.items()
    }
    rows = checkpoints().filter(pl.col("measure") == "indicator_mean")
    assert rows.height == 14
    for r in rows.iter_rows(named=True):
        assert minimums[(r["indicator_id"], r["stage"])] == pytest.approx(r["standard_value"]), r


def test_a_checkpoint_without_what_its_judgement_needs_is_refused():
    doc = yaml.safe_load(CHECKLIST.read_text(encoding="utf-8"))
    doc["areas"][2]["items"][0]["checkpoints"][0].pop("measure")
    with pytest.raises(ChecklistError, match="C36.*needs measure"):
        parse_checklist(doc, "quality_2017.yaml")
    doc = yaml.safe_load(CHECKLIST.read_text(encoding="utf-8"))
    doc["areas"][0]["items"][0]["checkpoints"][1]["code"] = "C1"
    with pytest.raises(ChecklistError, match="used twice"):
        parse_checklist(doc, "quality_2017.yaml")


# --- computed from the census -------------------------------------------------------------------


def junior_school(school_id: str, g7: int | None, g8: int | None, g9: int | None, **more) -> dict:
    """A county-run junior middle school (311) with its three grades."""
    students = sum(g for g in (g7, g8, g9) if g is not None) if g7 is not None else 600
    return census_row(
        school_id=school_id,
        county_code=COUNTY,
        school_type_code="311",
        primary_students=0,
        primary_classes=0,
        primary_teachers=0,
        primary_teachers_above_degree=0,
        primary_teachers_senior_title=0,
        primary_key_teachers=0,
        primary_pe_art_teachers=0,
        junior_students=students,
        junior_classes=12,
        junior_teachers=40,
        junior_teachers_above_degree=30,
        junior_teachers_senior_title=15,
        junior_key_teachers=8,
        junior_pe_art_teachers=6,
        junior_grade7_students=g7,
        junior_grade8_students=g8,
        junior_grade9_students=g9,
        **more,
    )


def checklist(tiny_warehouse, year: int) -> dict[str, dict]:
    rows = tiny_warehouse.table(
        "marts.county_checklist", f"census_year = {year} and county_code = '{COUNTY}'"
    )
    return {r["checkpoint_code"]: r for r in rows.iter_rows(named=True)}


def test_the_junior_three_year_retention_of_a_hand_made_county(tiny_warehouse):
    """Two schools over three years: 2024's grade 9 over 2022's grade 7 (and 2023's over 2021,
    which is not loaded)."""
    years = {
        2022: [(210, 200, 190), (105, 100, 98)],
        2023: [(220, 205, 196), (110, 103, 99)],
        2024: [(215, 214, 197), (108, 107, 96)],
    }
    for year, grades in years.items():
        tiny_warehouse.load(
            [junior_school(f"219000000{i}", *g) for i, g in enumerate(grades, start=1)], census_year=year
        )
    for model in ("marts.county_checklist",):  # an all-years model: rebuilt once the years are in
        for year in years:
            build_year(tiny_warehouse.con, tiny_warehouse.models[model], year)
    c36 = checklist(tiny_warehouse, 2024)["C36"]
    by_hand = (197 + 96) / (210 + 105)  # 0.9302
    assert c36["value"] == pytest.approx(by_hand)
    assert (c36["numerator"], c36["denominator"], c36["base_year"]) == (293, 315, 2022)
    assert c36["met"] is False and c36["null_reason"] is None
    assert c36["judged_by"] == "census" and c36["standard_value"] == 0.95
    earlier = checklist(tiny_warehouse, 2023)["C36"]
    assert earlier["value"] is None and earlier["null_reason"] == "earlier_year_not_loaded"


def test_a_school_that_left_a_grade_blank_leaves_the_retention_undecided(tiny_warehouse):
    tiny_warehouse.load([junior_school("2190000001", 100, 100, 100)], census_year=2022)
    tiny_warehouse.load(
        [junior_school("2190000001", 100, 100, 98), junior_school("2190000002", None, None, None)],
        census_year=2024,
    )
    c36 = checklist(tiny_warehouse, 2024)["C36"]
    assert c36["value"] is None and c36["met"] is None
    assert c36["null_reason"] == "census_incomplete" and c36["n_unknown"] == 1


def test_a_year_without_the_checklists_columns_loads_and_says_so_per_checkpoint(tiny_warehouse):
    tiny_warehouse.load([census_row(school_id="2190000001", county_code=COUNTY)], census_year=2024)
    rows = checklist(tiny_warehouse, 2024)
    for code in ("C32", "C35b", "C36"):
        assert rows[code]["null_reason"] == "census_missing", code
        assert rows[code]["value"] is None and rows[code]["met"] is None
    assert rows["C23"]["value"] == 0 and rows["C23"]["met"] is True  # what the census has is judged


def test_every_checkpoint_appears_for_every_county_year_with_one_of_three_judgements(tiny_warehouse):
    for year in (2023, 2024):
        tiny_warehouse.load(
            [
                census_row(school_id="2190000001", county_code=COUNTY),
                census_row(school_id="2190000002", county_code="900102"),
            ],
            census_year=year,
        )
    table = tiny_warehouse.table("marts.county_checklist")
    expected = checkpoints().height * 2 * 2
    assert table.height == expected
    assert table.group_by("census_year", "county_code").len()["len"].to_list() == [checkpoints().height] * 4
    assert set(table["judged_by"]) == {"census", "declared", "not_judged"}
    # nothing is left without a verdict or a reason
    assert table.filter(pl.col("met").is_null() & pl.col("null_reason").is_null()).is_empty()
    not_judged = table.filter(pl.col("judged_by") == "not_judged")
    assert (
        set(not_judged["null_reason"]) == {"not_judged"}
        and not_judged["value"].null_count() == not_judged.height
    )


def test_certified_teachers_and_migrant_children_shares_by_hand(tiny_warehouse):
    tiny_warehouse.load(
        [
            census_row(
                school_id="2190000001",
                county_code=COUNTY,
                primary_certified_teachers=29,  # of 30
                primary_migrant_students=40,
                junior_certified_teachers=0,
                junior_migrant_students=0,
            ),
            census_row(
                school_id="2190000002",
                county_code=COUNTY,
                ownership="private",
                primary_certified_teachers=30,
                primary_migrant_students=10,
                junior_certified_teachers=0,
                junior_migrant_students=0,
            ),
        ],
        census_year=2024,
    )
    rows = checklist(tiny_warehouse, 2024)
    assert rows["C32"]["value"] == pytest.approx(59 / 60) and rows["C32"]["met"] is False
    assert rows["C35b"]["value"] == pytest.approx(40 / 50) and rows["C35b"]["met"] is False


# --- declared by the county -----------------------------------------------------------------------


def test_declared_values_round_trip_from_a_workbook(tiny_warehouse, tmp_path: Path):
    """A clerk's workbook (title row, header on row 2) read by the declaration contract and shown
    in marts.county_checklist as declared: the text as written, the value, who and the evidence."""
    path = tmp_path / "2024" / "县区申报_2024_900101.xlsx"
    path.parent.mkdir()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["测试县2024年义务教育优质均衡发展县区申报表"])
    sheet.merge_cells("A1:E1")
    sheet.append(["县区代码", "检查点编号", "申报值", "佐证说明", "申报人"])
    sheet.append(["900101", "C31a", "12.5%", "2024年交流轮岗名单", "县教育局 王某"])
    sheet.append(["900101", "C37", "93%", "残疾儿童少年入学统计表", "县教育局 王某"])
    sheet.append(["900101", "C15", "是", "县政府办学规划文件", "县教育局 王某"])
    sheet.append(["900101", "C27", "6,500元", "特教学校经费决算", "县财政局 李某"])
    book.save(path)

    load = read_declarations(
        path, "2024/县区申报_2024_900101.xlsx", 2024, [COUNTY], load_checkpoints(CHECKLIST), "0" * 64
    )
    assert load.file_message is None and load.rejected.is_empty() and load.accepted.height == 4
    frame = census_frame([census_row(school_id="2190000001", county_code=COUNTY)]).with_columns(
        pl.lit(2024, pl.Int32).alias("census_year"),
        pl.lit("test.csv").alias("source_file"),
        pl.lit("0" * 64).alias("source_sha256"),
        pl.lit(2, pl.Int64).alias("source_row"),
        pl.lit("l").alias("load_id"),
    )
    con = tiny_warehouse.con
    replace_census_year(con, 2024, frame, REJECTIONS_EMPTY, "l", declarations=load.accepted)
    con.execute("insert into marts.dim_counties select $c, $c, '9001', '9001', '90', '测试省'", {"c": COUNTY})
    for model in tiny_warehouse.models.values():
        build_year(con, model, 2024)
    rows = checklist(tiny_warehouse, 2024)
    c31a, c37, c15, c27 = rows["C31a"], rows["C37"], rows["C15"], rows["C27"]
    assert (c31a["value_text"], c31a["value"], c31a["met"]) == ("12.5%", pytest.approx(0.125), True)
    assert (c37["value_text"], c37["value"], c37["met"]) == ("93%", pytest.approx(0.93), False)
    assert (c15["value_text"], c15["value"], c15["met"]) == ("是", 1.0, True)
    assert (c27["value"], c27["met"]) == (6500.0, True)
    assert c31a["declared_by"] == "县教育局 王某" and c31a["evidence_note"] == "2024年交流轮岗名单"
    assert (c31a["source_file"], c31a["source_row"]) == ("2024/县区申报_2024_900101.xlsx", 3)
    assert {r["judged_by"] for r in (c31a, c37, c15, c27)} == {"declared"}
    assert rows["C29"]["null_reason"] == "not_declared" and rows["C29"]["value"] is None
