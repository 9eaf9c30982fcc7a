"""A census year is loaded whole or not at all.

On a real DuckDB file with two small yearly tables: a rollback gives every yearly table its rows of
the year back exactly as they were (rows added, deleted or changed, and tables created by the
failed load), and leaves other years alone; a commit makes the load current in the journal and in
audit.loads and forgets its undo copies; the history tables keep the record of a failed load; a
load cannot begin twice, after it finished, or on a year another load holds; publication commits
its own load and rolls back every other; and an audit.loads built before `is_current` existed gets
the flag for what was current then.
"""

import os

import pytest

from pipelines.lib.loads.processes import ProcessId, this_process
from pipelines.lib.loads.year_loads import (
    JOURNAL,
    LoadStateError,
    begin,
    commit,
    pending,
    rollback,
    seal_for_publication,
)
from pipelines.lib.warehouse import connect, ensure_loads_table

ME = this_process()
OLD_LOADS_DDL = """
create table audit.loads (
    load_id VARCHAR, census_year INTEGER, source_file VARCHAR, sha256 VARCHAR, status VARCHAR,
    message VARCHAR, file_format VARCHAR, encoding VARCHAR, sheet VARCHAR, rows_read BIGINT,
    rows_accepted BIGINT, rows_rejected BIGINT, rows_skipped BIGINT, unknown_columns VARCHAR[],
    seconds DOUBLE, loaded_at TIMESTAMP WITH TIME ZONE
)"""


@pytest.fixture
def warehouse(tmp_path):
    with connect(tmp_path / "warehouse.duckdb") as con:
        yield con


@pytest.fixture
def con(warehouse):
    """marts.county_x and monitoring.y with rows of 2023 and 2024, and audit.loads (a history table
    with a census_year column, which no load may undo)."""
    warehouse.execute("create table marts.county_x (census_year INTEGER, county_code VARCHAR, v DOUBLE)")
    warehouse.execute(
        "insert into marts.county_x values (2023, 'a', 1), (2023, 'b', 2), (2024, 'a', 3), (2024, 'b', 4),"
        " (2024, 'c', 5)"
    )
    warehouse.execute("create table monitoring.y (census_year INTEGER, k VARCHAR)")
    warehouse.execute("insert into monitoring.y values (2023, 'p'), (2024, 'q'), (2024, 'r')")
    ensure_loads_table(warehouse)
    add_files(warehouse, "earlier", 2023, "loaded", current=True)
    return warehouse


def add_files(con, load_id: str, year: int, *statuses: str, current: bool = False) -> None:
    """One audit.loads row per file status, as the ingest writes them (not current until commit)."""
    for i, status in enumerate(statuses):
        con.execute(
            "insert into audit.loads (load_id, census_year, source_file, status, loaded_at, is_current) "
            "values ($l, $y, $f, $s, now(), $c)",
            {"l": load_id, "y": year, "f": f"{year}/{i}.csv", "s": status, "c": current},
        )


def rows(con, relation: str, year: int | None = None) -> list[tuple]:
    where = "" if year is None else f" where census_year = {year}"
    return con.execute(f"select * from {relation}{where} order by all").fetchall()


def journal(con) -> list[tuple]:
    return con.execute(
        f"select load_id, census_year, status, is_current, reason from {JOURNAL} order by all"
    ).fetchall()


def files(con) -> list[tuple]:
    return con.execute(
        "select load_id, census_year, source_file, status, is_current from audit.loads order by all"
    ).fetchall()


def undo_tables(con) -> list[str]:
    return [
        name
        for (name,) in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'undo' order by 1"
        ).fetchall()
    ]


def test_a_first_load_of_a_year_saves_nothing_and_its_rollback_removes_all_it_wrote(con):
    before = rows(con, "marts.county_x"), rows(con, "monitoring.y")
    assert begin(con, "first", [2025], ME) == 0
    con.execute("insert into marts.county_x values (2025, 'a', 9), (2025, 'b', 8)")
    con.execute("insert into monitoring.y values (2025, 's')")

    assert rollback(con, "first", "the county model failed") == [2025]

    assert (rows(con, "marts.county_x"), rows(con, "monitoring.y")) == before
    assert journal(con) == [("first", 2025, "rolled_back", False, "the county model failed")]
    assert con.execute(f"select saved_tables, saved_rows from {JOURNAL}").fetchall() == [(2, 0)]


def test_a_failed_reload_gives_every_table_its_year_back_and_leaves_other_years_alone(con):
    before = rows(con, "marts.county_x"), rows(con, "monitoring.y")
    assert begin(con, "reload", [2024], ME) == 5  # 3 rows of county_x, 2 of y; audit.loads is not saved
    assert undo_tables(con) == ["reload|2024|marts.county_x", "reload|2024|monitoring.y"]
    con.execute("delete from marts.county_x where census_year = 2024 and county_code = 'a'")
    con.execute("insert into marts.county_x values (2024, 'd', 6)")
    con.execute("update marts.county_x set v = 40 where census_year = 2024 and county_code = 'b'")
    con.execute("delete from monitoring.y where census_year = 2024")
    con.execute("create table marts.county_new (census_year INTEGER, county_code VARCHAR)")
    con.execute("insert into marts.county_new values (2023, 'z'), (2024, 'a'), (2024, 'b')")

    assert rollback(con, "reload", "quality checks failed") == [2024]

    assert (rows(con, "marts.county_x"), rows(con, "monitoring.y")) == before
    assert rows(con, "marts.county_new") == [(2023, "z")]
    assert undo_tables(con) == []


def test_a_commit_makes_the_load_current_and_moves_the_files_flag_only_if_it_read_files(con):
    begin(con, "old", [2024], ME)
    add_files(con, "old", 2024, "loaded", "loaded")
    assert commit(con, "old") == [2024]
    begin(con, "new", [2024], ME)
    add_files(con, "new", 2024, "loaded")
    assert commit(con, "new") == [2024]

    assert journal(con) == [("new", 2024, "committed", True, None), ("old", 2024, "committed", False, None)]
    assert undo_tables(con) == []
    current_files = [
        ("earlier", 2023, "2023/0.csv", "loaded", True),
        ("new", 2024, "2024/0.csv", "loaded", True),
        ("old", 2024, "2024/0.csv", "loaded", False),
        ("old", 2024, "2024/1.csv", "loaded", False),
    ]
    assert files(con) == current_files

    begin(con, "models-only", [2024], ME)  # a run that only rebuilt the models: no file rows
    commit(con, "models-only")
    assert journal(con) == [
        ("models-only", 2024, "committed", True, None),
        ("new", 2024, "committed", False, None),
        ("old", 2024, "committed", False, None),
    ]
    assert files(con) == current_files


def test_history_tables_keep_the_record_of_a_failed_load(con):
    begin(con, "good", [2024], ME)
    add_files(con, "good", 2024, "loaded")
    commit(con, "good")
    begin(con, "bad", [2024], ME)
    add_files(con, "bad", 2024, "loaded", "loaded", current=True)  # as if marked current: must not stay so

    rollback(con, "bad", "died")

    assert files(con) == [
        ("bad", 2024, "2024/0.csv", "rolled_back", False),
        ("bad", 2024, "2024/1.csv", "rolled_back", False),
        ("earlier", 2023, "2023/0.csv", "loaded", True),
        ("good", 2024, "2024/0.csv", "loaded", True),
    ]
    assert journal(con) == [
        ("bad", 2024, "rolled_back", False, "died"),
        ("good", 2024, "committed", True, None),
    ]


def test_begin_is_idempotent_within_a_load(con):
    assert begin(con, "once", [2024], ME) == 5
    assert begin(con, "once", [2024], ME) == 0
    assert journal(con) == [("once", 2024, "in_progress", False, None)]
    assert undo_tables(con) == ["once|2024|marts.county_x", "once|2024|monitoring.y"]


def test_a_finished_load_cannot_begin_again(con):
    begin(con, "done", [2024], ME)
    commit(con, "done")
    begin(con, "failed", [2023], ME)
    rollback(con, "failed", "boom")
    with pytest.raises(LoadStateError, match="load done is already committed"):
        begin(con, "done", [2024], ME)
    with pytest.raises(LoadStateError, match="load failed is already rolled_back"):
        begin(con, "failed", [2023], ME)


def test_a_year_another_load_has_in_progress_cannot_begin(con):
    begin(con, "aaaaaaaa-1111", [2024], ME)
    with pytest.raises(LoadStateError, match=f"run aaaaaaaa \\(pid {os.getpid()} on {ME.host}\\)"):
        begin(con, "bbbbbbbb-2222", [2024], ME)
    assert journal(con) == [("aaaaaaaa-1111", 2024, "in_progress", False, None)]
    assert undo_tables(con) == ["aaaaaaaa-1111|2024|marts.county_x", "aaaaaaaa-1111|2024|monitoring.y"]


def test_pending_lists_exactly_the_loads_in_progress(con):
    elsewhere = ProcessId("another-host", 4242, "123456")
    begin(con, "a", [2023], ME)
    begin(con, "b", [2024], elsewhere)
    begin(con, "c", [2025], ME)
    commit(con, "c")
    begin(con, "d", [2026], ME)
    rollback(con, "d", "boom")

    loads = pending(con)

    assert [(p.load_id, p.census_year, p.process) for p in loads] == [("a", 2023, ME), ("b", 2024, elsewhere)]
    assert all(len(p.started_at) == 5 and p.started_at[2] == ":" for p in loads)


def test_sealing_for_publication_commits_its_own_load_and_rolls_back_every_other(con):
    before_2023 = rows(con, "marts.county_x", 2023), rows(con, "monitoring.y", 2023)
    begin(con, "mine", [2024], ME)
    con.execute("update marts.county_x set v = v * 10 where census_year = 2024")
    begin(con, "other", [2023], ME)
    con.execute("delete from marts.county_x where census_year = 2023 and county_code = 'a'")
    con.execute("insert into monitoring.y values (2023, 'extra')")

    rolled_back = seal_for_publication(con, "mine")

    assert [load.load_id for load in rolled_back] == ["other"]
    assert journal(con) == [
        ("mine", 2024, "committed", True, None),
        (
            "other",
            2023,
            "rolled_back",
            False,
            "unfinished when another load was published; not in this snapshot",
        ),
    ]
    assert (rows(con, "marts.county_x", 2023), rows(con, "monitoring.y", 2023)) == before_2023
    assert rows(con, "marts.county_x", 2024) == [(2024, "a", 30.0), (2024, "b", 40.0), (2024, "c", 50.0)]
    assert con.execute("select count(*) from duckdb_schemas() where schema_name = 'undo'").fetchone() == (0,)


def test_an_old_loads_table_gets_is_current_for_each_years_latest_load_that_loaded(warehouse):
    warehouse.execute(OLD_LOADS_DDL)
    for load_id, year, status, at in [
        ("g23", 2023, "loaded", "2024-05-01 10:00:00+00"),
        ("g23b", 2023, "loaded", "2024-06-01 10:00:00+00"),
        ("g24", 2024, "loaded", "2025-05-01 10:00:00+00"),
        ("r24", 2024, "loaded", "2025-06-01 10:00:00+00"),
        ("r24", 2024, "rejected", "2025-06-01 10:00:01+00"),  # one file refused: the load was refused
        ("r24b", 2024, "rejected", "2025-07-01 10:00:00+00"),
    ]:
        warehouse.execute(
            "insert into audit.loads (load_id, census_year, source_file, status, loaded_at) "
            "values ($l, $y, $s, $s, $at::timestamptz)",
            {"l": load_id, "y": year, "s": status, "at": at},
        )

    ensure_loads_table(warehouse)

    assert warehouse.execute(
        "select load_id, status, is_current from audit.loads order by all"
    ).fetchall() == [
        ("g23", "loaded", False),
        ("g23b", "loaded", True),
        ("g24", "loaded", True),
        ("r24", "loaded", False),
        ("r24", "rejected", False),
        ("r24b", "rejected", False),
    ]


def test_a_rollback_restores_the_later_years_of_a_cross_year_table(warehouse):
    """monitoring.county_trends is cross-year (its sidecar says so): a load of 2022 rebuilds its
    rows of 2023 and 2024 too, so a failed load of 2022 must give those back as well."""
    warehouse.execute("create table monitoring.county_trends (census_year INTEGER, v DOUBLE)")
    warehouse.execute(
        "insert into monitoring.county_trends values (2021, 0), (2022, 1), (2023, 2), (2024, 3)"
    )
    warehouse.execute("create table marts.county_x (census_year INTEGER, v DOUBLE)")
    warehouse.execute("insert into marts.county_x values (2022, 1), (2023, 2)")
    before = {t: rows(warehouse, t) for t in ("monitoring.county_trends", "marts.county_x")}
    begin(warehouse, "load-2022", [2022], ME)
    warehouse.execute("delete from monitoring.county_trends where census_year >= 2022")
    warehouse.execute(
        "insert into monitoring.county_trends values (2022, 10), (2023, 20), (2024, 30), (2025, 40)"
    )
    warehouse.execute("update marts.county_x set v = 99")  # a per-year table: only 2022 is the load's
    rollback(warehouse, "load-2022", "failed")
    assert rows(warehouse, "monitoring.county_trends") == before["monitoring.county_trends"]
    assert rows(warehouse, "marts.county_x") == [(2022, 1.0), (2023, 99.0)]
