"""`junheng run` when the machine fails it, and what its summary says first.

Faults of the machine, on real small file systems (tmpfs, mounted by the test; we run as root,
where chmod does not stop a write, so a read-only folder is a read-only mount):

- the published folder is read-only, or its disk is too small for the new version (its Parquet
  files, or its catalog): the run ends with one line in Chinese and English naming the folder,
  saying what failed, that the previous snapshot is unchanged and that nothing of the load was
  kept, and the path of the log; exit 1. The old snapshot opens and gives the same figures, the
  folder holds no file a catalog does not name (pipelines.lib.publish.snapshot), and the working
  warehouse holds what it held before the run, table by table, but for the record of the failed
  attempt (a run writes it in one transaction that only publishing commits:
  pipelines.lib.loads.run_write);
- the disk of the working warehouse fills up half-way through a load (of one census year or of
  two in one run): the commit fails, the run ends in one line naming the working warehouse, and
  every table holds what it held before the run (the record of the attempt cannot be written
  either: the disk is still full); a working disk already full stops the run before it loads
  anything;
- an error nobody expected names the log holding its traceback.

After each fault the run after the fault is fixed works with no cleaning up. The summary's first
lines: a census year the warehouse keeps although its landing folder is gone, and the counties
whose data is on hold in the years just loaded.

The run the machine fails is a process of its own, as cron runs it: what it leaves is what the next
process finds. The runs after it, and the runs that only print a summary, run in the test's process.
Each test copies the fault tests' built province where it runs it, and `settle` writes the copied
snapshot's catalog for that folder (its views name their Parquet files by full path).
"""

import errno
import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines import cli
from pipelines.cli import EXIT_FAILED, main
from pipelines.lib.faults import find_fault
from pipelines.lib.outputs.summary import held_counties
from pipelines.lib.paths import REPO_ROOT
from tests.integration.faults import Build, FaultProvince, copy_build, run_in_process, sha256, warm_process

pytestmark = pytest.mark.integration

MIB = 2**20
RECORDS = ("audit.census_year_loads", "audit.loads")
"""The record of every attempt: a failed run adds its rows there, and nothing anywhere else."""


@pytest.fixture
def province(fault_province) -> FaultProvince:
    """Four counties, 2021-2023, loaded and published (the fault tests' shared province)."""
    return fault_province


@pytest.fixture
def tmpfs(tmp_path):
    """mount(folder, bytes): a real tmpfs of that size on `folder`, unmounted after the test. A
    machine that may not mount skips the test (fails it under JUNHENG_REQUIRE_ROOT, as CI sets)."""
    mounted: list[Path] = []

    def mount(folder: Path, size: int) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        done = (
            subprocess.run(
                ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                capture_output=True,
                text=True,
            )
            if shutil.which("mount")
            else None
        )
        if done is None or done.returncode != 0:
            why = done.stderr.strip() if done is not None else "no mount command"
            reason = f"these tests mount a small tmpfs, which needs root (CAP_SYS_ADMIN): {why}"
            if os.environ.get("JUNHENG_REQUIRE_ROOT"):
                pytest.fail(reason)
            pytest.skip(reason)
        mounted.append(folder)
        return folder

    yield mount
    for folder in reversed(mounted):
        subprocess.run(["umount", "-l", str(folder)], check=False)


def remount(folder: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(folder)], check=True)


def bytes_used(folder: Path) -> int:
    stats = os.statvfs(folder)
    return (stats.f_blocks - stats.f_bfree) * stats.f_frsize


def built_at(
    province: FaultProvince, root: Path, published: Path | None = None, warehouse: Path | None = None
) -> Build:
    """The province loaded and published under `root` (the published folder and the working file
    where the test says: a mounted folder), with one county's 2023 corrected in its landing
    folder, so that loading 2023 again changes it: a copy of the fault tests' build
    (tests/integration/faults.py, copy_build)."""
    landing = root / "landing"
    shutil.copytree(province.right.landing, landing)
    setup = Build(
        landing,
        warehouse or root / "w.duckdb",
        published or root / "pub" / "junheng.duckdb",
        root / "reports",
    )
    copy_build(province.before, setup)
    return setup


# `junheng run` in a process of its own, as cron runs it: what a failed run leaves is what the next
# process finds. With FILL_AFTER=module:function, another process takes every byte left on the disk
# of FILL_FILE as soon as that function of the pipeline has returned.
RUN = textwrap.dedent(
    """
    import importlib, os, sys

    from pipelines.cli import main

    where, filler = os.environ.get("FILL_AFTER"), os.environ.get("FILL_FILE")
    if where:
        module_name, name = where.split(":")
        module = importlib.import_module(module_name)
        original = getattr(module, name)

        def then_fill(*args, **kwargs):
            result = original(*args, **kwargs)
            if not os.path.exists(filler):
                stats = os.statvfs(os.path.dirname(filler))
                with open(filler, "wb") as f:
                    if stats.f_bavail:
                        os.posix_fallocate(f.fileno(), 0, stats.f_bavail * stats.f_frsize)
            return result

        setattr(module, name, then_fill)
    sys.exit(main(sys.argv[1:]))
    """
)
AFTER_INGEST = "pipelines.defs.ingest.assets:replace_census_year"
"""The run's first census year ingested: its rows are in the run's transaction, nothing committed."""
AFTER_EXPORT = "pipelines.lib.publish.snapshot:export_changes"
"""The new version's Parquet files written, its catalog not yet."""


def junheng_run(
    setup: Build, *args: str, fill_after: str | None = None, filler: Path | None = None, seconds: int = 300
) -> tuple[int, str, str]:
    """`junheng run` in a new process: its exit code, output and errors. The process is forked
    from a warm launcher that has done the imports once (bench/warm.py; tests/integration/faults.py
    says why)."""
    env = dict(os.environ) | ({"FILL_AFTER": fill_after, "FILL_FILE": str(filler)} if fill_after else {})
    done = warm_process(["-c", RUN, *setup.args(*args)], env, REPO_ROOT)
    out, err = done.communicate(timeout=seconds)
    return done.returncode, out, err


def fill(folder: Path) -> Path:
    """Another process takes every byte left on the disk of `folder`; the file it fills."""
    filler = folder / "filler"
    stats = os.statvfs(folder)
    with open(filler, "wb") as f:
        os.posix_fallocate(f.fileno(), 0, stats.f_bavail * stats.f_frsize)
    return filler


def _digests(con: duckdb.DuckDBPyConnection, relations: list[str], leave_out: set[str]) -> dict[str, tuple]:
    """Per relation: its rows and the sum of their hashes (a digest of its contents, whatever their
    order); the rows the record tables hold of the loads `leave_out` left out."""
    out = {}
    for relation in relations:
        schema, name = relation.split(".")
        where = (
            "where load_id not in (select unnest($leave_out))" if relation in RECORDS and leave_out else ""
        )
        params = {"leave_out": sorted(leave_out)} if where else {}
        out[relation] = con.execute(
            f'select count(*), sum(hash(t)) from "{schema}"."{name}" as t {where}', params
        ).fetchone()
    return out


def tables(warehouse: Path, leave_out: set[str] = frozenset()) -> dict[str, tuple]:
    """Every table of the working warehouse, with its rows and a digest of them."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        relations = [
            f"{s}.{t}"
            for s, t in con.execute(
                "select schema_name, table_name from duckdb_tables() "
                "where database_name = current_database() order by 1, 2"
            ).fetchall()
        ]
        return _digests(con, relations, leave_out)


def figures(published: Path) -> dict[str, tuple]:
    """Every view of the snapshot, read through its catalog, with its rows and a digest of them."""
    with duckdb.connect(str(published), read_only=True) as con:
        relations = [
            f"{s}.{v}"
            for s, v in con.execute(
                "select schema_name, view_name from duckdb_views() "
                "where database_name = current_database() and not internal order by 1, 2"
            ).fetchall()
        ]
        return _digests(con, relations, set())


def strays(published: Path) -> list[str]:
    """Files of the published folder that are neither a catalog (junheng.duckdb and the versions'
    catalogs) nor a Parquet file a catalog names (its table snapshot.files)."""
    folder = published.parent
    catalogs = [published, *(folder / "versions").glob("[0-9]*.duckdb")]
    named: set[str] = set()
    for catalog in catalogs:
        with duckdb.connect(str(catalog), read_only=True) as con:
            named |= {
                str(folder / path) for (path,) in con.execute("select path from snapshot.files").fetchall()
            }
    return sorted(
        str(path.relative_to(folder))
        for path in folder.rglob("*")
        if path.is_file() and path not in catalogs and str(path) not in named
    )


def books(database: Path, year: int = 2023) -> int:
    with duckdb.connect(str(database), read_only=True) as con:
        rows = con.execute(
            "select sum(books) from raw.census_schools where census_year = $y", {"y": year}
        ).fetchall()
    return int(rows[0][0])


def load_ids(warehouse: Path) -> set[str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {str(i) for (i,) in con.execute("select load_id from audit.census_year_loads").fetchall()}


def attempts(warehouse: Path, before: set[str]) -> list[tuple]:
    """The loads recorded since `before`: (load_id, census_year, status, is_current, reason)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select load_id, census_year, status, is_current, reason from audit.census_year_loads "
            "order by census_year"
        ).fetchall()
    return [row for row in rows if row[0] not in before]


def one_line_and_its_log(err: str) -> str:
    """The message line of a failed run, checked to come alone with the path of a log that exists."""
    lines = err.strip().splitlines()
    assert len(lines) == 2, err
    assert "Traceback" not in err and "意外错误" not in err, err
    assert lines[1].startswith("  完整日志 / full log: "), err
    assert Path(lines[1].split("full log: ", 1)[1]).is_file(), err
    return lines[0]


def nothing_kept(years: str) -> tuple[str, str]:
    """What a failed run's line says it kept, in Chinese and in English."""
    listed = years.replace("、", ", ")
    return (
        f"上次发布的快照未改变，{years} 年的载入未保留（仓库中保持本次运行前的状态）",
        f"the previous snapshot is unchanged and nothing of the load of {listed} was kept "
        "(the warehouse is as it was before this run)",
    )


def assert_as_before(setup: Build, before: dict, years: list[int], reason: str | None) -> None:
    """The working warehouse holds what it held before the failed run, table by table, and the
    snapshot is the one published before it. The run's attempt is recorded as rolled back for each
    of its census years, its reason saying `reason`; with `reason` None, nothing is recorded (the
    record is written after the rollback, on the same disk)."""
    tried = attempts(setup.warehouse, before["ids"])
    if reason is None:
        assert tried == [], tried
        assert tables(setup.warehouse) == before["tables"]
    else:
        assert [(year, status, current) for _, year, status, current, _ in tried] == [
            (year, "rolled_back", False) for year in years
        ], tried
        assert len({load_id for load_id, *_ in tried}) == 1, tried
        assert all(reason in str(why) for *_, why in tried), tried
        assert tables(setup.warehouse, leave_out={tried[0][0]}) == before["tables"]
    assert sha256(setup.published) == before["snapshot"]
    assert figures(setup.published) == before["figures"]  # the old snapshot opens, with the same figures


def state(setup: Build) -> dict:
    return {
        "ids": load_ids(setup.warehouse),
        "tables": tables(setup.warehouse),
        "snapshot": sha256(setup.published),
        "figures": figures(setup.published),
        "books": books(setup.published),
    }


def test_a_read_only_published_folder_ends_the_run_in_one_line_and_keeps_the_snapshot(
    province, tmp_path, tmpfs, capsys
):
    published_folder = tmpfs(tmp_path / "pub", 64 * MIB)
    setup = built_at(province, tmp_path)
    assert setup.published.parent == published_folder
    remount(published_folder, "ro")
    before = state(setup)

    code, _, err = junheng_run(setup, "--years", "2023")
    assert code == EXIT_FAILED
    line = one_line_and_its_log(err)
    zh, en = nothing_kept("2023")
    assert line.startswith(f"junheng run failed: 发布目录 {published_folder} 只读，新快照未能写入；{zh}；"), (
        line
    )
    assert "恢复可写后再运行" in line and "make it writable and run again" in line, line
    assert (
        f"the published folder {published_folder} is read-only: the new snapshot could not be written" in line
    )
    assert en in line, line
    assert_as_before(setup, before, [2023], reason="Read-only file system")
    assert strays(setup.published) == []

    remount(published_folder, "rw")  # fixed: the next run loads and publishes, nothing to clean up
    code, out, err = run_in_process(setup, capsys, "--years", "2023")
    assert code == 0, err
    assert "[1/1] 2023 年度完成，用时 " in out, out
    assert books(setup.published) == books(setup.warehouse) != before["books"]
    assert strays(setup.published) == []


@pytest.mark.parametrize("fills_up", ["before", "after-parquet"])
def test_a_full_disk_under_the_published_folder_ends_the_run_in_one_line_and_keeps_the_snapshot(
    province, tmp_path, tmpfs, fills_up, capsys
):
    """The disk too small for the new version's files (its Parquet files fail), or filled up by
    another process once they are written (its catalog fails)."""
    published_folder = tmpfs(tmp_path / "pub", 64 * MIB)
    setup = built_at(province, tmp_path)
    in_use = bytes_used(published_folder)
    filler = published_folder / "filler"
    if fills_up == "before":  # room for half a catalog
        remount(published_folder, f"size={in_use + setup.published.stat().st_size // 2}")
    before = state(setup)

    fill_after = AFTER_EXPORT if fills_up == "after-parquet" else None
    code, _, err = junheng_run(setup, "--years", "2023", fill_after=fill_after, filler=filler)
    assert code == EXIT_FAILED, err
    line = one_line_and_its_log(err)
    zh, en = nothing_kept("2023")
    assert line.startswith(
        f"junheng run failed: 发布目录 {published_folder} 所在磁盘已满，新快照未能写入；{zh}；腾出空间后再运行 / "
    ), line
    assert (
        f"the published folder {published_folder} is on a full disk: the new snapshot could not be written"
        in line
    )
    assert en in line and "free some space and run again" in line, line
    assert_as_before(setup, before, [2023], reason="No space left on device")
    filler.unlink(missing_ok=True)  # (another process's file)
    assert strays(setup.published) == []  # what the failed publish began is gone
    assert bytes_used(published_folder) == in_use

    remount(published_folder, f"size={64 * MIB}")  # room made
    code, _, err = run_in_process(setup, capsys, "--years", "2023")
    assert code == 0, err
    assert books(setup.published) == books(setup.warehouse) != before["books"]
    assert strays(setup.published) == []


@pytest.mark.parametrize("years", [[2023], [2022, 2023]], ids=["one-year", "two-years"])
def test_a_working_disk_that_fills_up_during_a_load_keeps_the_warehouse_as_it_was(
    province, tmp_path, tmpfs, years, capsys
):
    working_folder = tmpfs(tmp_path / "work", 96 * MIB)
    setup = built_at(province, tmp_path, warehouse=working_folder / "w.duckdb")
    filler = working_folder / "filler"
    before = state(setup)
    shown, asked = "、".join(map(str, years)), ",".join(map(str, years))

    code, out, err = junheng_run(setup, "--years", asked, fill_after=AFTER_INGEST, filler=filler)
    assert filler.exists()  # the disk filled up after the first year's rows were in
    assert code == EXIT_FAILED, err
    line = one_line_and_its_log(err)
    zh, en = nothing_kept(shown)
    assert line.startswith(f"junheng run failed: 工作库 {setup.warehouse} 所在磁盘已满，无法写入 "), line
    assert f"；{zh}；腾出空间后再运行 / " in line, line
    assert f"the working warehouse {setup.warehouse} is on a full disk" in line, line
    assert en in line and "free some space and run again" in line, line
    assert "年度完成" not in out, out
    # the commit failed and nothing of the run was kept; its record could not be written either:
    # the disk was still full when the run ended
    assert_as_before(setup, before, years, reason=None)

    filler.unlink()  # room made: the next run loads the years
    code, out, err = run_in_process(setup, capsys, "--years", asked)
    assert code == 0, err
    if len(years) > 1:
        assert f"{shown} 年度在一次运行中载入并发布，用时 " in out, out
        assert all(f"[{i}/{len(years)}] {year} 年度完成：" in out for i, year in enumerate(years, 1)), out
    else:
        assert f"[1/1] {years[0]} 年度完成，用时 " in out, out
    assert books(setup.published) == books(setup.warehouse) != before["books"]
    assert strays(setup.published) == []


def test_a_full_working_disk_stops_the_run_before_it_loads_and_the_next_run_with_room_succeeds(
    province, tmp_path, tmpfs, capsys
):
    working_folder = tmpfs(tmp_path / "work", 96 * MIB)
    setup = built_at(province, tmp_path, warehouse=working_folder / "w.duckdb")
    before = state(setup)
    filler = fill(working_folder)  # not a byte left beside the working file

    code, out, err = junheng_run(setup, "--years", "2021-2023")
    assert code == EXIT_FAILED, err
    assert err.count("\n") == 1 and "Traceback" not in err, err  # stopped before any Dagster run: no log
    assert err.startswith(f"junheng run failed: 工作库 {setup.warehouse} 所在磁盘已满，无法写入 "), err
    assert "；本次运行没有载入任何数据，上次发布的快照未改变；腾出空间后再运行 / " in err, err
    assert f"the working warehouse {setup.warehouse} is on a full disk" in err, err
    assert "nothing was loaded and the previous snapshot is unchanged; free some space and run again" in err
    assert "年度完成" not in out, out
    assert load_ids(setup.warehouse) == before["ids"]  # no census year tried
    assert tables(setup.warehouse) == before["tables"]
    assert sha256(setup.published) == before["snapshot"] and figures(setup.published) == before["figures"]

    filler.unlink()  # a disk with room
    code, out, err = run_in_process(setup, capsys, "--years", "2021-2023")
    assert code == 0, err
    assert "2021、2022、2023 年度在一次运行中载入并发布，用时 " in out, out
    assert "[3/3] 2023 年度完成：" in out, out
    assert books(setup.published) == books(setup.warehouse) != before["books"]
    assert strays(setup.published) == []


@pytest.mark.parametrize(
    "error, said",
    [
        (ValueError("a bug"), "意外错误 / unexpected error: ValueError: a bug"),
        (
            OSError(errno.EROFS, "Read-only file system", "/srv/junheng/w.duckdb.lock"),
            "/srv/junheng/w.duckdb.lock 只读，无法写入；恢复可写后再运行 / /srv/junheng/w.duckdb.lock is read-only",
        ),
    ],
    ids=["unexpected", "read-only"],
)
def test_an_error_no_handler_expected_names_the_log_with_its_traceback(
    tmp_path, monkeypatch, capsys, error, said
):
    def fails(args):
        raise error

    monkeypatch.setattr(cli, "cmd_run", fails)
    code = main(["run", "--landing", str(tmp_path), "--warehouse", str(tmp_path / "w.duckdb")])
    err = capsys.readouterr().err
    assert code == EXIT_FAILED
    assert err.count("\n") == 1 and said in err, err
    log = Path(err.strip().split("完整日志 / full log: ", 1)[1])
    assert log.parent == tmp_path / "logs"
    assert "Traceback" in log.read_text(encoding="utf-8") and type(error).__name__ in log.read_text(
        encoding="utf-8"
    )


def summary_lines(out: str) -> list[str]:
    """The lines `junheng run` prints after its progress lines (those are indented)."""
    return [line for line in out.splitlines() if line.strip() and not line.startswith("  ")]


def test_a_year_kept_without_its_landing_folder_is_said_first_and_not_hidden_in_a_range(
    province, tmp_path, capsys
):
    setup = built_at(province, tmp_path)
    kept = books(setup.published, 2022)
    shutil.rmtree(setup.landing / "2022")
    code, out, err = run_in_process(setup, capsys)  # every census-year folder found: 2021 and 2023
    assert code == 0, err
    first, second = summary_lines(out)[:2]
    assert first == (
        "2022 的落地目录不存在，仓库保留上次载入的数据 / the landing folder for 2022 is missing; "
        "the warehouse keeps the data last loaded"
    )
    assert second.startswith(f"已构建 {setup.warehouse}，用时 "), second
    assert "本次载入普查年度 2021、2023；保留上次载入的 2022（本次未重新载入）" in second, second
    assert "2021–2023" not in second
    assert books(setup.published, 2022) == kept  # kept as last loaded


def test_the_counties_on_hold_in_the_year_loaded_are_named_in_the_first_lines(province, tmp_path, capsys):
    setup = built_at(province, tmp_path)
    extract = sorted((setup.landing / "2023").glob("*.csv"))[0]
    frame = pl.read_csv(extract, infer_schema=False)
    county = frame["county_code"].value_counts(sort=True)["county_code"][0]
    parents = frame["parent_school_id"].drop_nulls().to_list()
    # most of the county's schools gone (not the parents of teaching points, nor the points)
    alone = frame.filter(
        (pl.col("county_code") == county)
        & pl.col("parent_school_id").is_null()
        & ~pl.col("school_id").is_in(parents)
    )["school_id"]
    gone = alone.head(int(alone.len() * 0.9))
    frame.filter(~pl.col("school_id").is_in(gone.to_list())).write_csv(extract)

    code, out, err = run_in_process(setup, capsys, "--years", "2023")
    assert code == 0, err
    with duckdb.connect(str(setup.published), read_only=True) as con:
        held = con.execute(
            "select counties.county_name, status.missing_school_share, count(*) over () "
            "from monitoring.county_data_status as status join marts.dim_counties as counties "
            "using (county_code) where status.census_year = 2023 and status.is_provisional"
        ).fetchall()
        english = held_counties(con, [2023], "en")
    assert len(held) == 1, held  # the one county, and only it
    name, share, n_held = held[0]
    assert share > 0.45
    expected = (
        f"2023 年有 {n_held} 个县数据待核（暂不作判断）：{name}（较上年缺少 {share * 100:.0f}% 的学校）"
    )
    lines = summary_lines(out)
    assert expected in lines[:3], lines[:4]
    assert lines.index(expected) < next(
        i for i, line in enumerate(lines) if line.startswith("各年度达标情况")
    )
    assert english == [
        f"2023: {n_held} counties' data on hold (no verdict yet): {name} ({share * 100:.0f}% of last "
        "year's schools missing)"
    ]


@pytest.mark.parametrize(
    "text, kind, path",
    [
        (  # DuckDB, committing a step on a full working disk
            'TransactionContext Error: Failed to commit: Could not write file "/w/junheng.duckdb.wal": '
            "No space left on device",
            "disk_full",
            "/w/junheng.duckdb.wal",
        ),
        (  # DuckDB 2.0 writing Parquet: the path inside its JSON, quotes escaped
            'IO Error: Async write failed for range [offset=0, size=1454]: {"exception_type":"IO",'
            '"exception_message":"Could not write file \\"/p/parquet/.staging-1/a/data.parquet\\": '
            'No space left on device"}',
            "disk_full",
            "/p/parquet/.staging-1/a/data.parquet",
        ),
        (  # Python copying the working file: the target is what could not be written
            "OSError: [Errno 28] No space left on device: '/w/junheng.duckdb' -> '/p/.junheng.duckdb.1.tmp'",
            "disk_full",
            "/p/.junheng.duckdb.1.tmp",
        ),
        (
            "OSError: [Errno 30] Read-only file system: '/p/.junheng.duckdb.1.tmp'",
            "read_only",
            "/p/.junheng.duckdb.1.tmp",
        ),
        (  # pyarrow opening a Parquet file in a read-only folder: the path is in its words only
            OSError(
                errno.EROFS,
                "Failed to open local file '/p/parquet/raw/t/census_year=2023/2-ab.parquet'. Detail: "
                "[errno 30] Read-only file system",
            ),
            "read_only",
            "/p/parquet/raw/t/census_year=2023/2-ab.parquet",
        ),
        (  # pyarrow on a full disk names no file: the folder publishing was writing in
            "快照文件未能写入 /p，上次发布的快照未改变 / could not write the snapshot's files in /p: [Errno 28] "
            "Error writing bytes to file. Detail: [errno 28] No space left on device. The previous snapshot "
            "is unchanged.",
            "disk_full",
            "/p",
        ),
        ("2023/a.csv: 只有表头，没有学校行", None, None),
    ],
    ids=[
        "duckdb-wal",
        "duckdb-json",
        "python-copy",
        "read-only",
        "arrow-read-only",
        "arrow-full",
        "not-a-fault",
    ],
)
def test_a_fault_is_found_with_its_path_in_the_words_of_python_duckdb_and_arrow(text, kind, path):
    fault = find_fault([text])
    if kind is None:
        assert fault is None
    else:
        assert fault is not None and (fault.kind, str(fault.path)) == (kind, path)
