"""The one factory: every models/<layer>/<table>.sql becomes an asset of one of the two graphs.

- **Per census year** (raw -> staging -> marts): a model whose rows of a year read only that year
  is partitioned by census year; its step builds each census year of the run (one, or a range
  run as one) with pipelines.lib.sql_models.build_year.
- **All years** (trends, drivers, data status, summaries: sidecar `cross_year: true`): a model whose
  rows of a year compare it with earlier years is not partitioned; its step runs once per run,
  after the years, and rebuilds every loaded year from the earliest one the run loads, in order.
- **Views** (sidecar `view: true`, marts.school_indicators): partitioned like the models they read;
  the step creates or replaces the view (pipelines.lib.sql_models.create_view) and checks its key
  for the census years of the run.

Each asset checks the sidecar's unique key for the years it built, blocking the steps after it
(and publishing) when it is broken.
"""

from pathlib import Path

import dagster as dg

from pipelines.defs.resources import (
    WAREHOUSE_POOL,
    Warehouse,
    census_year_partitions,
    partition_years,
    run_census_years,
)
from pipelines.lib.loads.run_write import years_to_rebuild
from pipelines.lib.queries import sql
from pipelines.lib.sql_models import SqlModel, build_year, load_models
from pipelines.lib.warehouse import scalar


def duplicate_keys(con, model: SqlModel, census_year: int) -> int:
    params = {"table_name": model.relation, "key": list(model.unique_key), "census_year": census_year}
    count = scalar(con, sql("warehouse/repeated_keys"), params)
    return int(count or 0)  # type: ignore[call-overload]


def _unique_key_check(key: dg.AssetKey, model: SqlModel) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        "unique_key",
        asset=key,
        blocking=True,
        description=(
            f"One row per {', '.join(model.unique_key)} in each census year built; a repeated key stops "
            "the run before publishing."
        ),
    )


def model_asset(model: SqlModel) -> dg.AssetsDefinition:
    key = dg.AssetKey([model.schema, model.table])
    all_years = model.cross_year

    @dg.asset(
        key=key,
        name=None,
        group_name=model.schema,
        description=f"{model.description}\n\nGrain: {model.grain}."
        + ("\n\nAll years: rebuilt once per run from the earliest census year it loads." if all_years else "")
        + ("\n\nA view over the tables it reads: it stores no rows." if model.view else ""),
        deps=[dg.AssetKey(dep.split(".")) for dep in model.depends_on],
        partitions_def=None if all_years else census_year_partitions,
        backfill_policy=None if all_years else dg.BackfillPolicy.single_run(),
        kinds={"duckdb", "sql"},
        pool=WAREHOUSE_POOL,
        check_specs=[_unique_key_check(key, model)],
        metadata={"sql": dg.MetadataValue.path(str(model.path)), "grain": model.grain},
    )
    def _asset(context: dg.AssetExecutionContext, warehouse: Warehouse):
        with warehouse.run_writer(context) as con:
            years = (
                years_to_rebuild(con, run_census_years(context)) if all_years else partition_years(context)
            )
            rows = duplicates = 0
            for census_year in years:
                rows += build_year(con, model, census_year)
                duplicates += duplicate_keys(con, model, census_year)
        yield dg.MaterializeResult(
            metadata={"rows": rows, "census_years": ", ".join(map(str, years)) or "none"}
        )
        yield dg.AssetCheckResult(
            check_name="unique_key",
            passed=duplicates == 0,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"duplicate_keys": duplicates, "unique_key": ", ".join(model.unique_key)},
        )

    return _asset


def build_model_assets(models_dir: Path) -> list[dg.AssetsDefinition]:
    return [model_asset(m) for m in load_models(models_dir)]
