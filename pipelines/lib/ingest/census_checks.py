"""Warn-only checks that look beyond the contract: plausibility and year-over-year changes.

They never refuse a row; the warnings go to audit.school_warnings. Thresholds live in
contracts/ingest_rules.yaml.
"""

from __future__ import annotations

import duckdb
import polars as pl

from contracts.census import ingest_rules
from contracts.columns import CENSUS_COLUMNS, STAGES
from pipelines.lib.queries import sql
from pipelines.lib.warehouse import query_frame, replace_school_warnings, table_exists

WARNING_SCHEMA = {
    "school_id": pl.String,
    "county_code": pl.String,
    "source_file": pl.String,
    "source_row": pl.Int64,
    "check": pl.String,
    "column": pl.String,
    "value": pl.Float64,
    "previous_value": pl.Float64,
    "message_zh": pl.String,
    "message_en": pl.String,
}
NUMERIC = [c.name for c in CENSUS_COLUMNS if c.dtype in (pl.Int64, pl.Float64)]


def all_students() -> pl.Expr:
    """Pupils of every stage of a school (blank counts as none)."""
    return pl.sum_horizontal(f"{s}_students" for s in (*STAGES, "senior"))


def _warn(
    rows: pl.DataFrame,
    check: str,
    column: str | None,
    value: pl.Expr | None,
    previous: pl.Expr | None,
    zh: tuple[str, list[pl.Expr]],
    en: tuple[str, list[pl.Expr]],
) -> pl.DataFrame:
    """One warning per row of `rows`; messages are polars format strings with their arguments."""
    if rows.is_empty():
        # polars 2.1.0 can panic formatting strings over an empty filtered frame (seen with
        # `pl.format` beside `pl.col` on a frame filtered down to no rows)
        return pl.DataFrame(schema=WARNING_SCHEMA)
    return rows.select(
        "school_id",
        "county_code",
        "source_file",
        "source_row",
        pl.lit(check).alias("check"),
        pl.lit(column, pl.String).alias("column"),
        (value if value is not None else pl.lit(None)).cast(pl.Float64).alias("value"),
        (previous if previous is not None else pl.lit(None)).cast(pl.Float64).alias("previous_value"),
        pl.format(zh[0], pl.col("school_id"), *zh[1]).alias("message_zh"),
        pl.format(en[0], pl.col("school_id"), *en[1]).alias("message_en"),
    ).cast(WARNING_SCHEMA)  # type: ignore[arg-type]


def plausibility_warnings(accepted: pl.DataFrame) -> pl.DataFrame:
    rules = ingest_rules()["plausibility"]["per_student"]
    students = all_students()
    parts = []
    for column, (low, high) in rules.items():
        per_student = pl.col(column) / students
        odd = accepted.filter((students > 0) & ((per_student < low) | (per_student > high)))
        bounds = [pl.lit(column), per_student.round(2), pl.lit(low), pl.lit(high)]
        parts.append(
            _warn(
                odd,
                "plausibility",
                column,
                per_student,
                None,
                ("{} 生均 {} = {} 超出合理范围 [{}, {}]", bounds),
                ("{} {} per student = {} is outside the plausible range [{}, {}]", bounds),
            )
        )
    teachers = pl.sum_horizontal(f"{s}_teachers" for s in STAGES)
    idle = accepted.filter((students == 0) & (teachers > 0))
    parts.append(
        _warn(
            idle,
            "teachers_without_students",
            "primary_teachers",
            teachers,
            None,
            ("{} 有专任教师但没有在校生", []),
            ("{} has teachers but no students", []),
        )
    )
    return pl.concat(parts)


def year_over_year_warnings(current: pl.DataFrame, previous: pl.DataFrame) -> pl.DataFrame:
    """Warnings per school against the previous census year; empty when there is none."""
    if previous.is_empty():
        return pl.DataFrame(schema=WARNING_SCHEMA)
    rules = ingest_rules()["year_over_year"]
    keep = ["school_id", "county_code", "source_file", "source_row", *NUMERIC]
    cur = current.select(keep).with_columns(all_students().alias("students"))
    prev = previous.select(keep).with_columns(all_students().alias("students"))
    both = cur.join(prev, on="school_id", suffix="_previous")
    students, before = pl.col("students"), pl.col("students_previous")
    parts = [
        _warn(
            prev.join(cur, on="school_id", how="anti"),
            "disappeared",
            None,
            None,
            students,
            ("{} 上年度有, 本年度没有", []),
            ("{} was in last year's census and is not in this one", []),
        ),
        _warn(
            cur.join(prev, on="school_id", how="anti"),
            "appeared",
            None,
            students,
            None,
            ("{} 本年度新出现", []),
            ("{} is new this year", []),
        ),
    ]
    limit = float(rules["enrolment_change_max"])
    moved = both.filter((before > 0) & (((students - before) / before).abs() > limit))
    change = [before, students, pl.lit(round(limit * 100))]
    parts.append(
        _warn(
            moved,
            "enrolment_change",
            "students",
            students,
            before,
            ("{} 在校生 {} -> {}, 变化超过 {}%", change),
            ("{} students {} -> {}, a change of more than {}%", change),
        )
    )
    drop = float(rules["stock_drop_max"])
    for stock in rules["stocks"]:
        now, then = pl.col(stock), pl.col(f"{stock}_previous")
        fell = both.filter((then > 0) & ((now - then) / then < -drop))
        args = [pl.lit(stock), pl.lit(round(drop * 100))]
        parts.append(
            _warn(
                fell,
                "stock_drop",
                stock,
                now,
                then,
                ("{} {} 比上年下降超过 {}%", args),
                ("{} {} fell by more than {}% since last year", args),
            )
        )
    same = both.filter(pl.all_horizontal(pl.col(c).eq_missing(pl.col(f"{c}_previous")) for c in NUMERIC))
    parts.append(
        _warn(
            same,
            "identical_to_last_year",
            None,
            None,
            None,
            ("{} 所有数值与上年完全相同, 可能照抄上年", []),
            ("{} has every number identical to last year (copied forward?)", []),
        )
    )
    return pl.concat(parts)


def census_warnings(con: duckdb.DuckDBPyConnection, census_year: int, accepted: pl.DataFrame) -> pl.DataFrame:
    """Plausibility warnings, and year-over-year ones against the previous year in the warehouse.

    When that previous year is loaded again or late, the run refreshes this year's warnings
    (`following_year_warnings`, in the all-years graph), so they always compare with the previous
    year as it is now.
    """
    previous = (
        query_frame(con, sql("warehouse/census_year_rows"), {"census_year": census_year - 1})
        if table_exists(con, "raw", "census_schools")
        else pl.DataFrame()
    )
    return pl.concat([plausibility_warnings(accepted), year_over_year_warnings(accepted, previous)])


def refresh_following_years(
    con: duckdb.DuckDBPyConnection, loaded: list[int], run_years: list[int], load_id: str
) -> list[int]:
    """Write anew the warnings of each loaded census year (of `loaded`) that follows one the run
    loads and that the run does not load itself: its year-over-year checks compared it with a year
    this run replaced. Returns the years refreshed."""
    refreshed = []
    for year in loaded:
        if year in run_years or year - 1 not in run_years:
            continue
        warnings = following_year_warnings(con, year)
        if warnings is not None:
            replace_school_warnings(con, year, warnings, load_id)
            refreshed.append(year)
    return refreshed


def following_year_warnings(con: duckdb.DuckDBPyConnection, census_year: int) -> pl.DataFrame | None:
    """The warnings of a loaded census year, from its loaded rows, against the year before as it
    is now; None when the year is not loaded."""
    if not table_exists(con, "raw", "census_schools"):
        return None
    rows = query_frame(con, sql("warehouse/census_year_rows"), {"census_year": census_year})
    return None if rows.is_empty() else census_warnings(con, census_year, rows)
