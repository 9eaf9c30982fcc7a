"""A census year is loaded whole or not at all: the journal of census-year loads and its undo copies.

A census-year run writes its year in several steps (ingest, one step per model, alerts), each in
its own transaction. So that a run that fails or dies between two steps leaves no half-done year:

1. **begin**: before the run's first write to a year, the year's current rows of every yearly table
   are copied to the `undo` schema and the load is written to `audit.census_year_loads` as
   `in_progress`, in one transaction.
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
from pipelines.lib.warehouse import (
    SCHEMAS,
    document,
    ensure_loads_table,
    quote,
    scalar,
    table_exists,
    transaction,
)

JOURNAL = "audit.census_year_loads"
UNDO_SCHEMA = "undo"
"""Undo copies of in-progress loads; never published (the snapshot drops it)."""

JOURNAL_DDL = f"""
create table if not exists {JOURNAL} (
    load_id VARCHAR, census_year INTEGER, status VARCHAR, is_current BOOLEAN,
    started_at TIMESTAMP WITH TIME ZONE, finished_at TIMESTAMP WITH TIME ZONE,
    host VARCHAR, pid INTEGER, pid_started VARCHAR,
    saved_tables INTEGER, saved_rows BIGINT, save_seconds DOUBLE, reason VARCHAR
)"""


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


def yearly_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every table of the layer schemas with a census_year column, except the history tables."""
    rows = con.execute(
        """
        select distinct schema_name, table_name from duckdb_columns()
        where column_name = 'census_year' and schema_name in (select unnest($schemas))
          and database_name = current_database()
        order by 1, 2
        """,
        {"schemas": list(SCHEMAS)},
    ).fetchall()
    history = history_tables()
    return [f"{s}.{t}" for s, t in rows if f"{s}.{t}" not in history]


def _undo_name(load_id: str, census_year: int, relation: str) -> str:
    return f"{load_id}|{census_year}|{relation}"


def _undo_relation(load_id: str, census_year: int, relation: str) -> str:
    return f"{UNDO_SCHEMA}.{quote(_undo_name(load_id, census_year, relation))}"


def _relation(relation: str) -> str:
    schema, table = relation.split(".")
    return f"{quote(schema)}.{quote(table)}"


def _saved(con: duckdb.DuckDBPyConnection, load_id: str, census_year: int) -> dict[str, str]:
    """relation -> its undo copy, for one load and year."""
    prefix = _undo_name(load_id, census_year, "")
    rows = con.execute(
        "select table_name from duckdb_tables() where schema_name = $s and starts_with(table_name, $p)",
        {"s": UNDO_SCHEMA, "p": prefix},
    ).fetchall()
    return {name[len(prefix) :]: f"{UNDO_SCHEMA}.{quote(name)}" for (name,) in rows}


def _status(con: duckdb.DuckDBPyConnection, load_id: str, census_year: int) -> str | None:
    status = scalar(
        con,
        f"select status from {JOURNAL} where load_id = $l and census_year = $y",
        {"l": load_id, "y": census_year},
    )
    return None if status is None else str(status)


def begin(con: duckdb.DuckDBPyConnection, load_id: str, census_years: list[int], process: ProcessId) -> int:
    """Start (or continue) the load `load_id` of these census years: save each year's rows once.
    Returns the rows saved now (0 when the load had already begun, or the years are new)."""
    saved_total = 0
    con.execute(JOURNAL_DDL)
    for census_year in census_years:
        status = _status(con, load_id, census_year)
        if status == "in_progress":
            continue
        if status is not None:
            raise LoadStateError(
                f"census year {census_year}: load {load_id} is already {status}; a finished load "
                f"cannot write again (start a new run)"
            )
        others = con.execute(  # DuckDB 2 wants every result fetched to the end
            f"select load_id, pid, host from {JOURNAL} "
            "where census_year = $y and status = 'in_progress' and load_id <> $l",
            {"y": census_year, "l": load_id},
        ).fetchall()
        if others:
            other = others[0]
            raise LoadStateError(
                f"{census_year} 年正由另一个运行载入 / census year {census_year} is being loaded by run "
                f"{str(other[0])[:8]} (pid {other[1]} on {other[2]}); wait for it to finish"
            )
        started = time.perf_counter()
        with transaction(con):
            con.execute(f"create schema if not exists {UNDO_SCHEMA}")
            tables = yearly_tables(con)
            rows = 0
            for relation in tables:
                undo = _undo_relation(load_id, census_year, relation)
                con.execute(
                    f"create table {undo} as select * from {_relation(relation)} where census_year = $y",
                    {"y": census_year},
                )
                rows += int(scalar(con, f"select count(*) from {undo}") or 0)  # type: ignore[call-overload]
            con.execute(
                f"insert into {JOURNAL} values ($l, $y, 'in_progress', false, now(), null, $host, $pid, "
                "$started, $tables, $rows, $seconds, null)",
                {
                    "l": load_id,
                    "y": census_year,
                    "host": process.host,
                    "pid": process.pid,
                    "started": process.started,
                    "tables": len(tables),
                    "rows": rows,
                    "seconds": time.perf_counter() - started,
                },
            )
            document(con, JOURNAL)
        saved_total += rows
    return saved_total


def pending(con: duckdb.DuckDBPyConnection) -> list[PendingLoad]:
    """Loads that began and neither committed nor rolled back."""
    if not table_exists(con, "audit", "census_year_loads"):
        return []
    rows = con.execute(
        f"select load_id, census_year, host, pid, pid_started, strftime(started_at, '%H:%M') "
        f"from {JOURNAL} where status = 'in_progress' order by started_at, census_year"
    ).fetchall()
    return [
        PendingLoad(str(load_id), int(year), ProcessId(str(host), int(pid), str(started or "")), str(at))
        for load_id, year, host, pid, started, at in rows
    ]


def _years_in_progress(con: duckdb.DuckDBPyConnection, load_id: str) -> list[int]:
    if not table_exists(con, "audit", "census_year_loads"):
        return []
    rows = con.execute(
        f"select census_year from {JOURNAL} where load_id = $l and status = 'in_progress' order by 1",
        {"l": load_id},
    ).fetchall()
    return [int(y) for (y,) in rows]


def _drop_saved(con: duckdb.DuckDBPyConnection, load_id: str, census_year: int) -> None:
    for undo in _saved(con, load_id, census_year).values():
        con.execute(f"drop table {undo}")


def commit(con: duckdb.DuckDBPyConnection, load_id: str, at: datetime | None = None) -> list[int]:
    """Make the load's years current and forget their undo copies. Returns the years committed.
    `at` is the commit time to record (publishing gives the same one to the snapshot and the
    working file, so the two agree); now by default."""
    years = _years_in_progress(con, load_id)
    if not years:
        return []
    with transaction(con):
        for census_year in years:
            params = {"l": load_id, "y": census_year}
            con.execute(
                f"update {JOURNAL} set status = 'committed', finished_at = coalesce($at, now()) "
                "where load_id = $l and census_year = $y",
                {**params, "at": at},
            )
            con.execute(
                f"update {JOURNAL} set is_current = (load_id = $l) "
                "where census_year = $y and status = 'committed'",
                params,
            )
            if table_exists(con, "audit", "loads"):
                ensure_loads_table(con)
                # the files of this load are the year's data now, if this load read files
                con.execute(
                    "update audit.loads set is_current = (load_id = $l) where census_year = $y "
                    "and exists (select 1 from audit.loads where load_id = $l and census_year = $y "
                    "and status = 'loaded')",
                    params,
                )
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
            params = {"l": load_id, "y": census_year}
            tables = yearly_tables(con)  # anew for each year: an earlier year may have re-created one
            saved = _saved(con, load_id, census_year)
            for relation in sorted(set(tables) | set(saved)):
                if relation in tables:
                    con.execute(
                        f"delete from {_relation(relation)} where census_year = $y", {"y": census_year}
                    )
                    if relation in saved:
                        con.execute(
                            f"insert into {_relation(relation)} by name select * from {saved[relation]}"
                        )
                else:  # dropped since (no step does this): it comes back with the load's years only
                    con.execute(f"create table {_relation(relation)} as select * from {saved[relation]}")
            con.execute(
                f"update {JOURNAL} set status = 'rolled_back', finished_at = now(), reason = $r "
                "where load_id = $l and census_year = $y",
                {**params, "r": reason},
            )
            if table_exists(con, "audit", "loads"):
                ensure_loads_table(con)
                con.execute(
                    "update audit.loads set status = 'rolled_back', is_current = false "
                    "where load_id = $l and census_year = $y and status = 'loaded'",
                    params,
                )
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
    con.execute(f"drop schema if exists {UNDO_SCHEMA} cascade")
    return others
