"""Faults during loads, with real processes, signals, locks and file systems, and a real on-disk
Dagster instance with the project's dagster.yaml (pool `warehouse` of 1) and no daemon: the way a
provincial team runs `junheng run` from cron or a terminal.

- A reload killed (SIGKILL) in any step, before or after it commits: the next run clears the dead
  run and its pool slot (and puts a committed version in place, or drops the files of one that
  never committed), and finishes; every table then equals a clean build.
- A year killed half-way, or refused by the data-quality checks, never reaches the snapshot, not
  even when another year is published after it.
- A reader holding the working file stops a run with one line; one holding the snapshot does not.
- Two loads at once: the second waits for the first, saying for whom, or gives up with exit 75.
- A full disk or a read-only file system at publish time leaves the old snapshot, with a clear error.

The kills are real: the run process sends itself SIGKILL at a chosen point (a small wrapper
around one function of the pipeline), so the point is exact and the test is repeatable.
"""

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from pipelines.cli import main
from pipelines.defs.publish.assets import PUBLISHED_KEY
from pipelines.lib.loads.run_write import history_tables
from pipelines.lib.paths import REPO_ROOT
from pipelines.lib.synthetic.province import generate
from pipelines.runner import run_census_year, run_pipeline, warehouse_config

pytestmark = pytest.mark.integration

YEARS = [2021, 2022, 2023]
RELOADED = 2023

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
        kill_after(factory, "run_model", lambda con, model, year: model.relation == "marts.county_indicator_cv")
    elif where == "alerts":  # every model and the alerts rebuilt, not yet checked or published
        import pipelines.defs.monitoring.assets as monitoring
        kill_after(monitoring, "replace_year")
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

RUN_COLUMNS = ("load_id", "loaded_at")
"""Columns that name the run that wrote a row; they differ between two builds of the same data."""


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


def build(landing: Path, root: Path) -> Build:
    done = Build(landing, root / "w.duckdb", root / "pub" / "junheng.duckdb", root / "reports")
    run_pipeline(done.landing, done.warehouse, done.published, done.reports, YEARS, progress=lambda _: None)
    return done


@pytest.fixture(scope="module")
def province(tmp_path_factory):
    """The files as first loaded, the same with one county's 2023 corrected, and two clean builds."""
    root = tmp_path_factory.mktemp("faults")
    landing, corrected = root / "landing", root / "corrected"
    generate(landing, counties=4, years=YEARS, seed=21, progress=lambda _: None)
    shutil.copytree(landing, corrected)
    correct_one_county(corrected / str(RELOADED))
    before = build(landing, root / "before")  # what the analysts have before the reload
    right = build(corrected, root / "right")  # the corrected files loaded from scratch
    return before, right


def new_instance(home: Path) -> Path:
    """An on-disk Dagster instance with the project's dagster.yaml, created once (as the daemon or
    `dagster instance migrate` would), as cron's `junheng run` finds it."""
    home.mkdir()
    shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(home)):
        pass
    return home


@pytest.fixture
def loaded(province, tmp_path, monkeypatch):
    """2021-2023 loaded and published, the corrected 2023 files in the landing folder: a reload."""
    before, right = province
    shutil.copyfile(before.warehouse, tmp_path / "w.duckdb")
    shutil.copytree(before.published.parent, tmp_path / "pub")
    home = new_instance(tmp_path / "dagster_home")
    monkeypatch.setenv("DAGSTER_HOME", str(home))  # for the runs this test makes in-process
    setup = Build(
        right.landing, tmp_path / "w.duckdb", tmp_path / "pub" / "junheng.duckdb", tmp_path / "reports", home
    )
    return setup, before, right


def cli(setup: Build, *args: str, kill_at: str | None = None, **popen) -> subprocess.Popen:
    """`junheng run` in its own process, on the test's instance."""
    env = {**os.environ, "DAGSTER_HOME": str(setup.home)}
    if kill_at:
        env["KILL_AT"] = kill_at
    command = ["-c", KILLER] if kill_at else ["-m", "pipelines.cli"]
    return subprocess.Popen(
        [sys.executable, *command, *setup.args(*args)],
        env=env,
        cwd=setup.warehouse.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def finished(process: subprocess.Popen) -> tuple[int, str, str]:
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


@pytest.mark.parametrize("kill_at", KILL_POINTS)
def test_a_reload_killed_in_any_step_is_undone_and_the_rerun_equals_a_clean_build(loaded, kill_at, capsys):
    setup, before, right = loaded
    snapshot = sha256(setup.published)
    code, _, err = finished(cli(setup, "--years", str(RELOADED), kill_at=kill_at))
    assert code == -signal.SIGKILL, err[-2000:]
    assert sha256(setup.published) == snapshot  # killed before the rename, whatever the step

    # killed before its commit, the run left the working file as it was: it wrote in one transaction
    if kill_at != "commit":
        assert digests(setup.warehouse) == digests(before.warehouse)

    # the next run on the same instance neither hangs on the dead run's pool slot nor keeps its
    # files: it says what it cleared, then loads the year
    code, out, err = run_in_process(setup, capsys, "--years", str(RELOADED))
    assert code == 0, err
    assert "cleared a run whose process is gone: census year 2023" in out
    # a kill after the commit leaves a whole, checked version: the next run puts it in place first
    assert ("published version" in out) == (kill_at == "commit")
    # a kill while the new version's files were written leaves files no version names: dropped
    assert ("published files no kept version names" in out) == (kill_at in ("quality", "parquet", "staged"))
    assert digests(setup.warehouse) == digests(right.warehouse)
    assert digests(setup.published) == digests(right.published)
    with dg.DagsterInstance.from_config(str(setup.home)) as instance:
        statuses = sorted(r.status.value for r in instance.get_runs() if r.job_name == "census_year_job")
        assert statuses == ["FAILURE", "SUCCESS"]  # the dead run marked failed, the rerun done
        assert not instance.event_log_storage.get_concurrency_info("warehouse").claimed_slots


def test_a_year_killed_half_way_never_reaches_the_snapshot_even_when_another_year_is_published(
    loaded, capsys
):
    setup, before, _ = loaded
    code, _, err = finished(cli(setup, "--years", str(RELOADED), kill_at="model"))
    assert code == -signal.SIGKILL, err[-2000:]
    # 2023's raw rows and first marts were rebuilt inside the run's transaction: never committed
    assert digests(setup.warehouse) == digests(before.warehouse)

    code, out, err = run_in_process(setup, capsys, "--years", "2021")
    assert code == 0, err
    # 2023 is as it was before the killed run, in the working file and in the snapshot
    assert digests(setup.warehouse) == digests(before.warehouse)
    assert digests(setup.published) == digests(before.published)
    with duckdb.connect(str(setup.warehouse), read_only=True) as con:
        loads = con.execute(
            "select census_year, status, is_current from audit.census_year_loads order by finished_at"
        ).fetchall()
        assert loads[-1] == (2021, "committed", True)  # the killed run wrote nothing, not even a record
        assert [row for row in loads if row[1] != "committed"] == []
        current = con.execute(
            "select census_year, count(*) from audit.loads where is_current group by 1 order by 1"
        )
        assert dict(current.fetchall()) == {2021: 1, 2022: 1, 2023: 1}  # one extract file a year


def _senior_school_only(text: str) -> str:
    """The extract with one school left, a 高级中学 (342): a valid census year (the ingest loads
    it) in which no school has a compulsory stage, so the marts are empty and the quality checks
    refuse to publish."""
    header, first = text.splitlines()[:2]
    row = dict(zip(header.split(","), first.split(","), strict=True))
    for column in row:
        if column.startswith(("primary_", "junior_")) or column in ("max_class_size",):
            row[column] = "0"
    row.update(school_type_code="342", senior_students="300", parent_school_id="")
    return header + "\n" + ",".join(row.values()) + "\n"


def test_a_reload_refused_by_the_quality_checks_keeps_the_previous_year_everywhere(loaded, capsys):
    setup, before, _ = loaded
    extract = sorted((setup.landing / str(RELOADED)).glob("*.csv"))[0]
    original = extract.read_bytes()
    try:
        extract.write_text(_senior_school_only(original.decode("utf-8")), encoding="utf-8")
        code, out, err = finished(cli(setup, "--years", str(RELOADED)))
    finally:
        extract.write_bytes(original)
    assert code == 1
    lines = err.strip().splitlines()
    assert (
        lines[0].startswith("junheng run failed: 2023 年未载入") and "as it was before this run" in lines[0]
    )
    assert "数据质量检查未通过，未发布" in err and "Traceback" not in err and "dagster" not in err
    assert len(lines) <= 8, err  # a headline, the failed checks, where the log is
    log = Path(lines[-1].split("full log: ", 1)[1])
    assert log.is_file() and "STEP_FAILURE" in log.read_text(encoding="utf-8")
    assert schools(setup.warehouse) == schools(before.warehouse)  # never committed
    with duckdb.connect(str(setup.warehouse), read_only=True) as con:  # the attempt is on record
        last = con.execute(
            "select census_year, status, reason from audit.census_year_loads order by finished_at desc limit 1"
        ).fetchall()[0]
        assert last[:2] == (RELOADED, "rolled_back") and last[2]

    code, out, err = run_in_process(setup, capsys, "--years", "2022")  # another year, published
    assert code == 0, err
    assert schools(setup.published)[RELOADED] == schools(before.published)[RELOADED] > 0
    assert digests(setup.published) == digests(before.published)


READER = (
    "import duckdb, sys, time; con = duckdb.connect(sys.argv[1], read_only=True); print('open', flush=True); "
)


def test_a_reader_on_the_working_file_stops_a_run_with_one_line_and_changes_nothing(loaded):
    setup, before, _ = loaded
    reader = subprocess.Popen(
        [sys.executable, "-c", READER + "time.sleep(120)", str(setup.warehouse)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout is not None and reader.stdout.readline().strip() == "open"
        code, out, err = finished(cli(setup, "--years", str(RELOADED)))
    finally:
        reader.kill()
        reader.wait()
    assert code == 1
    assert err.strip().splitlines() == [err.strip()]  # one line
    assert f"is open in another program (PID {reader.pid}" in err and "published snapshot" in err
    assert digests(setup.warehouse) == digests(before.warehouse)


def test_a_reader_on_the_snapshot_keeps_its_view_and_does_not_stop_the_run(loaded, capsys):
    setup, before, right = loaded
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            READER + "input(); print(con.sql('select sum(books) from raw.census_schools').fetchall()[0][0])",
            str(setup.published),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert reader.stdout is not None and reader.stdout.readline().strip() == "open"
    code, _, err = run_in_process(setup, capsys, "--years", str(RELOADED))
    assert code == 0, err
    seen_by_reader, _ = reader.communicate("go\n", timeout=60)
    with duckdb.connect(str(before.published), read_only=True) as con:
        old = con.execute("select sum(books) from raw.census_schools").fetchall()[0][0]
    assert int(seen_by_reader) == old  # the old snapshot, whole, for the reader who had it open
    assert digests(setup.published) == digests(right.published)  # new connections see the new one


def test_a_second_load_waits_for_the_first_saying_for_whom_or_gives_up_with_exit_75(loaded):
    setup, _, right = loaded
    first = cli(setup, "--years", "2022-2023")
    holder = setup.warehouse.with_name("w.duckdb.lock")
    deadline = time.monotonic() + 60
    while not (holder.exists() and holder.read_text()):  # the first run holds the lock
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.2)
    code, _, err = finished(cli(setup, "--years", "2021", "--wait", "1"))
    assert code == 75
    assert "another load is still running (" in err and f"pid {first.pid}" in err
    waiting = cli(setup, "--years", "2021")
    (code, _, err), (code2, out2, err2) = finished(first), finished(waiting)
    assert code == 0, err
    assert code2 == 0, err2
    assert "another load is running: census year" in out2 and f"pid {first.pid}" in out2
    assert digests(setup.warehouse) == digests(right.warehouse)


def publish_step(setup: Build, published: Path) -> dg.ExecuteInProcessResult:
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("census_year", [str(RELOADED)])
        config = warehouse_config(setup.landing, setup.warehouse, published, setup.reports)
        return run_census_year(RELOADED, config, instance, asset_selection=[PUBLISHED_KEY])


def failure_text(result: dg.ExecuteInProcessResult) -> str:
    texts = []
    for event in result.all_events:
        error = getattr(event.event_specific_data, "error", None) if event.is_failure else None
        while error is not None:
            texts.append(error.message)
            error = error.cause
    return "\n".join(texts)


@pytest.fixture
def small_disk(tmp_path):
    """A real, small file system (tmpfs) for the published folder. Mounting needs root: under CI
    (and `make test`, JUNHENG_REQUIRE_ROOT=1) a machine that cannot mount fails the test."""
    if os.geteuid() != 0:
        if os.environ.get("JUNHENG_REQUIRE_ROOT"):
            pytest.fail("mounting a small tmpfs needs root, and JUNHENG_REQUIRE_ROOT is set")
        pytest.skip("mounting a small tmpfs needs root")
    mount = tmp_path / "small_disk"
    mount.mkdir()
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


def _files(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): sha256(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_full_disk_or_a_read_only_file_system_on_publish_keeps_the_old_snapshot(loaded, small_disk):
    setup, _, _ = loaded
    folder = setup.published.parent
    sizes = {p.stat().st_ino: p.stat().st_size for p in folder.rglob("*") if p.is_file()}  # links once
    pages = sum(-(-size // 4096) * 4096 for size in sizes.values())
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={pages + 16 * 1024}", "tmpfs", str(small_disk)],
        capture_output=True,
        text=True,
    )
    assert mounted.returncode == 0, f"cannot mount a tmpfs here: {mounted.stderr.strip()}"
    # the published folder analysts have now (catalog, versions, Parquet; links kept), and no room
    # for a new version's files
    subprocess.run(["cp", "-a", f"{folder}/.", str(small_disk)], check=True)
    target = small_disk / setup.published.name
    before = _files(small_disk)

    result = publish_step(setup, target)
    assert not result.success
    text = failure_text(result)
    assert "No space left on device" in text and "previous snapshot is unchanged" in text, text
    assert _files(small_disk) == before  # nothing half-written left beside it

    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    result = publish_step(setup, target)
    assert not result.success
    text = failure_text(result)
    assert "Read-only file system" in text and "previous snapshot is unchanged" in text, text
    assert _files(small_disk) == before
