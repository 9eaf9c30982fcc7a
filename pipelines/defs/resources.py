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
        """A connection for a step that writes the run's census year. First the loads that failed
        or dead runs left unfinished are rolled back, and (in the run's first writing step) tables
        an earlier version of their SQL model built with other columns are built anew; then this
        run's load of the year begins (its rows as they are now are saved once per run), so that
        the year can be rolled back whole if any later step fails (pipelines.lib.loads.year_loads)."""
        with self.connect() as con:
            for line in settle_pending_loads(con, context.instance, own_run_id=context.run_id):
                context.log.warning(line)
            census_year = int(context.partition_key)
            if not year_loads.has_begun(con, context.run_id, census_year):  # the run's first writing step
                for line in upgrade_tables(con, load_models(MODELS_DIR)):
                    context.log.warning(line)
            year_loads.begin(con, context.run_id, [census_year], this_process())
            yield con
