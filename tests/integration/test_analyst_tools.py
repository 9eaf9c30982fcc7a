"""The published snapshot opens in the tools analysts have: the DuckDB 1.x command line from PyPI
(duckdb-cli, pinned in pyproject.toml) reads the same figures as the pipeline's own DuckDB, with
the table and column comments; the catalog is in DuckDB's 1.0 storage format."""

import csv
import io
import struct
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.integration

FIGURES = (
    "select census_year, standard_id, stage, count(*) as counties, "
    "count(*) filter (where passes) as passing, round(sum(composite_cv), 9) as cv "
    "from marts.county_balance group by all order by all"
)


def cli() -> Path:
    return Path(sys.executable).with_name("duckdb")


def run_cli(database: Path, query: str) -> list[dict[str, str]]:
    done = subprocess.run(
        [str(cli()), "-readonly", "-csv", str(database), "-c", query],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return list(csv.DictReader(io.StringIO(done.stdout)))


def test_the_cli_is_a_duckdb_1x():
    version = subprocess.run([str(cli()), "-version"], capture_output=True, text=True, check=True).stdout
    assert version.startswith("v1."), version


def test_the_catalog_is_in_the_storage_format_of_duckdb_1_0(demo):
    header = demo.published.read_bytes()[:20]
    assert header[8:12] == b"DUCK" and struct.unpack("<Q", header[12:20])[0] == 64


def test_the_duckdb_1x_cli_reads_the_same_figures_and_comments(demo):
    seen = run_cli(demo.published, FIGURES)
    with duckdb.connect(str(demo.published), read_only=True) as con:
        expected = con.execute(FIGURES).fetchall()
    assert len(seen) == len(expected) > 0
    for row, (year, standard, stage, counties, passing, cv) in zip(seen, expected, strict=True):
        assert (int(row["census_year"]), row["standard_id"], row["stage"]) == (year, standard, stage)
        assert (int(row["counties"]), int(row["passing"])) == (counties, passing)
        assert float(row["cv"]) == pytest.approx(float(cv), abs=1e-9)
    comments = run_cli(
        demo.published,
        "select column_name, comment from duckdb_columns() "
        "where schema_name = 'marts' and table_name = 'county_balance' and column_name = 'composite_cv'",
    )
    assert comments and "综合差异系数" in comments[0]["comment"]
    versions = run_cli(demo.published, "select version, census_years from snapshot.version")
    assert len(versions) == 1 and int(versions[0]["version"]) >= 1
