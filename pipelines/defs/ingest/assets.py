"""Ingest: one census year of extracts -> raw.census_schools (rejections -> audit.rejected_rows)."""

import dagster as dg
import polars as pl

from pipelines.defs.resources import WAREHOUSE_POOL, Warehouse, census_year_partitions
from pipelines.lib.ingest.census_checks import census_warnings, next_year_warnings
from pipelines.lib.ingest.census_ingest import YearRejected, load_census_year, previous_amounts
from pipelines.lib.queries import sql
from pipelines.lib.warehouse import (
    query_frame,
    record_refused_load,
    replace_census_year,
    replace_school_warnings,
)


def _rejection_summary(rejected: pl.DataFrame) -> str:
    if rejected.is_empty():
        return "No rows rejected."
    counts = (
        rejected.group_by("source_file", "column", "check")
        .agg(pl.len().alias("rows"), pl.col("message_en").first().alias("example"))
        .sort("rows", descending=True)
        .head(20)
    )
    lines = ["| file | column | check | rows | example |", "|---|---|---|---|---|"]
    lines += [
        f"| {r['source_file']} | {r['column']} | {r['check']} | {r['rows']} | {r['example']} |"
        for r in counts.iter_rows(named=True)
    ]
    return "\n".join(lines)


@dg.asset(
    key=["raw", "census_schools"],
    group_name="raw",
    kinds={"duckdb", "polars"},
    partitions_def=census_year_partitions,
    deps=[["marts", "dim_counties"]],
    pool=WAREHOUSE_POOL,
    check_specs=[
        dg.AssetCheckSpec("no_rejected_rows", asset=["raw", "census_schools"]),
        dg.AssetCheckSpec("school_warnings", asset=["raw", "census_schools"]),
    ],
)
def census_schools(context: dg.AssetExecutionContext, warehouse: Warehouse):
    """Read, check and load one census year's extracts; the year is replaced atomically."""
    census_year = int(context.partition_key)
    with warehouse.year_writer(context) as con:
        registry = query_frame(con, sql("warehouse/county_registry"))
        county_codes = registry["county_code"].to_list()
        try:
            previous = previous_amounts(con, census_year)
            load = load_census_year(
                warehouse.landing_path(), census_year, county_codes, context.run_id, previous, registry
            )
        except YearRejected as refused:
            record_refused_load(con, census_year, context.run_id, refused.files)
            raise dg.Failure(
                description=(
                    f"{census_year} 年的以下文件被拒收，该年未载入 / census year {census_year} not loaded, "
                    f"refused:\n{refused}"
                ),
                metadata={"files_refused": sum(f.status == "rejected" for f in refused.files)},
            ) from None
        warnings = census_warnings(con, census_year, load.accepted)
        rows = replace_census_year(
            con, census_year, load.accepted, load.rejected, context.run_id, load.files, warnings
        )
        # the next year's year-over-year warnings compare with this year: refresh them
        following = next_year_warnings(con, census_year)
        if following is not None:
            replace_school_warnings(con, census_year + 1, following, context.run_id)
            context.log.info(f"audit.school_warnings: refreshed census year {census_year + 1}")
    read = sum(f.rows_read for f in load.files)
    rejected_rows = sum(f.rows_rejected for f in load.files)
    context.log.info(f"census {census_year}: {read} rows read, {rows} loaded, {rejected_rows} rejected")
    yield dg.MaterializeResult(
        metadata={
            "rows_read": read,
            "rows_loaded": rows,
            "rows_rejected": rejected_rows,
            "files": dg.MetadataValue.md(
                "\n".join(
                    f"- {f.source_file}: {f.rows_read} read, {f.rows_accepted} accepted, "
                    f"{f.rows_rejected} rejected"
                    + (f"; unknown columns {f.unknown_columns}" if f.unknown_columns else "")
                    for f in load.files
                )
            ),
            "rejections": dg.MetadataValue.md(_rejection_summary(load.rejected)),
        }
    )
    yield dg.AssetCheckResult(
        check_name="no_rejected_rows",
        passed=rejected_rows == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"rows_rejected": rejected_rows},
        description="Rows refused by the contract are in audit.rejected_rows with their reason.",
    )
    counts = warnings.group_by("check").len().sort("check")
    yield dg.AssetCheckResult(
        check_name="school_warnings",
        passed=warnings.is_empty(),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={r["check"]: r["len"] for r in counts.iter_rows(named=True)},
        description="Implausible values and year-over-year changes, per school in audit.school_warnings.",
    )
