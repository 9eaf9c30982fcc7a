"""How the demo's alert list measures against what its generator planted (truth.json).

- recall: the planted alerts the warehouse raised (an active alert of the county-stage-standard in
  the planted year, the planted rule among its fired rules); all of them must be;
- precision, year by year: the share of active alerts at warning or worse that are real problems,
  a planted one or a genuine failure (a coefficient above its threshold, or schools failing the
  per-school rule);
- the most active watch rows any county has in one census year.

Counted in SQL (models/queries/alerts.sql: planted_recall, planted_precision, watch_rows), with
truth.json's planted alerts registered as two small relations for the statements to read.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from pipelines.lib.queries import sql
from pipelines.lib.warehouse import query_frame

PLANTED_SCHEMA = {
    "census_year": pl.Int32,
    "county_code": pl.String,
    "stage": pl.String,
    "standard_id": pl.String,
    "rule_id": pl.String,
}


@dataclass(frozen=True)
class AlertQuality:
    years: list[dict]  # census_year, n_alerts, n_real, precision (years with an alert at warning or worse)
    n_planted: int
    n_found: int
    all_found: bool
    max_watch_rows: int


def planted_alerts(truth: dict) -> pl.DataFrame:
    """Every alert truth.json's scenarios plant: year, county-stage-standard and rule (a null
    stage for a finding about the county and standard, which stands on either stage)."""
    rows = [
        {
            "census_year": e["census_year"],
            "county_code": s["county_code"],
            "stage": e.get("stage", s["stage"]),  # null: the finding may stand on either stage
            "standard_id": s["standard_id"],
            "rule_id": e["rule_id"],
        }
        for s in truth["scenarios"]
        for e in s["expected_alerts"]
    ]
    return pl.DataFrame(rows, schema=PLANTED_SCHEMA)


def measure(con: duckdb.DuckDBPyConnection, truth: dict) -> AlertQuality:
    planted = planted_alerts(truth)
    con.register("planted_alerts", planted.to_arrow())
    con.register("planted_groups", planted.select("county_code", "stage", "standard_id").unique().to_arrow())
    try:
        years = query_frame(con, sql("alerts/planted_precision")).to_dicts()
        recall = query_frame(con, sql("alerts/planted_recall")).row(0, named=True)
        watch = query_frame(con, sql("alerts/watch_rows")).row(0, named=True)
    finally:
        con.unregister("planted_alerts")
        con.unregister("planted_groups")
    return AlertQuality(
        years=years,
        n_planted=int(recall["n_planted"]),
        n_found=int(recall["n_found"]),
        all_found=bool(recall["all_found"]),
        max_watch_rows=int(watch["max_watch_rows_per_county_year"]),
    )


def describe(quality: AlertQuality, lang: str = "zh") -> str:
    """Two lines for the demo's summary (formatting only: every figure is a statement's)."""
    per_year = [(y["census_year"], y["precision"], y["n_real"], y["n_alerts"]) for y in quality.years]
    if lang == "zh":
        years = "、".join(f"{year} {p:.0%}（{real}/{n}）" for year, p, real, n in per_year) or "无"
        found = "全部发现" if quality.all_found else "有遗漏"
        return (
            f"  召回：预设预警 {quality.n_planted} 条，发现 {quality.n_found} 条（{found}）\n"
            f"  精确：各年度有效的“预警”及以上条目中属于预设问题或确未达标的比例：{years}；"
            f"每县每年“关注”条目最多 {quality.max_watch_rows} 条"
        )
    years = ", ".join(f"{year} {p:.0%} ({real}/{n})" for year, p, real, n in per_year) or "none"
    found = "all found" if quality.all_found else "SOME MISSING"
    return (
        f"  recall: {quality.n_found} of {quality.n_planted} planted alerts found ({found})\n"
        f"  precision: active alerts at warning or worse that are planted problems or genuine failures, "
        f"by year: {years}; at most {quality.max_watch_rows} watch rows per county and year"
    )
