"""Faults during loads, with real processes, locks and file systems, and a real on-disk Dagster
instance with the project's dagster.yaml (pool `warehouse` of 1) and no daemon: the way a
provincial team runs `junheng run` from cron or a terminal.

- A year killed half-way, or refused by the data-quality checks, never reaches the snapshot, not
  even when another year is published after it.
- A reader holding the working file stops a run with one line; one holding the snapshot does not.
- Two loads at once: the second waits for the first, saying for whom, or gives up with exit 75.
- A full disk or a read-only file system at publish time leaves the old snapshot, with a clear error.

A kill in every step of a run is test_fault_kills.py; the province is tests/integration/faults.py's.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.defs.publish.assets import PUBLISHED_KEY
from pipelines.runner import run_census_year, warehouse_config
from tests.integration.faults import (
    KILLER,
    RELOADED,
    Build,
    cli,
    digests,
    finished,
    run_in_process,
    schools,
    sha256,
)

pytestmark = pytest.mark.integration


def test_a_year_killed_half_way_never_reaches_the_snapshot_even_when_another_year_is_published(
    loaded, capsys
):
    setup, before, _ = loaded
    code, _, err = finished(cli(setup, KILLER, "--years", str(RELOADED), kill_at="model"))
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
        current = con.execute(  # the census extracts (a county's 申报表 is a file of its own)
            "select census_year, count(*) from audit.loads where is_current and shape <> 'declaration' "
            "group by 1 order by 1"
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
        code, out, err = finished(cli(setup, None, "--years", str(RELOADED)))
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
        code, out, err = finished(cli(setup, None, "--years", str(RELOADED)))
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
    first = cli(setup, None, "--years", "2022-2023")
    holder = setup.warehouse.with_name("w.duckdb.lock")
    deadline = time.monotonic() + 60
    # the first run holds the lock, past its reference data (the others then name its census years)
    while not (holder.exists() and "census year" in holder.read_text()):
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.2)
    code, _, err = finished(cli(setup, None, "--years", "2021", "--wait", "1"))
    assert code == 75
    assert "another load is still running (" in err and f"pid {first.pid}" in err
    waiting = cli(setup, None, "--years", "2021")
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
