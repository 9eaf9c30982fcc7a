"""Input-only columns of statistics-system exports, resolved to canonical ones before validation.

- 统计三级 (county_name, with 统计二级 prefecture_name where a name occurs twice) gives the
  county code through the county registry, for rows without a code. A name the registry does not
  have, or has twice without a prefecture to tell them apart, refuses the row: a county is never
  guessed. A row that has both a code and a name that the registry puts in another county is
  refused too.
- 是否计校数 (counts_as_school): a unit not counted as a school whose type is a primary school is
  loaded as a primary teaching point (contracts/ingest_rules.yaml, not_counted_as_school).

The rules are in contracts/headers.yaml (`inputs`) and contracts/ingest_rules.yaml.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from contracts.census import ingest_rules
from contracts.headers import normalise_text


def county_lookup(registry: pl.DataFrame) -> dict[str, list[tuple[str, str]]]:
    """Normalised county name -> [(county_code, normalised prefecture name)] from the registry
    (county_code, county_name, prefecture_name)."""
    out: dict[str, list[tuple[str, str]]] = {}
    for code, county, prefecture in registry.select(
        "county_code", "county_name", "prefecture_name"
    ).iter_rows():
        if county:
            out.setdefault(normalise_text(str(county)), []).append(
                (str(code), normalise_text(str(prefecture or "")))
            )
    return out


def _problem(name: str, row: dict, column: str, header: str, check: str, zh: str, en: str) -> dict:
    value = row.get(column)
    return {
        "source_file": name,
        "source_row": row["source_row"],
        "school_id": row.get("school_id"),
        "column": column,
        "check": check,
        "value": value,
        "message_zh": f"{name} 第{row['source_row']}行 {header}: '{value}' {zh}",
        "message_en": f"{name} row {row['source_row']} {header}: '{value}' {en}",
    }


def _resolve_county(
    text: pl.DataFrame,
    lookup: dict[str, list[tuple[str, str]]] | None,
    name: str,
    header_of: Callable[[str], str],
) -> tuple[pl.DataFrame, list[dict]]:
    if "county_code" not in text.columns:
        text = text.with_columns(pl.lit(None, pl.String).alias("county_code"))
    has_prefecture = "prefecture_name" in text.columns
    header = header_of("county_name")
    problems: list[dict] = []
    codes: list[str | None] = []
    for row in text.iter_rows(named=True):
        county, code = row["county_name"], row["county_code"]

        def refuse(zh: str, en: str, row: dict = row) -> None:
            problems.append(_problem(name, row, "county_name", header, "county_registry", zh, en))

        if county is None:
            codes.append(code)
            continue
        if lookup is None:
            if code is None:
                refuse(
                    "无法对照县区名录（未提供 reference/counties.csv），请改填县区代码",
                    "cannot be looked up: no county registry (reference/counties.csv) was given; "
                    "give the county code instead",
                )
            codes.append(code)
            continue
        candidates = lookup.get(normalise_text(county), [])
        prefecture = normalise_text(row["prefecture_name"] or "") if has_prefecture else ""
        if prefecture:
            candidates = [c for c in candidates if c[1] == prefecture]
        found = sorted({c[0] for c in candidates})
        if code is not None:  # a code given: kept, unless the registry puts the name elsewhere
            if len(found) == 1 and code not in found:
                refuse(
                    f"在县区名录中的代码是 {found[0]}，与本行的县区代码 {code} 不一致",
                    f"is county {found[0]} in the registry, not the row's county code {code}",
                )
            codes.append(code)
            continue
        codes.append(found[0] if len(found) == 1 else None)
        if not found:
            refuse(
                "不在县区名录中（reference/counties.csv）",
                "is not a county of the registry (reference/counties.csv)",
            )
        elif len(found) > 1:
            refuse(
                f"在县区名录中有重名（{'、'.join(found)}），请同时填写统计二级（地市名称）或县区代码",
                f"names more than one county of the registry ({', '.join(found)}); give the prefecture "
                "(统计二级) or the county code",
            )
    return text.with_columns(pl.Series("county_code", codes, dtype=pl.String)), problems


def _resolve_not_counted(
    text: pl.DataFrame, name: str, header_of: Callable[[str], str]
) -> tuple[pl.DataFrame, list[dict]]:
    rules = ingest_rules()
    rule = rules["not_counted_as_school"]
    lowered = pl.col("counts_as_school").str.to_lowercase()
    flag = (
        pl.when(lowered.is_in(rules["true_values"]))
        .then(True)
        .when(lowered.is_in(rules["false_values"]))
        .then(False)
        .otherwise(None)
    )
    text = text.with_columns(flag.alias("_counted"))
    bad = text.filter(pl.col("counts_as_school").is_not_null() & pl.col("_counted").is_null())
    header = header_of("counts_as_school")
    problems = [
        _problem(
            name,
            row,
            "counts_as_school",
            header,
            "dtype",
            "应为“是”或“否”（1 或 0）",
            "must be yes or no (是/否, 1/0)",
        )
        for row in bad.iter_rows(named=True)
    ]
    if "school_type_code" in text.columns:
        teaching_point = (pl.col("_counted") == False) & pl.col("school_type_code").is_in(rule["from_types"])  # noqa: E712
        text = text.with_columns(
            pl.when(teaching_point.fill_null(False))
            .then(pl.lit(str(rule["to_type"])))
            .otherwise(pl.col("school_type_code"))
            .alias("school_type_code")
        )
    return text.drop("_counted"), problems


def resolve_inputs(
    text: pl.DataFrame,
    registry: pl.DataFrame | None,
    name: str,
    header_of: Callable[[str], str],
) -> tuple[pl.DataFrame, list[dict]]:
    """The file's cells with the input-only columns resolved into canonical ones, and one problem
    per row that cannot be resolved (REJECTION_SCHEMA rows)."""
    problems: list[dict] = []
    if "county_name" in text.columns:
        lookup = county_lookup(registry) if registry is not None else None
        text, found = _resolve_county(text, lookup, name, header_of)
        problems += found
    if "counts_as_school" in text.columns:
        text, found = _resolve_not_counted(text, name, header_of)
        problems += found
    return text, problems
