"""After every successful census-year run, leave that run's new alerts as a file in the reports
folder, so that a scheduled or sensor-started load leaves something a person can pick up."""

import dagster as dg

from pipelines.defs.jobs import census_year_job
from pipelines.defs.monitoring.assets import ALERTS_KEY
from pipelines.defs.resources import Warehouse
from pipelines.lib.monitoring.alert_list import write_new_alerts_file


def new_alert_metadata(instance: dg.DagsterInstance, run_id: str) -> dict | None:
    """The metadata of the alert asset's materialisation in that run, if it has one."""
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
        materialization = entry.asset_materialization
        if materialization is not None and materialization.asset_key == ALERTS_KEY:
            return dict(materialization.metadata)
    return None


@dg.run_status_sensor(
    name="new_alerts_file",
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[census_year_job],
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Writes each successful census-year run's new alerts to <reports>/alerts/new_alerts_<year>_<run>.csv.",
)
def new_alerts_file(context: dg.RunStatusSensorContext, warehouse: Warehouse):
    run = context.dagster_run
    metadata = new_alert_metadata(context.instance, run.run_id)
    if metadata is None:
        return dg.SkipReason(f"run {run.run_id} did not materialise {ALERTS_KEY.to_user_string()}")
    census_year = int(metadata["census_year"].value)
    records = metadata["new_alerts"].value
    total = int(metadata["new_alerts_total"].value)
    path = write_new_alerts_file(records, warehouse.reports_path() / "alerts", census_year, run.run_id, total)
    context.log.info(f"{total} new alerts for census year {census_year} -> {path}")
    return dg.SkipReason(f"wrote {path}")
