"""Publish a census-year run for analysts: immutable Parquet files and a small catalog of views.

The published snapshot (JUNHENG_PUBLISHED, `published/junheng.duckdb`) is a DuckDB file of views
only: one per table of the working warehouse (same schemas, names, columns and comments), each
over Parquet files in `published/parquet/`: `<schema>/<table>/census_year=<year>/<version>-<id>.parquet`
for a table with census years (one file per year, the year in the folder name), and
`<schema>/<table>/<version>-<id>.parquet` for one without; and the working warehouse's own views
(marts.school_indicators), defined the same way over those. It is written in DuckDB's 1.0 storage
format, so every DuckDB 1.x client opens it, and every Parquet column carries its description.

Publishing a run (`publish`), inside the run's transaction (pipelines.lib.loads.run_write):

1. the run's census years become current in the load records;
2. the years the run changed are written to new Parquet files (its census years; every year of the
   all-years tables it rebuilt; the record tables and the tables without census years whole); a
   year it did not change keeps the file the last version published; no file is ever rewritten;
3. the new version's catalog is written beside the others (`published/versions/<version>.duckdb`,
   under a temporary name) and the data-quality suites run on it, the exact snapshot to publish;
4. the version's file list is recorded in the working warehouse (schema `publish`) and the run's
   transaction commits: the one point where a run's writes become the warehouse's;
5. the catalog is renamed into place and `published/junheng.duckdb` becomes it, in one rename.

A run killed before step 4 leaves Parquet files and a catalog no version lists: the next publish
(or `settle`, which every run calls first) removes them. One killed between 4 and 5 leaves a
committed version whose catalog is not in place: `settle` writes it again from the recorded file
list. The catalog and its Parquet files cannot disagree: a catalog only ever names files that were
whole before it was written. The last few versions are kept (models/operations/runs.yaml,
published_versions) with their catalogs, so a past report can be rebuilt as it was
(`junheng report --as-of`); files no kept version names are removed.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb

from pipelines.lib.faults import find_fault
from pipelines.lib.loads.run_write import RunWrite, cross_year_tables, history_tables, run_setting
from pipelines.lib.queries import Identifier, Literal, Literals, Names, sql
from pipelines.lib.warehouse import SCHEMAS

PUBLISHED_SCHEMAS = ("marts", "monitoring", "audit")
"""The schemas of the data dictionary (the snapshot has a view for every table of every schema)."""

PARQUET_DIR_NAME = "parquet"
VERSIONS_DIR_NAME = "versions"
CATALOG_SCHEMA = "snapshot"
"""The catalog's own schema: `snapshot.version`, `snapshot.versions` and `snapshot.files`."""
BATCH_ROWS = 250_000

WRITE_ERRORS = (OSError, duckdb.IOException)
"""What a file that cannot be written raises: Python's own errors, and DuckDB's."""


def is_write_error(exc: BaseException) -> bool:
    """A file that could not be written: one of WRITE_ERRORS, or another DuckDB error caused by
    one (a commit that cannot write its WAL on a full disk raises a TransactionException)."""
    return isinstance(exc, WRITE_ERRORS) or (isinstance(exc, duckdb.Error) and find_fault([exc]) is not None)


class PublishError(RuntimeError):
    """Publishing failed; the previous snapshot is still in place. The message says why."""


@dataclass(frozen=True)
class PublishResult:
    version: int
    snapshot: Path
    parquet_dir: Path
    files_written: int
    files_kept: int
    bytes_written: int
    seconds: float


@dataclass(frozen=True)
class FileEntry:
    relation: str
    census_year: int | None
    path: str
    """Relative to the published folder (`parquet/<schema>/<table>/...`), so the folder can be
    reached by any spelling of its path; the views name the file absolutely."""
    columns: str
    written: bool = False


def parquet_dir(snapshot: Path) -> Path:
    """Where the Parquet files of a snapshot live: next to it."""
    return snapshot.parent / PARQUET_DIR_NAME


def versions_dir(snapshot: Path) -> Path:
    return snapshot.parent / VERSIONS_DIR_NAME


def version_catalog(snapshot: Path, version: int) -> Path:
    return versions_dir(snapshot) / f"{version}.duckdb"


def kept_versions_setting() -> int:
    return max(1, int(run_setting("published_versions")["keep"]))


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- the record of versions, in the working warehouse ---------------------------------------


def _ensure_record(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(sql("snapshot/create_publish_schema"))
    con.execute(sql("snapshot/create_versions"))
    con.execute(sql("snapshot/create_files"))


def latest_version(con: duckdb.DuckDBPyConnection) -> int | None:
    _ensure_record(con)
    value = con.execute(sql("snapshot/latest_version")).fetchall()[0][0]
    return None if value is None else int(value)


def version_files(con: duckdb.DuckDBPyConnection, version: int) -> list[FileEntry]:
    rows = con.execute(sql("snapshot/version_files"), {"version": version}).fetchall()
    return [FileEntry(str(r), None if y is None else int(y), str(p), str(c)) for r, y, p, c in rows]


# --- Parquet -------------------------------------------------------------------------------------


Docs = dict[str, tuple[str, dict[str, str]]]
"""relation -> (the table's comment, {column: comment} in table order)."""


def _docs(con: duckdb.DuckDBPyConnection) -> Docs:
    """The comments of every table and view of the published schemas, and of their columns, in
    two queries (asking table by table took a tenth of a run's publish)."""
    params = {"schemas": list(SCHEMAS)}
    docs: Docs = {}
    for schema, name, comment in con.execute(sql("snapshot/table_comments"), params).fetchall():
        docs[f"{schema}.{name}"] = (str(comment or ""), {})
    for schema, name, column, comment in con.execute(sql("snapshot/column_comments"), params).fetchall():
        docs.setdefault(f"{schema}.{name}", ("", {}))[1][str(column)] = str(comment or "")
    return docs


def _write_parquet(
    con: duckdb.DuckDBPyConnection,
    query: str,
    params: dict[str, object],
    path: Path,
    table_text: str,
    columns: dict[str, str],
) -> int:
    """Stream a query's rows into a new Parquet file, each column with its description (Arrow
    field metadata `description`, and the table's in the file's metadata). Returns its size."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    reader = con.sql(query, params=params).to_arrow_reader(BATCH_ROWS)
    try:  # the reader holds a result of the run's connection until it is read or closed
        fields = [
            field.with_metadata({"description": columns.get(field.name, "")}) for field in reader.schema
        ]
        schema = pa.schema(fields, metadata={"description": table_text})
        path.parent.mkdir(parents=True, exist_ok=True)
        # the file is opened here and closed whatever happens: a ParquetWriter that fails to close
        # (a full disk) leaves the file it opened itself open, and a long-lived process (the code
        # server) would hold the space of the removed file until it exits
        sink = pa.OSFile(str(path), "wb")
        try:
            with pq.ParquetWriter(sink, schema, compression="zstd") as writer:
                for batch in reader:
                    writer.write_batch(pa.RecordBatch.from_arrays(batch.columns, schema=schema))
        finally:
            sink.close()
    finally:
        reader.close()
    return path.stat().st_size


def _relative(path: Path, folder: Path) -> str:
    return path.relative_to(folder).as_posix()


def _published_folder(snapshot: Path) -> Path:
    """The published folder, absolute (the views name their files absolutely)."""
    return Path(os.path.abspath(snapshot)).parent


def _new_name(version: int) -> str:
    return f"{version}-{uuid.uuid4().hex[:12]}.parquet"


def export_changes(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    version: int,
    previous: list[FileEntry],
    changed_years: Callable[[str], set[int] | None],
    started: list[Path],
    docs: Docs,
) -> tuple[list[FileEntry], int]:
    """The file list of a new version: a new file for every table without census years, and for
    every census year `changed_years(relation)` names (None: every year), or whose table has other
    columns than its last file, or that the last version lacks; the last version's file otherwise.
    Returns the list and the bytes written; every file begun is added to `started` first (so a
    failure can remove them)."""
    last = {(f.relation, f.census_year): f for f in previous}
    root = folder / PARQUET_DIR_NAME
    entries: list[FileEntry] = []
    written = 0
    tables = con.execute(sql("snapshot/published_tables"), {"schemas": list(SCHEMAS)}).fetchall()
    for schema, table, by_year in tables:
        relation = f"{schema}.{table}"
        table_text, descriptions = docs[relation]
        signature = ",".join(descriptions)  # the column names, in table order
        target = Identifier(relation)
        years = (
            [int(y) for (y,) in con.execute(sql("snapshot/years_of_table", relation=target)).fetchall()]
            if by_year
            else []
        )
        if not years:  # no census years (or none yet): the whole table, one file
            path = root / schema / table / _new_name(version)
            started.append(path)
            written += _write_parquet(
                con, sql("snapshot/whole_table", relation=target), {}, path, table_text, descriptions
            )
            entries.append(FileEntry(relation, None, _relative(path, folder), signature, written=True))
            continue
        changed = changed_years(relation)
        for year in years:
            kept = last.get((relation, year))
            if (
                kept is not None
                and kept.columns == signature
                and changed is not None
                and year not in changed
                and (folder / kept.path).is_file()  # (a working warehouse published elsewhere before)
            ):
                entries.append(FileEntry(relation, year, kept.path, signature))
                continue
            path = root / schema / table / f"census_year={year}" / _new_name(version)
            started.append(path)
            query = sql("snapshot/one_year", relation=target)
            written += _write_parquet(con, query, {"census_year": year}, path, table_text, descriptions)
            entries.append(FileEntry(relation, year, _relative(path, folder), signature, written=True))
    return entries, written


# --- the catalog ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionInfo:
    version: int
    published_at: datetime
    load_id: str | None
    census_years: list[int]


def write_catalog(
    path: Path,
    folder: Path,
    entries: list[FileEntry],
    views: list[tuple[str, str]],
    docs: Docs,
    info: VersionInfo,
    kept: list[VersionInfo],
) -> None:
    """A new catalog file at `path`: a view per table over its files (under the published folder
    `folder`), the working warehouse's own views (`views`: relation and `create view` statement,
    over those tables' views), each with its table's and columns' comments, and the catalog's own
    tables (snapshot.version, .versions, .files)."""
    folder = Path(os.path.abspath(folder))
    path.unlink(missing_ok=True)
    by_relation: dict[str, list[FileEntry]] = {}
    for entry in entries:
        by_relation.setdefault(entry.relation, []).append(entry)
    con = duckdb.connect()
    try:
        con.execute(sql("snapshot/attach_catalog"), {"path": str(path)})
        con.execute(sql("snapshot/use_catalog"))
        con.begin()  # one transaction: a commit per view and comment took a third of a second
        for schema in sorted({r.split(".")[0] for r in by_relation} | {CATALOG_SCHEMA}):
            con.execute(sql("snapshot/catalog_schema", schema=Identifier(schema)))
        for relation, files in by_relation.items():
            view = Identifier(relation)
            columns = Names(tuple(files[0].columns.split(",")))
            paths = Literals(tuple(str(folder / f.path) for f in files))
            hive = any(f.census_year is not None for f in files)
            statement = "snapshot/view_of_years" if hive else "snapshot/view_of_files"
            con.execute(sql(statement, relation=view, names=columns, files=paths))
            _comment(con, relation, docs)
        for relation, statement in views:
            con.execute(statement)  # names its tables by schema: the catalog's views of them
            _comment(con, relation, docs)
        about = {
            "version": info.version,
            "published_at": info.published_at,
            "load_id": info.load_id,
            "census_years": info.census_years,
        }
        con.execute(sql("snapshot/catalog_version"), about)
        con.execute(sql("snapshot/catalog_versions"))
        for other in kept:
            con.execute(
                sql("snapshot/catalog_versions_insert"),
                {
                    "version": other.version,
                    "published_at": other.published_at,
                    "load_id": other.load_id,
                    "census_years": other.census_years,
                },
            )
        con.execute(sql("snapshot/catalog_files"))
        for entry in entries:
            con.execute(
                sql("snapshot/catalog_files_insert"),
                {
                    "relation": entry.relation,
                    "census_year": entry.census_year,
                    "path": str(folder / entry.path),
                },
            )
        con.commit()
        con.execute(sql("snapshot/use_memory"))
        con.execute(sql("snapshot/detach_catalog"))
    finally:
        con.close()
    with open(path, "rb") as f:
        os.fsync(f.fileno())
    os.chmod(path, 0o444)
    with duckdb.connect(str(path), read_only=True) as check:  # a catalog that does not open is not published
        check.execute(sql("snapshot/opens")).fetchall()


def _comment(con: duckdb.DuckDBPyConnection, relation: str, docs: Docs) -> None:
    table_text, column_texts = docs.get(relation, ("", {}))
    view = Identifier(relation)
    if table_text:
        con.execute(sql("snapshot/comment_on_view", relation=view, text=Literal(table_text)))
    for name, text in column_texts.items():
        if text:
            column = Identifier(f"{relation}.{name}")
            con.execute(sql("snapshot/comment_on_column", column=column, text=Literal(text)))


def published_views(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """The working warehouse's views in the published schemas: (relation, create statement)."""
    rows = con.execute(sql("snapshot/published_views"), {"schemas": list(SCHEMAS)}).fetchall()
    return [(f"{schema}.{name}", str(statement)) for schema, name, statement in rows]


def _kept_info(con: duckdb.DuckDBPyConnection, keep: int) -> list[VersionInfo]:
    rows = con.execute(sql("snapshot/kept_versions"), {"keep": keep}).fetchall()
    return [
        VersionInfo(int(v), at, None if lid is None else str(lid), list(ys or [])) for v, at, lid, ys in rows
    ]


def _swap_in(snapshot: Path, catalog: Path) -> None:
    """`published/junheng.duckdb` becomes the catalog `catalog` (a link to it), in one rename."""
    staged = snapshot.with_name(f".{snapshot.name}.{uuid.uuid4().hex}.tmp")
    try:
        os.link(catalog, staged)
    except OSError:  # a file system without hard links: a copy of the small catalog
        import shutil

        shutil.copyfile(catalog, staged)
        os.chmod(staged, 0o444)
    os.replace(staged, snapshot)
    _fsync_dir(snapshot.parent)


def _is_current(snapshot: Path, catalog: Path) -> bool:
    try:
        return snapshot.exists() and catalog.exists() and os.path.samefile(snapshot, catalog)
    except OSError:
        return False


# --- reading the kept versions ------------------------------------------------------------------


@dataclass(frozen=True)
class KeptVersion:
    version: int
    published_at: datetime
    census_years: list[int]
    catalog: Path
    current: bool


def kept_versions(snapshot: Path) -> list[KeptVersion]:
    """The versions the published folder keeps, newest first (from the current catalog)."""
    with duckdb.connect(str(snapshot), read_only=True) as con:
        rows = con.execute(sql("snapshot/catalog_versions_list")).fetchall()
    found = []
    for version, published_at, years, _ in rows:
        catalog = version_catalog(snapshot, int(version))
        if catalog.exists():
            found.append(
                KeptVersion(
                    int(version), published_at, list(years or []), catalog, _is_current(snapshot, catalog)
                )
            )
    return found


def catalog_as_of(snapshot: Path, day: date) -> Path:
    """The catalog of the latest kept version published on or before `day` (local time), to rebuild
    a report as it was then. ValueError when no kept version is that old."""
    before = datetime.combine(day + timedelta(days=1), datetime.min.time()).astimezone()
    with duckdb.connect(str(snapshot), read_only=True) as con:
        version = con.execute(sql("snapshot/version_as_of"), {"before": before}).fetchall()[0][0]
    catalog = None if version is None else version_catalog(snapshot, int(version))
    if catalog is None or not catalog.exists():
        raise ValueError(
            f"{snapshot.parent} 没有保留 {day} 或更早发布的版本（junheng versions 列出保留的版本）/ no kept "
            f"version was published on or before {day} (junheng versions lists the kept ones)"
        )
    return catalog


# --- settling what a killed run left ---------------------------------------------------------------


def settle(con: duckdb.DuckDBPyConnection, snapshot: Path) -> list[str]:
    """Bring the published folder in line with the record of versions in the working warehouse:
    write the catalog of the latest version if a killed run committed it but did not put it in place,
    and remove the catalogs and Parquet files of versions no longer kept, and the ones a killed run
    wrote for a version it never committed. Returns one line per thing done."""
    lines: list[str] = []
    version = latest_version(con)
    snapshot = Path(os.path.abspath(snapshot))
    folder = snapshot.parent
    if folder.is_dir():
        leftovers = [*folder.glob(f".{snapshot.name}.*.tmp"), *versions_dir(snapshot).glob(".*.tmp*")]
        for leftover in leftovers:
            leftover.unlink(missing_ok=True)
    if version is None:
        return lines
    catalog = version_catalog(snapshot, version)
    entries = version_files(con, version)
    if not all((folder / e.path).is_file() for e in entries):
        return lines  # the version was published into another folder: the next publish writes this one
    if not catalog.exists():
        kept = _kept_info(con, kept_versions_setting())
        info = next(k for k in kept if k.version == version)
        staged = versions_dir(snapshot) / f".{version}-{uuid.uuid4().hex}.tmp"
        staged.parent.mkdir(parents=True, exist_ok=True)
        views = published_views(con)
        write_catalog(staged, folder, entries, views, _docs(con), info, kept)
        os.replace(staged, catalog)
        lines.append(
            f"已补发上次运行提交的第 {version} 版快照 / published version {version}, which a stopped run had "
            "committed but not put in place"
        )
    if not _is_current(snapshot, catalog):
        _swap_in(snapshot, catalog)
    removed = remove_unreferenced(con, snapshot)
    if removed:
        lines.append(
            f"已删除 {removed} 个不再需要的快照文件 / removed {removed} published files no kept version names "
            "(older versions, or left by a stopped run)"
        )
    return lines


def remove_unreferenced(con: duckdb.DuckDBPyConnection, snapshot: Path) -> int:
    """Delete the Parquet files and catalogs of the published folder that no kept version names.
    Only the pipeline writes there, one run at a time. Returns how many were removed."""
    referenced = {str(p) for (p,) in con.execute(sql("snapshot/referenced_files")).fetchall()}
    kept = {int(v) for (v,) in con.execute(sql("snapshot/version_numbers")).fetchall()}
    removed = 0
    folder = _published_folder(snapshot)
    root = folder / PARQUET_DIR_NAME
    if root.is_dir():
        for path in root.rglob("*"):
            if path.is_file() and _relative(path, folder) not in referenced:
                path.unlink(missing_ok=True)
                removed += 1
        for folder in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            if not any(folder.iterdir()):
                folder.rmdir()
    if versions_dir(snapshot).is_dir():
        for path in versions_dir(snapshot).glob("*.duckdb"):
            if not path.stem.isdigit() or int(path.stem) not in kept:
                path.unlink(missing_ok=True)
                removed += 1
    return removed


def _remove(files: list[Path]) -> None:
    """Remove files a failed publish began (a file system that refuses is left to `settle`)."""
    for path in files:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)


# --- publishing a run --------------------------------------------------------------------------------


def publish(
    run: RunWrite,
    snapshot: Path,
    run_years: list[int],
    rebuilt_years: list[int],
    verify: Callable[[Path], None] | None = None,
) -> PublishResult:
    """Publish the run (steps 1-5 above). `rebuilt_years`: the census years whose all-years rows
    the run rebuilt. `verify(staged_catalog)` runs on the exact catalog about to be published (the
    data-quality suites); if it raises, nothing is committed or published. Raises PublishError
    when the published folder cannot be written (nothing is committed then either)."""
    started = time.perf_counter()
    con = run.con
    snapshot = Path(os.path.abspath(snapshot))
    folder = snapshot.parent
    keep = kept_versions_setting()
    history, cross_year = history_tables(), cross_year_tables()

    def changed_years(relation: str) -> set[int] | None:
        if relation in history:
            return None  # a record of every attempt: written whole each time
        return set(rebuilt_years) | set(run_years) if relation in cross_year else set(run_years)

    published_at = datetime.now(UTC)
    started_files: list[Path] = []
    try:
        settle(con, snapshot)
        previous_version = latest_version(con)
        version = (previous_version or 0) + 1
        previous = [] if previous_version is None else version_files(con, previous_version)
        run.record_commit(published_at)
        docs = _docs(con)  # the files' column descriptions and the catalog's comments
        entries, size = export_changes(con, folder, version, previous, changed_years, started_files, docs)
    except Exception as exc:
        if not is_write_error(exc):
            raise
        _remove(started_files)
        raise PublishError(
            f"快照文件未能写入 {snapshot.parent}，上次发布的快照未改变 / could not write the snapshot's files in "
            f"{snapshot.parent}: {_first_line(exc)}. The previous snapshot is unchanged."
        ) from exc
    written = [e for e in entries if e.written]
    info = VersionInfo(version, published_at, run.load_id, sorted(run_years))
    for entry in entries:
        con.execute(
            sql("snapshot/insert_file"),
            {
                "version": version,
                "relation": entry.relation,
                "census_year": entry.census_year,
                "path": entry.path,
                "columns": entry.columns,
                "written": entry.written,
            },
        )
    con.execute(
        sql("snapshot/insert_version"),
        {
            "version": version,
            "published_at": published_at,
            "load_id": run.load_id,
            "census_years": sorted(run_years),
            "files_written": len(written),
            "bytes_written": size,
        },
    )
    kept = _kept_info(con, keep)
    oldest = min(k.version for k in kept)
    con.execute(sql("snapshot/forget_versions_before"), {"version": oldest})
    con.execute(sql("snapshot/forget_version_rows_before"), {"version": oldest})
    staged = versions_dir(snapshot) / f".{version}-{uuid.uuid4().hex}.tmp"
    try:
        staged.parent.mkdir(parents=True, exist_ok=True)
        views = published_views(con)
        write_catalog(staged, folder, entries, views, docs, info, kept)
        if verify is not None:
            verify(staged)
    except BaseException as exc:
        _remove([staged, staged.with_name(staged.name + ".wal")])
        _remove(started_files)  # files no version will name
        if is_write_error(exc):
            raise PublishError(
                f"快照目录 {snapshot.parent} 未能写入，上次发布的快照未改变 / could not write the catalog in "
                f"{snapshot.parent}: {_first_line(exc)}. The previous snapshot is unchanged."
            ) from exc
        raise
    try:
        run.commit()  # the one commit: the run's writes and the version's record, together
    except BaseException:
        _remove([staged, staged.with_name(staged.name + ".wal"), *started_files])  # nothing was kept
        raise
    catalog = version_catalog(snapshot, version)
    try:
        os.replace(staged, catalog)
        _swap_in(snapshot, catalog)
    except OSError as exc:
        raise PublishError(
            f"第 {version} 版已提交，但快照未能放到 {snapshot}，下次运行会补发 / version {version} is committed but "
            f"could not be put in place at {snapshot}: {_first_line(exc)}; the next run publishes it"
        ) from exc
    remove_unreferenced(con, snapshot)  # (the connection is out of the run's transaction now)
    return PublishResult(
        version=version,
        snapshot=snapshot,
        parquet_dir=parquet_dir(snapshot),
        files_written=len(written),
        files_kept=len(entries) - len(written),
        bytes_written=size,
        seconds=time.perf_counter() - started,
    )
