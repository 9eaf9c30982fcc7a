"""SQL models: one plain DuckDB `select` per table in models/<schema>/<table>.sql, with a YAML
sidecar (description, grain, key, dependencies, a description for every column).

A model's select reads one census year, given as the parameter `$census_year`; running it
replaces that year of the table (delete, then insert) inside one transaction (the census-year
run's). A model whose sidecar says `cross_year: true` compares the year with earlier ones: it is
an all-years model, rebuilt once per run for every loaded year from the earliest the run loads. A table built by an
earlier version of its model, with other columns, is rebuilt for every year it holds before the
next census-year load begins (upgrade_tables), and a model new to the warehouse is built for every
year already loaded.

A model whose sidecar says `view: true` is a view: its select (over all years, no `$census_year`)
is the view's definition, created or replaced by `create_view`; it stores no rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from contracts import yaml_files
from pipelines.lib.catalog import CatalogError, load_table_doc
from pipelines.lib.loads.run_write import loaded_years
from pipelines.lib.queries import Identifier, ModelSql, sql
from pipelines.lib.warehouse import (
    create_table_of,
    delete_year,
    document,
    scalar,
    table_columns,
    table_exists,
    transaction,
)

MODEL_LAYERS = ("staging", "marts", "monitoring")


class ModelError(RuntimeError):
    """A model that cannot run as written; the message says which and why."""


@dataclass(frozen=True)
class SqlModel:
    schema: str
    table: str
    sql: str
    description: str
    grain: str
    unique_key: tuple[str, ...]
    depends_on: tuple[str, ...]
    columns: dict[str, str]
    path: Path
    cross_year: bool = False
    """Its rows of a year compare that year with earlier ones: an all-years model (see above)."""
    view: bool = False
    """A view over stored tables (see above)."""

    @property
    def relation(self) -> str:
        return f"{self.schema}.{self.table}"


def load_model(sql_path: Path) -> SqlModel:
    sidecar_path = sql_path.with_suffix(".yml")
    if not sidecar_path.exists():
        raise ModelError(f"{sql_path}: no YAML sidecar ({sidecar_path.name})")
    try:
        doc = load_table_doc(sidecar_path)
    except CatalogError as exc:
        raise ModelError(str(exc)) from None
    with open(sidecar_path, encoding="utf-8") as f:
        depends_on = (yaml_files.safe_load(f) or {}).get("depends_on")
    if not depends_on:
        raise ModelError(f"{sidecar_path}: missing 'depends_on'")
    return SqlModel(
        schema=doc.schema,
        table=doc.table,
        sql=sql_path.read_text(encoding="utf-8"),
        description=doc.description,
        grain=doc.grain,
        unique_key=doc.unique_key,
        depends_on=tuple(depends_on),
        columns=doc.columns,
        path=sql_path,
        cross_year=doc.cross_year,
        view=doc.view,
    )


def load_models(models_dir: Path) -> list[SqlModel]:
    """Every model under models/<layer>/, in dependency order."""
    models = [
        load_model(path) for layer in MODEL_LAYERS for path in sorted((models_dir / layer).glob("*.sql"))
    ]
    by_relation = {m.relation: m for m in models}
    ordered: list[SqlModel] = []
    visiting: set[str] = set()

    def visit(model: SqlModel) -> None:
        if model in ordered:
            return
        if model.relation in visiting:
            raise ModelError(f"dependency cycle through {model.relation}")
        visiting.add(model.relation)
        for dep in model.depends_on:
            if dep in by_relation:
                visit(by_relation[dep])
        visiting.discard(model.relation)
        ordered.append(model)

    for model in models:
        visit(model)
    return ordered


def output_columns(con: duckdb.DuckDBPyConnection, model: SqlModel, census_year: int) -> list[str]:
    params = {} if model.view else {"census_year": census_year}
    cursor = con.execute(sql("warehouse/model_columns", model=ModelSql(model.sql)), params)
    names = [d[0] for d in cursor.description]
    cursor.fetchall()  # DuckDB 2 wants every result finished before the next statement
    return names


def upgrade_tables(con: duckdb.DuckDBPyConnection, models: list[SqlModel]) -> list[str]:
    """Bring the warehouse's tables in line with this version's models, in dependency order, so a
    new version of junheng needs no hand rebuild (every loaded year's inputs are in the warehouse):

    - a table built by an earlier version of its model, with other columns, is built anew for every
      census year it holds;
    - a model new to a warehouse that holds loaded years is built for every one of them;
    - a view model whose name an earlier version used for a table becomes the view (after the
      tables it reads were brought in line);
    - a table whose sidecar now describes it or its columns in other words gets those comments
      (run_model writes them only on the table it creates).

    Run in a census-year run's first writing step (Warehouse.run_write), inside the run's
    transaction. Returns one line per table rebuilt."""
    done = []
    loaded: list[int] | None = None
    for model in models:
        relation, select = Identifier(model.relation), ModelSql(model.sql)
        if model.view:
            if relation_kind(con, model.relation) == "BASE TABLE":
                create_view(con, model)
                done.append(
                    f"{model.relation}: 已改为视图 / now a view over the tables it reads (an earlier "
                    "version stored it as a table)"
                )
            continue
        probe = con.cursor()  # its own transaction: a model that cannot bind leaves the run's intact
        try:
            columns = output_columns(probe, model, 0)  # the columns only: no row is read
        except duckdb.Error:
            continue  # the model cannot run as things are; its own step fails and says why
        finally:
            probe.close()
        existing = table_columns(con, model.relation)  # none: there is no such table yet
        if existing:
            if existing == columns:
                document(con, model.relation)  # a newer sidecar's descriptions (only those that differ)
                continue  # (every step of a run checks this: reading the years only when needed)
            years = [
                int(y) for (y,) in con.execute(sql("warehouse/table_years", relation=relation)).fetchall()
            ]
            added = [c for c in columns if c not in existing]
            dropped = [c for c in existing if c not in columns]
            why = f"a newer version of the model: columns added {added}, dropped {dropped}"
            what = "表结构已更新"
        else:
            if loaded is None:
                loaded = loaded_years(con)
            if not loaded:
                continue  # a fresh warehouse: the run's steps build it
            years, why = loaded, "a model new to this warehouse"
            what = "新增的表"
        with transaction(con):
            if table_exists(con, model.schema, model.table):
                con.execute(sql("warehouse/drop_model_table", relation=relation))
            create_table_of(
                con, model.relation, sql("warehouse/model_columns", model=select), {"census_year": 0}
            )
            for year in years:
                con.execute(
                    sql("warehouse/insert_model_year", relation=relation, model=select), {"census_year": year}
                )
            document(con, model.relation)
        done.append(
            f"{model.relation}: {what}，{len(years)} 个普查年度已重新计算 / built anew for census years "
            f"{', '.join(map(str, years)) or 'none'} ({why})"
        )
    return done


def relation_kind(con: duckdb.DuckDBPyConnection, relation: str) -> str | None:
    """'BASE TABLE', 'VIEW', or None when there is no such relation."""
    schema, table = relation.split(".")
    rows = con.execute(sql("warehouse/relation_kind"), {"schema": schema, "table": table}).fetchall()
    return str(rows[0][0]) if rows else None


def create_view(con: duckdb.DuckDBPyConnection, model: SqlModel) -> None:
    """Create or replace a view model (dropping a table an earlier version stored under its name),
    with its sidecar's comments; checks that the sidecar documents exactly its columns."""
    if not model.view:
        raise ModelError(f"{model.path.name}: not a view model (its sidecar lacks `view: true`)")
    _check_columns(model, output_columns(con, model, 0))
    relation = Identifier(model.relation)
    with transaction(con):
        if relation_kind(con, model.relation) == "BASE TABLE":
            con.execute(sql("warehouse/drop_model_table", relation=relation))
        con.execute(sql("warehouse/create_view", relation=relation, model=ModelSql(model.sql)))
        document(con, model.relation)


def _check_columns(model: SqlModel, columns: list[str]) -> None:
    undocumented = [c for c in columns if c not in model.columns]
    stale = [c for c in model.columns if c not in columns]
    if undocumented or stale:
        raise ModelError(
            f"{model.path.name}: sidecar and SQL disagree; undocumented columns {undocumented}, "
            f"documented but not produced {stale}"
        )
    if "census_year" not in columns:
        raise ModelError(f"{model.path.name}: every model must have a census_year column")


def run_model(con: duckdb.DuckDBPyConnection, model: SqlModel, census_year: int) -> int:
    """Replace `census_year` of the model's table with the model's rows; returns the row count."""
    if model.view:
        raise ModelError(f"{model.path.name}: a view model stores no rows (create_view makes it)")
    params = {"census_year": census_year}
    columns = output_columns(con, model, census_year)
    _check_columns(model, columns)
    relation, select = Identifier(model.relation), ModelSql(model.sql)
    with transaction(con):
        existing = table_columns(con, model.relation)  # none: there is no such table yet
        if not existing:
            create_table_of(con, model.relation, sql("warehouse/model_columns", model=select), params)
            document(con, model.relation)
        elif existing != columns:
            raise ModelError(
                f"{model.relation}: the model's columns changed since the table was built "
                f"({existing} -> {columns}); the census-year job rebuilds it before a load "
                f"(upgrade_tables)"
            )
        # (an existing table keeps its comments: upgrade_tables brings them in line with the
        # sidecar once per run, rather than every year of every table checking them again)
        delete_year(con, model.relation, census_year)
        con.execute(sql("warehouse/insert_model_year", relation=relation, model=select), params)
    return year_rows(con, model, census_year)


def build_year(con: duckdb.DuckDBPyConnection, model: SqlModel, census_year: int) -> int:
    """Build `census_year` of a model: replace the year's rows of a table model (run_model), or
    create or replace a view model (create_view). Returns the year's row count."""
    if model.view:
        create_view(con, model)
        return year_rows(con, model, census_year)
    return run_model(con, model, census_year)


def year_rows(con: duckdb.DuckDBPyConnection, model: SqlModel, census_year: int) -> int:
    """The rows of `census_year` in the model's table (or view)."""
    count = scalar(
        con, sql("warehouse/count_year", relation=Identifier(model.relation)), {"census_year": census_year}
    )
    return int(count or 0)  # type: ignore[call-overload]
