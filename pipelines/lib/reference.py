"""Reference tables: code lists from contracts/codes and the landing folder's county registry."""

from __future__ import annotations

from pathlib import Path

import pandera.polars as pa
import polars as pl

from contracts.code_lists import load_code_list
from contracts.reference import COUNTIES

REFERENCE_TABLE_DOCS: dict[str, tuple[str, dict[str, str]]] = {
    "dim_school_types": (
        "One row per school_type_code (GB/T 33782-2017) with the stages the type teaches.",
        {
            "school_type_code": "办学类型 code.",
            "name_zh": "Chinese name.",
            "name_en": "English name.",
            "stages": "Stages the type teaches; senior only weighs facility splits.",
        },
    ),
    "dim_urban_rural": (
        "One row per urban_rural_code (城乡分类代码) with its area class.",
        {
            "urban_rural_code": "城乡分类代码.",
            "name_zh": "Chinese name.",
            "area_class": "城区, 镇区 or 乡村.",
        },
    ),
    "dim_counties": (
        "One row per county_code: the county registry (landing reference/counties.csv).",
        {
            "county_code": "6-digit GB/T 2260 county code.",
            "county_name": "县区名称.",
            "prefecture_code": "4-digit prefecture code.",
            "prefecture_name": "地市名称.",
            "province_code": "2-digit province code.",
            "province_name": "省份名称.",
        },
    ),
}
"""Description and column descriptions of each reference table (carried into DuckDB comments)."""


class ReferenceError(ValueError):
    """A reference file that cannot be used; the message names the file."""


def school_types_frame() -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "school_type_code": e["code"],
                "name_zh": e["name_zh"],
                "name_en": e["name_en"],
                "stages": list(e["stages"]),
            }
            for e in load_code_list("school_types")
        ],
        schema={
            "school_type_code": pl.String,
            "name_zh": pl.String,
            "name_en": pl.String,
            "stages": pl.List(pl.String),
        },
    )


def urban_rural_frame() -> pl.DataFrame:
    return pl.DataFrame(
        [
            {"urban_rural_code": e["code"], "name_zh": e["name_zh"], "area_class": e["area_class"]}
            for e in load_code_list("urban_rural")
        ]
    )


def read_counties(landing: Path) -> pl.DataFrame:
    """reference/counties.csv, checked against its contract."""
    path = landing / "reference" / "counties.csv"
    if not path.exists():
        raise ReferenceError(f"{path}: 缺少县区名录 / the county registry is missing")
    frame = pl.read_csv(path, infer_schema=False, encoding="utf8")
    frame = frame.rename({c: c.lstrip("\ufeff").strip() for c in frame.columns})
    try:
        COUNTIES.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        first = errors.failure_cases.head(5)
        problems = "; ".join(
            f"row {'?' if r['index'] is None else r['index'] + 2} {r['column']}: "
            f"{r['failure_case']!r} fails {r['check']}"
            for r in first.iter_rows(named=True)
        )
        raise ReferenceError(f"{path}: 县区名录有误 / invalid county registry: {problems}") from None
    return frame.select(list(COUNTIES.columns))
