"""Every statement of models/queries/*.sql binds against a real warehouse (the demo's): a typo
in a table or column name fails here, with the file and statement, not in a night's load."""

import re
import shutil

import duckdb

from pipelines.lib import queries
from pipelines.lib.queries import QuotedName, sql
from tests.unit.test_queries import dummy_fills

NEEDS_PYTHON_OR_FILES = re.compile(
    r"\barrow_table\b|\balert_groups\b|^\s*copy\b", re.IGNORECASE | re.MULTILINE
)
"""Statements that read a frame registered from Python or write files: the pipeline tests run
them on real data."""
MIGRATIONS: set[str] = set()
"""Statements for warehouses built by older versions that cannot run on a current one (their
own tests run them on an old one)."""


def test_every_statement_binds_on_the_demo_warehouse(demo, tmp_path):
    working = tmp_path / "junheng.duckdb"
    shutil.copyfile(demo.warehouse, working)
    con = duckdb.connect(str(working))
    con.execute(sql("year_loads/create_undo_schema", schema=queries.Identifier("undo")))
    undo = QuotedName("undo", "x|2024|marts.county_balance")
    con.execute(
        sql("year_loads/save_year", undo=undo, relation=queries.Identifier("marts.county_balance")),
        {"census_year": 2024},
    )
    checked = []
    for path in sorted(queries.QUERIES_DIR.glob("*.sql")):
        for name, body in queries.statements(path.stem).items():
            fills = dummy_fills(body)
            created = re.search(r"create\s+table\s+\{\{\s*(\w+)\s*\}\}", body, re.IGNORECASE)
            if created:  # the table a statement creates must not exist yet
                new = created[1]
                fills[new] = (
                    QuotedName("undo", "new") if new == "undo" else queries.Identifier("marts.new_table")
                )
            text = sql(f"{path.stem}/{name}", **fills)
            if NEEDS_PYTHON_OR_FILES.search(text) or f"{path.stem}/{name}" in MIGRATIONS:
                continue
            try:
                _bind(con, text)
            except duckdb.Error as exc:
                raise AssertionError(
                    f"models/queries/{path.name}, {name}: {str(exc).splitlines()[0]}"
                ) from None
            checked.append(f"{path.stem}/{name}")
    con.close()
    assert len(checked) > 60, checked


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
