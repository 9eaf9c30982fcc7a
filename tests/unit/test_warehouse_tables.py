"""Tables created inside a census-year run's transaction keep the rows inserted into them.

DuckDB 2.0.0 loses the rows of a large insert (one that DuckDB writes straight to the file, here
600,000 rows) into a table that `create table … as select … limit 0` made in the same
transaction: a scan finds none, though count(*) counts them. National census years are that
large, so every table is declared column by column (warehouse.create_table_of)."""

from pathlib import Path

import duckdb

from pipelines.lib.warehouse import create_table_of

ROWS = 600_000


def _source(path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    con.execute("create schema s")
    con.execute(
        f"create table s.src as select range as a, range::varchar as b, range % 7 = 0 as f, "
        f"[range, 1] as l, {{'x': range}} as st from range({ROWS})"
    )
    return con


def test_a_table_declared_in_the_transaction_keeps_a_large_insert(tmp_path):
    con = _source(tmp_path / "w.duckdb")
    con.execute("begin transaction")
    create_table_of(con, "s.t", "select * from s.src limit 0")
    con.execute("insert into s.t select * from s.src")
    assert con.execute("select count(*), sum(a) from s.t where f or not f").fetchall() == [
        (ROWS, ROWS * (ROWS - 1) // 2)
    ]
    assert [str(t) for t in con.sql("select * from s.t").types] == [
        str(t) for t in con.sql("select * from s.src").types
    ]
    con.execute("commit")
    assert con.execute("select count(*) from s.t where f or not f").fetchall() == [(ROWS,)]


def test_the_duckdb_behaviour_it_works_around_is_still_there(tmp_path):
    """When a DuckDB upgrade fixes it, this fails: create_table_of may then go."""
    con = _source(tmp_path / "w.duckdb")
    con.execute("begin transaction")
    con.execute("create table s.t as select * from s.src limit 0")
    con.execute("insert into s.t select * from s.src")
    assert con.execute("select count(*) from s.t").fetchall() == [(ROWS,)]
    assert con.execute("select count(*) from s.t where f or not f").fetchall() == [(0,)]
