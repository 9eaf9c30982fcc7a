"""The statements Python runs live in models/queries/*.sql, read by one loader
(pipelines/lib/queries.py); table schemas come from the sidecars.

The last test reads every Python file under pipelines/ and bench/ and fails on a string that is a SQL
statement, so a query written back into the code is caught with its file and line.
"""

import ast
import re

import polars as pl
import pytest

from pipelines.lib import queries
from pipelines.lib.catalog import table_docs
from pipelines.lib.paths import REPO_ROOT
from pipelines.lib.queries import Columns, Identifier, Literal, Literals, Names, QueryError, sql
from pipelines.lib.warehouse import frame_schema

STATEMENT = re.compile(
    r"^\s*(select|with|insert|delete|update|create|drop|alter|copy|attach|detach|use|set|comment\s+on|pragma)\b",
    re.IGNORECASE,
)
SQL_WORDS = re.compile(r"\b(from|into|table|schema|set|values|where|database)\b", re.IGNORECASE)
TRANSACTION_CONTROL = {"begin transaction", "commit", "rollback", "checkpoint"}
"""One-word statements about the connection, not queries: they stay in Python."""


def test_every_query_file_parses_into_named_statements():
    files = sorted(queries.QUERIES_DIR.glob("*.sql"))
    assert files, "no query files"
    for path in files:
        found = queries.statements(path.stem)
        assert found, path
        for name in found:
            text = sql(f"{path.stem}/{name}", **dummy_fills(found[name]))
            assert STATEMENT.search(_strip_comments(text)), f"{path.name}: {name} is not a statement"


def test_placeholders_take_only_quoted_names_literals_and_types():
    assert Identifier("marts.county_balance").sql() == '"marts"."county_balance"'
    assert Literals(("/p/a.parquet", "it's")).sql() == "['/p/a.parquet', 'it''s']"
    assert Names(("census_year", "value")).sql() == '"census_year", "value"'
    assert Literal("it's").sql() == "'it''s'"
    with pytest.raises(QueryError):
        Identifier("marts.t; drop table x").sql()
    with pytest.raises(QueryError):
        Columns((("x", "INTEGER); drop table y; --"),)).sql()


def test_a_missing_or_unexpected_fill_and_an_unknown_statement_are_refused():
    with pytest.raises(QueryError, match="placeholders"):
        sql("warehouse/delete_year")
    with pytest.raises(QueryError, match="placeholders"):
        sql("warehouse/table_exists", relation=Identifier("a.b"))
    with pytest.raises(QueryError, match="no statement"):
        sql("warehouse/no_such_statement")
    with pytest.raises(QueryError, match="no such query file"):
        sql("no_such_file/x")


def test_a_query_file_without_names_or_with_a_repeated_name_is_refused(tmp_path):
    (tmp_path / "bad.sql").write_text("select 1\n", encoding="utf-8")
    with pytest.raises(QueryError, match="name"):
        queries.statements.__wrapped__("bad", tmp_path)
    (tmp_path / "twice.sql").write_text("-- name: a\nselect 1\n-- name: a\nselect 2\n", encoding="utf-8")
    with pytest.raises(QueryError, match="named twice"):
        queries.statements.__wrapped__("twice", tmp_path)


def test_tables_built_in_python_are_typed_by_their_sidecar():
    """The audit tables and the alert table are created from `types:` and nothing else; the
    polars schema of the alert frames is derived from the same types."""
    typed = {doc.relation for doc in table_docs() if doc.types}
    assert typed >= {
        "audit.loads",
        "audit.census_year_loads",
        "audit.rejected_rows",
        "audit.school_warnings",
        "monitoring.backsliding_alerts",
    }
    schema = frame_schema("monitoring.backsliding_alerts")
    assert schema["census_year"] == pl.Int32
    assert isinstance(schema["driver_schools"], pl.List)
    assert list(schema) == list(
        next(d for d in table_docs() if d.relation == "monitoring.backsliding_alerts").columns
    )


def test_no_sql_statement_is_written_in_python():
    found = []
    for path in sorted([*(REPO_ROOT / "pipelines").rglob("*.py"), *(REPO_ROOT / "bench").rglob("*.py")]):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = _docstring_nodes(tree)
        for node in ast.walk(tree):
            if node in docstrings:
                continue
            text = _string_text(node)
            if text is None or text.strip().lower() in TRANSACTION_CONTROL:
                continue
            if STATEMENT.match(text) and SQL_WORDS.search(text):
                found.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}: {text.strip()[:70]!r}")  # type: ignore[attr-defined]
    assert not found, "SQL written in Python; move it to models/queries/*.sql:\n" + "\n".join(found)


def _string_text(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    return None


def _docstring_nodes(tree: ast.Module) -> set[ast.AST]:
    nodes: set[ast.AST] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list):
            for i, statement in enumerate(body):
                # a module, class or function docstring, and the attribute docstrings after assignments
                is_text = isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)
                if is_text and (i == 0 or isinstance(body[i - 1], ast.Assign | ast.AnnAssign)):
                    nodes.add(statement.value)  # type: ignore[attr-defined]
    return nodes


def _strip_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))


def dummy_fills(body: str) -> dict:
    """A fill of the right kind for every placeholder of a statement (on marts.county_balance)."""
    fills: dict = {}
    for name in set(re.findall(r"\{\{\s*(\w+)\s*\}\}", body)):
        if name == "text":
            fills[name] = Literal("a comment")
        elif name == "limit":
            fills[name] = Literal("3GB")
        elif name == "columns":
            fills[name] = Columns((("census_year", "INTEGER"),))
        elif name == "model":
            fills[name] = queries.ModelSql("select 1 as census_year")
        elif name == "column":
            fills[name] = Identifier("marts.county_balance.census_year")
        elif name == "definition":
            fills[name] = Columns((("new_column", "VARCHAR"),))
        elif name == "names":
            fills[name] = queries.Names(("census_year",))
        elif name == "files":
            fills[name] = queries.Literals(("x.parquet",))
        elif name == "schema":
            fills[name] = Identifier("marts")
        else:
            fills[name] = Identifier("marts.county_balance")
    return fills
