"""Every statement the Python code runs, read from `models/queries/<file>.sql`.

SQL models (models/<layer>/<table>.sql) build tables; the files here hold everything else the
code says to DuckDB: the quality checks' frames, the audit tables' writes, the load journal, the
alert engine's inputs, and the reads of the CLI, the reports and the workbook. A file holds one
or more statements, each under a line `-- name: <statement>` with comment lines saying what it
does; the code asks for `"<file>/<statement>"`.

Values are bound by DuckDB as parameters (`$census_year`, lists too; a table to read is
`query_table($table_name)`). Only where SQL takes no parameter (the table a statement writes or
creates, a comment's text, a table's column types) does a statement hold a `{{ placeholder }}`,
filled here with a quoted identifier or relation, a quoted string literal, the column list of a
sidecar's `types:` or a SQL model's select (read from its file); nothing else can be put into a
statement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pipelines.lib.paths import MODELS_DIR

QUERIES_DIR = MODELS_DIR / "queries"

_NAME_LINE = re.compile(r"^--\s*name:\s*(?P<name>[a-z_][a-z0-9_]*)\s*$", re.MULTILINE)
_PLACEHOLDER = re.compile(r"\{\{\s*(?P<name>[a-z_][a-z0-9_]*)\s*\}\}")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class QueryError(RuntimeError):
    """A statement that is missing or asked for wrongly; the message names the file."""


@dataclass(frozen=True)
class Identifier:
    """A name (`table`, `schema.table` or `schema.table.column`), put into a statement quoted."""

    name: str

    def sql(self) -> str:
        parts = self.name.split(".")
        if len(parts) > 3 or not all(_IDENTIFIER.match(p) for p in parts):
            raise QueryError(f"{self.name!r} is not a table or column name")
        return ".".join('"' + p + '"' for p in parts)


@dataclass(frozen=True)
class Literal:
    """A string constant where SQL takes no parameter (COMMENT ON), quoted and escaped."""

    text: str

    def sql(self) -> str:
        return "'" + self.text.replace("'", "''") + "'"


_TYPE = re.compile(r"^[A-Za-z0-9_ ,()\[\]\"]+$")  # (a STRUCT names its fields, quoted)


@dataclass(frozen=True)
class Columns:
    """A table's column definitions (name -> DuckDB type, from its sidecar's `types:`)."""

    types: tuple[tuple[str, str], ...]

    def sql(self) -> str:
        if not self.types:
            raise QueryError("a table needs at least one column")
        for name, kind in self.types:
            if not _TYPE.match(kind):
                raise QueryError(f"column {name}: {kind!r} is not a DuckDB type")
        return ", ".join(f"{Identifier(name).sql()} {kind}" for name, kind in self.types)


@dataclass(frozen=True)
class ModelSql:
    """The select of a SQL model file (models/<layer>/<table>.sql, as read by sql_models)."""

    text: str

    def sql(self) -> str:
        return self.text


@dataclass(frozen=True)
class Literals:
    """A list of string constants where SQL takes no parameter (a view's file list), quoted."""

    texts: tuple[str, ...]

    def sql(self) -> str:
        return "[" + ", ".join(Literal(t).sql() for t in self.texts) + "]"


@dataclass(frozen=True)
class Names:
    """A list of column names, quoted."""

    names: tuple[str, ...]

    def sql(self) -> str:
        if not self.names:
            raise QueryError("a list of columns needs at least one")
        return ", ".join(Identifier(n).sql() for n in self.names)


Fill = Identifier | Literal | Literals | Names | Columns | ModelSql


@cache
def statements(file: str, queries_dir: Path = QUERIES_DIR) -> dict[str, str]:
    """The statements of models/queries/<file>.sql by name (comment lines kept)."""
    path = queries_dir / f"{file}.sql"
    if not path.is_file():
        raise QueryError(f"{path}: no such query file")
    text = path.read_text(encoding="utf-8")
    marks = list(_NAME_LINE.finditer(text))
    if not marks:
        raise QueryError(f"{path}: no '-- name: <statement>' line")
    found: dict[str, str] = {}
    for mark, following in zip(marks, [*marks[1:], None], strict=True):
        body = text[mark.end() : following.start() if following else len(text)].strip()
        if mark["name"] in found:
            raise QueryError(f"{path}: statement {mark['name']!r} is named twice")
        if not _without_comments(body):
            raise QueryError(f"{path}: statement {mark['name']!r} is empty")
        found[mark["name"]] = body
    return found


def sql(ref: str, queries_dir: Path = QUERIES_DIR, **fills: Fill) -> str:
    """The statement `ref` ("<file>/<statement>") with its placeholders filled. The benchmarks
    keep their own statements in bench/queries.sql (`queries_dir`)."""
    file, _, name = ref.rpartition("/")
    where = f"{queries_dir.name}/{file}.sql"
    body = statements(file, queries_dir).get(name)
    if body is None:
        raise QueryError(f"{where}: no statement {name!r}")
    wanted = set(_PLACEHOLDER.findall(body))
    if wanted != set(fills):
        raise QueryError(f"{where}, {name}: placeholders {sorted(wanted)}, given {sorted(fills)}")
    return _PLACEHOLDER.sub(lambda m: fills[m["name"]].sql(), body)


def _without_comments(body: str) -> str:
    return "\n".join(line for line in body.splitlines() if not line.lstrip().startswith("--")).strip()
