"""Run the real Dagster jobs in-process: the reference job once, then one run per census year.

This is what `junheng run` and the integration tests call; `dagster dev` runs the same jobs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from pipelines.definitions import CENSUS_YEAR_JOB, REFERENCE_JOB, build_definitions
from pipelines.defs.resources import CENSUS_YEAR_PARTITIONS
from pipelines.lib import paths
from pipelines.lib.summary import load_report
from pipelines.lib.warehouse import connect


class PipelineFailed(RuntimeError):
    """A run failed; the message carries the first error Dagster recorded."""


@dataclass
class RunSummary:
    census_years: list[int]
    seconds: float
    warehouse: Path
    published: Path


def first_error(result: dg.ExecuteInProcessResult) -> str:
    for event in result.all_events:
        if event.is_failure and event.event_specific_data is not None:
            error = getattr(event.event_specific_data, "error", None)
            if error is not None:
                while error.cause is not None:  # the root cause says what actually went wrong
                    error = error.cause
                return error.message.strip()
    return "run failed (see the Dagster event log)"


def default_instance() -> dg.DagsterInstance:
    """The instance in $DAGSTER_HOME when it is set (runs then show in `make dev`), else a
    throw-away in-memory one."""
    home = os.environ.get("DAGSTER_HOME")
    if home and Path(home).is_dir():
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.ephemeral()


def warehouse_config(
    landing: Path, warehouse: Path, published: Path, reports: Path, log_level: str = "WARNING"
) -> dict:
    """The run config that points a run's `warehouse` resource at these paths."""
    return {
        "resources": {
            "warehouse": {
                "config": {
                    "landing": str(landing),
                    "database": str(warehouse),
                    "published": str(published),
                    "reports": str(reports),
                }
            }
        },
        # the CLI prints its own progress; Dagster's event log still records everything
        "loggers": {"console": {"config": {"log_level": log_level}}},
    }


def run_census_year(
    census_year: int,
    run_config: dict,
    instance: dg.DagsterInstance,
    asset_selection: list[dg.AssetKey] | None = None,
    defs: dg.Definitions | None = None,
) -> dg.ExecuteInProcessResult:
    """One run of the census-year job (or of the assets selected from it); the partition must exist."""
    job = (defs or build_definitions()).resolve_job_def(CENSUS_YEAR_JOB)
    return job.execute_in_process(
        partition_key=str(census_year),
        run_config=run_config,
        instance=instance,
        asset_selection=asset_selection,
        raise_on_error=False,
    )


def run_pipeline(
    landing: Path | None = None,
    warehouse: Path | None = None,
    published: Path | None = None,
    reports: Path | None = None,
    census_years: list[int] | None = None,
    instance: dg.DagsterInstance | None = None,
    progress: Callable[[str], None] = print,
    log_level: str = "WARNING",
) -> RunSummary:
    """Materialise the reference assets, then every census year found (or the ones given)."""
    started = time.perf_counter()
    landing = paths.landing_dir(landing)
    warehouse = paths.warehouse_file(warehouse)
    published = paths.published_file(published)
    reports = paths.reports_dir(reports)
    years = census_years or paths.census_years_in(landing)
    if not years:
        raise PipelineFailed(f"{landing}: 没有找到统计年度文件夹 / no census-year folders found")
    defs = build_definitions()
    run_config = warehouse_config(landing, warehouse, published, reports, log_level)
    own_instance = instance is None
    instance = instance or default_instance()
    try:
        instance.add_dynamic_partitions(CENSUS_YEAR_PARTITIONS, [str(y) for y in years])
        progress(f"reference data and standards -> {warehouse}")
        result = defs.resolve_job_def(REFERENCE_JOB).execute_in_process(
            run_config=run_config, instance=instance, raise_on_error=False
        )
        if not result.success:
            raise PipelineFailed(f"reference job: {first_error(result)}")
        for i, year in enumerate(years, start=1):
            year_started = time.perf_counter()
            result = run_census_year(year, run_config, instance, defs=defs)
            if not result.success:
                raise PipelineFailed(f"census year {year}: {first_error(result)}")
            # read from the snapshot the run just published: another process's run may hold the
            # working file's write lock (runs queue for the writer pool, not for this read)
            with connect(published, read_only=True) as con:
                report = load_report(con, year)
            progress(
                f"[{i}/{len(years)}] census year {year} done in {time.perf_counter() - year_started:.1f}s: "
                f"{report}"
            )
    finally:
        if own_instance:
            instance.dispose()
    return RunSummary(years, time.perf_counter() - started, warehouse, published)
