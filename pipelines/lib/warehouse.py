"""The DuckDB warehouse: connections, layer schemas, and whole-table or per-year writes.

DuckDB allows one writing process; Dagster serialises the writers (pool `warehouse`, limit 1).
Every write here happens inside one transaction, so a failure leaves the previous state.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl

from contracts.columns import CENSUS_COLUMNS, LINEAGE_COLUMNS, Column
from pipelines.lib.catalog import table_doc

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


@contextmanager
def connect(path: Path, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the warehouse file with the layer schemas in place. Raises WarehouseLocked
    (one line, naming the other process) when another process holds the file."""
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
                con.execute(f"create schema if not exists {schema}")
        yield con
    finally:
        con.close()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    con.execute("begin transaction")
    try:
        yield con
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def comment_literal(text: str) -> str:
    """COMMENT ON takes no parameters, so comments are quoted here (they come from our YAML)."""
    return "'" + text.replace("'", "''") + "'"


def apply_comments(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    description: str,
    columns: Mapping[str, str],
) -> None:
    """Carry the sidecar documentation into DuckDB so analysts see it in the catalog."""
    con.execute(f"comment on table {relation} is {comment_literal(description)}")
    for name, text in columns.items():
        con.execute(f"comment on column {relation}.{quote(name)} is {comment_literal(text)}")


def document(con: duckdb.DuckDBPyConnection, relation: str) -> None:
    """Put the table's sidecar (models/<schema>/<table>.yml) on it as DuckDB comments."""
    doc = table_doc(relation)
    apply_comments(con, relation, doc.comment, doc.columns)


def replace_table(con: duckdb.DuckDBPyConnection, relation: str, frame: pl.DataFrame) -> int:
    """Replace a whole (small, reference) table with `frame` in one transaction."""
    arrow_table = frame.to_arrow()  # noqa: F841  (read by DuckDB's replacement scan)
    with transaction(con):
        con.execute(f"create or replace table {relation} as select * from arrow_table")
        document(con, relation)
    return frame.height


def census_table_ddl() -> str:
    columns: list[Column] = [*CENSUS_COLUMNS, *LINEAGE_COLUMNS]
    body = ",\n    ".join(f"{quote(c.name)} {_SQL_TYPES[c.dtype]}" for c in columns)  # type: ignore[index]
    return f"create table if not exists raw.census_schools (\n    {body}\n)"


REJECTED_ROWS_DDL = """
create table if not exists audit.rejected_rows (
    load_id VARCHAR, census_year INTEGER, source_file VARCHAR, source_row BIGINT,
    school_id VARCHAR, "column" VARCHAR, "check" VARCHAR, value VARCHAR,
    message_zh VARCHAR, message_en VARCHAR, county_code VARCHAR
)"""


WARNINGS_DDL = """
create table if not exists audit.school_warnings (
    load_id VARCHAR, census_year INTEGER, school_id VARCHAR, county_code VARCHAR,
    source_file VARCHAR, source_row BIGINT, "check" VARCHAR, "column" VARCHAR, value DOUBLE,
    previous_value DOUBLE, message_zh VARCHAR, message_en VARCHAR
)"""


LOADS_DDL = """
create table if not exists audit.loads (
    load_id VARCHAR, census_year INTEGER, source_file VARCHAR, sha256 VARCHAR, status VARCHAR,
    message VARCHAR, file_format VARCHAR, encoding VARCHAR, sheet VARCHAR, rows_read BIGINT,
    rows_accepted BIGINT, rows_rejected BIGINT, rows_skipped BIGINT, unknown_columns VARCHAR[],
    seconds DOUBLE, loaded_at TIMESTAMP WITH TIME ZONE, is_current BOOLEAN
)"""


def ensure_loads_table(con: duckdb.DuckDBPyConnection) -> None:
    """audit.loads as it is now; a warehouse built before `is_current` existed gets the column,
    set for each year's latest load whose files all loaded (what was current then)."""
    con.execute(LOADS_DDL)
    has_flag = scalar(
        con,
        "select count(*) from duckdb_columns() where schema_name = 'audit' and table_name = 'loads' "
        "and column_name = 'is_current' and database_name = current_database()",
    )
    if has_flag:
        return
    con.execute("alter table audit.loads add column is_current boolean default false")
    con.execute(
        """
        update audit.loads set is_current = (census_year, load_id) in (
            select (census_year, arg_max(load_id, loaded_at)) from (
                select census_year, load_id, max(loaded_at) as loaded_at
                from audit.loads group by all having bool_and(status = 'loaded')
            ) group by census_year
        )
        """
    )


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
            }
            for f in files
        ],
        schema_overrides={"unknown_columns": pl.List(pl.String), "census_year": pl.Int32},
    )


def _insert_loads(con: duckdb.DuckDBPyConnection, census_year: int, load_id: str, files: list) -> None:
    loads_arrow = _loads_frame(census_year, load_id, files).to_arrow()  # noqa: F841
    ensure_loads_table(con)
    # a load's files become current when its census-year run commits (pipelines.lib.loads.year_loads)
    con.execute(
        "insert into audit.loads by name select *, now() as loaded_at, false as is_current from loads_arrow"
    )
    document(con, "audit.loads")


def record_refused_load(con: duckdb.DuckDBPyConnection, census_year: int, load_id: str, files: list) -> None:
    """Log a refused census year in audit.loads; no data table is touched."""
    with transaction(con):
        _insert_loads(con, census_year, load_id, files)


def replace_census_year(
    con: duckdb.DuckDBPyConnection,
    census_year: int,
    accepted: pl.DataFrame,
    rejected: pl.DataFrame,
    load_id: str,
    files: list | None = None,
    warnings: pl.DataFrame | None = None,
) -> int:
    """Replace one census year of raw.census_schools and its audit.rejected_rows, and log the
    files in audit.loads, in one transaction."""
    columns = [c.name for c in (*CENSUS_COLUMNS, *LINEAGE_COLUMNS)]
    accepted_arrow = accepted.select(columns).to_arrow()  # noqa: F841  (DuckDB scans it by name)
    rejected_arrow = rejected.with_columns(  # noqa: F841
        pl.lit(load_id).alias("load_id"), pl.lit(census_year).alias("census_year")
    ).to_arrow()
    with transaction(con):
        con.execute(census_table_ddl())
        con.execute(REJECTED_ROWS_DDL)
        con.execute("delete from raw.census_schools where census_year = $y", {"y": census_year})
        con.execute("insert into raw.census_schools by name select * from accepted_arrow")
        con.execute("delete from audit.rejected_rows where census_year = $y", {"y": census_year})
        con.execute("insert into audit.rejected_rows by name select * from rejected_arrow")
        if files is not None:
            _insert_loads(con, census_year, load_id, files)
        if warnings is not None:
            warnings_arrow = warnings.with_columns(  # noqa: F841
                pl.lit(load_id).alias("load_id"), pl.lit(census_year).alias("census_year")
            ).to_arrow()
            con.execute(WARNINGS_DDL)
            con.execute("delete from audit.school_warnings where census_year = $y", {"y": census_year})
            con.execute("insert into audit.school_warnings by name select * from warnings_arrow")
            document(con, "audit.school_warnings")
        apply_comments(
            con,
            "raw.census_schools",
            "Accepted census rows, one per census_year x school_id, with lineage to file and row.",
            {c.name: c.description for c in (*CENSUS_COLUMNS, *LINEAGE_COLUMNS)},
        )
        document(con, "audit.rejected_rows")
    return accepted.height


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, object] | None = None) -> object:
    """The first value of the first row (fetching the whole result, as DuckDB 2 requires)."""
    rows = con.execute(sql, dict(params or {})).fetchall()
    return rows[0][0] if rows else None


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        scalar(
            con,
            "select count(*) from information_schema.tables where table_schema = $s and table_name = $t",
            {"s": schema, "t": table},
        )
    )


def query_frame(
    con: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, object] | None = None
) -> pl.DataFrame:
    """Run a query and return a polars frame (through Arrow, no copy of the columns)."""
    frame = pl.from_arrow(con.sql(sql, params=dict(params or {})).to_arrow_table())
    assert isinstance(frame, pl.DataFrame)
    return frame


def replace_year(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    census_year: int,
    frame: pl.DataFrame,
) -> int:
    """Replace one census year of a table built in Python (created from the frame the first time),
    in one transaction; the table and column comments are (re)applied from its sidecar."""
    schema, table = relation.split(".")
    arrow_table = frame.to_arrow()  # noqa: F841  (read by DuckDB's replacement scan)
    with transaction(con):
        if not table_exists(con, schema, table):
            con.execute(f"create table {relation} as select * from arrow_table where false")
        con.execute(f"delete from {relation} where census_year = $y", {"y": census_year})
        con.execute(f"insert into {relation} by name select * from arrow_table")
        document(con, relation)
    return frame.height
