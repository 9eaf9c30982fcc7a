"""A census year is loaded whole or not at all: the journal of census-year loads and its undo copies.

A census-year run writes its year in several steps (ingest, one step per model, alerts), each in
its own transaction. So that a run that fails or dies between two steps leaves no half-done year:

1. **begin**: before the run's first write to a year, the year's current rows of every yearly table
   are copied to the `undo` schema and the load is written to `audit.census_year_loads` as
   `in_progress`, in one transaction. A cross-year table (sidecar `cross_year: true`: trends,
   alerts, year-over-year warnings) has its rows of every later year copied too, because the load
   rebuilds them (`later_years`).
2. **commit**: when the run has passed its data-quality checks (just before the snapshot is
   replaced), the load becomes `committed` and current, and its undo copies are dropped.
3. **rollback**: when the run failed or its process died, every yearly table gets the year's rows
   back from the undo copies (rows the run added are deleted), and the load becomes `rolled_back`
   with the reason. The runner does this at once; any later run does it first thing otherwise.

Tables whose sidecar says `history: true` (`audit.loads`, `audit.census_year_loads`) are never
undone: they keep the record of the failed attempt. A year loaded for the first time has nothing
to copy, so a back-fill pays nothing for this.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import duckdb

from pipelines.lib.catalog import table_docs
from pipelines.lib.loads.processes import ProcessId
from pipelines.lib.queries import Identifier, QuotedName, sql
from pipelines.lib.warehouse import (
    SCHEMAS,
    create_table,
    delete_year,
    document,
    ensure_loads_table,
    scalar,
    table_exists,
    transaction,
)

JOURNAL = "audit.census_year_loads"
UNDO_SCHEMA = "undo"
"""Undo copies of in-progress loads; never published (the snapshot drops it)."""


class LoadStateError(RuntimeError):
    """A load asked to do something its state does not allow (e.g. write after a rollback)."""


@dataclass(frozen=True)
class PendingLoad:
    load_id: str
    census_year: int
    process: ProcessId
    started_at: str


def history_tables() -> set[str]:
    return {doc.relation for doc in table_docs() if doc.history}


def cross_year_tables() -> set[str]:
    """Tables whose rows of a year compare it with earlier years (sidecar `cross_year: true`)."""
    return {doc.relation for doc in table_docs() if doc.cross_year}


def later_years(con: duckdb.DuckDBPyConnection, census_year: int) -> list[int]:
    """The census years loaded after `census_year` (in raw.census_schools), in order: a load of
    `census_year` rebuilds their cross-year rows, so they compare with the year as it is now."""
    if not table_exists(con, "raw", "census_schools"):
        return []
    rows = con.execute(sql("year_loads/later_years"), {"census_year": census_year}).fetchall()
    return [int(y) for (y,) in rows]


def yearly_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every table of the layer schemas with a census_year column, except the history tables."""
    rows = con.execute(sql("year_loads/yearly_tables"), {"schemas": list(SCHEMAS)}).fetchall()
    history = history_tables()
    return [f"{s}.{t}" for s, t in rows if f"{s}.{t}" not in history]


def _undo_name(load_id: str, census_year: int, relation: str) -> str:
    return f"{load_id}|{census_year}|{relation}"


def saved_copies(con: duckdb.DuckDBPyConnection, load_id: str, census_year: int) -> dict[str, QuotedName]:
    """relation -> its undo copy (the year's rows before the load wrote), for one load and year."""
    prefix = _undo_name(load_id, census_year, "")
    rows = con.execute(
        sql("year_loads/undo_copies"), {"prefix": prefix, "undo_schema": UNDO_SCHEMA}
    ).fetchall()
    return {name[len(prefix) :]: QuotedName(UNDO_SCHEMA, name) for (name,) in rows}


def _status(con: duckdb.DuckDBPyConnection, load_id: str, census_year: int) -> str | None:
    status = scalar(con, sql("year_loads/status"), {"load_id": load_id, "census_year": census_year})
    return None if status is None else str(status)


def has_begun(con: duckdb.DuckDBPyConnection, load_id: str, census_year: int) -> bool:
    """Whether the load `load_id` of this census year has begun and not finished (an earlier step
    of the same run began it)."""
    if not table_exists(con, *JOURNAL.split(".")):
        return False
    return _status(con, load_id, census_year) == "in_progress"


def begin(con: duckdb.DuckDBPyConnection, load_id: str, census_years: list[int], process: ProcessId) -> int:
    """Start (or continue) the load `load_id` of these census years: save each year's rows once.
    Returns the rows saved now (0 when the load had already begun, or the years are new)."""
    saved_total = 0
    create_table(con, JOURNAL)
    for census_year in census_years:
        status = _status(con, load_id, census_year)
        if status == "in_progress":
            continue
        if status is not None:
            raise LoadStateError(
                f"census year {census_year}: load {load_id} is already {status}; a finished load "
                f"cannot write again (start a new run)"
            )
        params = {"load_id": load_id, "census_year": census_year}
        others = con.execute(sql("year_loads/other_loads_in_progress"), params).fetchall()
        if others:
            other = others[0]
            raise LoadStateError(
                f"{census_year} 年正由另一个运行载入 / census year {census_year} is being loaded by run "
                f"{str(other[0])[:8]} (pid {other[1]} on {other[2]}); wait for it to finish"
            )
        started = time.perf_counter()
        with transaction(con):
            con.execute(sql("year_loads/create_undo_schema", schema=Identifier(UNDO_SCHEMA)))
            tables = yearly_tables(con)
            cross_year = cross_year_tables()
            rows = 0
            for relation in tables:
                undo = QuotedName(UNDO_SCHEMA, _undo_name(load_id, census_year, relation))
                save = "year_loads/save_years_from" if relation in cross_year else "year_loads/save_year"
                con.execute(
                    sql(save, undo=undo, relation=Identifier(relation)),
                    {"census_year": census_year},
                )
                rows += int(scalar(con, sql("year_loads/count_rows", relation=undo)) or 0)  # type: ignore[call-overload]
            journal = {
                "host": process.host,
                "pid": process.pid,
                "pid_started": process.started,
                "saved_tables": len(tables),
                "saved_rows": rows,
                "save_seconds": time.perf_counter() - started,
            }
            con.execute(sql("year_loads/journal_begin"), params | journal)
            document(con, JOURNAL)
        saved_total += rows
    return saved_total


def pending(con: duckdb.DuckDBPyConnection) -> list[PendingLoad]:
    """Loads that began and neither committed nor rolled back."""
    if not table_exists(con, "audit", "census_year_loads"):
        return []
    rows = con.execute(sql("year_loads/pending")).fetchall()
    return [
        PendingLoad(str(load_id), int(year), ProcessId(str(host), int(pid), str(started or "")), str(at))
        for load_id, year, host, pid, started, at in rows
    ]


def _years_in_progress(con: duckdb.DuckDBPyConnection, load_id: str) -> list[int]:
    if not table_exists(con, "audit", "census_year_loads"):
        return []
    rows = con.execute(sql("year_loads/years_in_progress"), {"load_id": load_id}).fetchall()
    return [int(y) for (y,) in rows]


def _drop_saved(con: duckdb.DuckDBPyConnection, load_id: str, census_year: int) -> None:
    for undo in saved_copies(con, load_id, census_year).values():
        con.execute(sql("year_loads/drop_table", relation=undo))


def commit(con: duckdb.DuckDBPyConnection, load_id: str, at: datetime | None = None) -> list[int]:
    """Make the load's years current and forget their undo copies. Returns the years committed.
    `at` is the commit time to record (publishing gives the same one to the snapshot and the
    working file, so the two agree); now by default."""
    years = _years_in_progress(con, load_id)
    if not years:
        return []
    with transaction(con):
        for census_year in years:
            params = {"load_id": load_id, "census_year": census_year}
            con.execute(sql("year_loads/journal_commit"), params | {"committed_at": at})
            con.execute(sql("year_loads/journal_make_current"), params)
            if table_exists(con, "audit", "loads"):
                ensure_loads_table(con)
                con.execute(sql("year_loads/loads_make_current"), params)
            _drop_saved(con, load_id, census_year)
    return years


def rollback(con: duckdb.DuckDBPyConnection, load_id: str, reason: str) -> list[int]:
    """Give every yearly table its rows of the load's years back, as they were before the load.
    Returns the years rolled back (none if the load had committed or never began)."""
    years = _years_in_progress(con, load_id)
    if not years:
        return []
    with transaction(con):
        for census_year in years:
            params = {"load_id": load_id, "census_year": census_year}
            tables = yearly_tables(con)  # anew for each year: an earlier year may have re-created one
            saved = saved_copies(con, load_id, census_year)
            cross_year = cross_year_tables()
            for relation in sorted(set(tables) | set(saved)):
                target = Identifier(relation)
                if relation in tables:
                    delete_year(con, relation, census_year, and_later=relation in cross_year)
                    if relation in saved:
                        con.execute(sql("year_loads/restore_year", relation=target, undo=saved[relation]))
                else:
                    con.execute(sql("year_loads/restore_table", relation=target, undo=saved[relation]))
            con.execute(sql("year_loads/journal_roll_back"), params | {"reason": reason})
            if table_exists(con, "audit", "loads"):
                ensure_loads_table(con)
                con.execute(sql("year_loads/loads_roll_back"), params)
            _drop_saved(con, load_id, census_year)
    return years


def seal_for_publication(
    con: duckdb.DuckDBPyConnection, load_id: str | None, at: datetime | None = None
) -> list[PendingLoad]:
    """On the copy about to be published: commit `load_id` (at `at`), roll back every other
    unfinished load (so no half-done or failed year is ever published), drop the undo schema.
    Returns the loads rolled back in the copy."""
    if load_id is not None:
        commit(con, load_id, at)
    others = pending(con)
    for load in others:
        rollback(con, load.load_id, "unfinished when another load was published; not in this snapshot")
    con.execute(sql("year_loads/drop_undo_schema", schema=Identifier(UNDO_SCHEMA)))
    return others
