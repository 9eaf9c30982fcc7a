"""The one Definitions object, assembled from pipelines/defs/<domain>/.

Loaded lazily (the @dg.definitions function), so importing this module reads no files, no
environment and opens no database.
"""

from __future__ import annotations

import dagster as dg

from pipelines.defs.ingest.assets import census_schools
from pipelines.defs.models.factory import build_model_assets
from pipelines.defs.reference.assets import (
    dim_counties,
    dim_school_types,
    dim_urban_rural,
    standards_tables,
)
from pipelines.defs.resources import Warehouse, census_year_partitions
from pipelines.lib.paths import MODELS_DIR

REFERENCE_JOB = "reference_job"
CENSUS_YEAR_JOB = "census_year_job"


def build_definitions() -> dg.Definitions:
    reference_assets = [standards_tables, dim_school_types, dim_urban_rural, dim_counties]
    yearly_assets = [census_schools, *build_model_assets(MODELS_DIR)]
    return dg.Definitions(
        assets=[*reference_assets, *yearly_assets],
        jobs=[
            dg.define_asset_job(
                REFERENCE_JOB,
                selection=dg.AssetSelection.assets(*reference_assets),
                description="Standards, code lists and the county registry.",
            ),
            dg.define_asset_job(
                CENSUS_YEAR_JOB,
                selection=dg.AssetSelection.assets(*yearly_assets),
                partitions_def=census_year_partitions,
                description="One census year: ingest, sections, indicators, coefficients.",
            ),
        ],
        resources={"warehouse": Warehouse()},
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
