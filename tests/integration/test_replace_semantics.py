"""A census year is rebuilt from its current files: same files, same tables; a corrected file
replaces what it contributed; a removed file's rows disappear; a refused year changes nothing."""

import shutil

import polars as pl
import pytest

from pipelines.lib.warehouse import connect, query_frame
from pipelines.runner import PipelineFailed, run_pipeline

pytestmark = pytest.mark.integration

DATA_SCHEMAS = ("raw", "staging", "marts")


@pytest.fixture
def generated(nine_counties):
    """Nine counties, 2022-2024 (2 prefectures: 2 files a year); read-only."""
    return nine_counties.landing


@pytest.fixture
def built(nine_counties):
    """The three years loaded once per session (tests/integration/conftest.py); each test works on
    a copy."""
    return nine_counties.landing, nine_counties.warehouse


@pytest.fixture
def setup(tmp_path, built):
    landing, warehouse = tmp_path / "landing", tmp_path / "w.duckdb"
    shutil.copytree(built[0], landing)
    for source in built[1].parent.glob(f"{built[1].name}*"):  # the file and any write-ahead log
        shutil.copyfile(source, tmp_path / source.name)
    return landing, warehouse


def run(landing, warehouse, years=None):
    run_pipeline(landing=landing, warehouse=warehouse, census_years=years, progress=lambda _: None)


def snapshot(warehouse, where: str = "true") -> dict[str, pl.DataFrame]:
    """Every data table (lineage's load id left out: it names the run), rows in a fixed order."""
    with connect(warehouse, read_only=True) as con:
        tables = query_frame(
            con,
            "select schema_name || '.' || table_name as t from duckdb_tables() "
            f"where schema_name in {DATA_SCHEMAS} order by 1",
        )["t"].to_list()
        out = {}
        for table in tables:
            frame = query_frame(
                con,
                f"select * exclude (load_id) from {table}"
                if table.startswith("raw.")
                else f"select * from {table}",
            )
            if "census_year" in frame.columns:
                frame = frame.filter(pl.sql_expr(where))
            out[table] = frame.sort(frame.columns)
        return out


def test_rerunning_with_the_same_files_leaves_every_table_identical(setup):
    landing, warehouse = setup
    before = snapshot(warehouse)
    run(landing, warehouse)
    after = snapshot(warehouse)
    assert before.keys() == after.keys() and len(before) >= 10
    for table in before:
        assert before[table].equals(after[table]), table


def test_a_corrected_file_replaces_what_it_contributed(setup):
    landing, warehouse = setup
    extract = sorted((landing / "2023").glob("*.csv"))[0]
    frame = pl.read_csv(extract, infer_schema=False)
    school = frame.filter(pl.col("school_type_code") == "211")["school_id"][0]
    frame.with_columns(
        pl.when(pl.col("school_id") == school)
        .then(pl.lit("999999"))
        .otherwise(pl.col("books"))
        .alias("books")
    ).write_csv(extract)
    other_years = snapshot(warehouse, "census_year <> 2023")
    run(landing, warehouse, [2023])
    with connect(warehouse, read_only=True) as con:
        books = query_frame(
            con,
            "select books from raw.census_schools where census_year = 2023 and school_id = $s",
            {"s": school},
        )
        count = query_frame(
            con,
            "select count(*) as n from raw.census_schools where school_id = $s and census_year = 2023",
            {"s": school},
        )
    assert books["books"].to_list() == [999999] and count["n"][0] == 1
    after = snapshot(warehouse, "census_year <> 2023")
    for table in other_years:
        assert other_years[table].equals(after[table]), table


def test_a_removed_file_takes_its_rows_out_of_every_table(setup):
    landing, warehouse = setup
    extract = sorted((landing / "2024").glob("*.csv"))[0]
    gone = pl.read_csv(extract, infer_schema=False)["school_id"].to_list()
    extract.unlink()
    run(landing, warehouse, [2024])
    with connect(warehouse, read_only=True) as con:
        for table in ("raw.census_schools", "staging.school_sections", "marts.school_indicators"):
            left = query_frame(
                con,
                f"select count(*) as n from {table} where census_year = 2024 "
                "and list_contains($ids, school_id)",
                {"ids": gone},
            )
            assert left["n"][0] == 0, table
        still = query_frame(
            con,
            "select count(*) as n from raw.census_schools where census_year = 2023 "
            "and list_contains($ids, school_id)",
            {"ids": gone},
        )
        assert still["n"][0] > 0  # other years keep those schools


def test_a_refused_year_changes_no_data_table(setup):
    landing, warehouse = setup
    before = snapshot(warehouse)
    extract = sorted((landing / "2022").glob("*.csv"))[0]
    pl.read_csv(extract, infer_schema=False).drop("school_type_code").write_csv(extract)
    with pytest.raises(PipelineFailed, match="school_type_code"):
        run(landing, warehouse, [2022])
    after = snapshot(warehouse)
    for table in before:
        assert before[table].equals(after[table]), table


def test_a_warehouse_built_by_an_older_model_version_is_upgraded_by_the_next_load(setup):
    """A new junheng whose SQL model has other columns than the table an older one built: the
    next load of any year builds the table anew for every loaded year, with no hand rebuild, and
    every table then equals a fresh build."""
    landing, warehouse = setup
    before = snapshot(warehouse)
    with connect(warehouse) as con:
        con.execute("alter table marts.county_indicator_cv drop column cv_null_reason")
        con.execute("alter table marts.county_balance add column retired boolean")
    run(landing, warehouse, years=[2024])
    after = snapshot(warehouse)
    assert after.keys() == before.keys()
    for table, frame in before.items():
        assert after[table].equals(frame), table
