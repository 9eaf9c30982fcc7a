"""Publishing: the last step of a census-year run copies the working warehouse to the read-only
snapshot analysts open, with a Parquet export of the year (pipelines.lib.publish).

It depends on every other census-year asset, so it runs only when all of them succeeded: a failed
run publishes nothing.
"""

from collections.abc import Sequence

import dagster as dg

from pipelines.defs.resources import WAREHOUSE_POOL, Warehouse, census_year_partitions
from pipelines.lib.publish import publish

PUBLISHED_KEY = dg.AssetKey(["published", "warehouse_snapshot"])


def build_publish_asset(upstream: Sequence[dg.AssetKey]) -> dg.AssetsDefinition:
    """The snapshot asset, downstream of every asset of the census-year job."""

    @dg.asset(
        key=PUBLISHED_KEY,
        group_name="published",
        description=(
            "The read-only snapshot of the warehouse that analysts open (JUNHENG_PUBLISHED), "
            "replaced atomically at the end of a successful run, and the census year's Parquet "
            "export beside it."
        ),
        deps=list(upstream),
        partitions_def=census_year_partitions,
        kinds={"duckdb", "parquet"},
        pool=WAREHOUSE_POOL,
    )
    def warehouse_snapshot(context: dg.AssetExecutionContext, warehouse: Warehouse):
        census_year = int(context.partition_key)
        result = publish(warehouse.database_path(), warehouse.published_path(), census_year)
        return dg.MaterializeResult(
            metadata={
                "census_year": census_year,
                "snapshot": dg.MetadataValue.path(str(result.snapshot)),
                "snapshot_mib": round(result.snapshot_bytes / 2**20, 1),
                "parquet_dir": dg.MetadataValue.path(str(result.parquet_dir)),
                "parquet_files": result.parquet_files,
                "parquet_mib": round(result.parquet_bytes / 2**20, 2),
                "seconds": round(result.seconds, 2),
            }
        )

    return warehouse_snapshot
