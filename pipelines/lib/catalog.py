"""The warehouse's documentation: one YAML sidecar per table, `models/<schema>/<table>.yml`.

A sidecar holds the table's description, its grain ("one row per ..."), its unique key, a
description of every column and, optionally, the unit of each numeric column (`units:`). SQL
models have their `.sql` beside it; tables built in Python name their builder in `built_by:`, and
those that are not a copy of a reference file give every column's DuckDB type (`types:`), from
which the table is created and the frames written to it are typed.
`history: true` marks a record of every attempt, failed ones too (published whole each time).
`cross_year: true` marks a table whose rows of a year compare that year with earlier ones (trends,
alert status, year-over-year warnings): an all-years table, rebuilt once per run for every loaded
year from the earliest one the run loads (pipelines.lib.loads.run_write).
`view: true` marks a view over stored tables (its `.sql` is the view's definition): it stores
nothing, and the snapshot's catalog defines it the same way over the published tables.
`title_zh` and `description_zh` give the table's name and description in Chinese; each column's
Chinese name comes from models/glossary_zh.yaml, or from the sidecar's `columns_zh` where the table
means something narrower by it. `descriptions_zh` gives every column's description in Chinese (the
data dictionary shows it first, the English of `columns` beside it).
DuckDB comments, the data dictionary and the data-quality key checks all come from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from contracts import yaml_files
from pipelines.lib.paths import MODELS_DIR

CATALOG_SCHEMAS = ("staging", "marts", "monitoring", "audit")
"""Schemas whose every table has a sidecar (raw.census_schools is documented by contracts/)."""


class CatalogError(RuntimeError):
    """A sidecar that is missing or incomplete; the message names the file."""


@dataclass(frozen=True)
class TableDoc:
    schema: str
    table: str
    description: str
    grain: str
    unique_key: tuple[str, ...]
    columns: dict[str, str]
    units: dict[str, str] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    """Column -> DuckDB type, in table order, for tables created in Python."""
    built_by: str = ""
    title_zh: str = ""
    description_zh: str = ""
    columns_zh: dict[str, str] = field(default_factory=dict)
    """Column -> Chinese name (the sidecar's columns_zh over the glossary)."""
    descriptions_zh: dict[str, str] = field(default_factory=dict)
    """Column -> Chinese description (the sidecar's descriptions_zh), one for every column."""
    cross_year: bool = False
    """A year's rows compare it with earlier years: an all-years table, rebuilt from the earliest
    year a run loads."""
    history: bool = False
    """Rows are a record of what happened (every load, failed ones too; pipelines.lib.loads.run_write)."""
    view: bool = False
    """A view over stored tables (sidecar `view: true`): nothing of its own is stored or published,
    its select is the view's definition, in the working warehouse and in the snapshot's catalog."""
    path: Path | None = None

    @property
    def relation(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def comment(self) -> str:
        """The table's DuckDB comment."""
        return f"{self.description} Grain: {self.grain}."


@cache
def glossary_zh(models_dir: Path = MODELS_DIR) -> dict[str, str]:
    """Column name -> Chinese name (models/glossary_zh.yaml)."""
    with open(models_dir / "glossary_zh.yaml", encoding="utf-8") as f:
        return {name: str(text) for name, text in (yaml_files.safe_load(f) or {})["columns"].items()}


def load_table_doc(path: Path) -> TableDoc:
    with open(path, encoding="utf-8") as f:
        sidecar = yaml_files.safe_load(f) or {}
    for key in ("description", "title_zh", "description_zh", "grain", "unique_key", "columns"):
        if not sidecar.get(key):
            raise CatalogError(f"{path}: missing '{key}'")
    columns = {name: str(text).strip() for name, text in sidecar["columns"].items()}
    units = {name: str(unit) for name, unit in (sidecar.get("units") or {}).items()}
    unknown = sorted(set(units) - set(columns))
    if unknown:
        raise CatalogError(f"{path}: units given for columns it does not document: {unknown}")
    own_zh = {name: str(text) for name, text in (sidecar.get("columns_zh") or {}).items()}
    unknown = sorted(set(own_zh) - set(columns))
    if unknown:
        raise CatalogError(f"{path}: columns_zh given for columns it does not document: {unknown}")
    glossary = glossary_zh(path.parent.parent)
    unnamed = sorted(c for c in columns if c not in own_zh and c not in glossary)
    if unnamed:
        raise CatalogError(
            f"{path}: no Chinese name for {unnamed}: add them to models/glossary_zh.yaml "
            "(or to the sidecar's columns_zh)"
        )
    descriptions_zh = _descriptions_zh(path, sidecar.get("descriptions_zh") or {}, columns)
    types = {name: str(kind) for name, kind in (sidecar.get("types") or {}).items()}
    if types and list(types) != list(columns):
        raise CatalogError(
            f"{path}: 'types' must list the documented columns in the same order "
            f"(columns {list(columns)}, types {list(types)})"
        )
    return TableDoc(
        schema=path.parent.name,
        table=path.stem,
        description=" ".join(str(sidecar["description"]).split()),
        grain=" ".join(str(sidecar["grain"]).split()),
        unique_key=tuple(sidecar["unique_key"]),
        columns=columns,
        units=units,
        types=types,
        built_by=str(sidecar.get("built_by") or ""),
        title_zh=str(sidecar["title_zh"]).strip(),
        description_zh=" ".join(str(sidecar["description_zh"]).split()),
        columns_zh={name: own_zh.get(name) or glossary[name] for name in columns},
        descriptions_zh=descriptions_zh,
        cross_year=bool(sidecar.get("cross_year", False)),
        history=bool(sidecar.get("history", False)),
        view=bool(sidecar.get("view", False)),
        path=path,
    )


def _descriptions_zh(path: Path, given: dict[str, object], columns: dict[str, str]) -> dict[str, str]:
    """The sidecar's Chinese column descriptions, in column order; every column must have one."""
    texts = {name: " ".join(str(text or "").split()) for name, text in given.items()}
    unknown = sorted(set(texts) - set(columns))
    if unknown:
        raise CatalogError(f"{path}: descriptions_zh given for columns it does not document: {unknown}")
    undescribed = sorted(c for c in columns if not texts.get(c))
    if undescribed:
        raise CatalogError(
            f"{path}: no Chinese description for {undescribed}: add them to the sidecar's descriptions_zh"
        )
    return {name: texts[name] for name in columns}


@cache
def table_docs(models_dir: Path = MODELS_DIR) -> tuple[TableDoc, ...]:
    """Every sidecar of the catalog schemas, by schema and table name."""
    return tuple(
        load_table_doc(path)
        for schema in CATALOG_SCHEMAS
        for path in sorted((models_dir / schema).glob("*.yml"))
    )


def table_doc(relation: str) -> TableDoc:
    for doc in table_docs():
        if doc.relation == relation:
            return doc
    schema, _, table = relation.partition(".")
    raise CatalogError(f"{relation}: no sidecar (expected models/{schema}/{table}.yml)")
