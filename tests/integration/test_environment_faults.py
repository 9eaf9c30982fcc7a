"""`junheng run` when the machine fails it, and what its summary says first.

Faults of the machine, on real small file systems (tmpfs, mounted by the test; we run as root,
where chmod does not stop a write, so a read-only folder is a read-only mount):

- the published folder is read-only, or its disk is too small for the new snapshot: the run ends
  with one line in Chinese and English naming the folder, saying what failed and that the
  previous snapshot is unchanged, and the path of the log; exit 1;
- the disk of the working warehouse fills up half-way through a load: the load is rolled back in
  the room the run set aside before it started (pipelines.lib.loads.reserve), and the line says so;
  a disk without that room stops the run before it loads anything;
- an error nobody expected names the log holding its traceback.

After each fault the working file holds no load in progress, and the run after the fault is fixed
works with no cleaning up. The summary's first lines: a census year the warehouse keeps although
its landing folder is gone, and the counties whose data is on hold in the years just loaded.
"""

import errno
import os
import shutil
import subprocess
from pathlib import Path

import duckdb
import polars as pl
import pytest

import pipelines.defs.ingest.assets as ingest_assets
from pipelines import cli
from pipelines.cli import EXIT_FAILED, main
from pipelines.lib.faults import find_fault
from pipelines.lib.loads.reserve import reserve_bytes, reserve_path
from pipelines.lib.outputs.summary import held_counties
from pipelines.lib.synthetic.province import generate
from tests.integration.test_faults import Build, build, correct_one_county, digests, run_in_process, sha256

pytestmark = pytest.mark.integration

YEARS = [2021, 2022, 2023]
MIB = 2**20


@pytest.fixture(scope="module")
def province(tmp_path_factory) -> Build:
    """Four counties, 2021-2023, loaded and published once for the module."""
    root = tmp_path_factory.mktemp("environment")
    generate(root / "landing", counties=4, years=YEARS, seed=21, progress=lambda _: None)
    return build(root / "landing", root / "built")


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


def copy_of(
    province: Build, root: Path, published: Path | None = None, warehouse: Path | None = None
) -> Build:
    """The province's files and builds, copied under `root` (the landing folder with one county's
    2023 corrected, so that loading 2023 again changes it); the published folder and the
    working file where the test says (a mounted folder)."""
    landing = root / "landing"
    shutil.copytree(province.landing, landing)
    correct_one_county(landing / "2023")
    setup = Build(
        landing,
        warehouse or root / "w.duckdb",
        published or root / "pub" / "junheng.duckdb",
        root / "reports",
    )
    setup.warehouse.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(province.warehouse, setup.warehouse)
    shutil.copytree(province.published.parent, setup.published.parent, dirs_exist_ok=True)
    return setup


def books(database: Path, year: int = 2023) -> int:
    with duckdb.connect(str(database), read_only=True) as con:
        rows = con.execute(
            "select sum(books) from raw.census_schools where census_year = $y", {"y": year}
        ).fetchall()
    return int(rows[0][0])


def loads_left_open(warehouse: Path) -> tuple[list, int]:
    """The loads of the working file still in progress, and its undo copies."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        pending = con.execute(
            "select load_id, census_year from audit.census_year_loads where status = 'in_progress'"
        ).fetchall()
        undo = con.execute("select count(*) from duckdb_tables() where schema_name = 'undo'").fetchall()
    return pending, int(undo[0][0])


def one_line_and_its_log(err: str) -> str:
    """The message line of a failed run, checked to come alone with the path of a log that exists."""
    lines = err.strip().splitlines()
    assert len(lines) == 2, err
    assert "Traceback" not in err and "意外错误" not in err, err
    assert lines[1].startswith("  完整日志 / full log: "), err
    assert Path(lines[1].split("full log: ", 1)[1]).is_file(), err
    return lines[0]


def test_a_read_only_published_folder_ends_the_run_in_one_line_and_keeps_the_snapshot(
    province, tmp_path, tmpfs, capsys
):
    published_folder = tmpfs(tmp_path / "pub", 64 * MIB)
    setup = copy_of(province, tmp_path)
    remount(published_folder, "ro")
    snapshot, working = sha256(setup.published), digests(setup.warehouse)

    code, _, err = run_in_process(setup, capsys, "--years", "2023")
    assert code == EXIT_FAILED
    line = one_line_and_its_log(err)
    assert line.startswith(f"junheng run failed: 发布目录 {published_folder} 只读，新快照未能写入；"), line
    assert "上次发布的快照未改变，2023 年的载入已撤回" in line, line
    assert f"the published folder {published_folder} is read-only" in line, line
    assert "the previous snapshot is unchanged and the load of 2023 was rolled back" in line, line
    assert sha256(setup.published) == snapshot
    assert digests(setup.warehouse) == working  # the load rolled back: 2023 as it was
    assert loads_left_open(setup.warehouse) == ([], 0)
    assert not reserve_path(setup.warehouse).exists()

    remount(published_folder, "rw")  # fixed: the next run loads and publishes, nothing to clean up
    code, out, err = run_in_process(setup, capsys, "--years", "2023")
    assert code == 0, err
    assert "2023 年度完成" in out
    assert books(setup.published) == books(setup.warehouse) != books(province.published)


def test_a_full_disk_under_the_published_folder_ends_the_run_in_one_line_and_keeps_the_snapshot(
    province, tmp_path, tmpfs, capsys
):
    size = province.published.stat().st_size
    pages = [-(-p.stat().st_size // 4096) * 4096 for p in province.published.parent.rglob("*") if p.is_file()]
    in_use = sum(pages) + 64 * 4096  # a tmpfs counts whole pages; some for the folders
    published_folder = tmpfs(tmp_path / "pub", in_use + size // 2)  # no room for a second copy
    setup = copy_of(province, tmp_path)
    snapshot, working = sha256(setup.published), digests(setup.warehouse)

    code, _, err = run_in_process(setup, capsys, "--years", "2023")
    assert code == EXIT_FAILED
    line = one_line_and_its_log(err)
    assert line.startswith(
        f"junheng run failed: 发布目录 {published_folder} 所在磁盘已满，新快照未能写入；"
    ), line
    assert "上次发布的快照未改变，2023 年的载入已撤回" in line and "腾出空间后再运行" in line, line
    assert f"the published folder {published_folder} is on a full disk" in line, line
    assert sha256(setup.published) == snapshot
    assert sorted(p.name for p in published_folder.iterdir()) == ["junheng.duckdb", "parquet"]  # no leftovers
    assert digests(setup.warehouse) == working
    assert loads_left_open(setup.warehouse) == ([], 0)

    remount(published_folder, f"size={in_use + 3 * size}")  # room made
    code, _, err = run_in_process(setup, capsys, "--years", "2023")
    assert code == 0, err
    assert books(setup.published) == books(setup.warehouse) != books(province.published)


def test_a_working_disk_that_fills_up_during_a_load_rolls_the_load_back_and_says_so(
    province, tmp_path, tmpfs, capsys, monkeypatch
):
    working_folder = tmpfs(tmp_path / "work", 96 * MIB)
    setup = copy_of(province, tmp_path, warehouse=working_folder / "w.duckdb")
    filler = working_folder / "filler"
    original = ingest_assets.replace_census_year
    filled: list[bool] = []

    def fill_the_disk_after_ingest(*args, **kwargs):
        rows = original(*args, **kwargs)  # the year's raw rows replaced and committed
        if not filled:  # once, in the first run: another process takes every byte left
            stats = os.statvfs(working_folder)
            with open(filler, "wb") as f:
                os.posix_fallocate(f.fileno(), 0, stats.f_bavail * stats.f_frsize)
            filled.append(True)
        return rows

    monkeypatch.setattr(ingest_assets, "replace_census_year", fill_the_disk_after_ingest)
    snapshot, working = sha256(setup.published), digests(setup.warehouse)

    code, _, err = run_in_process(setup, capsys, "--years", "2023")
    assert code == EXIT_FAILED
    line = one_line_and_its_log(err)
    assert line.startswith(f"junheng run failed: 工作库 {setup.warehouse} 所在磁盘已满，无法写入 "), line
    assert "上次发布的快照未改变，2023 年的载入已撤回（仓库中该年保持本次运行前的状态）" in line, line
    assert f"the working warehouse {setup.warehouse} is on a full disk" in line, line
    assert "the load of 2023 was rolled back" in line, line
    assert loads_left_open(setup.warehouse) == ([], 0)  # rolled back in the reserve's room
    with duckdb.connect(str(setup.warehouse), read_only=True) as con:
        last = con.execute(
            "select status, reason from audit.census_year_loads order by started_at desc limit 1"
        ).fetchone()
    assert last is not None and last[0] == "rolled_back" and "No space left on device" in last[1], last
    assert digests(setup.warehouse) == working
    assert sha256(setup.published) == snapshot

    filler.unlink()  # room made: the next run loads the year
    code, _, err = run_in_process(setup, capsys, "--years", "2023")
    assert code == 0, err
    assert books(setup.published) == books(setup.warehouse) != books(province.published)


def test_a_working_disk_without_room_to_roll_back_in_stops_the_run_before_it_loads(
    province, tmp_path, tmpfs, capsys
):
    working_folder = tmpfs(tmp_path / "work", province.warehouse.stat().st_size + 4 * MIB)
    setup = copy_of(province, tmp_path, warehouse=working_folder / "w.duckdb")
    wanted = reserve_bytes(setup.warehouse) // MIB
    working = digests(setup.warehouse)

    code, out, err = run_in_process(setup, capsys, "--years", "2023")
    assert code == EXIT_FAILED
    assert err.count("\n") == 1, err
    assert err.startswith(
        f"junheng run failed: 工作库 {setup.warehouse} 所在磁盘空间不足，无法预留 {wanted} MiB"
    ), err
    assert "本次运行没有载入任何数据，上次发布的快照未改变；腾出空间后再运行" in err, err
    assert f"has not {wanted} MiB free" in err, err
    assert "2023 年度完成" not in out
    assert digests(setup.warehouse) == working
    assert not reserve_path(setup.warehouse).exists()


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
    setup = copy_of(province, tmp_path)
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
    assert books(setup.published, 2022) == books(province.published, 2022)  # kept as last loaded


def test_the_counties_on_hold_in_the_year_loaded_are_named_in_the_first_lines(province, tmp_path, capsys):
    setup = copy_of(province, tmp_path)
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
        ("2023/a.csv: 只有表头，没有学校行", None, None),
    ],
    ids=["duckdb-wal", "duckdb-json", "python-copy", "read-only", "not-a-fault"],
)
def test_a_fault_is_found_with_its_path_in_the_words_of_python_and_duckdb(text, kind, path):
    fault = find_fault([text])
    if kind is None:
        assert fault is None
    else:
        assert fault is not None and (fault.kind, str(fault.path)) == (kind, path)
