"""Warn-only checks that look beyond the contract: plausibility and year-over-year changes.

They never refuse a row; the warnings go to audit.school_warnings. Thresholds live in
contracts/ingest_rules.yaml."""

from __future__ import annotations

import duckdb
import polars as pl

from contracts.census import ingest_rules
from contracts.columns import CENSUS_COLUMNS, STAGES
from pipelines.lib.warehouse import query_frame, table_exists

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


def _all_students() -> pl.Expr:
    return pl.sum_horizontal(f"{s}_students" for s in (*STAGES, "senior"))


def _warnings(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(list(WARNING_SCHEMA)).cast(WARNING_SCHEMA)  # type: ignore[arg-type]


def plausibility_warnings(accepted: pl.DataFrame) -> pl.DataFrame:
    rules = ingest_rules()["plausibility"]["per_student"]
    parts = []
    students = _all_students()
    for column, (low, high) in rules.items():
        per_student = pl.col(column) / students
        odd = accepted.filter((students > 0) & ((per_student < low) | (per_student > high)))
        parts.append(
            odd.select(
                "school_id",
                "county_code",
                "source_file",
                "source_row",
                pl.lit("plausibility").alias("check"),
                pl.lit(column).alias("column"),
                (pl.col(column) / students).alias("value"),
                pl.lit(None, pl.Float64).alias("previous_value"),
                pl.format(
                    "{} 生均 {} = {} 超出合理范围 [{}, {}]",
                    "school_id",
                    pl.lit(column),
                    per_student.round(2),
                    pl.lit(low),
                    pl.lit(high),
                ).alias("message_zh"),
                pl.format(
                    "{} {} per student = {} is outside the plausible range [{}, {}]",
                    "school_id",
                    pl.lit(column),
                    per_student.round(2),
                    pl.lit(low),
                    pl.lit(high),
                ).alias("message_en"),
            )
        )
    idle = accepted.filter((students == 0) & (pl.sum_horizontal(f"{s}_teachers" for s in STAGES) > 0))
    parts.append(
        idle.select(
            "school_id",
            "county_code",
            "source_file",
            "source_row",
            pl.lit("teachers_without_students").alias("check"),
            pl.lit("primary_teachers").alias("column"),
            pl.sum_horizontal(f"{s}_teachers" for s in STAGES).cast(pl.Float64).alias("value"),
            pl.lit(None, pl.Float64).alias("previous_value"),
            pl.format("{} 有专任教师但没有在校生", "school_id").alias("message_zh"),
            pl.format("{} has teachers but no students", "school_id").alias("message_en"),
        )
    )
    return pl.concat([_warnings(p) for p in parts])


def year_over_year_warnings(current: pl.DataFrame, previous: pl.DataFrame) -> pl.DataFrame:
    """Warnings per school against the previous census year; empty when there is none."""
    if previous.is_empty():
        return pl.DataFrame(schema=WARNING_SCHEMA)
    rules = ingest_rules()["year_over_year"]
    keep = ["school_id", "county_code", "source_file", "source_row", *NUMERIC]
    cur = current.select(keep).with_columns(_all_students().alias("students"))
    prev = previous.select(keep).with_columns(_all_students().alias("students"))
    both = cur.join(prev, on="school_id", suffix="_previous")
    parts = [
        prev.join(cur, on="school_id", how="anti").select(
            "school_id",
            "county_code",
            "source_file",
            "source_row",
            pl.lit("disappeared").alias("check"),
            pl.lit(None, pl.String).alias("column"),
            pl.lit(None, pl.Float64).alias("value"),
            pl.col("students").cast(pl.Float64).alias("previous_value"),
            pl.format("{} 上年度有, 本年度没有", "school_id").alias("message_zh"),
            pl.format("{} was in last year's census and is not in this one", "school_id").alias("message_en"),
        ),
        cur.join(prev, on="school_id", how="anti").select(
            "school_id",
            "county_code",
            "source_file",
            "source_row",
            pl.lit("appeared").alias("check"),
            pl.lit(None, pl.String).alias("column"),
            pl.col("students").cast(pl.Float64).alias("value"),
            pl.lit(None, pl.Float64).alias("previous_value"),
            pl.format("{} 本年度新出现", "school_id").alias("message_zh"),
            pl.format("{} is new this year", "school_id").alias("message_en"),
        ),
    ]
    limit = float(rules["enrolment_change_max"])
    change = (pl.col("students") - pl.col("students_previous")) / pl.col("students_previous")
    parts.append(
        both.filter((pl.col("students_previous") > 0) & (change.abs() > limit)).select(
            "school_id",
            "county_code",
            "source_file",
            "source_row",
            pl.lit("enrolment_change").alias("check"),
            pl.lit("students").alias("column"),
            pl.col("students").cast(pl.Float64).alias("value"),
            pl.col("students_previous").cast(pl.Float64).alias("previous_value"),
            pl.format(
                "{} 在校生 {} -> {}, 变化超过 {}%",
                "school_id",
                "students_previous",
                "students",
                pl.lit(int(limit * 100)),
            ).alias("message_zh"),
            pl.format(
                "{} students {} -> {}, a change of more than {}%",
                "school_id",
                "students_previous",
                "students",
                pl.lit(int(limit * 100)),
            ).alias("message_en"),
        )
    )
    drop = float(rules["stock_drop_max"])
    for stock in rules["stocks"]:
        fell = both.filter(
            (pl.col(f"{stock}_previous") > 0)
            & ((pl.col(stock) - pl.col(f"{stock}_previous")) / pl.col(f"{stock}_previous") < -drop)
        )
        parts.append(
            fell.select(
                "school_id",
                "county_code",
                "source_file",
                "source_row",
                pl.lit("stock_drop").alias("check"),
                pl.lit(stock).alias("column"),
                pl.col(stock).cast(pl.Float64).alias("value"),
                pl.col(f"{stock}_previous").cast(pl.Float64).alias("previous_value"),
                pl.format(
                    "{} {} 比上年下降超过 {}%", "school_id", pl.lit(stock), pl.lit(int(drop * 100))
                ).alias("message_zh"),
                pl.format(
                    "{} {} fell by more than {}% since last year",
                    "school_id",
                    pl.lit(stock),
                    pl.lit(int(drop * 100)),
                ).alias("message_en"),
            )
        )
    same = pl.all_horizontal(pl.col(c).eq_missing(pl.col(f"{c}_previous")) for c in NUMERIC)
    parts.append(
        both.filter(same).select(
            "school_id",
            "county_code",
            "source_file",
            "source_row",
            pl.lit("identical_to_last_year").alias("check"),
            pl.lit(None, pl.String).alias("column"),
            pl.lit(None, pl.Float64).alias("value"),
            pl.lit(None, pl.Float64).alias("previous_value"),
            pl.format("{} 所有数值与上年完全相同, 可能照抄上年", "school_id").alias("message_zh"),
            pl.format("{} has every number identical to last year (copied forward?)", "school_id").alias(
                "message_en"
            ),
        )
    )
    return pl.concat([_warnings(p) for p in parts])


def census_warnings(con: duckdb.DuckDBPyConnection, census_year: int, accepted: pl.DataFrame) -> pl.DataFrame:
    """Plausibility warnings, and year-over-year ones against the previous year in the warehouse.

    A year is compared with the previous year as loaded at the time; loading years out of order
    compares with whatever is there (re-run the later year to refresh its comparison).
    """
    previous = (
        query_frame(con, "select * from raw.census_schools where census_year = $y", {"y": census_year - 1})
        if table_exists(con, "raw", "census_schools")
        else pl.DataFrame()
    )
    return pl.concat([plausibility_warnings(accepted), year_over_year_warnings(accepted, previous)])
