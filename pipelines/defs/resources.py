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
from pipelines.lib.warehouse import connect

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
