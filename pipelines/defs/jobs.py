"""The two jobs: reference data (unpartitioned), and the census-year job: the per-year graph
(partitioned; a run loads one census year or a range of them) then the all-years graph and
publishing, once per run. Its steps run in one process, sharing the run's one connection and
transaction to the working warehouse (pipelines.lib.loads.run_write)."""

import dagster as dg

from pipelines.defs.reference.assets import (
    alert_rule_tables,
    certifications,
    checklist_tables_asset,
    dim_counties,
    dim_school_types,
    dim_stages,
    dim_urban_rural,
    standards_tables,
)
from pipelines.defs.resources import census_year_partitions

REFERENCE_ASSETS = [
    standards_tables,
    alert_rule_tables,
    checklist_tables_asset,
    dim_school_types,
    dim_stages,
    dim_urban_rural,
    dim_counties,
    certifications,
]
_reference = dg.AssetSelection.assets(*REFERENCE_ASSETS)

# dagster.yaml runs the runs with this tag one at a time, in the order they were queued: every one
# writes the working warehouse, and a census year compares itself with the years loaded before it
REFERENCE_RUN_TAG = {"junheng/loads": "reference"}
CENSUS_YEAR_RUN_TAG = {"junheng/loads": "census_year"}

reference_job = dg.define_asset_job(
    "reference_job",
    tags=REFERENCE_RUN_TAG,
    selection=_reference,
    description="Standards, alert rules, code lists, the county registry and certifications.",
)

census_year_job = dg.define_asset_job(
    "census_year_job",
    tags=CENSUS_YEAR_RUN_TAG,
    selection=dg.AssetSelection.all() - _reference,
    partitions_def=census_year_partitions,
    executor_def=dg.in_process_executor,
    description=(
        "Census years (one partition, or a range in one run): ingest, sections, indicators and "
        "coefficients per year; then trends, warnings, alerts and revisions over all years once; "
        "then publish the read-only snapshot. Nothing is kept unless the run publishes."
    ),
)
