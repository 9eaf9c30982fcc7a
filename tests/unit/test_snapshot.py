"""The published snapshot: a DuckDB catalog of views over Parquet files that are never rewritten.

On real DuckDB files: the catalog opens read-only, in DuckDB's 1.0 storage format, and its views
give the working tables' rows with their comments; every Parquet column carries its description; a
publish writes new files only for the census years it changed (plus the tables without census
years and the history tables) and never touches a file an earlier version wrote; `settle` finishes
a version a killed run committed but did not put in place and removes what no kept version names;
a failed verification commits and leaves nothing; only the last `keep` versions are kept.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.parquet as pq
import pytest

from pipelines.lib.catalog import table_doc
from pipelines.lib.loads.processes import this_process
from pipelines.lib.loads.run_write import RunWrite, years_to_rebuild
from pipelines.lib.publish import snapshot as snapshot_module
from pipelines.lib.publish.snapshot import (
    PublishResult,
    kept_versions_setting,
    parquet_dir,
    publish,
    settle,
    version_catalog,
    versions_dir,
)
from pipelines.lib.warehouse import connect, ensure_loads_table, query_frame
from tests.conftest import census_row

ME = this_process()
YEARLY = ("raw.census_schools", "marts.county_x", "monitoring.county_trends")
"""The tables of the test warehouse with census years (monitoring.county_trends is an all-years
table: its sidecar says `cross_year: true`)."""


@pytest.fixture
def warehouse(tmp_path) -> Path:
    """A working warehouse with census years 2023 and 2024: two yearly tables, an all-years table,
    a table without census years, and audit.loads (a history table: sidecar `history: true`)."""
    path = tmp_path / "junheng.duckdb"
    with connect(path) as con:
        con.execute("create table raw.census_schools (census_year INTEGER, school_id VARCHAR, pupils BIGINT)")
        con.execute(
            "insert into raw.census_schools values (2023, 's1', 100), (2023, 's2', 50), (2024, 's1', 110)"
        )
        con.execute("create table marts.county_x (census_year INTEGER, county_code VARCHAR, v DOUBLE)")
        con.execute("insert into marts.county_x values (2023, 'a', 1), (2023, 'b', 2), (2024, 'a', 3)")
        con.execute("comment on table marts.county_x is 'One row per county and year.'")
        con.execute("comment on column marts.county_x.county_code is 'Six-digit county code.'")
        con.execute("comment on column marts.county_x.v is '县域指标 (a value)'")
        con.execute(
            "create table monitoring.county_trends (census_year INTEGER, county_code VARCHAR, delta DOUBLE)"
        )
        con.execute("insert into monitoring.county_trends values (2023, 'a', null), (2024, 'a', 2)")
        con.execute("create table marts.dim_y (code VARCHAR, name VARCHAR)")
        con.execute("insert into marts.dim_y values ('1', 'one'), ('2', 'two')")
        con.execute("comment on table marts.dim_y is 'A reference table.'")
        ensure_loads_table(con)
        for year in (2023, 2024):
            con.execute(
                "insert into audit.loads (load_id, census_year, source_file, status, loaded_at, is_current) "
                "values ('first', $y, $f, 'loaded', now(), true)",
                {"y": year, "f": f"{year}/a.csv"},
            )
    return path


@pytest.fixture
def snapshot(tmp_path) -> Path:
    return tmp_path / "pub" / "junheng.duckdb"


def publish_run(
    warehouse: Path,
    snapshot: Path,
    run_years: list[int],
    change: str = "",
    verify: Callable[[Path], None] | None = None,
) -> PublishResult:
    """A census-year run of `run_years`: its writes (`change`), then publishing, as the pipeline
    does it (the years it rebuilds: every loaded year after the earliest it loads)."""
    run = RunWrite(warehouse, f"run-{uuid.uuid4().hex[:8]}", ME)
    try:
        if change:
            run.con.execute(change)
        for year in run_years:
            run.attempt(year, [])
        rebuilt = [y for y in years_to_rebuild(run.con, run_years) if y not in run_years]
        return publish(run, snapshot, run_years, rebuilt, verify)
    finally:
        run.close("the test's run failed")


def files_of(warehouse: Path, version: int) -> dict[tuple[str, int | None], str]:
    """(relation, census year) -> path of the version's files, from the working warehouse's record
    (kept relative to the published folder, `pub/` beside the working file in these tests)."""
    with connect(warehouse) as con:
        rows = con.execute(
            "select relation, census_year, path from publish.files where version = $v", {"v": version}
        ).fetchall()
    return {(r, y): str(warehouse.parent / "pub" / p) for r, y, p in rows}


def versions(warehouse: Path) -> list[int]:
    with connect(warehouse) as con:
        return [v for (v,) in con.execute("select version from publish.versions order by 1").fetchall()]


def on_disk(snapshot: Path) -> set[Path]:
    """Every file of the published folder."""
    return {p for p in snapshot.parent.rglob("*") if p.is_file()}


def fingerprint(path: Path) -> tuple[int, int, str]:
    """What changes when a file is written again: its inode, its mtime, its bytes."""
    stat = path.stat()
    return stat.st_ino, stat.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest()


def sorted_frame(con: duckdb.DuckDBPyConnection, relation: str) -> pl.DataFrame:
    frame = query_frame(con, f"select * from {relation}")
    return frame.sort(frame.columns, nulls_last=True)


def working_relations(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        f"{s}.{t}"
        for s, t in con.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where database_name = current_database() and schema_name <> 'publish' "
            "union all select schema_name, view_name from duckdb_views() "
            "where database_name = current_database() and not internal order by 1, 2"
        ).fetchall()
    ]


def assert_views_equal_tables(warehouse: Path, catalog: Path) -> None:
    with connect(warehouse) as con, duckdb.connect(str(catalog), read_only=True) as published:
        relations = working_relations(con)
        views = [
            f"{s}.{v}"
            for s, v in published.execute(
                "select schema_name, view_name from duckdb_views() where not internal order by 1, 2"
            ).fetchall()
        ]
        assert views == relations
        for relation in relations:
            table, view = sorted_frame(con, relation), sorted_frame(published, relation)
            assert view.schema == table.schema, relation
            assert view.equals(table), relation


def storage_version(path: Path) -> int:
    """DuckDB's storage version number in the file's main header (64: v1.0.0)."""
    with open(path, "rb") as f:
        header = f.read(20)
    assert header[8:12] == b"DUCK"
    return int.from_bytes(header[12:20], "little")


# --- one version ------------------------------------------------------------------------------------


def test_the_catalog_opens_read_only_and_its_views_give_the_working_tables_rows(warehouse, snapshot):
    result = publish_run(warehouse, snapshot, [2024])
    assert result.version == 1 and result.snapshot == snapshot and result.files_kept == 0
    catalog = version_catalog(snapshot, 1)
    assert os.path.samefile(snapshot, catalog)  # junheng.duckdb is the version's catalog
    assert not os.access(catalog, os.W_OK) or os.geteuid() == 0  # read-only (root may write anyway)
    assert os.stat(catalog).st_mode & 0o777 == 0o444
    assert_views_equal_tables(warehouse, snapshot)
    with duckdb.connect(str(snapshot), read_only=True) as published:
        assert published.execute(
            "select count(*) from duckdb_tables() where schema_name <> 'snapshot'"
        ).fetchall() == [(0,)]  # views only, besides the catalog's own tables
        version = published.execute("select version, load_id, census_years from snapshot.version").fetchall()
        assert version[0][0] == 1 and version[0][1].startswith("run-") and version[0][2] == [2024]
        named = {p for (p,) in published.execute("select path from snapshot.files").fetchall()}
    assert named == set(files_of(warehouse, 1).values())
    assert {Path(p) for p in named} == {p for p in on_disk(snapshot) if p.suffix == ".parquet"}
    assert versions(warehouse) == [1]


def test_the_views_carry_the_tables_and_columns_comments(warehouse, snapshot):
    publish_run(warehouse, snapshot, [2024])
    with duckdb.connect(str(snapshot), read_only=True) as published:
        views = dict(
            published.execute(
                "select schema_name || '.' || view_name, comment from duckdb_views() where not internal"
            ).fetchall()
        )
        columns = dict(
            published.execute(
                "select column_name, comment from duckdb_columns() "
                "where schema_name = 'marts' and table_name = 'county_x'"
            ).fetchall()
        )
    assert views["marts.county_x"] == "One row per county and year."
    assert views["marts.dim_y"] == "A reference table."
    journal = table_doc("audit.census_year_loads")  # a table built in Python: its sidecar's comment
    assert views["audit.census_year_loads"] == journal.comment
    assert columns == {
        "census_year": None,
        "county_code": "Six-digit county code.",
        "v": "县域指标 (a value)",
    }


def test_the_catalog_is_written_in_the_storage_format_of_duckdb_1_0(warehouse, snapshot):
    publish_run(warehouse, snapshot, [2024])
    publish_run(warehouse, snapshot, [2024], "update marts.county_x set v = 4 where census_year = 2024")
    assert storage_version(snapshot) == 64
    assert storage_version(version_catalog(snapshot, 1)) == 64
    assert storage_version(version_catalog(snapshot, 2)) == 64


def test_every_parquet_file_carries_its_columns_descriptions(warehouse, snapshot):
    publish_run(warehouse, snapshot, [2024])
    files = files_of(warehouse, 1)
    yearly = pq.read_schema(files[("marts.county_x", 2023)])
    assert yearly.names == ["county_code", "v"]  # the census year is in the folder name
    assert yearly.field("county_code").metadata[b"description"] == b"Six-digit county code."
    assert yearly.field("v").metadata[b"description"] == "县域指标 (a value)".encode()
    assert yearly.metadata[b"description"] == b"One row per county and year."
    assert Path(files[("marts.county_x", 2023)]).parent.name == "census_year=2023"
    whole = pq.read_schema(files[("marts.dim_y", None)])
    assert whole.names == ["code", "name"]
    assert whole.field("code").metadata[b"description"] == b""  # no comment: an empty description
    journal = pq.read_schema(files[("audit.census_year_loads", 2024)])
    for name, text in table_doc("audit.census_year_loads").columns.items():
        if name != "census_year":
            assert journal.field(name).metadata[b"description"] == text.encode(), name


# --- later versions ------------------------------------------------------------------------------------


def test_a_publish_writes_new_files_only_for_the_years_it_changed_and_never_rewrites_a_file(
    warehouse, snapshot
):
    publish_run(warehouse, snapshot, [2024])
    first = files_of(warehouse, 1)
    before = {path: fingerprint(Path(path)) for path in first.values()}

    change = (
        "update marts.county_x set v = v + 10 where census_year = 2024;"
        "update raw.census_schools set pupils = 120 where census_year = 2024;"
        "update monitoring.county_trends set delta = 12 where census_year = 2024"
    )
    result = publish_run(warehouse, snapshot, [2024], change)
    assert result.version == 2
    second = files_of(warehouse, 2)
    assert second.keys() == first.keys()
    kept = {key for key in second if second[key] == first[key]}
    assert kept == {(relation, 2023) for relation in YEARLY}  # the other year: the same files
    new = {key: Path(second[key]) for key in second.keys() - kept}
    assert set(new) == {
        *((relation, 2024) for relation in YEARLY),
        ("marts.dim_y", None),  # no census years: written whole
        ("audit.loads", 2023),  # history tables: every year, each time
        ("audit.loads", 2024),
        ("audit.census_year_loads", 2024),
    }
    assert all(path.name.startswith("2-") and path not in map(Path, first.values()) for path in new.values())
    assert (result.files_written, result.files_kept) == (len(new), len(kept))
    for path, print_before in before.items():  # every file of version 1: there, untouched
        assert fingerprint(Path(path)) == print_before, path

    assert_views_equal_tables(warehouse, snapshot)
    with duckdb.connect(str(version_catalog(snapshot, 1)), read_only=True) as old:  # an analyst on version 1
        assert old.execute("select v from marts.county_x where census_year = 2024").fetchall() == [(3.0,)]
    with duckdb.connect(str(snapshot), read_only=True) as new_version:
        assert new_version.execute("select v from marts.county_x where census_year = 2024").fetchall() == [
            (13.0,)
        ]
        listed = new_version.execute("select version from snapshot.versions order by 1").fetchall()
        assert listed == [(1,), (2,)]


def test_an_all_years_table_is_written_again_from_the_earliest_year_the_run_loads(warehouse, snapshot):
    publish_run(warehouse, snapshot, [2024])
    first = files_of(warehouse, 1)
    publish_run(warehouse, snapshot, [2023], "update marts.county_x set v = 0 where census_year = 2023")
    second = files_of(warehouse, 2)
    changed = {key for key in second if second[key] != first.get(key)}
    assert {key for key in changed if key[0] in YEARLY} == {
        ("raw.census_schools", 2023),
        ("marts.county_x", 2023),
        ("monitoring.county_trends", 2023),  # the all-years table: 2023 and every later year
        ("monitoring.county_trends", 2024),
    }
    assert_views_equal_tables(warehouse, snapshot)


def test_every_year_of_a_table_whose_columns_changed_is_written_again(warehouse, snapshot):
    publish_run(warehouse, snapshot, [2024])
    first = files_of(warehouse, 1)
    publish_run(
        warehouse,
        snapshot,
        [2024],
        "alter table marts.county_x add column is_provisional BOOLEAN default false",
    )
    second = files_of(warehouse, 2)
    assert second[("marts.county_x", 2023)] != first[("marts.county_x", 2023)]
    assert pq.read_schema(second[("marts.county_x", 2023)]).names == ["county_code", "v", "is_provisional"]
    assert second[("raw.census_schools", 2023)] == first[("raw.census_schools", 2023)]
    assert_views_equal_tables(warehouse, snapshot)


def test_a_year_a_table_no_longer_holds_leaves_the_snapshot(warehouse, snapshot):
    publish_run(warehouse, snapshot, [2024])
    publish_run(warehouse, snapshot, [2024], "delete from monitoring.county_trends where census_year = 2023")
    assert ("monitoring.county_trends", 2023) not in files_of(warehouse, 2)
    assert_views_equal_tables(warehouse, snapshot)


# --- settling what a killed run left ---------------------------------------------------------------


def _point_snapshot_at(snapshot: Path, catalog: Path) -> None:
    staged = snapshot.with_name("relink.tmp")
    os.link(catalog, staged)
    os.replace(staged, snapshot)


def test_settle_puts_in_place_a_version_a_killed_run_committed_but_did_not_rename(warehouse, snapshot):
    publish_run(warehouse, snapshot, [2024])
    publish_run(warehouse, snapshot, [2024], "update marts.county_x set v = 5 where census_year = 2024")
    # as a run killed between the commit and the rename leaves it: version 2 committed, its
    # catalog still under its temporary name, junheng.duckdb still version 1
    catalog = version_catalog(snapshot, 2)
    staged = versions_dir(snapshot) / ".2-0123456789ab.tmp"
    os.replace(catalog, staged)
    _point_snapshot_at(snapshot, version_catalog(snapshot, 1))
    parquet_before = {p: fingerprint(p) for p in on_disk(snapshot) if p.suffix == ".parquet"}

    with connect(warehouse) as con:
        lines = settle(con, snapshot)
    assert len(lines) == 1 and "published version 2" in lines[0]
    assert catalog.is_file() and os.path.samefile(snapshot, catalog)
    assert not staged.exists()  # the killed run's temporary catalog is gone
    assert storage_version(catalog) == 64
    assert_views_equal_tables(warehouse, snapshot)
    with duckdb.connect(str(snapshot), read_only=True) as published:
        assert published.execute("select version from snapshot.version").fetchall() == [(2,)]
        assert published.execute("select v from marts.county_x where census_year = 2024").fetchall() == [
            (5.0,)
        ]
    assert {p: fingerprint(p) for p in on_disk(snapshot) if p.suffix == ".parquet"} == parquet_before

    with connect(warehouse) as con:  # nothing left to do
        assert settle(con, snapshot) == []
    assert os.path.samefile(snapshot, catalog)


def test_settle_points_the_snapshot_at_the_latest_version_when_only_the_link_is_missing(warehouse, snapshot):
    publish_run(warehouse, snapshot, [2024])
    snapshot.unlink()
    with connect(warehouse) as con:
        assert settle(con, snapshot) == []  # nothing to write again, nothing to remove
    assert os.path.samefile(snapshot, version_catalog(snapshot, 1))


def test_settle_removes_the_files_no_kept_version_names(warehouse, snapshot):
    publish_run(warehouse, snapshot, [2024])
    kept = {p: fingerprint(p) for p in on_disk(snapshot)}
    root = parquet_dir(snapshot)
    strays = [
        root / "marts" / "county_x" / "census_year=2023" / "9-deadbeef0000.parquet",  # a killed run's file
        root / "marts" / "gone" / "census_year=2020" / "1-000000000000.parquet",
        root / "marts" / "dim_y" / "notes.txt",
        versions_dir(snapshot) / "7.duckdb",  # a catalog of a version no longer kept
        versions_dir(snapshot) / ".8-0123456789ab.tmp",  # a killed run's temporary catalog
        snapshot.with_name(f".{snapshot.name}.0123.tmp"),  # a killed swap
    ]
    for path in strays:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"left over")

    with connect(warehouse) as con:
        lines = settle(con, snapshot)
    assert len(lines) == 1 and "removed 4 published files" in lines[0]  # (the .tmp ones: silently)
    assert not any(path.exists() for path in strays)
    assert not (root / "marts" / "gone").exists()  # emptied folders go too
    assert {p: fingerprint(p) for p in on_disk(snapshot)} == kept
    assert_views_equal_tables(warehouse, snapshot)


def test_settle_on_a_warehouse_never_published_does_nothing(warehouse, snapshot):
    with connect(warehouse) as con:
        assert settle(con, snapshot) == []
    assert not snapshot.exists()


# --- a failed publish --------------------------------------------------------------------------------


def test_when_verification_fails_nothing_is_committed_and_the_files_written_are_removed(warehouse, snapshot):
    publish_run(warehouse, snapshot, [2024])
    before = {p: fingerprint(p) for p in on_disk(snapshot)}
    with connect(warehouse) as con:
        record = {t: sorted_frame(con, t) for t in ("publish.versions", "publish.files", "marts.county_x")}
    seen: dict[str, list] = {"v": [], "files": [], "staged": []}

    def verify(staged: Path) -> None:
        """The quality suites: they see the exact catalog about to be published, then refuse it."""
        with duckdb.connect(str(staged), read_only=True) as catalog:
            seen["v"] = catalog.execute("select v from marts.county_x where census_year = 2024").fetchall()
            seen["files"] = [
                Path(p) for (p,) in catalog.execute("select path from snapshot.files").fetchall()
            ]
        seen["staged"].append(staged)
        raise RuntimeError("data-quality checks failed")

    with pytest.raises(RuntimeError, match="data-quality checks failed"):
        publish_run(
            warehouse, snapshot, [2024], "update marts.county_x set v = 99 where census_year = 2024", verify
        )

    assert seen["v"] == [(99.0,)]
    written = [p for p in seen["files"] if p.name.startswith("2-")]
    assert written  # the failed publish had written files ...
    assert not any(p.exists() for p in written)  # ... and they are gone
    assert not seen["staged"][0].exists()
    assert {p: fingerprint(p) for p in on_disk(snapshot)} == before  # the previous snapshot, the same file
    assert os.path.samefile(snapshot, version_catalog(snapshot, 1))
    with connect(warehouse) as con:
        for relation, frame in record.items():  # nothing committed: neither the record nor the run's writes
            assert sorted_frame(con, relation).equals(frame), relation
        journal = con.execute(
            "select status, is_current, reason from audit.census_year_loads order by all"
        ).fetchall()
    assert journal == [("committed", True, None), ("rolled_back", False, "the test's run failed")]

    assert publish_run(warehouse, snapshot, [2024]).version == 2  # the next run publishes as usual
    assert_views_equal_tables(warehouse, snapshot)


# --- versions kept -----------------------------------------------------------------------------------


def test_the_number_of_versions_kept_is_an_operations_setting():
    assert kept_versions_setting() >= 1


def test_only_the_last_kept_versions_and_their_files_are_kept(warehouse, snapshot, monkeypatch):
    monkeypatch.setattr(snapshot_module, "kept_versions_setting", lambda: 2)
    for value in (10, 20, 30):
        publish_run(
            warehouse, snapshot, [2024], f"update marts.county_x set v = {value} where census_year = 2024"
        )

    assert versions(warehouse) == [2, 3]
    assert sorted(p.name for p in versions_dir(snapshot).iterdir()) == ["2.duckdb", "3.duckdb"]
    named = set(files_of(warehouse, 2).values()) | set(files_of(warehouse, 3).values())
    assert {
        str(p) for p in on_disk(snapshot) if p.suffix == ".parquet"
    } == named  # version 1's own files: gone
    assert (
        files_of(warehouse, 3)[("marts.county_x", 2023)].split("/")[-1].startswith("1-")
    )  # shared ones stay
    with duckdb.connect(
        str(version_catalog(snapshot, 2)), read_only=True
    ) as older:  # a kept older version reads
        assert older.execute("select v from marts.county_x where census_year = 2024").fetchall() == [(20.0,)]
    with duckdb.connect(str(snapshot), read_only=True) as latest:
        assert latest.execute("select version from snapshot.versions order by 1").fetchall() == [(2,), (3,)]
        assert latest.execute("select v from marts.county_x where census_year = 2024").fetchall() == [(30.0,)]


# --- the path the snapshot is published through ----------------------------------------------------


def test_a_snapshot_published_through_a_relative_path_reads_from_any_folder(warehouse, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    publish_run(warehouse, Path("pub/junheng.duckdb"), [2024])
    elsewhere = tmp_path / "an_analysts_folder"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # an analyst's client (DBeaver, R, the CLI) runs anywhere
    assert_views_equal_tables(warehouse, tmp_path / "pub" / "junheng.duckdb")


def test_publishing_through_another_spelling_of_the_folder_keeps_the_snapshots_files(
    warehouse, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    publish_run(warehouse, Path("pub/junheng.duckdb"), [2024])
    snapshot = tmp_path / "pub" / "junheng.duckdb"  # the same file, by its absolute path
    with connect(warehouse) as con:
        settle(con, snapshot)  # what every run does first
    assert_views_equal_tables(warehouse, Path("pub/junheng.duckdb"))  # version 1 still reads
    publish_run(warehouse, snapshot, [2024], "update marts.county_x set v = 7 where census_year = 2024")
    assert_views_equal_tables(warehouse, snapshot)


# --- a real warehouse --------------------------------------------------------------------------------


def test_a_tiny_warehouse_of_two_census_years_is_published_table_for_table(
    tiny_warehouse, tmp_path, snapshot
):
    rows = [census_row(school_id=f"219000000{i}", books=10_000 + 1_000 * i) for i in range(1, 5)]
    tiny_warehouse.load(rows, census_year=2023)
    tiny_warehouse.load(rows, census_year=2024)
    tiny_warehouse.build()  # every model, before publishing reads the file
    warehouse = tmp_path / "tiny.duckdb"  # the fixture's file
    result = publish_run(warehouse, snapshot, [2023, 2024])
    assert result.version == 1 and result.files_written > 0
    assert_views_equal_tables(warehouse, snapshot)
    schema = pq.read_schema(files_of(warehouse, 1)[("marts.county_balance", 2024)])
    for name, text in table_doc("marts.county_balance").columns.items():
        if name != "census_year":
            assert schema.field(name).metadata[b"description"] == text.encode(), name


def _open_files(target: str) -> list[str]:
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == target:
                found.append(fd)
        except OSError:
            continue
    return found


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_a_parquet_file_that_hits_a_full_disk_is_closed():
    """A full disk while a Parquet file is written: the error goes up to publish (which says so in
    one line) and the file is not left open, holding the disk's space while the process lives."""
    before = _open_files("/dev/full")
    with duckdb.connect() as con, pytest.raises(OSError, match="No space left on device|errno 28") as raised:
        snapshot_module._write_parquet(
            con, "select range as n from range(200000)", {}, Path("/dev/full"), "", {}
        )
    # the error is kept (a Dagster run keeps it), and with it the frames of the function that raised
    assert raised.traceback and _open_files("/dev/full") == before
