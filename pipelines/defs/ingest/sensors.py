"""The landing sensor: a run for every census year whose files changed, keyed by content."""

import json

import dagster as dg

from pipelines.defs.jobs import census_year_job, reference_job
from pipelines.defs.resources import CENSUS_YEAR_PARTITIONS, Warehouse
from pipelines.lib.ingest.landing import REFERENCE, FileState, fingerprints, scan


def _load_cursor(cursor: str | None) -> tuple[dict[str, FileState], dict[str, str]]:
    if not cursor:
        return {}, {}
    data = json.loads(cursor)
    files = {name: FileState(*state) for name, state in data.get("files", {}).items()}
    return files, data.get("requested", {})


def _dump_cursor(files: dict[str, FileState], requested: dict[str, str]) -> str:
    return json.dumps(
        {"files": {n: [s.size, s.mtime_ns, s.sha256] for n, s in files.items()}, "requested": requested},
        sort_keys=True,
    )


@dg.sensor(
    name="landing_sensor",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Starts a load for each census year whose files changed (by content hash); the "
    "reference data first when it changed.",
    jobs=[reference_job, census_year_job],
)
def landing_sensor(context: dg.SensorEvaluationContext, warehouse: Warehouse):
    known, requested = _load_cursor(context.cursor)
    states = scan(warehouse.landing_path(), known)
    current = fingerprints(states)
    reference = current.get(REFERENCE)
    if reference and requested.get(REFERENCE) != reference:
        # reference data (the county registry) first; census years on the next tick
        requested[REFERENCE] = reference
        return dg.SensorResult(
            run_requests=[dg.RunRequest(run_key=f"reference-{reference[:16]}", job_name=reference_job.name)],
            cursor=_dump_cursor(states, requested),
        )
    changed = sorted(
        folder for folder, fp in current.items() if folder != REFERENCE and requested.get(folder) != fp
    )
    for folder in changed:
        requested[folder] = current[folder]
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=f"census-{year}-{current[year][:16]}",
                partition_key=year,
                job_name=census_year_job.name,
                tags={"junheng/landing_fingerprint": current[year]},
            )
            for year in changed
        ],
        dynamic_partitions_requests=[dg.AddDynamicPartitionsRequest(CENSUS_YEAR_PARTITIONS, changed)]
        if changed
        else [],
        cursor=_dump_cursor(states, requested),
    )
