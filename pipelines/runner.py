"""Run the real Dagster jobs in-process: the reference job once, then one census-year run for
the census years asked for (a range of partitions run as one: each year's graph, then the
all-years graph and publishing once).

This is what `junheng run` and the integration tests call; `dagster dev` runs the same jobs.

Before it starts, a run takes the warehouse's load lock (one load at a time; it waits, saying for
whom), clears runs whose process is gone and the pool slots they held, and waits for loads the
daemon is running (pipelines.recovery); then it puts the published folder in line with the
working warehouse (a version a stopped run committed is put in place, files no version names are
removed: pipelines.lib.publish.snapshot.settle). A census-year run writes in one transaction that
only publishing commits (pipelines.lib.loads.run_write): if it fails, nothing it wrote is kept, the
full Dagster log goes to a file, and the error is raised in a few plain lines: a full disk, a
read-only file system or a refused permission (pipelines.lib.faults) in one line naming the place
and what was kept. The summary says which census years the run loaded and which the warehouse
keeps from earlier loads (and whether their landing folders are gone).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import dagster as dg
import duckdb

from pipelines.definitions import CENSUS_YEAR_JOB, REFERENCE_JOB, build_definitions
from pipelines.defs.resources import CENSUS_YEAR_PARTITIONS, RANGE_END_TAG, RANGE_START_TAG
from pipelines.lib import faults, paths
from pipelines.lib.loads.load_lock import LoadBusy, LoadLock
from pipelines.lib.loads.processes import this_process
from pipelines.lib.loads.run_write import run_setting
from pipelines.lib.outputs.summary import load_report
from pipelines.lib.publish import snapshot
from pipelines.lib.queries import sql
from pipelines.lib.warehouse import WarehouseLocked, connect
from pipelines.recovery import describe, live_loads, process_tags, reap_dead_runs

FAILURE_PREFIX = "dagster._core.definitions.events.Failure: "
T = TypeVar("T")


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
    """The census years this run loaded."""
    seconds: float
    warehouse: Path
    published: Path
    years_kept: list[int] = field(default_factory=list)
    """Census years the warehouse holds that this run did not load (kept as last loaded)."""
    years_without_folder: list[int] = field(default_factory=list)
    """Those of years_kept whose landing folder (landing/<year>/) does not exist."""


@dataclass(frozen=True)
class _Places:
    """The files and folders a run writes, for naming the one a machine fault stopped."""

    warehouse: Path
    published: Path
    reports: Path


def default_wait_seconds() -> float:
    return float(run_setting("wait_for_other_load")["seconds"])


def _error_chain(event: dg.DagsterEvent) -> list:
    """The event's error and its causes, outermost first."""
    chain = []
    error = getattr(event.event_specific_data, "error", None)
    while error is not None:
        chain.append(error)
        error = error.cause
    return chain


def _root_error(event: dg.DagsterEvent):
    """The error that says what went wrong: a dg.Failure our assets raised (its message is for
    people, whatever caused it), else the root cause."""
    chain = _error_chain(event)
    ours = [e for e in chain if e.message.strip().startswith(FAILURE_PREFIX)]
    return ours[0] if ours else (chain[-1] if chain else None)


def _failure_events(result: dg.ExecuteInProcessResult) -> list[dg.DagsterEvent]:
    step_failures = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    # no step failed: the run itself did (an error outside the steps, e.g. while waiting for the pool)
    return step_failures or [e for e in result.all_events if e.is_failure]


def run_fault(result: dg.ExecuteInProcessResult) -> faults.Fault | None:
    """The machine fault (full disk, read-only file system, no permission) that failed the run, if
    one did: read from every error of every failure, causes included."""
    return faults.find_fault(e.message for event in _failure_events(result) for e in _error_chain(event))


def _place_fault(fault: faults.Fault | None, places: _Places) -> faults.Fault | None:
    """A fault the run's messages should be about: a full disk or a read-only file system anywhere,
    a permission refused only on a place the run writes (a landing file that cannot be read is a
    refused file, said by the ingest)."""
    if fault is None or fault.kind != faults.NO_PERMISSION:
        return fault
    return fault if faults.where(fault, places.warehouse, places.published, places.reports) else None


def failure_lines(result: dg.ExecuteInProcessResult) -> list[str]:
    """What went wrong in a failed run: the message of each failed step, a line each (a refused
    year names each refused file on its own line). Python errors we did not expect keep their
    type, so they can be told apart from refusals."""
    lines: list[str] = []
    for event in _failure_events(result):
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
    return paths.write_log("\n".join(lines) + "\n", log_dir, path.name)


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


def year_blocks(instance: dg.DagsterInstance, census_years: list[int]) -> list[list[int]]:
    """The census years in runs: each run a range of partitions (in the order they were added, as
    Dagster defines a range) holding only years asked for. Years added in order make one run."""
    keys = list(instance.get_dynamic_partitions(CENSUS_YEAR_PARTITIONS))
    places = sorted(keys.index(str(y)) for y in set(census_years))
    blocks: list[list[int]] = []
    for place in places:
        if blocks and keys.index(str(blocks[-1][-1])) == place - 1:
            blocks[-1].append(int(keys[place]))
        else:
            blocks.append([int(keys[place])])
    return blocks


def run_census_years(
    census_years: list[int],
    run_config: dict,
    instance: dg.DagsterInstance,
    asset_selection: list[dg.AssetKey] | None = None,
    defs: dg.Definitions | None = None,
    tags: dict[str, str] | None = None,
) -> dg.ExecuteInProcessResult:
    """One run of the census-year job (or of the assets selected from it) for census years that
    are one range of partitions (year_blocks), tagged with this process. Nothing the run wrote is
    kept unless it published."""
    job = (defs or build_definitions()).resolve_job_def(CENSUS_YEAR_JOB)
    keys = list(instance.get_dynamic_partitions(CENSUS_YEAR_PARTITIONS))
    ordered = sorted((str(y) for y in census_years), key=keys.index)
    run_tags = {**process_tags(this_process()), **(tags or {})}
    if len(ordered) == 1:
        partition: dict = {"partition_key": ordered[0]}
    else:
        partition = {}
        run_tags |= {RANGE_START_TAG: ordered[0], RANGE_END_TAG: ordered[-1]}
    return job.execute_in_process(
        run_config=run_config,
        instance=instance,
        asset_selection=asset_selection,
        raise_on_error=False,
        tags=run_tags,
        **partition,
    )


def run_census_year(
    census_year: int,
    run_config: dict,
    instance: dg.DagsterInstance,
    asset_selection: list[dg.AssetKey] | None = None,
    defs: dg.Definitions | None = None,
    tags: dict[str, str] | None = None,
) -> dg.ExecuteInProcessResult:
    """One run of the census-year job for one census year (the partition must exist)."""
    return run_census_years([census_year], run_config, instance, asset_selection, defs, tags)


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


def fault_headline(fault: faults.Fault, places: _Places, kept: tuple[str, str]) -> str:
    """One line, Chinese / English: what could not be written, where, what was kept (`kept`:
    Chinese and English), and what to do. E.g. '发布目录 /x/pub 只读，新快照未能写入；上次发布的
    快照未改变，2023 年的载入已撤回…；恢复可写后再运行 / the published folder /x/pub is read-only: …'."""
    place = faults.where(fault, places.warehouse, places.published, places.reports)
    shown = {
        faults.WORKING: places.warehouse,
        faults.PUBLISHED: places.published.parent,
        faults.REPORTS: places.reports,
    }.get(place or "")
    zh, en = faults.what_failed(fault, place, shown)
    if place == faults.PUBLISHED:
        zh, en = f"{zh}，新快照未能写入", f"{en}: the new snapshot could not be written"
    elif fault.path is not None:
        zh, en = f"{zh}，无法写入 {fault.path}", f"{en}: {fault.path} could not be written"
    zh_advice, en_advice = faults.advice(fault)
    return f"{zh}；{kept[0]}；{zh_advice} / {en}; {kept[1]}; {en_advice}"


def _snapshot_kept(published: Path) -> tuple[str, str]:
    if published.exists():
        return "上次发布的快照未改变", "the previous snapshot is unchanged"
    return "尚未发布过快照", "nothing has been published yet"


def _years_words(years: list[int]) -> str:
    return "、".join(map(str, years))


def _year_kept(years: list[int], published: Path) -> tuple[str, str]:
    """What a failed census-year run kept, in words."""
    zh, en = _snapshot_kept(published)
    shown = _years_words(years)
    return (
        f"{zh}，{shown} 年的载入未保留（仓库中保持本次运行前的状态）",
        f"{en} and nothing of the load of {', '.join(map(str, years))} was kept (the warehouse is as it "
        "was before this run)",
    )


def _year_failed(
    years: list[int], result: dg.ExecuteInProcessResult, places: _Places, log_file: Path | None
) -> PipelineFailed:
    """The error of a failed census-year run: a machine fault in one line, else the failed steps."""
    fault = _place_fault(run_fault(result), places)
    if fault is not None:
        return PipelineFailed(
            fault_headline(fault, places, _year_kept(years, places.published)), [], log_file
        )
    shown, listed = _years_words(years), ", ".join(map(str, years))
    headline = (
        f"{shown} 年未载入，仓库中保持本次运行前的状态 / census year {listed} not loaded; "
        "the warehouse is as it was before this run"
    )
    return PipelineFailed(headline, failure_lines(result), log_file)


def _nothing_loaded(published: Path) -> tuple[str, str]:
    zh, en = _snapshot_kept(published)
    return f"本次运行没有载入任何数据，{zh}", f"nothing was loaded and {en}"


def _prepare_warehouse(places: _Places, progress: Callable[[str], None]) -> None:
    """Before anything loads: put the published folder in line with the working warehouse (a
    version a stopped run committed is put in place; files no version names are removed). A
    machine fault stops the run here."""
    try:
        with connect(places.warehouse) as con:
            lines = snapshot.settle(con, places.published)
        for line in lines:
            progress(line)
    except WarehouseLocked as locked:
        raise PipelineFailed(str(locked)) from None
    except (duckdb.Error, OSError) as exc:
        fault = faults.find_fault([exc])
        if fault is None:
            raise
        raise PipelineFailed(fault_headline(fault, places, _nothing_loaded(places.published))) from exc


def _years_held(published: Path, landing: Path, loaded: list[int]) -> tuple[list[int], list[int]]:
    """The census years the snapshot holds that this run did not load, and those of them whose
    landing folder is gone (audit.census_year_loads: the years with a current load)."""
    with connect(published, read_only=True) as con:
        held = [int(y) for (y,) in con.execute(sql("run_summary/years_held")).fetchall()]
    kept = [y for y in held if y not in loaded]
    folders = paths.census_years_in(landing)
    return kept, [y for y in kept if y not in folders]


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
    than `wait_seconds`) or PipelineFailed (a run failed; nothing of its years was kept)."""
    started = time.perf_counter()
    landing = paths.landing_dir(landing)
    warehouse = paths.warehouse_file(warehouse)
    published = paths.published_file(published)
    reports = paths.reports_dir(reports)
    places = _Places(warehouse, published, reports)
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
    try:
        lock.acquire(wait, "reference data", on_wait=waiting)
    except OSError as exc:  # the lock file beside the working warehouse cannot be written
        fault = faults.find_fault([exc])
        if fault is None:
            raise
        raise PipelineFailed(fault_headline(fault, places, _nothing_loaded(published))) from exc
    own_instance = instance is None
    try:
        instance = instance or default_instance()
        for line in reap_dead_runs(instance):
            progress(line)
        _wait_for_daemon_loads(instance, deadline, progress)
        _prepare_warehouse(places, progress)
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
            fault = _place_fault(run_fault(result), places)
            if fault is not None:
                zh, en = _snapshot_kept(published)
                nothing = (
                    f"参考数据未载入，没有载入任何普查年度，{zh}",
                    f"reference data not loaded: no census year was loaded and {en}",
                )
                raise PipelineFailed(fault_headline(fault, places, nothing), [], log_file)
            raise PipelineFailed(
                "参考数据未载入 / reference data not loaded", failure_lines(result), log_file
            )
        done = 0
        for block in year_blocks(instance, years):
            shown = _years_words(block)
            with contextlib.suppress(OSError):  # who holds the lock, for a waiting run; not needed
                lock.note(f"census year {shown}")
            block_started = time.perf_counter()
            result = run_census_years(block, run_config, instance, defs=defs)
            if not result.success:
                log_file = write_run_log(instance, result.run_id, log_dir, f"census-{block[0]}")
                raise _year_failed(block, result, places, log_file)
            seconds = time.perf_counter() - block_started
            if len(block) > 1:
                progress(
                    f"{shown} 年度在一次运行中载入并发布，用时 {seconds:.1f} 秒："
                    if lang == "zh"
                    else f"census years {', '.join(map(str, block))} loaded and published in one run in {seconds:.1f}s:"
                )
            # read from the snapshot the run just published (the working file is the writer's)
            with connect(published, read_only=True) as con:
                reports_of = [(year, load_report(con, year, lang=lang)) for year in block]
            for year, report in reports_of:
                done += 1
                took = f"，用时 {seconds:.1f} 秒" if len(block) == 1 else ""
                took_en = f" in {seconds:.1f}s" if len(block) == 1 else ""
                progress(
                    f"[{done}/{len(years)}] {year} 年度完成{took}：{report}"
                    if lang == "zh"
                    else f"[{done}/{len(years)}] census year {year} done{took_en}: {report}"
                )
    finally:
        lock.release()
        if own_instance and instance is not None:
            instance.dispose()
    kept, without_folder = _years_held(published, landing, years)
    return RunSummary(years, time.perf_counter() - started, warehouse, published, kept, without_folder)
