"""audit.revisions: the record of a census year loaded again (corrected) or loaded late.

A run that loads a census year rebuilds the all-years results (trends, drivers, data status,
alerts, year-over-year warnings) of every later loaded year in the same transaction
(pipelines.lib.loads.run_write), so the published snapshot always agrees with a clean in-order
build of the same files. This module writes down that it happened: which year, when, which later
years were rebuilt, and whose coefficients changed, so that the county reports can say a figure
was revised. The coefficients as they were are kept for the comparison, before the run replaces a
year, in a temporary table of the run's connection (gone when the run ends).
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import polars as pl

from pipelines.lib.queries import sql
from pipelines.lib.warehouse import create_table, document, frame_schema, scalar, table_exists, transaction

RELATION = "audit.revisions"
BEFORE = "before_county_indicator_cv"
"""The temporary table of the run's connection with the coefficients of its years as they were."""


def keep_before(con: duckdb.DuckDBPyConnection, census_year: int) -> None:
    """Before a run replaces `census_year`: keep its coefficients as they are, for the comparison."""
    if not table_exists(con, "marts", "county_indicator_cv"):
        return
    con.execute(sql("revisions/create_before"))
    con.execute(sql("revisions/keep_before"), {"census_year": census_year})


def revision(
    con: duckdb.DuckDBPyConnection,
    load_id: str,
    census_year: int,
    rebuilt: list[int],
    at: datetime | None = None,
) -> pl.DataFrame:
    """The load's revision of the census year as one row, or no row when the load revises nothing
    (the year is new and no later year is loaded: a first load in order). `rebuilt`: the later
    years whose all-years results the run rebuilt."""
    schema = frame_schema(RELATION)
    params = {"census_year": census_year, "load_id": load_id}
    previous = (
        scalar(con, sql("revisions/current_load"), params)
        if table_exists(con, "audit", "census_year_loads")
        else None
    )
    if previous is None and not rebuilt:
        return pl.DataFrame(schema=schema)
    kept = bool(scalar(con, sql("revisions/has_before")))
    query = sql(
        "revisions/changed_counties" if previous is not None and kept else "revisions/counties_of_year"
    )
    counties = [str(c) for (c,) in con.execute(query, {"census_year": census_year}).fetchall()]
    row = {
        "load_id": load_id,
        "census_year": census_year,
        "kind": "late" if previous is None else "reload",
        "revised_at": at or datetime.now(UTC),
        "previous_load_id": None if previous is None else str(previous),
        "rebuilt_years": rebuilt,
        "counties_changed": counties,
        "n_counties_changed": len(counties),
    }
    return pl.DataFrame([row], schema=schema)


def record_revisions(
    con: duckdb.DuckDBPyConnection, load_id: str, run_years: list[int], rebuilt: list[int]
) -> list[str]:
    """Record the run's revision of each census year it loads (audit.revisions), with the later
    years among `rebuilt` (all-years rows the run rebuilt without loading them). Returns one line
    per revision, for the run's log."""
    lines = []
    for census_year in run_years:
        later = [y for y in rebuilt if y > census_year]
        row = record_revision(con, load_id, census_year, later)
        if not row.is_empty():
            record = row.row(0, named=True)
            lines.append(
                f"{census_year} ({record['kind']}): later years rebuilt {later or 'none'}, "
                f"{record['n_counties_changed']} counties' coefficients changed"
            )
    return lines


def record_revision(
    con: duckdb.DuckDBPyConnection, load_id: str, census_year: int, rebuilt: list[int]
) -> pl.DataFrame:
    """Write the load's revision of the year (if it revises it) to audit.revisions; returns it."""
    frame = revision(con, load_id, census_year, rebuilt)
    arrow_table = frame.to_arrow()  # noqa: F841  (read by DuckDB's replacement scan)
    with transaction(con):
        create_table(con, RELATION)
        con.execute(sql("revisions/forget"), {"load_id": load_id, "census_year": census_year})
        con.execute(sql("revisions/insert"))
        document(con, RELATION)
    return frame
