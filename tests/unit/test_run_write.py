"""A census-year run writes the working warehouse in one transaction that only publishing commits.

On real DuckDB files: what a run writes is invisible to every other connection until it commits;
a run closed without committing leaves nothing behind (tables it created, rows it replaced) but
the record of its attempt (`audit.census_year_loads`, status rolled_back, with the reason, and the
files it read in `audit.loads`); `transaction()` on the run's connection is part of the run's
transaction; a commit makes the run's years current and the earlier loads of those years not; and
a run rebuilds every loaded year from the earliest one it loads.

A second connection in this process shares DuckDB's database instance with the run's, but has a
transaction of its own: it sees what another process would.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import duckdb
import pytest

from pipelines.lib.ingest.census_ingest import FileReport
from pipelines.lib.loads.processes import this_process
from pipelines.lib.loads.run_write import JOURNAL, RunWrite, loaded_years, years_to_rebuild
from pipelines.lib.warehouse import (
    connect,
    delete_year,
    ensure_loads_table,
    open_connection,
    table_exists,
    transaction,
)

ME = this_process()


def files(year: int, *statuses: str) -> list[FileReport]:
    """File records as the ingest makes them, one per status."""
    return [
        FileReport(
            source_file=f"{year}/county_{i}.csv",
            sha256=f"{i:064d}",
            file_format="csv",
            encoding="utf-8",
            rows_read=10,
            rows_accepted=10 if status == "loaded" else 0,
            rows_rejected=0 if status == "loaded" else 10,
            status=status,
            message=None if status == "loaded" else "refused",
            shape="school_table",
        )
        for i, status in enumerate(statuses)
    ]


def insert_files(con: duckdb.DuckDBPyConnection, load_id: str, year: int, reports: list[FileReport]) -> None:
    """The files of a load in audit.loads, as the ingest writes them (not current until commit)."""
    ensure_loads_table(con)
    for f in reports:
        con.execute(
            "insert into audit.loads (load_id, census_year, source_file, sha256, status, loaded_at, is_current) "
            "values ($l, $y, $f, $h, $s, now(), false)",
            {"l": load_id, "y": year, "f": f.source_file, "h": f.sha256, "s": f.status},
        )


@pytest.fixture
def path(tmp_path):
    """A working warehouse with marts.county_x (2023 and 2024) and raw.census_schools, committed."""
    database = tmp_path / "junheng.duckdb"
    with connect(database) as con:
        con.execute("create table marts.county_x (census_year INTEGER, county_code VARCHAR, v DOUBLE)")
        con.execute("insert into marts.county_x values (2023, 'a', 1), (2023, 'b', 2), (2024, 'a', 3)")
        con.execute("create table raw.census_schools (census_year INTEGER, school_id VARCHAR)")
        con.execute("insert into raw.census_schools values (2023, 's1'), (2024, 's1')")
    return database


@pytest.fixture
def other(path):
    """Another connection to the working warehouse, outside the run."""
    con = open_connection(path)
    yield con
    con.close()


def rows(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple]:
    return con.execute(f"select * from {relation} order by all").fetchall()


def journal(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(
        f"select load_id, census_year, status, is_current, reason from {JOURNAL} order by all"
    ).fetchall()


def loads(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(
        "select load_id, census_year, source_file, status, is_current from audit.loads order by all"
    ).fetchall()


def commit_run(path, load_id: str, year: int, reports: list[FileReport]) -> None:
    """A run that loads `year` with `reports` and commits (as publishing does)."""
    run = RunWrite(path, load_id, ME)
    try:
        insert_files(run.con, load_id, year, reports)
        run.attempt(year, reports)
        run.record_commit(datetime.now(UTC))
        run.commit()
    finally:
        assert run.close() == []  # nothing to roll back after a commit


def test_nothing_a_run_writes_is_visible_to_another_connection_until_it_commits(path, other):
    run = RunWrite(path, "run-1", ME)
    assert not run.is_open  # the connection and its transaction begin at the first use
    run.con.execute("create table marts.new_t as select 1 as x")
    run.con.execute("update marts.county_x set v = v * 10 where census_year = 2024")
    run.con.execute("insert into raw.census_schools values (2025, 's1')")
    assert run.is_open
    assert rows(run.con, "marts.new_t") == [(1,)]  # the run sees its own writes

    assert not table_exists(other, "marts", "new_t")
    assert rows(other, "marts.county_x") == [(2023, "a", 1.0), (2023, "b", 2.0), (2024, "a", 3.0)]
    assert loaded_years(other) == [2023, 2024]
    assert loaded_years(run.con) == [2023, 2024, 2025]

    run.attempt(2025, [])
    assert run.record_commit(datetime.now(UTC)) == [2025]
    assert not table_exists(other, "audit", "census_year_loads")  # nor is the record, before the commit
    run.commit()
    assert run.committed

    assert rows(other, "marts.new_t") == [(1,)]
    assert rows(other, "marts.county_x") == [(2023, "a", 1.0), (2023, "b", 2.0), (2024, "a", 30.0)]
    assert loaded_years(other) == [2023, 2024, 2025]
    assert journal(other) == [("run-1", 2025, "committed", True, None)]
    assert run.close() == []
    assert not run.is_open


def test_a_run_closed_without_commit_leaves_only_the_record_of_its_attempt(path):
    with connect(path) as con:
        before = {t: rows(con, t) for t in ("marts.county_x", "raw.census_schools")}

    run = RunWrite(path, "run-failed", ME)
    con = run.con
    con.execute("create table monitoring.made_by_the_run as select 42 as x")
    with transaction(con):  # a year's rows replaced, as replace_year does it
        delete_year(con, "marts.county_x", 2024)
        con.execute("insert into marts.county_x values (2024, 'z', 9)")
    con.execute("delete from raw.census_schools where census_year = 2023")
    loaded = files(2024, "loaded", "loaded", "ignored")
    insert_files(con, "run-failed", 2024, loaded)  # as replace_census_year writes them
    run.attempt(2024, loaded)
    refused = files(2025, "rejected", "loaded")
    run.attempt(2025, refused, refused=True)  # a year the ingest refused: its files as they were

    assert run.close("the quality checks failed") == [2024, 2025]
    assert not run.is_open and not run.committed

    with connect(path) as con:
        assert not table_exists(con, "monitoring", "made_by_the_run")
        assert {t: rows(con, t) for t in before} == before  # replaced and deleted rows are back
        assert journal(con) == [
            ("run-failed", 2024, "rolled_back", False, "the quality checks failed"),
            ("run-failed", 2025, "rolled_back", False, "the quality checks failed"),
        ]
        who = con.execute(f"select distinct host, pid, pid_started from {JOURNAL}").fetchall()
        assert who == [(ME.host, ME.pid, ME.started)]
        assert loads(con) == [
            ("run-failed", 2024, "2024/county_0.csv", "rolled_back", False),  # loaded: rolled back
            ("run-failed", 2024, "2024/county_1.csv", "rolled_back", False),
            ("run-failed", 2024, "2024/county_2.csv", "ignored", False),  # ignored stays ignored
            (
                "run-failed",
                2025,
                "2025/county_0.csv",
                "rejected",
                False,
            ),  # a refused year's files as they were
            ("run-failed", 2025, "2025/county_1.csv", "loaded", False),
        ]
        counts = con.execute(
            "select source_file, rows_read, rows_accepted, sha256 from audit.loads order by 1"
        ).fetchall()
        assert counts[0] == ("2024/county_0.csv", 10, 10, f"{0:064d}")  # the file's record, whole


def test_a_run_that_fails_without_saying_why_is_recorded_with_a_default_reason(path):
    run = RunWrite(path, "run-2", ME)
    run.attempt(2024, [])
    run.con.execute("delete from marts.county_x")
    assert run.close() == [2024]
    with connect(path) as con:
        assert journal(con) == [("run-2", 2024, "rolled_back", False, "the run failed before publishing")]
        assert len(rows(con, "marts.county_x")) == 3
        assert not table_exists(con, "audit", "loads")  # no files read, none recorded


def test_a_run_that_tried_no_census_year_records_nothing_and_a_run_never_opened_does_nothing(path):
    run = RunWrite(path, "run-3", ME)
    assert run.close("never used") == []
    run = RunWrite(path, "run-4", ME)
    run.con.execute("delete from marts.county_x")
    assert run.close("no years") == []
    with connect(path) as con:
        assert not table_exists(con, "audit", "census_year_loads")
        assert len(rows(con, "marts.county_x")) == 3


def test_transaction_on_the_runs_connection_is_part_of_the_runs_transaction(path, other):
    run = RunWrite(path, "run-5", ME)
    with transaction(run.con) as con:  # an inner block (replace_year, replace_table ... use one)
        assert con is run.con
        con.execute("create table marts.inner_t as select 1 as x")
        con.execute("delete from marts.county_x where census_year = 2023")
    # the inner block ended without committing: nothing is visible outside the run yet
    assert not table_exists(other, "marts", "inner_t")
    assert len(rows(other, "marts.county_x")) == 3
    assert table_exists(run.con, "marts", "inner_t")

    with pytest.raises(RuntimeError, match="inner failure"), transaction(run.con):  # an inner block fails ...
        run.con.execute("insert into marts.inner_t values (2)")
        raise RuntimeError("inner failure")
    assert rows(run.con, "marts.inner_t") == [(1,), (2,)]  # ... does not end the run's transaction

    run.attempt(2024, [])
    run.close("a later step failed")
    assert not table_exists(other, "marts", "inner_t")  # the inner blocks are rolled back with the run
    assert len(rows(other, "marts.county_x")) == 3

    with transaction(other):  # outside a run: a transaction of its own, committed at the end
        other.execute("create table marts.own_t as select 1 as x")
    with connect(path) as third:
        assert rows(third, "marts.own_t") == [(1,)]


def test_after_a_commit_transaction_on_the_runs_connection_commits_on_its_own(path, other):
    run = RunWrite(path, "run-6", ME)
    run.attempt(2024, [])
    run.record_commit(datetime.now(UTC))
    run.commit()
    with transaction(run.con):  # e.g. publishing's clean-up after the commit
        run.con.execute("create table marts.after_t as select 1 as x")
    assert rows(other, "marts.after_t") == [(1,)]
    run.close("ignored: the run committed")
    assert journal(other) == [("run-6", 2024, "committed", True, None)]


def test_a_commit_makes_the_runs_years_current_and_earlier_loads_of_them_not(path):
    commit_run(path, "load-a", 2023, files(2023, "loaded"))
    commit_run(path, "load-b", 2024, files(2024, "loaded", "ignored"))
    with connect(path) as con:
        assert journal(con) == [
            ("load-a", 2023, "committed", True, None),
            ("load-b", 2024, "committed", True, None),
        ]

    commit_run(path, "load-c", 2024, files(2024, "loaded", "loaded"))  # 2024 loaded again
    with connect(path) as con:
        assert journal(con) == [
            ("load-a", 2023, "committed", True, None),  # another year: untouched
            ("load-b", 2024, "committed", False, None),  # the earlier load of the year: not current
            ("load-c", 2024, "committed", True, None),
        ]
        assert loads(con) == [
            ("load-a", 2023, "2023/county_0.csv", "loaded", True),
            ("load-b", 2024, "2024/county_0.csv", "loaded", False),
            ("load-b", 2024, "2024/county_1.csv", "ignored", False),
            ("load-c", 2024, "2024/county_0.csv", "loaded", True),
            ("load-c", 2024, "2024/county_1.csv", "loaded", True),
        ]
        finished = con.execute(f"select count(*) from {JOURNAL} where finished_at is null").fetchall()
        assert finished == [(0,)]

    # a failed reload of 2024 changes nothing of what is current
    run = RunWrite(path, "load-d", ME)
    insert_files(run.con, "load-d", 2024, files(2024, "loaded"))
    run.attempt(2024, files(2024, "loaded"))
    run.record_commit(datetime.now(UTC))  # publishing began, then the run failed before the commit
    run.close("verify failed")
    with connect(path) as con:
        current = con.execute(
            f"select load_id, census_year from {JOURNAL} where is_current order by 2"
        ).fetchall()
        assert current == [("load-a", 2023), ("load-c", 2024)]
        assert con.execute(
            "select distinct load_id from audit.loads where is_current order by 1"
        ).fetchall() == [("load-a",), ("load-c",)]
        assert ("load-d", 2024, "rolled_back", False, "verify failed") in journal(con)


def test_a_run_that_rebuilt_the_models_without_reading_files_keeps_the_years_files_current(path):
    commit_run(path, "load-a", 2024, files(2024, "loaded"))
    commit_run(path, "rebuild", 2024, [])  # e.g. a run after a change of standards: no files read
    with connect(path) as con:
        assert loads(con) == [("load-a", 2024, "2024/county_0.csv", "loaded", True)]
        assert journal(con)[-1] == ("rebuild", 2024, "committed", True, None)


def test_the_years_to_rebuild_are_every_loaded_year_from_the_earliest_the_run_loads(path, tmp_path):
    with connect(path) as con:
        con.execute("insert into raw.census_schools values (2021, 's1'), (2022, 's1'), (2022, 's2')")
        assert loaded_years(con) == [2021, 2022, 2023, 2024]
        assert years_to_rebuild(con, [2023]) == [2023, 2024]
        assert years_to_rebuild(con, [2024, 2022]) == [2022, 2023, 2024]
        assert years_to_rebuild(con, [2021]) == [2021, 2022, 2023, 2024]
        assert years_to_rebuild(con, []) == [2021, 2022, 2023, 2024]  # a run that loads none: every year
        assert years_to_rebuild(con, [2030]) == []
    with connect(tmp_path / "empty.duckdb") as con:  # no census table yet
        assert years_to_rebuild(con, [2024]) == []
        assert years_to_rebuild(con, []) == []


def test_the_years_to_rebuild_include_a_year_the_run_itself_loaded(path):
    run = RunWrite(path, "run-7", ME)
    run.con.execute("insert into raw.census_schools values (2025, 's1')")
    assert years_to_rebuild(run.con, [2025]) == [2025]
    assert years_to_rebuild(run.con, [2024]) == [2024, 2025]
    run.close()


def test_a_run_whose_commit_fails_is_recorded_as_rolled_back(path, other):
    other.execute("create table marts.keyed (k INTEGER PRIMARY KEY)")
    run = RunWrite(path, "run-8", ME)
    run.con.execute("insert into marts.keyed values (1)")
    run.attempt(2024, [])
    other.execute("insert into marts.keyed values (1)")  # a conflicting write commits first
    with pytest.raises(duckdb.TransactionException):
        run.commit()
    assert not run.committed
    assert run.close("the commit failed") == [2024]
    assert journal(other) == [("run-8", 2024, "rolled_back", False, "the commit failed")]


def test_a_file_report_of_a_failed_run_keeps_every_field_but_its_status():
    from pipelines.lib.loads.run_write import _rolled_back

    loaded, ignored = files(2024, "loaded", "ignored")
    assert _rolled_back(loaded) == replace(loaded, status="rolled_back")
    assert _rolled_back(ignored) == ignored
