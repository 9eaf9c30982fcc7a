"""Shared test helpers: canonical census rows and a small real DuckDB warehouse."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import pytest

from contracts.columns import CENSUS_COLUMN_NAMES, CENSUS_DTYPES, CHECKLIST_MEASURES, STAGE_MEASURES
from pipelines.lib.catalog import table_doc
from pipelines.lib.ingest.census_ingest import REJECTION_SCHEMA
from pipelines.lib.paths import DEFAULTS, MODELS_DIR
from pipelines.lib.reference import registry as reference
from pipelines.lib.reference.alert_rules import load_rules, rule_tables
from pipelines.lib.reference.checklists import checklist_tables, load_checklists
from pipelines.lib.reference.standards import Standard, load_standards, standard_tables
from pipelines.lib.sql_models import build_year, load_models
from pipelines.lib.warehouse import connect, create_table, delete_year, replace_census_year, replace_table

# Tests never write runs into a developer's .dagster_home: runs without an explicit instance use
# a throw-away one (pipelines.runner.default_instance).
os.environ.pop("DAGSTER_HOME", None)

# Nor into the repository's warehouse/ folder: every JUNHENG_* default points into a scratch folder.
# Tests that look at these files pass their own paths explicitly.
_SCRATCH = Path(tempfile.mkdtemp(prefix="junheng-tests-"))
for _variable, _default in DEFAULTS.items():
    os.environ[_variable] = str(_SCRATCH / Path(_default).relative_to("warehouse"))

REJECTIONS_EMPTY = pl.DataFrame(schema=REJECTION_SCHEMA)

# The order in which xdist hands out test files (`make test` runs `--dist loadfile
# --no-loadscope-reorder`): the files that build a shared province first, each beside a long file
# that needs none, then the rest longest first, so that no worker waits on another's build and no
# long file starts last. Measured 2026-12-07 (seconds on an idle 2-core machine, whole file):
# analyst_examples 107 (builds the demo), bench 146 (105 alone since its warm launcher),
# environment_faults 243 (builds the fault province), fault_kills 170, faults 113, corrections 83
# (builds the nine counties), shapes 77.
# Files not named here follow, in the order pytest collects them.
LONGEST_FIRST = (
    "integration/test_analyst_examples.py",
    "integration/test_bench.py",
    "integration/test_environment_faults.py",
    "integration/test_fault_kills.py",
    "integration/test_faults.py",
    "integration/test_corrections.py",
    "integration/test_shapes.py",
    "integration/test_replace_semantics.py",
    "integration/test_cli.py",
    "integration/test_alerts.py",
    "integration/test_quality.py",
    "integration/test_national.py",
    "integration/test_pipeline.py",
    "integration/test_publish.py",
    "unit/test_synthetic.py",
    "unit/test_school_compliance.py",
    "integration/test_messy.py",
    "integration/test_claims.py",
    "unit/test_school_sections.py",
    "unit/test_official_boundaries.py",
    "unit/test_backsliding_rules.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the test files in LONGEST_FIRST's order (a stable sort: tests keep theirs in a file)."""

    def rank(item: pytest.Item) -> int:
        path = item.path.as_posix()
        return next((i for i, name in enumerate(LONGEST_FIRST) if path.endswith(name)), len(LONGEST_FIRST))

    items.sort(key=rank)


def census_row(**overrides) -> dict:
    """A valid canonical census row of a public, county-run primary school (211)."""
    row = {name: 0 for name in CENSUS_COLUMN_NAMES}
    row.update(dict.fromkeys(CHECKLIST_MEASURES))  # optional: a file without them (the checklist's)
    row.update(
        census_year=2024,
        school_id="2190000001",
        school_name="测试小学",
        county_code="900101",
        school_type_code="211",
        urban_rural_code="121",
        ownership="public",
        is_county_run=True,
        parent_school_id=None,
        primary_students=500,
        primary_classes=12,
        primary_teachers=30,
        primary_teachers_above_degree=25,
        primary_teachers_senior_title=12,
        primary_key_teachers=6,
        primary_pe_art_teachers=5,
        max_class_size=45,
        teaching_aux_area_m2=3000.0,
        indoor_sports_area_m2=200.0,
        sports_ground_area_m2=4000.0,
        equipment_value_yuan=1_000_000.0,
        computers=60,
        books=15000,
        multimedia_classrooms=12,
        music_rooms=1,
        music_room_area_m2=96.0,
        art_rooms=1,
        art_room_area_m2=90.0,
    )
    row.update(overrides)
    return row


def empty_stage(stage: str) -> dict:
    """Overrides for a stage with no pupils, classes or teachers (e.g. the primary part of a 341)."""
    return {f"{stage}_{measure}": 0 for measure in STAGE_MEASURES}


def census_frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(
        [{c: r.get(c) for c in CENSUS_COLUMN_NAMES} for r in rows],
        schema={c: CENSUS_DTYPES[c] for c in CENSUS_COLUMN_NAMES},
    )


def census_year_frame(rows: list[dict], census_year: int) -> pl.DataFrame:
    """Census rows as the ingest loads them: typed, with the census year and lineage columns."""
    return census_frame(rows).with_columns(
        pl.lit(census_year, pl.Int32).alias("census_year"),
        pl.lit("test.csv").alias("source_file"),
        pl.lit("0" * 64).alias("source_sha256"),
        pl.int_range(2, len(rows) + 2, dtype=pl.Int64).alias("source_row"),
        pl.lit("test-load").alias("load_id"),
    )


@pytest.fixture(scope="session")
def standards() -> dict[str, Standard]:
    return {s.standard_id: s for s in load_standards(MODELS_DIR / "standards")}


BUILD_EVERY_MODEL = os.environ.get("JUNHENG_TESTS_BUILD_EVERY_MODEL") == "1"
"""`make test` sets it: every load into a tiny warehouse builds every model at once, so every
model runs on every test's rows. `make check` leaves it unset: a load builds a model when a test
reads it (TinyWarehouse)."""


class TinyWarehouse:
    """A real DuckDB file with the reference tables, fed hand-made census rows.

    A load builds the models of its census year when a test reads them: `table(relation)` builds
    the models the relation is built from (its sidecars' depends_on), and `con` builds every model
    first, for a test that reads the tables its own way. A next load or a change of standards
    builds everything the last load left first, so each table is what loading the rows and
    building every model in turn would give. With BUILD_EVERY_MODEL (`make test`), a load builds
    every model at once."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self._con = con
        self.models = {m.relation: m for m in load_models(MODELS_DIR)}  # in build order
        self._pending: dict[int, set[str]] = {}  # per census year: the models not built yet

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The connection, every model built for the years loaded."""
        self.build()
        return self._con

    def use_standards(self, standards: list[Standard]) -> None:
        """Replace the standards tables, e.g. with a provincial variant."""
        self.build()
        for table, frame in standard_tables(standards).items():
            replace_table(self._con, f"marts.{table}", frame)

    def load(self, rows: list[dict], census_year: int = 2024) -> None:
        self.build()  # what an earlier load left, before these rows arrive
        frame = census_year_frame(rows, census_year)
        replace_census_year(self._con, census_year, frame, REJECTIONS_EMPTY, "test-load")
        for code in frame["county_code"].unique().to_list():  # the registry knows every county loaded
            self._con.execute(
                "insert into marts.dim_counties select $c, $c, left($c, 4), left($c, 4), left($c, 2), '测试省' "
                "where $c not in (select county_code from marts.dim_counties)",
                {"c": code},
            )
        self._pending[census_year] = set(self.models)
        if BUILD_EVERY_MODEL:
            self.build()

    def build(self, relation: str | None = None) -> None:
        """Build the models the last load left: all of them, or those `relation` is built from."""
        wanted = set(self.models) if relation is None else self.upstream(relation)
        for census_year, pending in self._pending.items():
            for model in self.models.values():
                if model.relation in pending and model.relation in wanted:
                    build_year(self._con, model, census_year)
                    pending.discard(model.relation)
        self._pending = {year: pending for year, pending in self._pending.items() if pending}

    def upstream(self, relation: str) -> set[str]:
        """The model `relation` and every model it is built from (none when it is no model)."""
        if relation not in self.models:
            return set()
        found = {relation}
        for dependency in self.models[relation].depends_on:
            found |= self.upstream(dependency)
        return found

    def table(self, relation: str, where: str = "true") -> pl.DataFrame:
        from pipelines.lib.warehouse import query_frame

        self.build(relation)
        return query_frame(self._con, f"select * from {relation} where {where}")


@pytest.fixture(scope="session")
def tiny_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference tables of a tiny warehouse, built once per worker: each test copies the file."""
    folder = tmp_path_factory.mktemp("tiny-template")
    with connect(folder / "tiny.duckdb") as con:
        for table, frame in standard_tables(load_standards(MODELS_DIR / "standards")).items():
            replace_table(con, f"marts.{table}", frame)
        replace_table(con, "marts.dim_school_types", reference.school_types_frame())
        replace_table(con, "marts.dim_urban_rural", reference.urban_rural_frame())
        for table, frame in rule_tables(load_rules(MODELS_DIR / "rules")).items():
            replace_table(con, f"marts.{table}", frame)
        for table, frame in checklist_tables(load_checklists(MODELS_DIR / "checklists")).items():
            replace_table(con, f"marts.{table}", frame)
        no_counties = pl.DataFrame(schema=dict.fromkeys(table_doc("marts.dim_counties").columns, pl.String))
        replace_table(con, "marts.dim_counties", no_counties)
        replace_table(con, "marts.certifications", reference.read_certifications(folder, [], []))
        # built in Python by the alert asset; the summaries of monitoring read it (empty here)
        create_table(con, "monitoring.backsliding_alerts")
        # every model's table (and view), empty, with its comments: as after a first load, so a
        # test's load only inserts its rows (creating and commenting ~50 tables took a third of it)
        replace_census_year(con, 0, census_year_frame([], 0), REJECTIONS_EMPTY, "template")
        models = load_models(MODELS_DIR)
        for model in models:
            build_year(con, model, 0)
        for model in models:  # (a summary has a row for a year without schools)
            if not model.view:
                delete_year(con, model.relation, 0)
    return folder / "tiny.duckdb"


@pytest.fixture
def tiny_warehouse(tiny_template: Path, tmp_path: Path) -> Iterator[TinyWarehouse]:
    """A real DuckDB file of its own with the reference tables (a copy of tiny_template)."""
    import shutil

    shutil.copyfile(tiny_template, tmp_path / "tiny.duckdb")
    with connect(tmp_path / "tiny.duckdb") as con:
        yield TinyWarehouse(con)


@dataclass(frozen=True)
class DemoBuild:
    """What `junheng demo` builds, in a temporary folder: the tests' stand-in for `make demo`."""

    root: Path
    landing: Path
    warehouse: Path
    published: Path
    reports: Path
    output: str


def shared_build(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], str]
) -> tuple[Path, str]:
    """A folder built once per test session by `build(folder)` (which returns a text to keep, e.g.
    the command's output), shared by every xdist worker: the first to take the lock builds it in
    the session's common temporary folder, the others wait and read it. Returns the folder and the
    text. Treat the folder as read-only; copy what a test changes."""
    import fcntl
    import shutil

    worker = os.environ.get("PYTEST_XDIST_WORKER")
    shared = tmp_path_factory.getbasetemp().parent if worker else tmp_path_factory.getbasetemp()
    root = shared / f"{name}-shared"
    done = shared / f"{name}-done.txt"  # written last: the build is whole when it exists
    with open(shared / f"{name}-shared.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or the worker dies
        if not done.exists():
            if root.exists():  # a worker died half-way through building it
                shutil.rmtree(root)
            root.mkdir()
            done.write_text(build(root), encoding="utf-8")
    return root, done.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoBuild:
    """The demo province built once per test session with `junheng demo`'s defaults (about a
    minute), shared by the xdist workers (shared_build)."""
    import contextlib
    import io

    from pipelines.cli import main

    def build(root: Path) -> str:
        out = io.StringIO()
        args = [
            "demo",
            *("--landing", str(root / "landing"), "--warehouse", str(root / "junheng.duckdb")),
            *("--published", str(root / "published" / "junheng.duckdb"), "--reports", str(root / "reports")),
        ]
        with contextlib.redirect_stdout(out):
            code = main(args)
        assert code == 0, out.getvalue()
        return out.getvalue()

    root, output = shared_build(tmp_path_factory, "demo", build)
    return DemoBuild(
        root=root,
        landing=root / "landing",
        warehouse=root / "junheng.duckdb",
        published=root / "published" / "junheng.duckdb",
        reports=root / "reports",
        output=output,
    )


@pytest.fixture(scope="session")
def golden_standards() -> dict[str, Standard]:
    """Both national standards built from the hand-typed official numbers (tests/golden), not the YAML."""
    from tests.golden.official_numbers import STANDARD_IDS, golden_standard

    return {standard_id: golden_standard(standard_id) for standard_id in STANDARD_IDS}


def warehouse_tables(
    warehouse: Path, schemas: tuple[str, ...], drop: tuple[str, ...] = (), skip: tuple[str, ...] = ()
) -> dict[str, pl.DataFrame]:
    """Every table of `schemas` in a warehouse file (but the `skip` ones), without the `drop`
    columns, rows in a fixed order: for comparing two warehouses table by table."""
    from pipelines.lib.warehouse import query_frame

    with connect(warehouse, read_only=True) as con:
        names = query_frame(
            con,
            "select schema_name || '.' || table_name as t from duckdb_tables() "
            f"where schema_name in {schemas} order by 1",
        )["t"].to_list()
        out = {}
        for name in (n for n in names if n not in skip):
            frame = query_frame(con, f"select * from {name}").drop(drop, strict=False)
            out[name] = frame.sort(frame.columns)
        return out
