"""Publish the working warehouse for analysts: a read-only snapshot file and a Parquet export.

The snapshot is replaced atomically: the working file is copied, once checkpointed and closed, to
a new file beside the published one, which is then renamed over it. An analyst process holding the
old file open keeps reading the old inode, a consistent old view; a new connection opens the new
file. Nothing here runs unless every step before it in the run succeeded, so a failed run
publishes nothing.

Publishing is also where a census-year load commits (pipelines.lib.loads.year_loads). In the copy, the
run's load is committed and any other unfinished load is rolled back, so the snapshot never holds
a half-done or failed year; once the copy has passed the data-quality checks, the load commits in
the working file too, and only then is the copy renamed over the snapshot. A process killed
before that commit leaves a load the next run rolls back; one killed after it leaves a committed
year that the next publish carries.

The Parquet export writes one census year of every year-partitioned table of `marts`,
`monitoring` and `audit` (hive layout, `<schema>/<table>/census_year=<year>/data.parquet`) and
the whole of every table without a census year (`<schema>/<table>/data.parquet`). Every file is
written in full under a temporary name first and renamed into place.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipelines.lib.loads import year_loads
from pipelines.lib.queries import Identifier, sql
from pipelines.lib.warehouse import connect, table_columns

PUBLISHED_SCHEMAS = ("marts", "monitoring", "audit")
"""Schemas analysts read; the Parquet export covers these (the snapshot holds every schema)."""

PARQUET_DIR_NAME = "parquet"
PARQUET_FILE_NAME = "data.parquet"


class PublishError(RuntimeError):
    """Publishing failed; the previous snapshot is still in place. The message says why."""


@dataclass(frozen=True)
class PublishResult:
    snapshot: Path
    snapshot_bytes: int
    parquet_dir: Path
    parquet_files: int
    parquet_bytes: int
    seconds: float


def parquet_dir(snapshot: Path) -> Path:
    """Where the Parquet export of a snapshot lives: next to it."""
    return snapshot.parent / PARQUET_DIR_NAME


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


WRITE_ERRORS = (OSError, duckdb.IOException, duckdb.TransactionException)
"""What a file that cannot be written raises: Python's own errors, and DuckDB's when it cannot
write a database file or its WAL (a full disk: `Could not write file "….wal"`)."""


def _remove_copy(path: Path) -> None:
    """A staged copy and the WAL DuckDB may have left beside it."""
    path.unlink(missing_ok=True)
    path.with_name(path.name + ".wal").unlink(missing_ok=True)


def remove_stale_copies(snapshot: Path) -> int:
    """Staged copies a killed run left beside the snapshot (only one publish runs at a time, in the
    warehouse pool, so any that exists now is stale). Returns how many were removed."""
    stale = list(snapshot.parent.glob(f".{snapshot.name}.*.tmp")) if snapshot.parent.is_dir() else []
    for path in stale:
        _remove_copy(path)
    if snapshot.parent.is_dir():
        for wal in snapshot.parent.glob(f".{snapshot.name}.*.tmp.wal"):
            wal.unlink(missing_ok=True)
    if (parquet_dir(snapshot)).is_dir():
        for staging in parquet_dir(snapshot).glob(".staging-*"):
            shutil.rmtree(staging, ignore_errors=True)
    return len(stale)


def _staged_copy(working: Path, snapshot: Path, load_id: str | None, committed_at: datetime) -> Path:
    """A full, read-only copy of the working file beside `snapshot`, with `load_id` committed and
    every other unfinished load rolled back in it, checked to open."""
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    temporary = snapshot.with_name(f".{snapshot.name}.{uuid.uuid4().hex}.tmp")
    try:
        # copyfile lets the kernel copy (copy_file_range / sendfile): 3 s for a 3.2 GiB national
        # warehouse where a read/write loop through Python took 9 s
        shutil.copyfile(working, temporary)
        with connect(temporary) as con:
            year_loads.seal_for_publication(con, load_id, committed_at)
            con.execute("checkpoint")
        with open(temporary, "rb") as target:
            os.fsync(target.fileno())
        os.chmod(temporary, 0o444)
        with connect(temporary, read_only=True) as con:  # a copy that does not open is not published
            con.execute(sql("snapshot/opens")).fetchall()
    except BaseException:
        _remove_copy(temporary)
        raise
    return temporary


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, bool]]:
    """(schema, table, has census_year) for every published table."""
    rows = con.execute(sql("snapshot/published_tables"), {"schemas": list(PUBLISHED_SCHEMAS)}).fetchall()
    return [(str(s), str(t), bool(y)) for s, t, y in rows]


def _stale(path: Path, columns: list[str]) -> bool:
    """A year's Parquet file that is missing, or whose columns are not the table's (the table was
    rebuilt by a newer version of its model, pipelines.lib.sql_models.upgrade_tables)."""
    import pyarrow.parquet as pq

    if not path.is_file():
        return True
    try:
        return list(pq.read_schema(path).names) != columns
    except (OSError, ValueError):  # an unreadable file is written anew
        return True


def export_parquet(database: Path, target_dir: Path, census_year: int) -> tuple[int, int]:
    """Export `census_year` of every year-partitioned table, every year of the load logs (their
    rows of other years change too, e.g. when a failed load is rolled back), every later year of
    the cross-year tables (the load rebuilt them), any other year whose
    file is missing or has other columns than the table (a table rebuilt by a newer model
    version), and every table without a census year, from `database` (opened read-only) into
    `target_dir`. Returns (files, bytes)."""
    staging = target_dir / f".staging-{uuid.uuid4().hex}"
    staged: list[tuple[Path, Path]] = []
    logs = year_loads.history_tables()
    cross_year = year_loads.cross_year_tables()
    try:
        with connect(database, read_only=True) as con:
            for schema, table, by_year in _tables(con):
                relation = Identifier(f"{schema}.{table}")
                if not by_year:
                    parts: list[tuple[Path, str, int | None]] = [
                        (Path(schema, table), sql("snapshot/export_table", relation=relation), None)
                    ]
                else:
                    rows = con.execute(sql("snapshot/years_of_table", relation=relation)).fetchall()
                    held = [int(y) for (y,) in rows]
                    columns = [c for c in table_columns(con, f"{schema}.{table}") if c != "census_year"]
                    years = [
                        year
                        for year in sorted({*held, census_year})  # the published year even when empty
                        if year == census_year
                        or f"{schema}.{table}" in logs
                        or (f"{schema}.{table}" in cross_year and year > census_year)
                        or _stale(
                            target_dir / schema / table / f"census_year={year}" / PARQUET_FILE_NAME, columns
                        )
                    ]
                    export = sql("snapshot/export_year", relation=relation)
                    parts = [(Path(schema, table, f"census_year={year}"), export, year) for year in years]
                for relative, export, year in parts:
                    staged_file = staging / relative / PARQUET_FILE_NAME
                    staged_file.parent.mkdir(parents=True, exist_ok=True)
                    params: dict[str, object] = {"path": str(staged_file)}
                    if year is not None:
                        params["census_year"] = year
                    con.execute(export, params).fetchall()
                    staged.append((staged_file, target_dir / relative / PARQUET_FILE_NAME))
        size = 0
        for staged_file, final in staged:
            final.parent.mkdir(parents=True, exist_ok=True)
            size += staged_file.stat().st_size
            os.replace(staged_file, final)
    except WRITE_ERRORS as exc:
        raise PublishError(
            f"Parquet 文件未能写入 {target_dir} / could not export Parquet to {target_dir}: {_first_line(exc)}"
        ) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return len(staged), size


def publish(
    working: Path,
    snapshot: Path,
    census_year: int,
    verify: Callable[[Path], None] | None = None,
    load_id: str | None = None,
) -> PublishResult:
    """Publish the working warehouse: a staged copy, its Parquet export of `census_year`, the
    commit of the load `load_id` in the working file, then the copy renamed over the snapshot.

    `verify(staged_copy)` runs on the exact file about to be published (the data-quality suites);
    if it raises, the staged copy is removed, nothing is published and the load does not commit.
    The working file must have no open writer (the warehouse pool runs one writer at a time, and
    the publish step runs after the others). The snapshot is renamed into place last, once the
    Parquet files from the same copy are in place.
    """
    started = time.perf_counter()
    with connect(working) as con:
        con.execute("checkpoint")
    try:
        remove_stale_copies(snapshot)
        committed_at = datetime.now(UTC)  # the same commit time in the snapshot and the working file
        staged = _staged_copy(working, snapshot, load_id, committed_at)
    except WRITE_ERRORS as exc:
        raise PublishError(
            f"{working} 未能复制到 {snapshot.parent}，上次发布的快照未改变 / could not copy {working} to "
            f"{snapshot.parent}: {_first_line(exc)}. The previous snapshot is unchanged."
        ) from exc
    try:
        if verify is not None:
            verify(staged)
        files, parquet_bytes = export_parquet(staged, parquet_dir(snapshot), census_year)
        snapshot_bytes = staged.stat().st_size
        if load_id is not None:
            with connect(working) as con:
                year_loads.commit(con, load_id, committed_at)
        os.replace(staged, snapshot)
        _fsync_dir(snapshot.parent)
    except WRITE_ERRORS as exc:
        raise PublishError(
            f"{snapshot} 未能发布，上次发布的快照未改变 / could not publish {snapshot}: {_first_line(exc)}. "
            "The previous snapshot is unchanged."
        ) from exc
    finally:
        _remove_copy(staged)
    return PublishResult(
        snapshot=snapshot,
        snapshot_bytes=snapshot_bytes,
        parquet_dir=parquet_dir(snapshot),
        parquet_files=files,
        parquet_bytes=parquet_bytes,
        seconds=time.perf_counter() - started,
    )
