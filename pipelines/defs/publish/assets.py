"""Publishing: the last step of a census-year run copies the working warehouse to the read-only
snapshot analysts open, with a Parquet export of the year (pipelines.lib.publish.snapshot).

It depends on every other census-year asset, so it runs only when all of them succeeded: a failed
run publishes nothing. Its asset checks are the data-quality suites (models/quality/
expectations.yaml, pipelines.lib.publish.quality), run with great-expectations on the staged copy, the
exact file about to be published. A failed ERROR suite (a broken identity) stops the publication
and fails the run; a failed WARN suite is reported and the snapshot is published.
"""

from collections.abc import Iterator, Sequence

import dagster as dg

from pipelines.defs.resources import PUBLISHED_KEY, WAREHOUSE_POOL, Warehouse, census_year_partitions
from pipelines.lib.publish.quality import SuiteResult, SuiteSpec, load_suites, run_suites
from pipelines.lib.publish.snapshot import PublishError, publish
from pipelines.recovery import settle_pending_loads

__all__ = ["PUBLISHED_KEY", "build_publish_asset"]
DATA_DOCS_DIR = "data_docs"
"""Data Docs go to this folder of the reports folder."""

_SEVERITY = {"error": dg.AssetCheckSeverity.ERROR, "warn": dg.AssetCheckSeverity.WARN}


class NotPublished(RuntimeError):
    """An ERROR data-quality suite failed on the staged copy; nothing was published."""


def _check_results(results: list[SuiteResult]) -> Iterator[dg.AssetCheckResult]:
    for result in results:
        yield dg.AssetCheckResult(
            check_name=result.suite,
            passed=result.success,
            severity=_SEVERITY[result.severity],
            metadata={
                "expectations": result.evaluated,
                "failures": dg.MetadataValue.md("\n".join(f"- {line}" for line in result.failures) or "none"),
            },
        )


def build_publish_asset(upstream: Sequence[dg.AssetKey]) -> dg.AssetsDefinition:
    """The snapshot asset, downstream of every asset of the census-year job, with one asset check
    per data-quality suite."""
    suites: list[SuiteSpec] = load_suites()

    @dg.asset(
        key=PUBLISHED_KEY,
        group_name="published",
        description=(
            "The read-only snapshot of the warehouse that analysts open (JUNHENG_PUBLISHED), "
            "replaced atomically at the end of a successful run, and the census year's Parquet "
            "export beside it. Published only when every ERROR data-quality suite passes."
        ),
        deps=list(upstream),
        partitions_def=census_year_partitions,
        kinds={"duckdb", "parquet"},
        pool=WAREHOUSE_POOL,
        check_specs=[
            dg.AssetCheckSpec(suite.name, asset=PUBLISHED_KEY, description=suite.note) for suite in suites
        ],
    )
    def warehouse_snapshot(context: dg.AssetExecutionContext, warehouse: Warehouse):
        census_year = int(context.partition_key)
        results: list[SuiteResult] = []

        def verify(staged):
            docs = warehouse.reports_path() / DATA_DOCS_DIR
            name = str(warehouse.published_path())  # the file being checked is its staged copy
            results.extend(run_suites(staged, census_year, docs, suites, published_name=name))
            broken = [r for r in results if r.severity == "error" and not r.success]
            if broken:
                lines = [f"{r.suite}: {line}" for r in broken for line in r.failures[:3]]
                raise NotPublished(
                    "数据质量检查未通过，未发布 / data-quality checks failed, nothing published:\n"
                    + "\n".join(lines)
                )

        with warehouse.connect() as con:  # loads that failed or dead runs left are rolled back first
            for line in settle_pending_loads(con, context.instance, own_run_id=context.run_id):
                context.log.warning(line)
        try:
            result = publish(
                warehouse.database_path(), warehouse.published_path(), census_year, verify, context.run_id
            )
        except NotPublished as refused:
            yield from _check_results(results)
            raise dg.Failure(description=str(refused)) from None
        except PublishError as failed:  # its words for people; the error that caused it in the log
            yield from _check_results(results)
            raise dg.Failure(description=str(failed)) from failed
        yield dg.MaterializeResult(
            metadata={
                "census_year": census_year,
                "snapshot": dg.MetadataValue.path(str(result.snapshot)),
                "snapshot_mib": round(result.snapshot_bytes / 2**20, 1),
                "parquet_dir": dg.MetadataValue.path(str(result.parquet_dir)),
                "parquet_files": result.parquet_files,
                "parquet_mib": round(result.parquet_bytes / 2**20, 2),
                "seconds": round(result.seconds, 2),
            }
        )
        yield from _check_results(results)

    return warehouse_snapshot
