"""Every statement of models/queries/*.sql binds against a real warehouse (the demo's): a typo
in a table or column name fails here, with the file and statement, not in a night's load.

The statements that write a published catalog (pipelines.lib.publish.snapshot.write_catalog) run on
a connection of their own, with the new catalog attached as `published`: they bind there, on a
catalog of views over the demo's published Parquet files."""

import re
import shutil
from pathlib import Path

import duckdb

from pipelines.lib import queries
from pipelines.lib.queries import Identifier, Literals, Names, sql
from tests.unit.test_queries import dummy_fills

NEEDS_PYTHON_OR_FILES = re.compile(
    r"\barrow_table\b|\balert_groups\b|\bplanted_(?:groups|alerts)\b|^\s*copy\b", re.IGNORECASE | re.MULTILINE
)
"""Statements that read a frame registered from Python or write files: the pipeline tests run
them on real data."""
MIGRATIONS: set[str] = set()
"""Statements for warehouses built by older versions that cannot run on a current one (their
own tests run them on an old one)."""
CATALOG_SETUP = (
    "snapshot/attach_catalog",
    "snapshot/use_catalog",
    "snapshot/catalog_schema",
    "snapshot/view_of_years",
    "snapshot/catalog_version",
    "snapshot/catalog_versions",
    "snapshot/catalog_files",
)
"""The statements that begin a catalog, in the order write_catalog runs them: run for real (the
others need what they create)."""
CATALOG_END = ("snapshot/use_memory", "snapshot/detach_catalog")
CATALOG_STATEMENTS = {
    *CATALOG_SETUP,
    *CATALOG_END,
    "snapshot/view_of_files",
    "snapshot/comment_on_view",
    "snapshot/comment_on_column",
    "snapshot/catalog_versions_insert",
    "snapshot/catalog_files_insert",
    "snapshot/catalog_versions_list",
    "snapshot/version_as_of",
    "snapshot/opens",
}
"""The statements that run on a catalog's connection, not the working warehouse's."""
CREATED = re.compile(r"create\s+(?:or\s+replace\s+)?(?:table|view)\s+\{\{\s*(\w+)\s*\}\}", re.IGNORECASE)


def test_every_statement_binds_on_the_demo_warehouse(demo, tmp_path):
    working = tmp_path / "junheng.duckdb"
    shutil.copyfile(demo.warehouse, working)
    con = duckdb.connect(str(working))
    con.execute(sql("revisions/create_before"))  # the run's temporary table of coefficients before a reload
    catalog = open_catalog(
        tmp_path / "catalog.duckdb", *published_files(con, "marts.county_balance", demo.published.parent)
    )
    whole = published_files(
        con, "marts.dim_counties", demo.published.parent
    )  # a table without census years: one file
    checked = list(CATALOG_SETUP)
    for path in sorted(queries.QUERIES_DIR.glob("*.sql")):
        for name, body in queries.statements(path.stem).items():
            ref = f"{path.stem}/{name}"
            if ref in CATALOG_SETUP or ref in CATALOG_END:
                continue
            fills = dummy_fills(body)
            created = CREATED.search(body)
            if created:  # the table or view a statement creates must not exist yet
                fills[created[1]] = Identifier("marts.new_table")
            if "files" in fills:  # a view's files: the demo's published Parquet file of a table
                fills["names"], fills["files"] = Names(whole[0]), Literals(whole[1])
            text = sql(ref, **fills)
            if NEEDS_PYTHON_OR_FILES.search(text) or ref in MIGRATIONS:
                continue
            try:
                _bind(catalog if ref in CATALOG_STATEMENTS else con, text)
            except duckdb.Error as exc:
                raise AssertionError(
                    f"models/queries/{path.name}, {name}: {str(exc).splitlines()[0]}"
                ) from None
            checked.append(ref)
    for ref in CATALOG_END:
        catalog.execute(sql(ref))
        checked.append(ref)
    catalog.close()
    con.close()
    assert set(checked) >= CATALOG_STATEMENTS, CATALOG_STATEMENTS - set(checked)
    assert len(checked) > 60, checked
    with duckdb.connect(str(tmp_path / "catalog.duckdb"), read_only=True) as written:  # a catalog that opens
        assert written.execute("select count(*) from marts.county_balance").fetchall()[0][0] > 0


def published_files(
    con: duckdb.DuckDBPyConnection, relation: str, folder: Path
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The columns and the Parquet files of a table in the demo's latest published version (the
    record names them relative to the published folder)."""
    rows = con.execute(
        "select columns, path from publish.files "
        "where relation = $r and version = (select max(version) from publish.versions)",
        {"r": relation},
    ).fetchall()
    assert rows, f"the demo published no files of {relation}"
    return tuple(rows[0][0].split(",")), tuple(str(folder / path) for _, path in rows)


def open_catalog(path, columns: tuple[str, ...], files: tuple[str, ...]) -> duckdb.DuckDBPyConnection:
    """A connection as write_catalog makes one: a new catalog attached as `published` and in use,
    with the schemas, a view over a table's files and the catalog's own tables."""
    catalog = duckdb.connect()
    catalog.execute(sql("snapshot/attach_catalog"), {"path": str(path)})
    catalog.execute(sql("snapshot/use_catalog"))
    for schema in ("marts", "snapshot"):
        catalog.execute(sql("snapshot/catalog_schema", schema=Identifier(schema)))
    catalog.execute(
        sql(
            "snapshot/view_of_years",
            relation=Identifier("marts.county_balance"),
            names=Names(columns),
            files=Literals(files),
        )
    )
    about = {"version": 1, "published_at": None, "load_id": None, "census_years": None}
    catalog.execute(sql("snapshot/catalog_version"), about)
    catalog.execute(sql("snapshot/catalog_versions"))
    catalog.execute(sql("snapshot/catalog_files"))
    return catalog


def _bind(con: duckdb.DuckDBPyConnection, text: str) -> None:
    """Prepare a query; a statement DuckDB cannot prepare (DDL) runs in a transaction that is
    rolled back, with every parameter null."""
    try:
        con.execute(f"prepare checked_statement as {text}")
    except duckdb.ParserException as exc:
        if "not a preparable statement" not in str(exc):
            raise
        params = dict.fromkeys(re.findall(r"\$([a-z_]+)", text))
        con.execute("begin transaction")
        try:
            con.execute(text, params)
        finally:
            con.execute("rollback")
    else:
        con.execute("deallocate checked_statement")
