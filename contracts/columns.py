"""Canonical columns of the census extract (docs/ingest.md), the one place they are defined.

Everything downstream (reader, pandera contract, raw table, staging SQL) takes its column names
and types from here. Types are polars dtypes; the raw DuckDB table gets the matching SQL types.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

STAGES = ("primary", "junior")
"""The two compulsory stages that are evaluated."""

STAGE_MEASURES = (
    "students",
    "classes",
    "teachers",
    "teachers_above_degree",
    "teachers_senior_title",
    "key_teachers",
    "pe_art_teachers",
)
"""Per-stage counts, reported by the census for each stage (`primary_students`, ...); never split."""

TEACHER_SUBCOUNTS = (
    "teachers_above_degree",
    "teachers_senior_title",
    "key_teachers",
    "pe_art_teachers",
)
"""Teacher counts that are subsets of the stage's full-time teachers."""

SHARED_MEASURES = (
    "teaching_aux_area_m2",
    "indoor_sports_area_m2",
    "sports_ground_area_m2",
    "equipment_value_yuan",
    "computers",
    "books",
    "multimedia_classrooms",
    "music_rooms",
    "music_room_area_m2",
    "art_rooms",
    "art_room_area_m2",
)
"""School-level facility amounts; a combined school's are apportioned between its stages."""

SECTION_MEASURES = STAGE_MEASURES + SHARED_MEASURES

CHECKLIST_MEASURES = (
    "junior_grade7_students",
    "junior_grade8_students",
    "junior_grade9_students",
    "primary_migrant_students",
    "junior_migrant_students",
    "primary_certified_teachers",
    "junior_certified_teachers",
)
"""Optional counts read for the quality-balance checklist (models/checklists/): enrolment of the
three junior grades (初中三年巩固率), 随迁子女 per stage and teachers holding a teaching certificate.
A file without them loads; the checklist then says the census did not provide them that year."""
"""Every amount a stage section carries; indicator numerators and denominators name these."""


@dataclass(frozen=True)
class Column:
    name: str
    dtype: type[pl.DataType] | pl.DataType
    required: bool
    description: str
    may_be_blank: bool = False
    """A blank cell is loaded as unknown (null): indicators that need it leave the school out."""


def _stage_columns() -> list[Column]:
    columns = []
    for measure in STAGE_MEASURES:
        for stage in STAGES:
            blank = measure != "students"
            columns.append(Column(f"{stage}_{measure}", pl.Int64, True, f"{stage} stage: {measure}", blank))
        if measure == "students":
            columns.append(Column("senior_students", pl.Int64, True, "senior-high students"))
    return columns


CENSUS_COLUMNS: tuple[Column, ...] = (
    Column("census_year", pl.Int32, False, "census year (school year starting 1 September)"),
    Column("school_id", pl.String, True, "学校标识码, 10 digits"),
    Column("school_name", pl.String, True, "学校名称"),
    Column("county_code", pl.String, True, "6-digit GB/T 2260 county code"),
    Column("school_type_code", pl.String, True, "3-digit 办学类型 code"),
    Column("urban_rural_code", pl.String, True, "3-digit 城乡分类代码"),
    Column("ownership", pl.String, True, "public or private"),
    Column("is_county_run", pl.Boolean, True, "false for 省/市直属, 高校附属, 企业办 schools"),
    Column("parent_school_id", pl.String, False, "parent school of a teaching point"),
    *_stage_columns(),
    Column("max_class_size", pl.Int64, False, "largest class (最大班额)"),
    Column(
        "teaching_aux_area_m2", pl.Float64, True, "教学及辅助用房, incl. indoor sports, m²", may_be_blank=True
    ),
    Column("indoor_sports_area_m2", pl.Float64, True, "室内体育用房, m²", may_be_blank=True),
    Column("sports_ground_area_m2", pl.Float64, True, "运动场地, m²", may_be_blank=True),
    Column("equipment_value_yuan", pl.Float64, True, "教学仪器设备值, yuan", may_be_blank=True),
    Column("computers", pl.Int64, True, "teaching computers", may_be_blank=True),
    Column("books", pl.Int64, True, "library books", may_be_blank=True),
    Column("multimedia_classrooms", pl.Int64, True, "networked multimedia classrooms", may_be_blank=True),
    Column("music_rooms", pl.Int64, False, "music rooms"),
    Column("music_room_area_m2", pl.Float64, False, "music rooms, total m²"),
    Column("art_rooms", pl.Int64, False, "art rooms"),
    Column("art_room_area_m2", pl.Float64, False, "art rooms, total m²"),
    *(
        Column(
            f"junior_grade{grade}_students",
            pl.Int64,
            False,
            f"junior stage: students in grade {grade} (初{zh})",
        )
        for grade, zh in ((7, "一"), (8, "二"), (9, "三"))
    ),
    Column(
        "primary_migrant_students", pl.Int64, False, "primary stage: 随迁子女 (children of migrant workers)"
    ),
    Column(
        "junior_migrant_students", pl.Int64, False, "junior stage: 随迁子女 (children of migrant workers)"
    ),
    Column(
        "primary_certified_teachers",
        pl.Int64,
        False,
        "primary stage: full-time teachers holding a 教师资格证",
    ),
    Column(
        "junior_certified_teachers", pl.Int64, False, "junior stage: full-time teachers holding a 教师资格证"
    ),
)
"""Canonical census columns in extract order. `required` columns must be present in a file; a
required column's cells must be filled unless it `may_be_blank`. Pupil counts never may: they are
every indicator's denominator and the weight of the school in every coefficient."""

CENSUS_COLUMN_NAMES = tuple(c.name for c in CENSUS_COLUMNS)
CENSUS_DTYPES = {c.name: c.dtype for c in CENSUS_COLUMNS}
REQUIRED_COLUMNS = tuple(c.name for c in CENSUS_COLUMNS if c.required)
BLANK_ALLOWED_COLUMNS = tuple(c.name for c in CENSUS_COLUMNS if c.may_be_blank or not c.required)
BLANK_MEASURES = tuple(c.name for c in CENSUS_COLUMNS if c.may_be_blank)
"""Measures every file has but a row may leave blank: a blank here is an unknown value."""

LINEAGE_COLUMNS: tuple[Column, ...] = (
    Column("source_file", pl.String, True, "extract file, relative to the landing folder"),
    Column("source_sha256", pl.String, True, "sha256 of the extract file"),
    Column("source_row", pl.Int64, True, "line number of the row in the file (header is line 1)"),
    Column("load_id", pl.String, True, "identifier of the load that wrote the row"),
)
"""Columns added by the loader to every raw row, so a number can be traced to its file and row."""

COUNTY_COLUMNS = (
    "county_code",
    "county_name",
    "prefecture_code",
    "prefecture_name",
    "province_code",
    "province_name",
)
CERTIFICATION_COLUMNS = ("county_code", "standard_id", "certified_year", "revoked_year")
