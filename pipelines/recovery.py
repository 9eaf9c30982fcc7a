"""Dead runs never block live ones.

Without the Dagster daemon (a provincial team running `junheng run` from cron or a terminal),
nothing notices a run whose process was killed: it stays STARTED in the instance and keeps its
slot in the `warehouse` pool, so every later run waits for it forever. `junheng run` therefore
tags its runs with the process that runs them (host, pid, the pid's start time), and before it
waits for the pool `reap_dead_runs` marks failed every unfinished run whose process is gone, and
frees the pool slots of every finished run that still holds one. Runs without the process tags
(launched by the daemon) are judged by their Dagster status: the daemon's run monitoring fails the
ones whose worker died.

What a killed run wrote needs nothing: it wrote in one transaction that only publishing commits
(pipelines.lib.loads.run_write).
"""

from __future__ import annotations

from datetime import datetime

import dagster as dg

from pipelines.lib.loads.processes import ProcessId, is_alive

_RUN = dg.DagsterRunStatus
IN_PROGRESS_RUN_STATUSES = [_RUN.STARTING, _RUN.STARTED, _RUN.CANCELING, _RUN.SUSPENDED]
FINISHED_STATUSES = [_RUN.SUCCESS, _RUN.FAILURE, _RUN.CANCELED]

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
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=IN_PROGRESS_RUN_STATUSES)):
        if not _is_dead(run):
            continue
        text = describe(instance, run)
        instance.report_run_failed(run, message="the process running it is gone (killed or crashed)")
        lines.append(f"已清理中断的运行 / cleared a run whose process is gone: {text}; marked failed")
    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits:
        holders = list(storage.get_concurrency_run_ids())
        if holders:
            finished = instance.get_runs(filters=dg.RunsFilter(run_ids=holders, statuses=FINISHED_STATUSES))
            for run in finished:
                storage.free_concurrency_slots_for_run(run.run_id)
    return lines


def live_loads(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    """Unfinished runs that write the warehouse and are (as far as anyone can tell) running."""
    runs = instance.get_runs(filters=dg.RunsFilter(statuses=IN_PROGRESS_RUN_STATUSES))
    return [r for r in runs if LOADS_TAG in r.tags and not _is_dead(r)]
