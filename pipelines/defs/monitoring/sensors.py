"""After every successful census-year run, leave the alerts it announces as a file in the reports
folder, so that a scheduled or sensor-started load leaves something a person can pick up.

An alert is announced once: in the warehouse's latest census year, the year its problem first
appears, by the run that first builds it (pipelines.lib.monitoring.alerts.rebuild_alerts). Loading
an earlier year again announces nothing it announced before."""

import dagster as dg

from pipelines.defs.jobs import census_year_job
from pipelines.defs.monitoring.assets import ALERTS_KEY
from pipelines.defs.resources import Warehouse
from pipelines.lib.outputs.excel import write_new_alerts_csv
from pipelines.lib.warehouse import connect


def alert_metadata(instance: dg.DagsterInstance, run_id: str) -> dict | None:
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
    description=(
        "Writes the alerts each successful census-year run announces (new in the latest census year, "
        "not announced before) to <reports>/alerts/new_alerts_<year>_<run>.csv, with the alert "
        "workbook's Chinese headers and rounding, read from the published snapshot."
    ),
)
def new_alerts_file(context: dg.RunStatusSensorContext, warehouse: Warehouse):
    run = context.dagster_run
    metadata = alert_metadata(context.instance, run.run_id)
    if metadata is None or "announced_alert_ids" not in metadata:
        return dg.SkipReason(f"run {run.run_id} did not materialise {ALERTS_KEY.to_user_string()}")
    census_year = int(metadata["announced_year"].value)
    alert_ids = [str(i) for i in metadata["announced_alert_ids"].value]
    if not alert_ids:
        return dg.SkipReason(f"run {run.run_id} announced no new alert for census year {census_year}")
    with connect(warehouse.published_path(), read_only=True) as con:
        path = write_new_alerts_csv(
            con, warehouse.reports_path() / "alerts", census_year, run.run_id, alert_ids
        )
    context.log.info(f"new alerts of census year {census_year} -> {path}")
    return dg.SkipReason(f"wrote {path}")
