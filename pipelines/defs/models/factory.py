"""The one factory: every models/<layer>/<table>.sql becomes a census-year-partitioned asset.

The asset runs the SQL for its partition (pipelines.lib.sql_models.run_model) and checks the
sidecar's unique key for that year, blocking downstream models when it is broken. A cross-year
model (trends, drivers, data status: sidecar `cross_year: true`) is run again for every census year
loaded after the partition, in order, so that those years compare with the partition as it is now.
"""

from pathlib import Path

import dagster as dg

from pipelines.defs.resources import WAREHOUSE_POOL, Warehouse, census_year_partitions
from pipelines.lib.loads.year_loads import later_years
from pipelines.lib.queries import sql
from pipelines.lib.sql_models import SqlModel, load_models, run_model
from pipelines.lib.warehouse import scalar


def duplicate_keys(con, model: SqlModel, census_year: int) -> int:
    params = {"table_name": model.relation, "key": list(model.unique_key), "census_year": census_year}
    count = scalar(con, sql("warehouse/repeated_keys"), params)
    return int(count or 0)  # type: ignore[call-overload]


def model_asset(model: SqlModel) -> dg.AssetsDefinition:
    key = dg.AssetKey([model.schema, model.table])

    @dg.asset(
        key=key,
        name=None,
        group_name=model.schema,
        description=f"{model.description}\n\nGrain: {model.grain}.",
        deps=[dg.AssetKey(dep.split(".")) for dep in model.depends_on],
        partitions_def=census_year_partitions,
        kinds={"duckdb", "sql"},
        pool=WAREHOUSE_POOL,
        check_specs=[
            dg.AssetCheckSpec(
                "unique_key",
                asset=key,
                blocking=True,
                description=(
                    f"One row per {', '.join(model.unique_key)} in the census year; a repeated key stops "
                    "the run before publishing."
                ),
            )
        ],
        metadata={"sql": dg.MetadataValue.path(str(model.path)), "grain": model.grain},
    )
    def _asset(context: dg.AssetExecutionContext, warehouse: Warehouse):
        census_year = int(context.partition_key)
        with warehouse.year_writer(context) as con:
            rebuilt = later_years(con, census_year) if model.cross_year else []
            rows = run_model(con, model, census_year)
            duplicates = duplicate_keys(con, model, census_year)
            for later in rebuilt:
                run_model(con, model, later)
                duplicates += duplicate_keys(con, model, later)
        metadata: dict = {"rows": rows, "census_year": census_year}
        if rebuilt:
            context.log.info(f"{model.relation}: rebuilt the later census years {rebuilt}")
            metadata["rebuilt_years"] = ", ".join(map(str, rebuilt))
        yield dg.MaterializeResult(metadata=metadata)
        yield dg.AssetCheckResult(
            check_name="unique_key",
            passed=duplicates == 0,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"duplicate_keys": duplicates, "unique_key": ", ".join(model.unique_key)},
        )

    return _asset


def build_model_assets(models_dir: Path) -> list[dg.AssetsDefinition]:
    return [model_asset(m) for m in load_models(models_dir)]
