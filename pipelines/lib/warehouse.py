"""The DuckDB warehouse: connections, layer schemas, and whole-table or per-year writes.

DuckDB allows one writing process; Dagster serialises the writers (pool `warehouse`, limit 1).
Every write here happens inside one transaction, so a failure leaves the previous state.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import duckdb
import polars as pl

from contracts.columns import CENSUS_COLUMNS, LINEAGE_COLUMNS
from pipelines.lib.catalog import CatalogError, table_doc
from pipelines.lib.queries import Columns, Identifier, Literal, sql

SCHEMAS = ("raw", "staging", "marts", "monitoring", "audit")

_SQL_TYPES = {
    pl.Int32: "INTEGER",
    pl.Int64: "BIGINT",
    pl.Float64: "DOUBLE",
    pl.String: "VARCHAR",
    pl.Boolean: "BOOLEAN",
}


class WarehouseLocked(RuntimeError):
    """Another process has the warehouse file open, so it cannot be opened for writing."""


_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")


def locked_message(path: Path, error: str) -> str:
    """One line for a DuckDB lock conflict: which file, which process, what to do."""
    found = _LOCK_HOLDER.search(error)
    who = f"PID {found['pid']}, {Path(found['program']).name}" if found else "another process"
    return (
        f"{path} 正被另一个程序打开（{who}），无法写入 / is open in another program ({who}) and cannot "
        f"be written: close that program, and read the published snapshot instead of the working "
        f"file (junheng alerts, report and dictionary do so by default); nothing was changed"
    )


def open_connection(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection to the warehouse file with the layer schemas in place; the caller closes it.
    Raises WarehouseLocked (one line, naming the other process) when another process holds the file."""
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "Could not set lock" in str(exc):
            raise WarehouseLocked(locked_message(path, str(exc))) from None
        raise
    try:
        if not read_only:
            for schema in SCHEMAS:
                con.execute(sql("warehouse/create_schema", schema=Identifier(schema)))
    except BaseException:
        con.close()
        raise
    return con


@contextmanager
def connect(path: Path, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """open_connection, closed when the block ends."""
    con = open_connection(path, read_only)
    try:
        yield con
    finally:
        con.close()


_RUN_CONNECTIONS: set[int] = set()
"""The connections (by id) that hold a census-year run's one transaction (pipelines.lib.loads.run_write)."""


def hold_run_transaction(con: duckdb.DuckDBPyConnection, held: bool) -> None:
    """Mark (or unmark) `con` as holding a run's transaction, which `transaction` then joins."""
    if held:
        _RUN_CONNECTIONS.add(id(con))
    else:
        _RUN_CONNECTIONS.discard(id(con))


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """A transaction, or (on a connection holding a census-year run's transaction) part of that
    one, which commits or rolls back as a whole."""
    if id(con) in _RUN_CONNECTIONS:
        yield con
        return
    con.execute("begin transaction")
    try:
        yield con
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def apply_comments(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    description: str,
    columns: Mapping[str, str],
) -> None:
    """Carry the sidecar documentation into DuckDB so analysts see it in the catalog. Only the
    comments that differ are written: a year's rebuild of a table leaves them as they are (each
    comment is a change to DuckDB's catalog)."""
    schema, table = relation.split(".")
    now = {
        name: text
        for name, text in con.execute(
            sql("warehouse/comments_of"), {"schema": schema, "table": table}
        ).fetchall()
    }
    if now.get(None) != description:
        con.execute(
            sql("warehouse/comment_on_table", relation=Identifier(relation), text=Literal(description))
        )
    for name, text in columns.items():
        if now.get(name) != text:
            column = Identifier(f"{relation}.{name}")
            con.execute(sql("warehouse/comment_on_column", column=column, text=Literal(text)))


def document(con: duckdb.DuckDBPyConnection, relation: str) -> None:
    """Put the table's sidecar (models/<schema>/<table>.yml) on it as DuckDB comments."""
    doc = table_doc(relation)
    apply_comments(con, relation, doc.comment, doc.columns)


def create_table_of(
    con: duckdb.DuckDBPyConnection, relation: str, query: str, params: Mapping[str, object] | None = None
) -> None:
    """Create `relation` with the columns and types of `query`'s result, declared one by one.

    (DuckDB 2.0.0 loses the rows of a large insert into a table that `create table … as select …`
    made empty in the same transaction: a scan finds none though count(*) counts them. A table
    declared column by column does not have the problem; tests/unit/test_warehouse_tables.py.)"""
    result = con.sql(query, params=dict(params or {}))
    columns = Columns(tuple(zip(result.columns, (str(t) for t in result.types), strict=True)))
    con.execute(sql("warehouse/create_table", relation=Identifier(relation), columns=columns))


def replace_table(con: duckdb.DuckDBPyConnection, relation: str, frame: pl.DataFrame) -> int:
    """Replace a whole (small, reference) table with `frame` in one transaction."""
    arrow_table = frame.to_arrow()  # noqa: F841  (read by DuckDB's replacement scan)
    with transaction(con):
        con.execute(sql("warehouse/replace_table_with_frame", relation=Identifier(relation)))
        document(con, relation)
    return frame.height


def create_table(con: duckdb.DuckDBPyConnection, relation: str) -> None:
    """Create a table built in Python (if it does not exist) from its sidecar's `types:`; add the
    columns the sidecar has and an existing table lacks."""
    doc = table_doc(relation)
    if not doc.types:
        raise CatalogError(f"{doc.path}: no 'types' to create {relation} from")
    columns = Columns(tuple(doc.types.items()))
    con.execute(sql("warehouse/create_table", relation=Identifier(relation), columns=columns))
    have = set(table_columns(con, relation))
    for name, kind in doc.types.items():  # a table made by an older version: new columns are null there
        if name not in have:
            con.execute(
                sql(
                    "warehouse/add_column", relation=Identifier(relation), definition=Columns(((name, kind),))
                )
            )


@cache
def frame_schema(relation: str) -> dict[str, pl.DataType]:
    """The polars types of a table built in Python, from its sidecar's DuckDB `types:` (the
    table is created in an in-memory database and read back empty)."""
    con = duckdb.connect()
    try:
        con.execute(sql("warehouse/create_schema", schema=Identifier(relation.split(".")[0])))
        create_table(con, relation)
        empty = pl.from_arrow(
            con.sql(sql("warehouse/whole_table", relation=Identifier(relation))).to_arrow_table()
        )
    finally:
        con.close()
    assert isinstance(empty, pl.DataFrame)
    return dict(empty.schema)


def delete_year(
    con: duckdb.DuckDBPyConnection, relation: str, census_year: int, and_later: bool = False
) -> None:
    """Delete the census year's rows of `relation` (with `and_later`, every later year's too)."""
    query = "warehouse/delete_years_from" if and_later else "warehouse/delete_year"
    con.execute(sql(query, relation=Identifier(relation)), {"census_year": census_year})


def create_census_table(con: duckdb.DuckDBPyConnection) -> None:
    """raw.census_schools, typed by the column contract (contracts/columns.py)."""
    columns = [(c.name, _SQL_TYPES[c.dtype]) for c in (*CENSUS_COLUMNS, *LINEAGE_COLUMNS)]  # type: ignore[index]
    con.execute(
        sql(
            "warehouse/create_table",
            relation=Identifier("raw.census_schools"),
            columns=Columns(tuple(columns)),
        )
    )


def ensure_loads_table(con: duckdb.DuckDBPyConnection) -> None:
    """audit.loads as it is now; a warehouse built before `is_current` existed gets the column,
    set for each year's latest load whose files all loaded (what was current then)."""
    old_table = table_exists(con, "audit", "loads") and not scalar(con, sql("warehouse/loads_has_is_current"))
    create_table(con, "audit.loads")  # adds the column to an old table
    if old_table:
        con.execute(sql("warehouse/loads_set_is_current"))


def _loads_frame(census_year: int, load_id: str, files: list) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "load_id": load_id,
                "census_year": census_year,
                "source_file": f.source_file,
                "sha256": f.sha256,
                "status": f.status,
                "message": f.message,
                "file_format": f.file_format,
                "encoding": f.encoding,
                "sheet": f.sheet,
                "rows_read": f.rows_read,
                "rows_accepted": f.rows_accepted,
                "rows_rejected": f.rows_rejected,
                "rows_skipped": f.rows_skipped,
                "unknown_columns": f.unknown_columns,
                "seconds": f.seconds,
                "shape": f.shape,
            }
            for f in files
        ],
        schema_overrides={
            "unknown_columns": pl.List(pl.String),
            "census_year": pl.Int32,
            "shape": pl.String,
        },
    )


def _insert_loads(con: duckdb.DuckDBPyConnection, census_year: int, load_id: str, files: list) -> None:
    arrow_table = _loads_frame(census_year, load_id, files).to_arrow()  # noqa: F841
    ensure_loads_table(con)
    con.execute(sql("warehouse/insert_loads"))
    document(con, "audit.loads")


def record_refused_load(con: duckdb.DuckDBPyConnection, census_year: int, load_id: str, files: list) -> None:
    """Log a refused census year in audit.loads; no data table is touched."""
    with transaction(con):
        _insert_loads(con, census_year, load_id, files)


def _form_cells(files: list, accepted: pl.DataFrame, load_id: str, census_year: int) -> pl.DataFrame:
    """The form and cell of every value of the year's base-form workbooks (audit.form_cells)."""
    schools = {(f, r): s for f, r, s in accepted.select("source_file", "source_row", "school_id").iter_rows()}
    rows = [
        {
            "load_id": load_id,
            "census_year": census_year,
            "source_file": f.source_file,
            "source_row": row,
            "school_id": schools.get((f.source_file, row)),
            "column": column,
            "form_cell": cell,
        }
        for f in files
        if f.status == "loaded"
        for (row, column), cell in sorted(getattr(f, "cells", {}).items())
    ]
    return pl.DataFrame(rows, schema=frame_schema("audit.form_cells"))


def replace_census_year(
    con: duckdb.DuckDBPyConnection,
    census_year: int,
    accepted: pl.DataFrame,
    rejected: pl.DataFrame,
    load_id: str,
    files: list | None = None,
    warnings: pl.DataFrame | None = None,
    declarations: pl.DataFrame | None = None,
    declarations_rejected: pl.DataFrame | None = None,
) -> int:
    """Replace one census year of raw.census_schools and its audit.rejected_rows, and of the
    counties' declarations (audit.county_declarations, audit.rejected_declarations: none when the
    year's folder holds no declaration file), and log the files in audit.loads, in one transaction."""
    columns = [c.name for c in (*CENSUS_COLUMNS, *LINEAGE_COLUMNS)]
    lineage = [pl.lit(load_id).alias("load_id"), pl.lit(census_year).alias("census_year")]
    with transaction(con):
        create_census_table(con)
        _replace_rows(con, "raw.census_schools", census_year, accepted.select(columns))
        create_table(con, "audit.rejected_rows")
        _replace_rows(con, "audit.rejected_rows", census_year, rejected.with_columns(lineage))
        if files is not None:
            _insert_loads(con, census_year, load_id, files)
        if files is not None:  # empty unless the year has base-form workbooks
            create_table(con, "audit.form_cells")
            _replace_rows(
                con, "audit.form_cells", census_year, _form_cells(files, accepted, load_id, census_year)
            )
            document(con, "audit.form_cells")
        for relation, frame in (
            ("audit.county_declarations", declarations),
            ("audit.rejected_declarations", declarations_rejected),
        ):
            create_table(con, relation)
            if frame is None:
                frame = pl.DataFrame(schema=frame_schema(relation))
            _replace_rows(con, relation, census_year, frame.with_columns(lineage))
            document(con, relation)
        if warnings is not None:
            create_table(con, "audit.school_warnings")
            _replace_rows(con, "audit.school_warnings", census_year, warnings.with_columns(lineage))
            document(con, "audit.school_warnings")
        apply_comments(
            con,
            "raw.census_schools",
            "Accepted census rows, one per census_year x school_id, with lineage to file and row.",
            {c.name: c.description for c in (*CENSUS_COLUMNS, *LINEAGE_COLUMNS)},
        )
        document(con, "audit.rejected_rows")
    return accepted.height


def replace_school_warnings(
    con: duckdb.DuckDBPyConnection, census_year: int, warnings: pl.DataFrame, load_id: str
) -> None:
    """Replace one census year's audit.school_warnings (a later year's, refreshed by a load)."""
    lineage = [pl.lit(load_id).alias("load_id"), pl.lit(census_year).alias("census_year")]
    with transaction(con):
        create_table(con, "audit.school_warnings")
        _replace_rows(con, "audit.school_warnings", census_year, warnings.with_columns(lineage))


def _replace_rows(
    con: duckdb.DuckDBPyConnection, relation: str, census_year: int, frame: pl.DataFrame
) -> None:
    """Inside the caller's transaction: the year's rows of `relation` become `frame`'s."""
    arrow_table = frame.to_arrow()  # noqa: F841  (read by DuckDB's replacement scan)
    delete_year(con, relation, census_year)
    con.execute(sql("warehouse/insert_frame", relation=Identifier(relation)))


def scalar(con: duckdb.DuckDBPyConnection, query: str, params: Mapping[str, object] | None = None) -> object:
    """The first value of the first row (fetching the whole result, as DuckDB 2 requires)."""
    rows = con.execute(query, dict(params or {})).fetchall()
    return rows[0][0] if rows else None


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(scalar(con, sql("warehouse/table_exists"), {"schema": schema, "table": table}))


def table_columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    """The table's column names, in table order."""
    schema, table = relation.split(".")
    rows = con.execute(sql("warehouse/table_columns"), {"schema": schema, "table": table}).fetchall()
    return [str(r[0]) for r in rows]


def query_frame(
    con: duckdb.DuckDBPyConnection, query: str, params: Mapping[str, object] | None = None
) -> pl.DataFrame:
    """Run a query and return a polars frame (through Arrow, no copy of the columns)."""
    frame = pl.from_arrow(con.sql(query, params=dict(params or {})).to_arrow_table())
    assert isinstance(frame, pl.DataFrame)
    return frame


def replace_year(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    census_year: int,
    frame: pl.DataFrame,
) -> int:
    """Replace one census year of a table built in Python, in one transaction: created from its
    sidecar's `types:` if it has them (else from the frame) the first time; the table and column
    comments are (re)applied from its sidecar."""
    schema, table = relation.split(".")
    arrow_table = frame.to_arrow()  # noqa: F841  (read by DuckDB's replacement scan)
    with transaction(con):
        if table_doc(relation).types:
            create_table(con, relation)
        elif not table_exists(con, schema, table):
            create_table_of(con, relation, sql("warehouse/frame_columns"))
        delete_year(con, relation, census_year)
        con.execute(sql("warehouse/insert_frame", relation=Identifier(relation)))
        document(con, relation)
    return frame.height
