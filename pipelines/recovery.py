"""Dead runs never block live ones, and their half-done census years never stay in the warehouse.

Without the Dagster daemon (a provincial team running `junheng run` from cron or a terminal),
nothing notices a run whose process was killed: it stays STARTED in the instance and keeps its
slot in the `warehouse` pool, so every later run waits for it forever. `junheng run` therefore
tags its runs with the process that runs them (host, pid, the pid's start time), and before it
waits for the pool:

- `reap_dead_runs` marks failed every unfinished run whose process is gone, and frees the pool
  slots of every finished run that still holds one;
- `settle_pending_loads` settles the census-year loads (pipelines.lib.loads.year_loads) that their
  runs left in progress: rolled back if the run failed or died, committed if it succeeded without
  reaching the publish step (a partial selection in the UI), left alone if it is still running.

Every writing step does the second before it writes, so runs launched by the daemon or the UI get
the same treatment. Runs without the process tags (launched by the daemon) are judged by their
Dagster status: the daemon's run monitoring fails the ones whose worker died.
"""

from __future__ import annotations

from datetime import datetime

import dagster as dg
import duckdb
from dagster._core.storage.dagster_run import FINISHED_STATUSES, IN_PROGRESS_RUN_STATUSES, RunsFilter

from pipelines.lib.loads import year_loads
from pipelines.lib.loads.processes import ProcessId, is_alive

LOADS_TAG = "junheng/loads"
"""Every run that writes the working warehouse carries this tag (value: census_year or reference);
dagster.yaml runs them one at a time."""
PID_TAG, HOST_TAG, PID_STARTED_TAG = "junheng/pid", "junheng/host", "junheng/pid_started"


def process_tags(process: ProcessId) -> dict[str, str]:
    return {PID_TAG: str(process.pid), HOST_TAG: process.host, PID_STARTED_TAG: process.started}


def process_of(run: dg.DagsterRun) -> ProcessId | None:
    """The process that runs `run`, when junheng launched it in-process."""
    if PID_TAG not in run.tags:
        return None
    return ProcessId(run.tags.get(HOST_TAG, ""), int(run.tags[PID_TAG]), run.tags.get(PID_STARTED_TAG, ""))


def describe(instance: dg.DagsterInstance, run: dg.DagsterRun) -> str:
    """'census year 2023 (run 1a2b3c4d, pid 4242, since 08:40)'."""
    what = f"census year {run.tags['dagster/partition']}" if "dagster/partition" in run.tags else run.job_name
    record = instance.get_run_record_by_id(run.run_id)
    started = (record.start_time or record.create_timestamp.timestamp()) if record else None
    since = datetime.fromtimestamp(started).astimezone().strftime("%H:%M") if started else "?"
    process = process_of(run)
    who = f", {process.describe()}" if process else ", launched by the Dagster daemon or UI"
    return f"{what} (run {run.run_id[:8]}{who}, since {since})"


def _is_dead(run: dg.DagsterRun) -> bool:
    process = process_of(run)
    return process is not None and is_alive(process) is False


def reap_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark failed the unfinished runs whose process is gone and free the pool slots they (or any
    finished run) hold. Returns one line per run dealt with."""
    lines = []
    for run in instance.get_runs(filters=RunsFilter(statuses=IN_PROGRESS_RUN_STATUSES)):
        if not _is_dead(run):
            continue
        text = describe(instance, run)
        instance.report_run_failed(run, message="the process running it is gone (killed or crashed)")
        lines.append(f"已清理中断的运行 / cleared a run whose process is gone: {text}; marked failed")
    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits:
        holders = list(storage.get_concurrency_run_ids())
        if holders:
            finished = instance.get_runs(filters=RunsFilter(run_ids=holders, statuses=FINISHED_STATUSES))
            for run in finished:
                storage.free_concurrency_slots_for_run(run.run_id)
    return lines


def live_loads(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    """Unfinished runs that write the warehouse and are (as far as anyone can tell) running."""
    runs = instance.get_runs(filters=RunsFilter(statuses=IN_PROGRESS_RUN_STATUSES))
    return [r for r in runs if LOADS_TAG in r.tags and not _is_dead(r)]


def load_state(instance: dg.DagsterInstance, load: year_loads.PendingLoad) -> str:
    """'succeeded', 'failed', 'dead' or 'live' for the run behind a pending load."""
    run = instance.get_run_by_id(load.load_id)
    if run is not None:
        if run.status == dg.DagsterRunStatus.SUCCESS:
            return "succeeded"
        if run.status in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED):
            return "failed"
        return "dead" if _is_dead(run) else "live"
    # an instance that does not know the run (a throw-away one in another process): the process
    # recorded in the journal is all there is; another host's process cannot be judged
    return "dead" if is_alive(load.process) is False else "live"


def settle_pending_loads(
    con: duckdb.DuckDBPyConnection, instance: dg.DagsterInstance, own_run_id: str | None = None
) -> list[str]:
    """Roll back the census-year loads of failed or dead runs, commit those of runs that succeeded
    without committing, leave live ones. Returns one line per load settled."""
    lines = []
    for load in year_loads.pending(con):
        if load.load_id == own_run_id:
            continue
        state = load_state(instance, load)
        if state == "succeeded":
            year_loads.commit(con, load.load_id)
        elif state in ("failed", "dead"):
            why = (
                "its run failed" if state == "failed" else f"its process ({load.process.describe()}) is gone"
            )
            year_loads.rollback(con, load.load_id, f"rolled back by a later run: {why}")
            lines.append(
                f"{load.census_year} 年未完成的载入已撤回 / census year {load.census_year}: the unfinished "
                f"load of run {load.load_id[:8]} (since {load.started_at}) was rolled back, {why}"
            )
    return lines
