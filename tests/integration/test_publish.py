"""Publishing the read-only snapshot: an analyst holding it open never blocks a load and keeps a
consistent view; a failed run publishes nothing; every view of the snapshot reads its table, and a
second engine (polars) reads the same figures from the Parquet files alone.

The analyst is a separate process, as in real use (DuckDB shares one database instance per path
within a process, so a second connection in this process would not show what a new analyst sees).
"""

import hashlib
import subprocess
import sys
import textwrap
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pyarrow.parquet as pq
import pytest

from pipelines.lib.publish.snapshot import parquet_dir
from pipelines.lib.synthetic.province import generate
from pipelines.lib.warehouse import SCHEMAS, query_frame
from pipelines.runner import run_census_year, run_pipeline, warehouse_config

pytestmark = pytest.mark.integration

ANALYST = textwrap.dedent(
    """
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    def look():
        years = con.execute(
            "select min(census_year), max(census_year), count(*) from marts.county_balance"
        ).fetchall()[0]
        return "%s %s %s" % years
    print(look(), flush=True)
    sys.stdin.readline()  # the test loads a new year meanwhile
    print(look(), flush=True)
    """
)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def balance_years(published: Path) -> str:
    with duckdb.connect(str(published), read_only=True) as con:
        first, last, rows = con.execute(
            "select min(census_year), max(census_year), count(*) from marts.county_balance"
        ).fetchall()[0]
    return f"{first} {last} {rows}"


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    root = tmp_path_factory.mktemp("publish")
    landing, warehouse, published = root / "landing", root / "w.duckdb", root / "pub" / "junheng.duckdb"
    generate(landing, counties=4, years=[2022, 2023, 2024], seed=11, progress=lambda _: None)
    run_pipeline(landing, warehouse, published, census_years=[2022, 2023], progress=lambda _: None)
    return landing, warehouse, published


def test_an_analyst_holding_the_snapshot_never_blocks_a_load_and_keeps_the_old_view(loaded):
    landing, warehouse, published = loaded
    analyst = subprocess.Popen(
        [sys.executable, "-c", ANALYST, str(published)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert analyst.stdout is not None and analyst.stdin is not None
        before = analyst.stdout.readline().strip()
        assert before.startswith("2022 2023 "), analyst.stderr.read() if analyst.stderr else ""

        run_pipeline(landing, warehouse, published, census_years=[2024], progress=lambda _: None)

        analyst.stdin.write("\n")
        analyst.stdin.flush()
        still = analyst.stdout.readline().strip()
        assert analyst.wait(timeout=60) == 0
    finally:
        analyst.kill()
    assert still == before  # the open connection still reads the old snapshot, whole
    assert balance_years(published).startswith("2022 2024 ")  # a new connection reads the new one
    assert (published.stat().st_mode & 0o222) == 0  # the snapshot is a read-only file
    assert not list(published.parent.rglob(".*.tmp*"))  # no staged catalog left behind


def test_a_run_that_fails_midway_publishes_nothing(loaded):
    landing, warehouse, published = loaded
    snapshot_before, inode_before = sha256(published), published.stat().st_ino
    parquet_before = {p: sha256(p) for p in parquet_dir(published).rglob("*.parquet")}
    with duckdb.connect(str(warehouse)) as con:
        con.execute("drop table marts.alert_settings")  # the trends model reads it, mid-way through
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("census_year", ["2024"])
        config = warehouse_config(landing, warehouse, published, warehouse.parent / "reports")
        result = run_census_year(2024, config, instance)
        materialised = {
            e.asset_key.to_user_string()
            for e in result.all_events
            if e.event_type_value == "ASSET_MATERIALIZATION" and e.asset_key is not None
        }
    assert not result.success
    assert "raw/census_schools" in materialised  # the run did get part of the way
    assert "published/warehouse_snapshot" not in materialised
    assert sha256(published) == snapshot_before and published.stat().st_ino == inode_before
    assert {p: sha256(p) for p in parquet_dir(published).rglob("*.parquet")} == parquet_before

    # the next full run (reference data first) repairs the warehouse and publishes again
    run_pipeline(landing, warehouse, published, census_years=[2024], progress=lambda _: None)
    assert published.stat().st_ino != inode_before


def test_every_view_of_the_snapshot_reads_its_table(loaded):
    _, warehouse, published = loaded
    with duckdb.connect(str(warehouse), read_only=True) as working:
        tables = working.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where database_name = current_database() and schema_name in (select unnest($s)) order by all",
            {"s": list(SCHEMAS)},
        ).fetchall()
        assert len(tables) > 30
        with duckdb.connect(str(published), read_only=True) as snapshot:
            for schema, table in tables:
                expected = query_frame(working, f"select * from {schema}.{table} order by all")
                seen = query_frame(snapshot, f"select * from {schema}.{table} order by all")
                assert seen.schema == expected.schema, f"{schema}.{table}"
                assert seen.equals(expected), f"{schema}.{table}"


def test_polars_reads_the_same_figures_from_the_parquet_files(loaded):
    """A second engine, on the files alone: the coefficients and verdicts analysts read."""
    _, _, published = loaded
    with duckdb.connect(str(published), read_only=True) as con:
        files = con.execute(
            "select path from snapshot.files where relation = 'marts.county_balance' order by census_year"
        ).fetchall()
        expected = query_frame(
            con,
            "select census_year, standard_id, stage, count(*) as n, sum(composite_cv) as cv, "
            "count(*) filter (where passes) as passing from marts.county_balance group by all order by all",
        )
    frame = pl.read_parquet([path for (path,) in files], hive_partitioning=True)
    seen = (
        frame.group_by("census_year", "standard_id", "stage")
        .agg(
            pl.len().alias("n"),
            pl.col("composite_cv").sum().alias("cv"),
            pl.col("passes").sum().alias("passing"),
        )
        .sort("census_year", "standard_id", "stage")
    )
    assert seen["census_year"].cast(pl.Int32).to_list() == expected["census_year"].to_list()
    assert seen["n"].to_list() == expected["n"].to_list()
    assert seen["passing"].to_list() == expected["passing"].to_list()
    assert seen["cv"].to_list() == pytest.approx(expected["cv"].to_list(), rel=1e-12)
    schema = pq.read_schema(files[0][0])  # every column says what it is
    assert all(field.metadata and field.metadata[b"description"] for field in schema)
