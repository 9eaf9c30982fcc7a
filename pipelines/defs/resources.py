"""The one resource: where the landing folder, the working warehouse, the published snapshot and
the reports are.

Dagster modules avoid `from __future__ import annotations`: Dagster reads the real annotations.
"""

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from pydantic import PrivateAttr

from pipelines.lib import paths
from pipelines.lib.loads.processes import this_process
from pipelines.lib.loads.run_write import RunWrite
from pipelines.lib.paths import MODELS_DIR
from pipelines.lib.queries import Identifier, sql
from pipelines.lib.sql_models import load_models, upgrade_tables
from pipelines.lib.warehouse import connect, create_table

# a run of a range of census years is one run (BackfillPolicy.single_run, beta in Dagster 1.13)
warnings.filterwarnings("ignore", category=dg.BetaWarning)

WAREHOUSE_POOL = "warehouse"
"""Every asset that writes the working warehouse runs in this pool (limit 1 in dagster.yaml)."""

CENSUS_YEAR_PARTITIONS = "census_year"
census_year_partitions = dg.DynamicPartitionsDefinition(name=CENSUS_YEAR_PARTITIONS)
"""One partition per census year found in the landing folder (added by the CLI or a sensor)."""

PARTITION_TAG = "dagster/partition"
RANGE_START_TAG, RANGE_END_TAG = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
"""The tags of a run of one partition, or of a range of partitions (one run for several years)."""

PUBLISHED_KEY = dg.AssetKey(["published", "warehouse_snapshot"])


def run_census_years(context: dg.AssetExecutionContext) -> list[int]:
    """The census years the run loads, in order: its partition, or every partition of its range
    (in the order the partitions were added, as Dagster defines the range); none for a run
    without a partition."""
    tags = context.run.tags
    if PARTITION_TAG in tags:
        return [int(tags[PARTITION_TAG])]
    start, end = tags.get(RANGE_START_TAG), tags.get(RANGE_END_TAG)
    if not start or not end:
        return []
    keys = list(census_year_partitions.get_partition_keys(dynamic_partitions_store=context.instance))
    return sorted(int(k) for k in keys[keys.index(start) : keys.index(end) + 1])


def partition_years(context: dg.AssetExecutionContext) -> list[int]:
    """The census years of a partitioned asset's run, in order (one, or a range)."""
    return sorted(int(k) for k in context.partition_keys)


def refuse_unpublished_subset(context: dg.AssetExecutionContext) -> None:
    """dg.Failure when the run materializes some census-year assets but not the snapshot (the
    asset page's "Materialize" button on one asset): say what to run instead. (Such a run would
    keep nothing anyway: only publishing commits a run's writes.)"""
    selection = context.run.asset_selection
    if not selection or PUBLISHED_KEY in selection:  # the whole job: no selection
        return
    chosen = ", ".join(sorted(k.to_user_string() for k in selection)[:3])
    years = ",".join(map(str, run_census_years(context))) or "<年度 year>"
    raise dg.Failure(
        description=(
            f"只物化了部分资产（{chosen}），不会发布，也不会更新依赖它们的表；未写入任何数据。请运行整个普查年度："
            f"junheng run --years {years}，或在界面中启动 census_year_job 的 {years} 分区 / only some assets were "
            f"selected ({chosen}): they would not be published and the tables built on them would go stale; "
            f"nothing was written. Run the whole census year: junheng run --years {years}, or census_year_job "
            f"for partition {years} in the UI"
        )
    )


class Warehouse(dg.ConfigurableResource):
    """Paths of the landing folder, the working warehouse, the published snapshot and the reports,
    and (during a census-year run) the run's one connection to the working warehouse.

    Empty values fall back to JUNHENG_LANDING / JUNHENG_WAREHOUSE / JUNHENG_PUBLISHED /
    JUNHENG_REPORTS, then to the defaults under warehouse/; they are resolved when a run uses
    them, never at import.
    """

    landing: str = ""
    database: str = ""
    published: str = ""
    reports: str = ""
    _run: RunWrite | None = PrivateAttr(default=None)

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
        """A connection of its own, outside any run's transaction (reference data, sensors)."""
        with connect(self.database_path()) as con:
            yield con

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._run = None

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        """The run is over: what it did not publish is rolled back (pipelines.lib.loads.run_write)."""
        run, self._run = self._run, None
        if run is not None:
            run.close()

    def run_write(self, context: dg.AssetExecutionContext) -> RunWrite:
        """The run's writes to the working warehouse: one connection and one transaction, opened at
        the run's first writing step and committed only by publishing (the census-year job runs
        its steps in one process). A run of a subset of the census-year assets that leaves out
        publishing is refused before it writes anything. In the first writing step, tables an
        earlier version of their SQL model built with other columns are built anew."""
        refuse_unpublished_subset(context)
        if self._run is None:
            run = RunWrite(self.database_path(), context.run_id, this_process())
            try:
                # tables the ingest writes that models read, there before any model is upgraded
                # (a warehouse loaded by an earlier version has no declarations yet)
                run.con.execute(sql("warehouse/create_schema", schema=Identifier("audit")))
                for relation in ("audit.county_declarations", "audit.rejected_declarations"):
                    create_table(run.con, relation)
                for line in upgrade_tables(run.con, load_models(MODELS_DIR)):
                    context.log.warning(line)
            except BaseException:
                run.close()
                raise
            self._run = run
        return self._run

    @contextmanager
    def run_writer(self, context: dg.AssetExecutionContext) -> Iterator[duckdb.DuckDBPyConnection]:
        """The run's connection (run_write), for one step's writes; an error ends the step and
        is noted as why the run failed."""
        run = self.run_write(context)
        try:
            yield run.con
        except BaseException as exc:
            run.failed(f"{context.asset_key.to_user_string()}: {exc}")
            raise
