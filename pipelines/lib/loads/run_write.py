"""A census-year run writes the working warehouse in one DuckDB transaction, published at one point.

Write, audit, publish: every step of the run (ingest, the year models, the all-years models, the
alerts) writes through the one connection the run holds, inside one transaction that begins at
its first write. Nothing it writes is visible to any other connection until publishing has
exported it, checked the export and committed the transaction (pipelines.lib.publish.snapshot);
that commit is the only one. A run that fails is rolled back as a whole when it ends; a run
that is killed leaves a transaction DuckDB never committed, so there is nothing to undo: the
working file is as the last published run left it.

What stays of a failed attempt is its record: the census years it tried and why it failed
(`audit.census_year_loads`, status `rolled_back`) and the files it read (`audit.loads`), written in
a small transaction of their own after the rollback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from contracts import yaml_files
from pipelines.lib.catalog import table_docs
from pipelines.lib.loads.processes import ProcessId
from pipelines.lib.paths import MODELS_DIR
from pipelines.lib.queries import Literal, sql
from pipelines.lib.warehouse import (
    create_table,
    document,
    ensure_loads_table,
    hold_run_transaction,
    open_connection,
    record_refused_load,
    table_exists,
    transaction,
)

JOURNAL = "audit.census_year_loads"


def history_tables() -> set[str]:
    """Tables that keep the record of every attempt (sidecar `history: true`)."""
    return {doc.relation for doc in table_docs() if doc.history}


def cross_year_tables() -> set[str]:
    """Tables whose rows of a year compare it with earlier years (sidecar `cross_year: true`): the
    all-years models, rebuilt from the earliest census year a run loads."""
    return {doc.relation for doc in table_docs() if doc.cross_year}


RUNS_SETTINGS_FILE = MODELS_DIR / "operations" / "runs.yaml"


def run_setting(name: str) -> dict:
    """One setting of models/operations/runs.yaml (how loads behave: operations, not method)."""
    with open(RUNS_SETTINGS_FILE, encoding="utf-8") as f:
        return dict(yaml_files.safe_load(f)[name])


def limit_memory(con: duckdb.DuckDBPyConnection) -> None:
    """Hold the DuckDB database of `con` to the run's memory limit (runs.yaml run_memory)."""
    limit = Literal(str(run_setting("run_memory")["limit"]))
    con.execute(sql("warehouse/set_memory_limit", limit=limit))


def loaded_years(con: duckdb.DuckDBPyConnection) -> list[int]:
    """The census years raw.census_schools holds (as this connection sees it), in order."""
    if not table_exists(con, "raw", "census_schools"):
        return []
    return [int(y) for (y,) in con.execute(sql("year_loads/loaded_years")).fetchall()]


def years_to_rebuild(con: duckdb.DuckDBPyConnection, run_years: list[int]) -> list[int]:
    """The census years whose all-years rows a run rebuilds: every loaded year from the earliest
    one the run loads (later years compare with it), in order; every loaded year when the run loads
    none."""
    held = loaded_years(con)
    if not run_years:
        return held
    return [y for y in held if y >= min(run_years)]


@dataclass
class Attempt:
    """What a run tried for one census year: the files it read, for the record if it fails."""

    census_year: int
    files: list = field(default_factory=list)
    refused: bool = False


class RunWrite:
    """One run's connection to the working warehouse and its one transaction."""

    def __init__(self, path: Path, load_id: str, process: ProcessId):
        self.path = path
        self.load_id = load_id
        self.process = process
        self.started_at = datetime.now(UTC)
        self.attempts: dict[int, Attempt] = {}
        self.committed = False
        self.reason = ""
        """Why the run failed, in the words of its first failed step (for the record)."""
        self._ended = False
        self._con: duckdb.DuckDBPyConnection | None = None

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The run's connection, inside its transaction (opened at the first use)."""
        if self._con is None:
            con = open_connection(self.path)
            try:
                limit_memory(con)
                con.execute("begin transaction")
            except BaseException:
                con.close()
                raise
            hold_run_transaction(con, True)
            self._con = con
        return self._con

    @property
    def is_open(self) -> bool:
        return self._con is not None

    def attempt(self, census_year: int, files: list, refused: bool = False) -> None:
        """Note the files the run read for a census year (kept for the record of a failure)."""
        self.attempts[census_year] = Attempt(census_year, list(files), refused)

    def record_commit(self, at: datetime) -> list[int]:
        """Inside the transaction, just before it commits: the run's census years become current
        (audit.census_year_loads and audit.loads). Returns those years."""
        con = self.con
        years = sorted(self.attempts)
        create_table(con, JOURNAL)
        for census_year in years:
            params = {"load_id": self.load_id, "census_year": census_year}
            con.execute(sql("year_loads/journal_not_current"), {"census_year": census_year})
            con.execute(sql("year_loads/journal_committed"), params | self._who() | {"finished_at": at})
            if table_exists(con, "audit", "loads"):
                con.execute(sql("year_loads/loads_make_current"), params)
        document(con, JOURNAL)
        return years

    def failed(self, reason: str) -> None:
        """Note why the run failed (the first reason noted is kept)."""
        self.reason = self.reason or (reason.strip().splitlines() or [""])[0]

    def commit(self) -> None:
        """Commit the run's transaction: the one point where a run's writes become the warehouse's.
        A commit DuckDB refuses (a full disk, a broken key) ends the transaction too: nothing is kept."""
        con = self.con
        hold_run_transaction(con, False)
        try:
            con.execute("commit")
        except BaseException as exc:
            self._ended = True
            self.failed(f"the commit failed: {exc}")
            raise
        self.committed = True

    def close(self, reason: str = "") -> list[int]:
        """End the run: roll back what it did not commit, then record the failed attempt of each
        census year it tried (in a transaction of its own). Returns the years rolled back."""
        if self._con is None:
            return []
        con, self._con = self._con, None
        hold_run_transaction(con, False)
        try:
            if self.committed:
                return []
            if not self._ended:
                try:
                    con.execute("rollback")
                except duckdb.Error:  # (a result still open, a connection DuckDB gave up on)
                    con.close()  # closing drops the transaction just as well
                    con = open_connection(self.path)
            years = sorted(self.attempts)
            if years:
                self._record_failure(con, reason or self.reason or "the run failed before publishing")
            return years
        finally:
            con.close()

    def _who(self) -> dict[str, object]:
        return {
            "host": self.process.host,
            "pid": self.process.pid,
            "pid_started": self.process.started,
            "started_at": self.started_at,
        }

    def _record_failure(self, con: duckdb.DuckDBPyConnection, reason: str) -> None:
        with transaction(con):
            create_table(con, JOURNAL)
            for attempt in self.attempts.values():
                params = {"load_id": self.load_id, "census_year": attempt.census_year, "reason": reason}
                con.execute(sql("year_loads/journal_rolled_back"), params | self._who())
            document(con, JOURNAL)
        for attempt in self.attempts.values():
            if not attempt.files:
                continue
            files = attempt.files if attempt.refused else [_rolled_back(f) for f in attempt.files]
            record_refused_load(con, attempt.census_year, self.load_id, files)
            ensure_loads_table(con)


def _rolled_back(file):
    """A file record of a failed run: a file that loaded is recorded as rolled back."""
    from dataclasses import replace

    return replace(file, status="rolled_back") if file.status == "loaded" else file
