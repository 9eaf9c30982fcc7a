"""Run the real Dagster jobs in-process: the reference job once, then one run per census year.

This is what `junheng run` and the integration tests call; `dagster dev` runs the same jobs.

Before it starts, a run takes the warehouse's load lock (one load at a time; it waits, saying for
whom), clears runs whose process is gone and the pool slots they held, waits for loads the daemon
is running, and rolls back census-year loads that failed or dead runs left unfinished
(pipelines.recovery). Each census year is one run; if it fails, its year is rolled back at once
(pipelines.lib.loads.year_loads), the full Dagster log goes to a file, and the error is raised in a few
plain lines.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import dagster as dg
import yaml

from pipelines.definitions import CENSUS_YEAR_JOB, REFERENCE_JOB, build_definitions
from pipelines.defs.resources import CENSUS_YEAR_PARTITIONS
from pipelines.lib import paths
from pipelines.lib.loads import year_loads
from pipelines.lib.loads.load_lock import LoadBusy, LoadLock
from pipelines.lib.loads.processes import this_process
from pipelines.lib.outputs.summary import load_report
from pipelines.lib.paths import MODELS_DIR
from pipelines.lib.warehouse import WarehouseLocked, connect
from pipelines.recovery import describe, live_loads, process_tags, reap_dead_runs, settle_pending_loads

RUNS_SETTINGS_FILE = MODELS_DIR / "operations" / "runs.yaml"
FAILURE_PREFIX = "dagster._core.definitions.events.Failure: "


class PipelineFailed(RuntimeError):
    """A run failed. `lines` say what went wrong, one failure a line; `log_file` has the full log."""

    def __init__(self, headline: str, lines: list[str] | None = None, log_file: Path | None = None):
        self.headline = headline
        self.lines = lines or []
        self.log_file = log_file
        super().__init__("\n".join([headline, *self.lines]))


class BadRequest(ValueError):
    """The run cannot start as asked (a missing folder, a path that cannot be a file); one line."""


@dataclass
class RunSummary:
    census_years: list[int]
    seconds: float
    warehouse: Path
    published: Path


def default_wait_seconds() -> float:
    with open(RUNS_SETTINGS_FILE, encoding="utf-8") as f:
        return float(yaml.safe_load(f)["wait_for_other_load"]["seconds"])


def _root_error(event: dg.DagsterEvent):
    error = getattr(event.event_specific_data, "error", None)
    while error is not None and error.cause is not None:  # the root cause says what went wrong
        error = error.cause
    return error


def failure_lines(result: dg.ExecuteInProcessResult) -> list[str]:
    """What went wrong in a failed run: the message of each failed step, a line each (a refused
    year names each refused file on its own line). Python errors we did not expect keep their
    type, so they can be told apart from refusals."""
    lines: list[str] = []
    step_failures = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    # no step failed: the run itself did (an error outside the steps, e.g. while waiting for the pool)
    failures = step_failures or [e for e in result.all_events if e.is_failure]
    for event in failures:
        error = _root_error(event)
        if error is None:
            continue
        text = error.message.strip()
        ours = text.startswith(FAILURE_PREFIX)  # a dg.Failure raised by our assets: its message is for people
        text = text.removeprefix(FAILURE_PREFIX) if ours else f"{event.step_key or 'run'}: {text}"
        lines += [line for line in text.splitlines() if line.strip() and line not in lines]
    return lines or ["run failed (see the log)"]


def first_error(result: dg.ExecuteInProcessResult) -> str:
    return failure_lines(result)[0]


def write_run_log(instance: dg.DagsterInstance, run_id: str, log_dir: Path, name: str) -> Path | None:
    """The run's whole Dagster event log, with stack traces, as text; None if it cannot be written."""
    path = log_dir / f"{datetime.now():%Y%m%d-%H%M%S}-{name}-{run_id[:8]}.log"
    lines = []
    for entry in instance.all_logs(run_id):
        stamp = datetime.fromtimestamp(entry.timestamp).astimezone().isoformat(timespec="seconds")
        event = entry.dagster_event
        kind = event.event_type_value if event else "LOG"
        lines.append(f"{stamp} {kind} {entry.step_key or '-'}: {entry.message or ''}".rstrip())
        error = getattr(event.event_specific_data, "error", None) if event else None
        if error is not None:
            lines.append("    " + error.to_string().replace("\n", "\n    "))
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    except OSError:
        return None
    return path


def default_instance() -> dg.DagsterInstance:
    """The instance in $DAGSTER_HOME when it is set (runs then show in `make dev`), else a
    throw-away in-memory one."""
    home = os.environ.get("DAGSTER_HOME")
    if home and Path(home).is_dir():
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.ephemeral()


def warehouse_config(
    landing: Path, warehouse: Path, published: Path, reports: Path, log_level: str = "CRITICAL"
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
        # the CLI prints its own progress and failures; Dagster's event log records everything
        # and goes to a log file when a run fails (-v prints it as it happens)
        "loggers": {"console": {"config": {"log_level": log_level}}},
    }


def settle_run(warehouse: Path, result: dg.ExecuteInProcessResult, reason: str) -> list[int]:
    """After an in-process census-year run: commit its load if it succeeded (a run without the
    publish step), roll its years back if it failed. Returns the years rolled back."""
    with connect(warehouse) as con:
        if result.success:
            year_loads.commit(con, result.run_id)
            return []
        return year_loads.rollback(con, result.run_id, reason)


def run_census_year(
    census_year: int,
    run_config: dict,
    instance: dg.DagsterInstance,
    asset_selection: list[dg.AssetKey] | None = None,
    defs: dg.Definitions | None = None,
) -> dg.ExecuteInProcessResult:
    """One run of the census-year job (or of the assets selected from it); the partition must
    exist. The run is tagged with this process, and its load is committed or rolled back before
    this returns."""
    job = (defs or build_definitions()).resolve_job_def(CENSUS_YEAR_JOB)
    result = job.execute_in_process(
        partition_key=str(census_year),
        run_config=run_config,
        instance=instance,
        asset_selection=asset_selection,
        raise_on_error=False,
        tags=process_tags(this_process()),
    )
    warehouse = Path(run_config["resources"]["warehouse"]["config"]["database"])
    reason = "" if result.success else "the run failed: " + " | ".join(failure_lines(result)[:4])
    # when another process holds the file (the run failed on that too), the next run settles it
    with contextlib.suppress(WarehouseLocked):
        settle_run(warehouse, result, reason)
    return result


def check_paths(
    landing: Path, census_years: list[int] | None, targets: dict[str, tuple[Path, bool]]
) -> list[int]:
    """The census years to load, or BadRequest naming what is wrong with the request. `targets`
    are the files and folders the run writes: {what: (path, is_folder)}."""
    if not landing.is_dir():
        raise BadRequest(f"{landing}: 找不到数据接收文件夹 / the landing folder does not exist")
    for what, (path, is_folder) in targets.items():
        problem = paths.path_problem(path, what, is_folder)
        if problem:
            raise BadRequest(problem)
    found = paths.census_years_in(landing)
    years = census_years or found
    if not years:
        raise BadRequest(f"{landing}: 没有找到统计年度文件夹 / no census-year folders (e.g. {landing}/2024/)")
    missing = [y for y in years if y not in found]
    if missing:
        have = f"{found[0]}-{found[-1]}" if found else "none"
        raise BadRequest(
            f"{landing}: 没有 {', '.join(map(str, missing))} 年的文件夹 / no folder for census year "
            f"{', '.join(map(str, missing))} (census-year folders found: {have})"
        )
    return years


def duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def _wait_for_daemon_loads(
    instance: dg.DagsterInstance, deadline: float, progress: Callable[[str], None]
) -> None:
    told = False
    while running := live_loads(instance):
        if not told:
            progress(
                "另一个载入正在运行 / another load is running: "
                + "; ".join(describe(instance, r) for r in running)
                + f"; waiting up to {duration(max(0.0, deadline - time.monotonic()))}"
            )
            told = True
        if time.monotonic() >= deadline:
            raise LoadBusy(
                "另一个载入仍在运行 / another load is still running: "
                + "; ".join(describe(instance, r) for r in running)
                + ". If no process runs it any more, mark it failed in the Dagster UI (Runs, Terminate)"
            )
        time.sleep(2)


def run_pipeline(
    landing: Path | None = None,
    warehouse: Path | None = None,
    published: Path | None = None,
    reports: Path | None = None,
    census_years: list[int] | None = None,
    instance: dg.DagsterInstance | None = None,
    progress: Callable[[str], None] = print,
    log_level: str = "CRITICAL",
    wait_seconds: float | None = None,
    log_dir: Path | None = None,
    lang: str = "zh",
) -> RunSummary:
    """Materialise the reference assets, then every census year found (or the ones given).

    Raises BadRequest (nothing was started), LoadBusy (another load held the warehouse for longer
    than `wait_seconds`) or PipelineFailed (a run failed; its years were rolled back)."""
    started = time.perf_counter()
    landing = paths.landing_dir(landing)
    warehouse = paths.warehouse_file(warehouse)
    published = paths.published_file(published)
    reports = paths.reports_dir(reports)
    targets = {
        "working warehouse": (warehouse, False),
        "published snapshot": (published, False),
        "reports folder": (reports, True),
    }
    years = check_paths(landing, census_years, targets)
    log_dir = log_dir or warehouse.parent / "logs"
    wait = default_wait_seconds() if wait_seconds is None else wait_seconds
    deadline = time.monotonic() + wait

    def waiting(holder) -> None:
        who = holder.describe() if holder else "another process"
        progress(f"另一个载入正在运行 / another load is running: {who}; waiting up to {duration(wait)}")

    lock = LoadLock(warehouse)
    lock.acquire(wait, "reference data", on_wait=waiting)
    own_instance = instance is None
    try:
        instance = instance or default_instance()
        for line in reap_dead_runs(instance):
            progress(line)
        _wait_for_daemon_loads(instance, deadline, progress)
        try:
            with connect(warehouse) as con:
                for line in settle_pending_loads(con, instance):
                    progress(line)
        except WarehouseLocked as locked:
            raise PipelineFailed(str(locked)) from None
        defs = build_definitions()
        run_config = warehouse_config(landing, warehouse, published, reports, log_level)
        instance.add_dynamic_partitions(CENSUS_YEAR_PARTITIONS, [str(y) for y in years])
        tags = process_tags(this_process())
        progress(
            f"参考数据与标准 -> {warehouse}"
            if lang == "zh"
            else f"reference data and standards -> {warehouse}"
        )
        result = defs.resolve_job_def(REFERENCE_JOB).execute_in_process(
            run_config=run_config, instance=instance, raise_on_error=False, tags=tags
        )
        if not result.success:
            log_file = write_run_log(instance, result.run_id, log_dir, "reference")
            raise PipelineFailed(
                "参考数据未载入 / reference data not loaded", failure_lines(result), log_file
            )
        for i, year in enumerate(years, start=1):
            lock.note(f"census year {year}")
            year_started = time.perf_counter()
            result = run_census_year(year, run_config, instance, defs=defs)
            if not result.success:
                log_file = write_run_log(instance, result.run_id, log_dir, f"census-{year}")
                raise PipelineFailed(
                    f"{year} 年未载入，仓库中该年保持本次运行前的状态 / census year {year} not loaded; "
                    f"the warehouse keeps {year} as it was before this run",
                    failure_lines(result),
                    log_file,
                )
            # read from the snapshot the run just published (the working file is the writer's)
            with connect(published, read_only=True) as con:
                report = load_report(con, year, lang=lang)
            seconds = time.perf_counter() - year_started
            progress(
                f"[{i}/{len(years)}] {year} 年度完成，用时 {seconds:.1f} 秒：{report}"
                if lang == "zh"
                else f"[{i}/{len(years)}] census year {year} done in {seconds:.1f}s: {report}"
            )
    finally:
        lock.release()
        if own_instance and instance is not None:
            instance.dispose()
    return RunSummary(years, time.perf_counter() - started, warehouse, published)
