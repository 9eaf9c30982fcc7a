"""The pandera contract for canonical census rows (docs/ingest.md, "The contract").

Built on demand because it needs the code lists and the county registry; nothing is read at
import. Every check is row-wise, so pandera reports the failing row index and each failure can
be quarantined on its own while the rest of the file loads.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import pandera.polars as pa
import polars as pl

from contracts import yaml_files
from contracts.code_lists import school_type_codes, stages_taught, urban_rural_codes
from contracts.columns import BLANK_ALLOWED_COLUMNS, CENSUS_COLUMNS, STAGES, TEACHER_SUBCOUNTS

SCHOOL_ID_PATTERN = r"^\d{10}$"
COUNTY_CODE_PATTERN = r"^\d{6}$"
FIRST_CENSUS_YEAR, LAST_CENSUS_YEAR = 1990, 2100


@cache
def ingest_rules() -> dict[str, Any]:
    with open(Path(__file__).parent / "ingest_rules.yaml", encoding="utf-8") as f:
        return dict(yaml_files.safe_load(f))


def _count_columns() -> list[str]:
    return [c.name for c in CENSUS_COLUMNS if c.dtype in (pl.Int64, pl.Float64) and c.name != "census_year"]


def _part_pairs() -> list[tuple[str, str]]:
    """(part, total): counts that are a part of another count of the same stage."""
    pairs = [(f"{stage}_{sub}", f"{stage}_teachers") for stage in STAGES for sub in TEACHER_SUBCOUNTS]
    pairs += [(f"{stage}_certified_teachers", f"{stage}_teachers") for stage in STAGES]
    pairs += [(f"{stage}_migrant_students", f"{stage}_students") for stage in STAGES]
    return pairs


def _part_checks() -> list[pa.Check]:
    return [
        pa.Check(
            lambda data, column=column, total=total: data.lazyframe.select(
                pl.col(column).is_null() | pl.col(total).is_null() | (pl.col(column) <= pl.col(total))
            ),
            name=f"{column}<= {total}",
            error=f"{column} must not exceed {total}",
        )
        for column, total in _part_pairs()
    ]


def _stage_students_checks() -> list[pa.Check]:
    """A school type has students only in the stages it teaches (a 211 has no junior students)."""
    taught = stages_taught()
    checks = []
    for stage in (*STAGES, "senior"):
        allowed = sorted(code for code, stages in taught.items() if stage in stages)
        column = f"{stage}_students"
        checks.append(
            pa.Check(
                lambda data, column=column, allowed=allowed: data.lazyframe.select(
                    pl.col(column).is_null()
                    | (pl.col(column) == 0)
                    | pl.col("school_type_code").is_in(allowed)
                    | ~pl.col("school_type_code").is_in(school_type_codes())
                ),
                name=f"{column} only for types teaching {stage}",
                error=f"{column} > 0 but the school type does not teach the {stage} stage",
            )
        )
    return checks


def _grade_checks() -> list[pa.Check]:
    """The three junior grades are part of the junior stage (a four-year junior stage, 五四制, has
    a grade 6 as well, so the sum may be less, never more)."""
    grades = [pl.col(f"junior_grade{g}_students") for g in (7, 8, 9)]
    return [
        pa.Check(
            lambda data: data.lazyframe.select(
                pl.any_horizontal(*(g.is_null() for g in grades))
                | pl.col("junior_students").is_null()
                | (pl.sum_horizontal(*grades) <= pl.col("junior_students"))
            ),
            name="junior grades <= junior_students",
            error="junior_grade7_students + junior_grade8_students + junior_grade9_students must not exceed junior_students",
        )
    ]


def _classes_checks() -> list[pa.Check]:
    """A stage with students has classes (a blank class count is unknown, not zero)."""
    return [
        pa.Check(
            lambda data, stage=stage: data.lazyframe.select(
                pl.col(f"{stage}_students").is_null()
                | (pl.col(f"{stage}_students") == 0)
                | (pl.col(f"{stage}_classes") > 0)
                | pl.col(f"{stage}_classes").is_null()
            ),
            name=f"{stage}_students need {stage}_classes",
            error=f"{stage}_students > 0 but {stage}_classes is 0",
        )
        for stage in STAGES
    ]


def census_schema(county_codes: Iterable[str], unique_school_id: bool = True) -> pa.DataFrameSchema:
    """Row contract of a canonical census extract, given the county registry's codes.

    With `unique_school_id=False` the caller checks school_id uniqueness itself (the ingest
    validates all files of a year at once, and a school id is unique within each file).
    """
    registry = sorted(set(county_codes))
    columns: dict[str, pa.Column] = {}
    for column in CENSUS_COLUMNS:
        checks: list[pa.Check] = []
        name = column.name
        if name == "census_year":
            checks = [pa.Check.in_range(FIRST_CENSUS_YEAR, LAST_CENSUS_YEAR)]
        elif name in ("school_id", "parent_school_id"):
            checks = [pa.Check.str_matches(SCHOOL_ID_PATTERN)]
        elif name == "county_code":
            checks = [pa.Check.str_matches(COUNTY_CODE_PATTERN), pa.Check.isin(registry)]
        elif name == "school_type_code":
            checks = [pa.Check.isin(school_type_codes())]
        elif name == "urban_rural_code":
            checks = [pa.Check.isin(urban_rural_codes())]
        elif name == "ownership":
            checks = [pa.Check.isin(["public", "private"])]
        elif name in _count_columns():
            checks = [pa.Check.ge(0)]
        columns[name] = pa.Column(
            column.dtype,
            checks=checks,
            nullable=name in BLANK_ALLOWED_COLUMNS,
            unique=unique_school_id and name == "school_id",
            required=column.required,
        )
    return pa.DataFrameSchema(
        columns,
        checks=[
            *_part_checks(),
            *_stage_students_checks(),
            *_classes_checks(),
            *_grade_checks(),
        ],
        strict=False,
        name="census_schools",
    )
