"""Reference tables: code lists from contracts/codes and the landing folder's county registry."""

from __future__ import annotations

import io
from pathlib import Path

import pandera.polars as pa
import polars as pl

from contracts.code_lists import load_code_list
from contracts.headers import header_key as _header_key
from contracts.headers import reference_aliases, standard_names
from contracts.reference import COUNTIES, certifications_schema


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


def stages_frame() -> pl.DataFrame:
    """The stages with their Chinese names and order (contracts/codes/stages.yaml)."""
    return pl.DataFrame(
        [
            {
                "stage": e["code"],
                "name_zh": e["name_zh"],
                "name_en": e["name_en"],
                "stage_order": int(e["stage_order"]),
                "grades": str(e["grades"]),
            }
            for e in load_code_list("stages")
        ],
        schema={
            "stage": pl.String,
            "name_zh": pl.String,
            "name_en": pl.String,
            "stage_order": pl.Int32,
            "grades": pl.String,
        },
    )


def urban_rural_frame() -> pl.DataFrame:
    return pl.DataFrame(
        [
            {"urban_rural_code": e["code"], "name_zh": e["name_zh"], "area_class": e["area_class"]}
            for e in load_code_list("urban_rural")
        ]
    )


def _read_reference(path: Path, kind: str) -> pl.DataFrame:
    """A reference CSV (UTF-8 or GBK) with its headers mapped to canonical names."""
    from pipelines.lib.ingest.readers import ReadError, detect_encoding

    if not path.exists():
        raise ReferenceError(f"{path}: 缺少参考文件 / the reference file is missing")
    try:
        text, _ = detect_encoding(path.read_bytes(), str(path))
    except ReadError as exc:
        raise ReferenceError(str(exc)) from None
    frame = pl.read_csv(io.BytesIO(text.encode("utf-8")), infer_schema=False)
    aliases = reference_aliases(kind)
    renames = {c: aliases.get(_header_key(c), _header_key(c)) for c in frame.columns}
    frame = frame.rename(renames)
    frame = frame.with_columns(pl.col(c).str.strip_chars() for c in frame.columns)
    # the all-empty lines (",,,,,,") Excel writes below a table whose cells were once formatted
    # are dropped; rows above keep their numbers (a message names row index + 2, the file's line)
    if not frame.width:
        return frame
    filled = frame.select(
        pl.any_horizontal((pl.col(c).is_not_null() & (pl.col(c) != "")) for c in frame.columns)
    ).to_series()
    last = filled.arg_true().max()
    return frame.head(0 if last is None else int(last) + 1)  # type: ignore[arg-type]


def _problems(path: Path, errors: pa.errors.SchemaErrors) -> str:
    first = errors.failure_cases.head(5)
    return "; ".join(
        f"row {'?' if r['index'] is None else r['index'] + 2} {r['column']}: "
        f"{r['failure_case']!r} fails {r['check']}"
        for r in first.iter_rows(named=True)
    )


def _short_codes(frame: pl.DataFrame) -> pl.DataFrame:
    """Prefecture and province codes as the registry keeps them (4 and 2 digits). The six-digit
    GB/T 2260 forms are accepted as well: 341600 is prefecture 3416, 340000 is province 34. A
    six-digit code that does not end in 00 (or 0000) is left as it is and fails the contract."""
    shortened = []
    for column, length in (("prefecture_code", 4), ("province_code", 2)):
        if column not in frame.columns:
            continue
        code = pl.col(column)
        padding = "0" * (6 - length)
        gb_form = (code.str.len_chars() == 6) & code.str.ends_with(padding) & code.str.contains(r"^\d{6}$")
        shortened.append(pl.when(gb_form).then(code.str.slice(0, length)).otherwise(code).alias(column))
    return frame.with_columns(shortened) if shortened else frame


def read_counties(landing: Path) -> pl.DataFrame:
    """reference/counties.csv, checked against its contract."""
    path = landing / "reference" / "counties.csv"
    frame = _short_codes(_read_reference(path, "counties"))
    try:
        COUNTIES.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        raise ReferenceError(
            f"{path}: 县区名录有误 / invalid county registry: {_problems(path, errors)}"
        ) from None
    return frame.select(list(COUNTIES.columns))


def read_certifications(landing: Path, county_codes: list[str], standard_ids: list[str]) -> pl.DataFrame:
    """reference/certifications.csv, checked; 基本均衡/优质均衡 are mapped to standard ids.

    A missing file means no county is certified (alerts need it; coefficients do not).
    """
    path = landing / "reference" / "certifications.csv"
    columns = {
        "county_code": pl.String,
        "standard_id": pl.String,
        "certified_year": pl.Int64,
        "revoked_year": pl.Int64,
    }
    if not path.exists():
        return pl.DataFrame(schema=columns)
    frame = _read_reference(path, "certifications")
    if "revoked_year" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, pl.String).alias("revoked_year"))
    frame = frame.with_columns(
        pl.col("standard_id").replace(standard_names()),
        pl.col("certified_year").cast(pl.Int64, strict=False),
        pl.when(pl.col("revoked_year") == "")
        .then(None)
        .otherwise(pl.col("revoked_year"))
        .cast(pl.Int64, strict=False)
        .alias("revoked_year"),
    )
    try:
        certifications_schema(county_codes, standard_ids).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        raise ReferenceError(
            f"{path}: 认定名单有误 / invalid certifications: {_problems(path, errors)}"
        ) from None
    return frame.select(list(columns)).cast(columns)  # type: ignore[arg-type]
