"""Ingest: a run's census years of extracts -> raw.census_schools (rejections -> audit.rejected_rows,
plausibility and year-over-year warnings -> audit.school_warnings; the year after a reloaded one
gets its year-over-year warnings anew in the all-years graph, pipelines.defs.monitoring.assets)."""

import dagster as dg
import polars as pl

from pipelines.defs.resources import WAREHOUSE_POOL, Warehouse, census_year_partitions, partition_years
from pipelines.lib.ingest.census_checks import census_warnings
from pipelines.lib.ingest.census_ingest import YearRejected, load_census_year, previous_amounts
from pipelines.lib.loads.revisions import keep_before
from pipelines.lib.queries import sql
from pipelines.lib.warehouse import query_frame, replace_census_year


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
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[["marts", "dim_counties"]],
    pool=WAREHOUSE_POOL,
    check_specs=[
        dg.AssetCheckSpec(
            "no_rejected_rows",
            asset=["raw", "census_schools"],
            description="Rows refused by the contract, each in audit.rejected_rows with its reason (a warning).",
        ),
    ],
)
def census_schools(context: dg.AssetExecutionContext, warehouse: Warehouse):
    """Read, check and load the run's census years of extracts, each replacing its year, in order
    (a year's checks compare it with the year before as this run leaves it)."""
    run = warehouse.run_write(context)
    con = run.con
    registry = query_frame(con, sql("warehouse/county_registry"))
    county_codes = registry["county_code"].to_list()
    loads = []
    for census_year in partition_years(context):
        try:
            previous = previous_amounts(con, census_year)
            load = load_census_year(
                warehouse.landing_path(), census_year, county_codes, context.run_id, previous, registry
            )
        except YearRejected as refused:
            run.attempt(census_year, refused.files, refused=True)
            run.failed(f"census year {census_year}: files refused")
            raise dg.Failure(
                description=(
                    f"{census_year} 年的以下文件被拒收，该年未载入 / census year {census_year} not loaded, "
                    f"refused:\n{refused}"
                ),
                metadata={"files_refused": sum(f.status == "rejected" for f in refused.files)},
            ) from None
        run.attempt(census_year, load.files)
        keep_before(con, census_year)  # the coefficients as they were, for audit.revisions
        warnings = census_warnings(con, census_year, load.accepted)
        rows = replace_census_year(
            con,
            census_year,
            load.accepted,
            load.rejected,
            context.run_id,
            load.files,
            warnings,
            load.declarations,
            load.declarations_rejected,
        )
        read = sum(f.rows_read for f in load.files)
        rejected = sum(f.rows_rejected for f in load.files)
        context.log.info(f"census {census_year}: {read} rows read, {rows} loaded, {rejected} rejected")
        # what the metadata needs, not the year's rows (a national year is ~250,000 schools)
        loads.append((census_year, load.files, load.rejected, read, rows, rejected))
        del load, warnings
    files = [f for _, year_files, *_ in loads for f in year_files]
    rejected_rows = sum(r for *_, r in loads)
    yield dg.MaterializeResult(
        metadata={
            "census_years": ", ".join(str(year) for year, *_ in loads),
            "rows_read": sum(r for *_, r, _, _ in loads),
            "rows_loaded": sum(r for *_, r, _ in loads),
            "rows_rejected": rejected_rows,
            "files": dg.MetadataValue.md(
                "\n".join(
                    f"- {f.source_file}: {f.rows_read} read, {f.rows_accepted} accepted, "
                    f"{f.rows_rejected} rejected"
                    + (f"; unknown columns {f.unknown_columns}" if f.unknown_columns else "")
                    for f in files
                )
            ),
            "rejections": dg.MetadataValue.md(
                _rejection_summary(
                    pl.concat([rejected for _, _, rejected, *_ in loads], how="diagonal_relaxed")
                )
            ),
        }
    )
    yield dg.AssetCheckResult(
        check_name="no_rejected_rows",
        passed=rejected_rows == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"rows_rejected": rejected_rows},
        description="Rows refused by the contract are in audit.rejected_rows with their reason.",
    )
