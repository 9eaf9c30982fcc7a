"""Corrections flow forward: a reloaded or late census year refreshes every later year's
cross-year results (trends, drivers, data status, alerts, year-over-year warnings), so the
warehouse always equals a clean in-order build of the same files, and audit.revisions says so."""

import re
import shutil

import dagster as dg
import polars as pl
import pytest

from pipelines.defs.ingest.sensors import landing_sensor
from pipelines.defs.resources import Warehouse
from pipelines.lib.outputs.reports.build import build_reports
from pipelines.lib.warehouse import connect, query_frame
from pipelines.runner import run_pipeline
from tests.conftest import warehouse_tables

pytestmark = pytest.mark.integration

YEARS = [2022, 2023, 2024]
COMPARED_SCHEMAS = ("raw", "staging", "marts", "monitoring", "audit")
LOG_TABLES = ("audit.loads", "audit.census_year_loads", "audit.revisions")
"""Records of what happened (which runs, when): they differ between two histories by design."""


@pytest.fixture
def generated(nine_counties):
    """Nine counties, 2022-2024, seed 21 (read-only: a test copies what it changes)."""
    return nine_counties.landing


def run(landing, warehouse, years=None, instance=None):
    run_pipeline(
        landing=landing,
        warehouse=warehouse,
        published=warehouse.parent / "published" / warehouse.name,
        reports=warehouse.parent / "reports",
        census_years=years,
        instance=instance,
        progress=lambda _: None,
    )


@pytest.fixture
def in_order(nine_counties):
    """The original files, loaded 2022, 2023, 2024 (read-only)."""
    return nine_counties.warehouse


CORRECTED = "900121"
"""The county whose 2022 return is corrected (correct_books)."""


@pytest.fixture(scope="module")
def corrected_clean(tmp_path_factory, nine_counties):
    """Every year of the files with CORRECTED's 2022 corrected, loaded from scratch in one run:
    what a correction must end as (read-only)."""
    root = tmp_path_factory.mktemp("corrected-clean")
    shutil.copytree(nine_counties.landing, root / "landing")
    correct_books(root / "landing", CORRECTED)
    run(root / "landing", root / "w.duckdb")
    return root / "w.duckdb"


def tables(warehouse) -> dict[str, pl.DataFrame]:
    """Every data table, the lineage's load id left out (it names the run), rows in a fixed order."""
    return warehouse_tables(warehouse, COMPARED_SCHEMAS, drop=("load_id",), skip=LOG_TABLES)


def assert_same(got, want):
    got_tables, want_tables = tables(got), tables(want)
    assert got_tables.keys() == want_tables.keys()
    assert {"monitoring.county_trends", "monitoring.backsliding_alerts", "audit.school_warnings"} <= set(
        got_tables
    )
    for name, frame in want_tables.items():
        assert got_tables[name].equals(frame), name


def correct_books(landing, county_code: str) -> None:
    """The county re-submits 2022: half its schools' books changed (the later years untouched)."""
    for path in sorted((landing / "2022").glob("*.csv")):
        frame = pl.read_csv(path, infer_schema=False)
        if county_code not in set(frame["county_code"]):
            continue
        ours = frame.with_row_index("i").filter(pl.col("county_code") == county_code)["i"].to_list()
        half = set(ours[::2])
        frame = frame.with_row_index("i").with_columns(
            pl.when(pl.col("i").is_in(list(half)))
            .then((pl.col("books").cast(pl.Float64) * 3).round(0).cast(pl.Int64).cast(pl.String))
            .otherwise(pl.col("books"))
            .alias("books")
        )
        frame.drop("i").write_csv(path)


def trend(warehouse, county_code: str, year: int) -> dict:
    with connect(warehouse, read_only=True) as con:
        return query_frame(
            con,
            "select previous_value, change from monitoring.county_trends where census_year = $y "
            "and county_code = $c and standard_id = 'basic_2012' and stage = 'primary' "
            "and metric_id = 'composite'",
            {"y": year, "c": county_code},
        ).row(0, named=True)


def test_a_corrected_early_year_refreshes_every_later_year(tmp_path, generated, in_order, corrected_clean):
    landing, warehouse = tmp_path / "landing", tmp_path / "w.duckdb"
    shutil.copytree(generated, landing)
    for source in in_order.parent.glob(f"{in_order.name}*"):
        shutil.copyfile(source, tmp_path / source.name)
    county = CORRECTED
    before = trend(warehouse, county, 2023)
    correct_books(landing, county)
    run(landing, warehouse, [2022])  # one run of the corrected year
    assert_same(warehouse, corrected_clean)  # as every year of the corrected files loaded in order
    after = trend(warehouse, county, 2023)
    assert after["previous_value"] != pytest.approx(before["previous_value"])  # the correction mattered

    with connect(warehouse, read_only=True) as con:
        revisions = query_frame(con, "select * from audit.revisions")
    assert revisions.height == 1
    row = revisions.row(0, named=True)
    assert (row["census_year"], row["kind"], row["rebuilt_years"]) == (2022, "reload", [2023, 2024])
    assert row["counties_changed"] == [county]
    # the published snapshot has them too, and the county report says the figures were revised
    published = tmp_path / "published" / "w.duckdb"
    with connect(published, read_only=True) as con:
        assert query_frame(con, "select census_year from audit.revisions")["census_year"].to_list() == [2022]
    assert trend(published, county, 2023) == after
    build_reports(published, tmp_path / "out")
    html = (tmp_path / "out" / "counties" / f"{county}.html").read_text(encoding="utf-8")
    page = re.sub(r"<[^>]+>", "", html)  # the figures are cited in their own elements
    assert re.search(
        r"2022 年数据于 \d{4}-\d\d-\d\d 更正后重新载入，本县差异系数有变化，2023–2024 年的趋势", page
    )
    others = [p for p in (tmp_path / "out" / "counties").glob("*.html") if p.stem != county]
    assert others and not any("数据修订" in p.read_text(encoding="utf-8") for p in others)  # only that county
    run(landing, warehouse, [2022])  # the same files once more: a reload that changes no figure
    with connect(warehouse, read_only=True) as con:
        again = query_frame(con, "select kind, counties_changed from audit.revisions order by revised_at")
    assert again.rows() == [("reload", [county]), ("reload", [])]


def test_years_loaded_out_of_order_equal_an_in_order_build(tmp_path, generated, in_order):
    warehouse = tmp_path / "w.duckdb"
    for year in (2024, 2022, 2023):
        run(generated, warehouse, [year])
    assert_same(warehouse, in_order)
    with connect(warehouse, read_only=True) as con:
        revisions = query_frame(
            con, "select census_year, kind, rebuilt_years from audit.revisions order by 1"
        )
    assert revisions.rows() == [(2022, "late", [2024]), (2023, "late", [2024])]


def test_the_sensor_starts_the_refresh_when_an_old_years_file_changes(
    tmp_path, generated, in_order, corrected_clean
):
    landing, warehouse = tmp_path / "landing", tmp_path / "w.duckdb"
    shutil.copytree(generated, landing)
    for source in in_order.parent.glob(f"{in_order.name}*"):
        shutil.copyfile(source, tmp_path / source.name)
    with dg.instance_for_test() as instance:

        def tick(cursor):
            with dg.build_sensor_context(
                instance=instance, cursor=cursor, resources={"warehouse": Warehouse(landing=str(landing))}
            ) as context:
                result = landing_sensor(context)
            return result, result.cursor

        _, cursor = tick(None)  # reference data
        _, cursor = tick(cursor)  # every year, already loaded above
        correct_books(landing, CORRECTED)
        result, _ = tick(cursor)
        assert [(r.job_name, r.partition_key) for r in result.run_requests] == [("census_year_job", "2022")]
        for request in result.run_requests:
            run(landing, warehouse, [int(request.partition_key)], instance=instance)
    assert_same(warehouse, corrected_clean)
