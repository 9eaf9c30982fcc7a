"""The one Definitions object, assembled from pipelines/defs/<domain>/.

Loaded lazily (the @dg.definitions function), so importing this module reads no files, no
environment and opens no database.
"""

from __future__ import annotations

import dagster as dg

from pipelines.defs.ingest.assets import census_schools
from pipelines.defs.ingest.schedules import build_census_schedule
from pipelines.defs.ingest.sensors import landing_sensor
from pipelines.defs.jobs import REFERENCE_ASSETS, census_year_job, reference_job
from pipelines.defs.models.factory import build_model_assets
from pipelines.defs.monitoring.assets import backsliding_alerts, following_year_school_warnings, revisions
from pipelines.defs.monitoring.sensors import new_alerts_file
from pipelines.defs.publish.assets import build_publish_asset
from pipelines.defs.resources import Warehouse
from pipelines.lib.paths import MODELS_DIR

REFERENCE_JOB = reference_job.name
CENSUS_YEAR_JOB = census_year_job.name


def build_definitions() -> dg.Definitions:
    census_year_assets = [
        census_schools,
        *build_model_assets(MODELS_DIR),
        following_year_school_warnings,
        backsliding_alerts,
        revisions,
    ]
    published = build_publish_asset([a.key for a in census_year_assets])
    return dg.Definitions(
        assets=[*REFERENCE_ASSETS, *census_year_assets, published],
        jobs=[reference_job, census_year_job],
        sensors=[landing_sensor, new_alerts_file],
        schedules=[build_census_schedule()],
        resources={"warehouse": Warehouse()},
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
