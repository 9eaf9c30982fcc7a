"""Publishing: the last step of a census-year run writes what the run changed as new Parquet
files, checks the new catalog of views over them, commits the run and swaps the catalog in
(pipelines.lib.publish.snapshot).

It depends on every other census-year asset, so it runs only when all of them succeeded: a failed
run publishes nothing and commits nothing. Its asset checks are the data-quality suites
(models/quality/expectations.yaml, pipelines.lib.publish.quality), run with great-expectations on
the staged catalog, the exact snapshot about to be published. A failed ERROR suite (a broken
identity) stops the publication and fails the run; a failed WARN suite is reported and the
snapshot is published.
"""

from collections.abc import Iterator, Sequence

import dagster as dg

from pipelines.defs.resources import PUBLISHED_KEY, WAREHOUSE_POOL, Warehouse, run_census_years
from pipelines.lib.loads.run_write import years_to_rebuild
from pipelines.lib.publish.quality import SuiteResult, SuiteSpec, load_suites, run_suites
from pipelines.lib.publish.snapshot import PublishError, publish

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
            "The read-only snapshot analysts open (JUNHENG_PUBLISHED): a small DuckDB catalog of "
            "views over Parquet files, a new version at the end of each successful run, swapped in "
            "with one rename. A run writes new files only for the census years it changed. "
            "Published only when every ERROR data-quality suite passes."
        ),
        deps=list(upstream),
        kinds={"duckdb", "parquet"},
        pool=WAREHOUSE_POOL,
        check_specs=[
            dg.AssetCheckSpec(suite.name, asset=PUBLISHED_KEY, description=suite.note) for suite in suites
        ],
    )
    def warehouse_snapshot(context: dg.AssetExecutionContext, warehouse: Warehouse):
        run_years = run_census_years(context)
        results: list[SuiteResult] = []
        run = warehouse.run_write(context)
        rebuilt = [y for y in years_to_rebuild(run.con, run_years) if y not in run_years]
        checked_year = run_years[0] if len(run_years) == 1 else None

        def verify(staged):
            docs = warehouse.reports_path() / DATA_DOCS_DIR
            name = str(warehouse.published_path())  # the file being checked is its staged catalog
            results.extend(run_suites(staged, checked_year, docs, suites, published_name=name))
            broken = [r for r in results if r.severity == "error" and not r.success]
            if broken:
                lines = [f"{r.suite}: {line}" for r in broken for line in r.failures[:3]]
                raise NotPublished(
                    "数据质量检查未通过，未发布 / data-quality checks failed, nothing published:\n"
                    + "\n".join(lines)
                )

        try:
            result = publish(run, warehouse.published_path(), run_years, rebuilt, verify)
        except NotPublished as refused:
            run.failed("data-quality checks failed: " + "; ".join(r.suite for r in results if not r.success))
            yield from _check_results(results)
            raise dg.Failure(description=str(refused)) from None
        except PublishError as failed:  # its words for people; the error that caused it in the log
            run.failed(str(failed))
            yield from _check_results(results)
            raise dg.Failure(description=str(failed)) from failed
        yield dg.MaterializeResult(
            metadata={
                "version": result.version,
                "census_years": ", ".join(map(str, run_years)) or "none",
                "snapshot": dg.MetadataValue.path(str(result.snapshot)),
                "parquet_dir": dg.MetadataValue.path(str(result.parquet_dir)),
                "files_written": result.files_written,
                "files_kept": result.files_kept,
                "written_mib": round(result.bytes_written / 2**20, 2),
                "seconds": round(result.seconds, 2),
            }
        )
        yield from _check_results(results)

    return warehouse_snapshot
