"""The one resource: where the landing folder, the working warehouse, the published snapshot and
the reports are.

Dagster modules avoid `from __future__ import annotations`: Dagster reads the real annotations.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from pipelines.lib import paths
from pipelines.lib.loads import year_loads
from pipelines.lib.loads.processes import this_process
from pipelines.lib.paths import MODELS_DIR
from pipelines.lib.sql_models import load_models, upgrade_tables
from pipelines.lib.warehouse import connect
from pipelines.recovery import settle_pending_loads

WAREHOUSE_POOL = "warehouse"
"""Every asset that writes the working warehouse runs in this pool (limit 1 in dagster.yaml)."""

CENSUS_YEAR_PARTITIONS = "census_year"
census_year_partitions = dg.DynamicPartitionsDefinition(name=CENSUS_YEAR_PARTITIONS)
"""One partition per census year found in the landing folder (added by the CLI or a sensor)."""


PUBLISHED_KEY = dg.AssetKey(["published", "warehouse_snapshot"])
UNPUBLISHED_SUBSET_TAG = {"junheng/unpublished_subset": "allowed"}
"""The tag of a run that may rebuild some census-year assets without publishing: the benchmark's
model rebuild (bench/steps.py) and nothing else."""


def refuse_unpublished_subset(context: dg.AssetExecutionContext) -> None:
    """dg.Failure when the run materializes some census-year assets but not the snapshot (the
    asset page's "Materialize" button on one asset): say what to run instead."""
    selection = context.run.asset_selection
    if not selection or PUBLISHED_KEY in selection:  # the whole job: no selection
        return
    if all(context.run.tags.get(k) == v for k, v in UNPUBLISHED_SUBSET_TAG.items()):
        return
    chosen = ", ".join(sorted(k.to_user_string() for k in selection)[:3])
    year = context.partition_key
    raise dg.Failure(
        description=(
            f"只物化了部分资产（{chosen}），不会发布，也不会更新依赖它们的表；未写入任何数据。请运行整个普查年度："
            f"junheng run --years {year}，或在界面中启动 census_year_job 的 {year} 分区 / only some assets were "
            f"selected ({chosen}): they would not be published and the tables built on them would go stale; "
            f"nothing was written. Run the whole census year: junheng run --years {year}, or census_year_job "
            f"for partition {year} in the UI"
        )
    )


class Warehouse(dg.ConfigurableResource):
    """Paths of the landing folder, the working warehouse, the published snapshot and the reports.

    Empty values fall back to JUNHENG_LANDING / JUNHENG_WAREHOUSE / JUNHENG_PUBLISHED /
    JUNHENG_REPORTS, then to the defaults under warehouse/; they are resolved when a run uses
    them, never at import.
    """

    landing: str = ""
    database: str = ""
    published: str = ""
    reports: str = ""

    def landing_path(self) -> Path:
        return paths.landing_dir(self.landing or None)

    def database_path(self) -> Path:
        return paths.warehouse_file(self.database or None)

    def published_path(self) -> Path:
        return paths.published_file(self.published or None)

    def reports_path(self) -> Path:
        return paths.reports_dir(self.reports or None)

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with connect(self.database_path()) as con:
            yield con

    @contextmanager
    def year_writer(self, context: dg.AssetExecutionContext) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for a step that writes the run's census year. A run of a subset of the
        census-year assets that leaves out publishing is refused before it writes anything: it
        would change the working warehouse, publish nothing and look done. First the loads that failed
        or dead runs left unfinished are rolled back, and (in the run's first writing step) tables
        an earlier version of their SQL model built with other columns are built anew; then this
        run's load of the year begins (its rows as they are now are saved once per run), so that
        the year can be rolled back whole if any later step fails (pipelines.lib.loads.year_loads)."""
        refuse_unpublished_subset(context)
        with self.connect() as con:
            for line in settle_pending_loads(con, context.instance, own_run_id=context.run_id):
                context.log.warning(line)
            census_year = int(context.partition_key)
            if not year_loads.has_begun(con, context.run_id, census_year):  # the run's first writing step
                for line in upgrade_tables(con, load_models(MODELS_DIR)):
                    context.log.warning(line)
            year_loads.begin(con, context.run_id, [census_year], this_process())
            yield con
