"""What the fault tests share (test_faults.py, test_fault_kills.py, test_environment_faults.py):
the small province they load (four counties, 2021-2023, and the same with one county's 2023
corrected), its description as a build, and digests to compare two warehouses or snapshots by."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl

from bench import warm
from bench.warm import WarmProcess
from pipelines.cli import main
from pipelines.lib.loads.run_write import history_tables
from pipelines.lib.paths import REPO_ROOT
from pipelines.lib.publish.snapshot import settle
from pipelines.lib.synthetic.province import generate
from pipelines.runner import run_pipeline

YEARS = [2021, 2022, 2023]
RELOADED = 2023
RUN_COLUMNS = ("load_id", "loaded_at")
"""Columns that name the run that wrote a row; they differ between two builds of the same data."""


@dataclass(frozen=True)
class Build:
    landing: Path
    warehouse: Path
    published: Path
    reports: Path
    home: Path | None = None

    def args(self, *more: str) -> list[str]:
        return [
            *("run", "--landing", str(self.landing), "--warehouse", str(self.warehouse)),
            *("--published", str(self.published), "--reports", str(self.reports), *more),
        ]


@dataclass(frozen=True)
class FaultProvince:
    landing: Path
    """The files as first loaded."""
    before: Build
    """Those files loaded and published: what the analysts have before the reload."""
    right: Build
    """The same with one county's 2023 corrected, loaded from scratch."""


def build_fault_province(root: Path) -> str:
    """Generate the province under `root` and build it twice (see FaultProvince)."""
    province = fault_province_at(root)
    generate(province.landing, counties=4, years=YEARS, seed=21, progress=lambda _: None)
    shutil.copytree(province.landing, province.right.landing)
    correct_one_county(province.right.landing / str(RELOADED))
    for done in (province.before, province.right):
        run_pipeline(
            done.landing, done.warehouse, done.published, done.reports, YEARS, progress=lambda _: None
        )
    return ""


def fault_province_at(root: Path) -> FaultProvince:
    def build(name: str, landing: Path) -> Build:
        return Build(
            landing, root / name / "w.duckdb", root / name / "pub" / "junheng.duckdb", root / name / "reports"
        )

    return FaultProvince(
        root / "landing", build("before", root / "landing"), build("right", root / "corrected")
    )


def copy_build(built: Build, to: Build) -> None:
    """Put a built warehouse, its published folder and its reports at `to`'s paths (the landing
    folder is the caller's). The snapshot's views name their Parquet files by full path, so the
    catalogs are not copied: `settle` writes the latest version's catalog again for the new folder
    and puts it in place, as the next run would after a run that committed and was stopped."""
    shutil.copyfile(built.warehouse, to.warehouse)
    to.published.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(
        built.published.parent,
        to.published.parent,
        dirs_exist_ok=True,  # the folder may be a file system the test mounted
        ignore=shutil.ignore_patterns("*.duckdb", "*.wal"),
    )
    shutil.copytree(built.reports, to.reports)
    with duckdb.connect(str(to.warehouse)) as con:
        settle(con, to.published)


def correct_one_county(year_dir: Path) -> None:
    """A county's corrected return: books changed for half of its schools."""
    extract = sorted(year_dir.glob("*.csv"))[0]
    frame = pl.read_csv(extract, infer_schema=False)
    county = frame["county_code"][0]
    half = (pl.col("county_code") == county) & (pl.int_range(pl.len()) % 2 == 0)
    corrected = (
        pl.when(half).then(pl.col("books").cast(pl.Int64) * 3 // 2).otherwise(pl.col("books").cast(pl.Int64))
    )
    frame.with_columns(corrected.cast(pl.String).alias("books")).write_csv(extract)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def yearly_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every table (or, in the snapshot, view) with a census_year column, but the load logs."""
    rows = con.execute(
        "select distinct schema_name || '.' || table_name from duckdb_columns() "
        "where column_name = 'census_year' and database_name = current_database() "
        "and schema_name in ('raw', 'staging', 'marts', 'monitoring', 'audit') order by 1"
    ).fetchall()
    return [t for (t,) in rows if t not in history_tables()]


def digests(database: Path) -> dict[str, str]:
    """A content digest of every yearly table (all but the load logs), per census year."""
    out = {}
    with duckdb.connect(str(database), read_only=True) as con:
        for table in yearly_tables(con):
            if table == "audit.revisions":  # a log of loads too: a reload records one, a clean build none
                continue
            schema, name = table.split(".")
            columns = [
                f'"{c}"'
                for (c,) in con.execute(
                    "select column_name from duckdb_columns() where schema_name = $s and table_name = $t "
                    "order by column_index",
                    {"s": schema, "t": name},
                ).fetchall()
                if c not in RUN_COLUMNS
            ]
            for year, digest, rows in con.execute(
                f"select census_year, sum(hash({', '.join(columns)})), count(*) from {table} group by 1 order by 1"
            ).fetchall():
                out[f"{table}/{year}"] = f"{rows}:{digest}"
    return out


def schools(database: Path) -> dict[int, int]:
    with duckdb.connect(str(database), read_only=True) as con:
        rows = con.execute(
            "select census_year, count(*) from raw.census_schools group by 1 order by 1"
        ).fetchall()
    return dict(rows)


def new_instance(home: Path) -> Path:
    """An on-disk Dagster instance with the project's dagster.yaml, created once (as the daemon or
    `dagster instance migrate` would), as cron's `junheng run` finds it."""
    home.mkdir()
    shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(home)):
        pass
    return home


def cli(setup: Build, killer: str | None, *args: str, kill_at: str | None = None) -> WarmProcess:
    """`junheng run` in its own process, on the test's instance; with `kill_at`, the script
    `killer` runs it and kills it there (test_fault_kills.py). The process is forked from a warm
    launcher (bench/warm.py) that has done the imports once: a real process of its own, killed
    for real, without 5 CPU-seconds of imports each time. test_cli_errors.py starts cold ones."""
    env = {**os.environ, "DAGSTER_HOME": str(setup.home)}
    if kill_at:
        env["KILL_AT"] = kill_at
    command = ["-c", killer] if kill_at and killer else ["-m", "pipelines.cli"]
    return warm_process([*command, *setup.args(*args)], env, setup.warehouse.parent)


def warm_process(argv: list[str], env: dict[str, str], cwd: Path) -> WarmProcess:
    """`python <argv>` forked from this worker's warm launcher, its output and errors read as text."""
    return warm.shared().popen(
        argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finished(process: WarmProcess) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=600)
    return process.returncode, out, err


class Hung(Exception):
    """A run in this process did not finish in time (e.g. it waits for a dead run's pool slot)."""


def run_in_process(setup: Build, capsys, *args: str, seconds: int = 300) -> tuple[int, str, str]:
    """`junheng run` in this process, failing the test instead of hanging it if it never ends."""

    def hung(signum, frame):
        raise Hung(f"junheng run {' '.join(args)} still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(seconds)
    try:
        code = main(setup.args(*args))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# Runs `junheng run`, but the process SIGKILLs itself at KILL_AT during the census-year run
KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from pipelines.cli import main

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    def kill_after(module, name, when=lambda *args: True):
        original = getattr(module, name)

        def wrapper(*args, **kwargs):
            result = original(*args, **kwargs)
            if when(*args):
                die()
            return result

        setattr(module, name, wrapper)

    where = os.environ["KILL_AT"]
    if where == "ingest":  # the year's raw rows replaced and committed, nothing built on them yet
        import pipelines.defs.ingest.assets as ingest
        kill_after(ingest, "replace_census_year")
    elif where == "model":  # staging and the first marts rebuilt, the rest still the old year's
        import pipelines.defs.models.factory as factory
        kill_after(factory, "build_year", lambda con, model, year: model.relation == "marts.county_indicator_cv")
    elif where == "alerts":  # every model and the alerts rebuilt, not yet checked or published
        import pipelines.lib.monitoring.alerts as alerts
        kill_after(alerts, "replace_year")
    elif where == "quality":  # the staged copy made, the data-quality suites running on it
        import pipelines.defs.publish.assets as publish_asset
        publish_asset.run_suites = die
    elif where == "parquet":  # every step done, the Parquet files of the new version half-written
        import pipelines.lib.publish.snapshot as publish
        written = []
        original_write = publish._write_parquet

        def write_parquet(*args):
            if len(written) == 10:
                die()
            written.append(True)
            return original_write(*args)

        publish._write_parquet = write_parquet
    elif where == "staged":  # the Parquet files and the catalog written and checked, not committed
        import pipelines.lib.publish.snapshot as publish
        kill_after(publish, "write_catalog")
    elif where == "commit":  # committed in the working file, the catalog not yet swapped in
        import pipelines.lib.loads.run_write as run_write
        kill_after(run_write.RunWrite, "commit")
    sys.exit(main(sys.argv[1:]))
    """
)
KILL_POINTS = ["ingest", "model", "alerts", "quality", "parquet", "staged", "commit"]
