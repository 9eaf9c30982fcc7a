"""The same synthetic province written as per-school base-form workbooks (教基: one workbook per
school, one sheet per form, each value found by its row and column labels) loads to the warehouse
the canonical files give, value for value, and every value's form and cell is recorded."""

import polars as pl
import pytest

from pipelines.lib.synthetic.province import generate
from pipelines.lib.warehouse import connect, query_frame
from pipelines.runner import run_pipeline

pytestmark = pytest.mark.integration

COMPARED_SCHEMAS = ("raw", "staging", "marts", "monitoring")
LINEAGE = ["load_id", "source_file", "source_row", "source_sha256"]


def build(tmp_path, file_format: str):
    landing, warehouse = tmp_path / file_format / "landing", tmp_path / file_format / "w.duckdb"
    generate(landing, counties=4, years=[2022, 2023, 2024], seed=21, file_format=file_format)
    run_pipeline(
        landing=landing,
        warehouse=warehouse,
        published=warehouse.parent / "published" / "w.duckdb",
        reports=warehouse.parent / "reports",
        progress=lambda _: None,
    )
    return landing, warehouse


def tables(warehouse) -> dict[str, pl.DataFrame]:
    with connect(warehouse, read_only=True) as con:
        names = query_frame(
            con,
            "select schema_name || '.' || table_name as t from duckdb_tables() "
            f"where schema_name in {COMPARED_SCHEMAS} order by 1",
        )["t"].to_list()
        out = {}
        for name in names:
            frame = query_frame(con, f"select * from {name}").drop(LINEAGE, strict=False)
            out[name] = frame.sort(frame.columns)
        return out


def test_form_workbooks_load_to_the_same_warehouse_as_the_canonical_files(tmp_path):
    _, canonical = build(tmp_path, "csv")
    landing, forms = build(tmp_path, "jiaoji")
    want, got = tables(canonical), tables(forms)
    assert got.keys() == want.keys() and "raw.census_schools" in got
    for name, frame in want.items():
        assert got[name].equals(frame), name
    with connect(forms, read_only=True) as con:
        loads = query_frame(con, "select shape, count(*) as n from audit.loads where is_current group by 1")
        cells = query_frame(con, "select * from audit.form_cells where census_year = 2024")
        schools = query_frame(con, "select count(*) as n from raw.census_schools where census_year = 2024")[
            "n"
        ][0]
    workbooks = sum(len(list((landing / str(y)).glob("*.xlsx"))) for y in (2022, 2023, 2024))
    assert loads.rows() == [("jiaoji_forms", workbooks)]
    assert cells["school_id"].n_unique() == schools  # every school's values are traceable
    one = cells.filter(pl.col("column") == "teaching_aux_area_m2")["form_cell"].unique().to_list()
    assert one == ["教基5170!C3（教学及辅助用房·建筑面积）"]  # as the synthetic forms are written
