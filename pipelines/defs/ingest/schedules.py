"""The yearly schedule of the census cycle (models/operations/census_cycle.yaml): one load of the
new census year after the county returns are due, whether or not the landing sensor is on."""

import dagster as dg

from contracts import yaml_files
from pipelines.defs.jobs import census_year_job
from pipelines.defs.resources import CENSUS_YEAR_PARTITIONS, Warehouse
from pipelines.lib.ingest.landing import fingerprints, scan
from pipelines.lib.paths import MODELS_DIR

CENSUS_CYCLE_FILE = MODELS_DIR / "operations" / "census_cycle.yaml"


def build_census_schedule() -> dg.ScheduleDefinition:
    """Read when the definitions are built (not at import)."""
    with open(CENSUS_CYCLE_FILE, encoding="utf-8") as f:
        load = yaml_files.safe_load(f)["scheduled_load"]

    @dg.schedule(
        name="census_year_schedule",
        cron_schedule=load["cron"],
        execution_timezone=load["timezone"],
        job=census_year_job,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description=" ".join(load["note"].split()),
    )
    def census_year_schedule(context: dg.ScheduleEvaluationContext, warehouse: Warehouse):
        tick = context.scheduled_execution_time
        census_year = str(tick.year if tick is not None else 0)
        landing = warehouse.landing_path()
        folder = fingerprints(scan(landing)).get(census_year)
        if folder is None:
            return dg.SkipReason(
                f"{landing / census_year}: 本年度普查数据尚未到达 / no files for census year "
                f"{census_year} yet; load it with `junheng run --years {census_year}` when they arrive"
            )
        context.instance.add_dynamic_partitions(CENSUS_YEAR_PARTITIONS, [census_year])
        return dg.RunRequest(
            run_key=f"scheduled-{census_year}-{folder[:16]}",
            partition_key=census_year,
            tags={"junheng/landing_fingerprint": folder, "junheng/trigger": "census_year_schedule"},
        )

    return census_year_schedule
