"""The two jobs: reference data (unpartitioned), and one census year (partitioned)."""

import dagster as dg

from pipelines.defs.reference.assets import (
    alert_rule_tables,
    certifications,
    dim_counties,
    dim_school_types,
    dim_urban_rural,
    standards_tables,
)
from pipelines.defs.resources import census_year_partitions

REFERENCE_ASSETS = [
    standards_tables,
    alert_rule_tables,
    dim_school_types,
    dim_urban_rural,
    dim_counties,
    certifications,
]
_reference = dg.AssetSelection.assets(*REFERENCE_ASSETS)

reference_job = dg.define_asset_job(
    "reference_job",
    selection=_reference,
    description="Standards, alert rules, code lists, the county registry and certifications.",
)

# dagster.yaml limits runs with this tag to one at a time (queued runs start in queue order)
CENSUS_YEAR_RUN_TAG = {"junheng/loads": "census_year"}

census_year_job = dg.define_asset_job(
    "census_year_job",
    tags=CENSUS_YEAR_RUN_TAG,
    selection=dg.AssetSelection.all() - _reference,
    partitions_def=census_year_partitions,
    description=(
        "One census year: ingest, sections, indicators, coefficients, trends and alerts, then "
        "publish the read-only snapshot."
    ),
)
