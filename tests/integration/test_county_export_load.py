"""The same synthetic province written as canonical CSV files and as statistics-system exports
(one workbook per county: 统计三级 names, two-row headers, 办学类型 as text, teaching points as
units not counted as schools) loads to identical warehouses, value for value."""

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
    generate(landing, counties=9, years=[2022, 2023, 2024], seed=21, file_format=file_format)
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


def test_county_exports_load_to_the_same_warehouse_as_the_canonical_files(tmp_path):
    canonical_landing, canonical = build(tmp_path, "csv")
    export_landing, exported = build(tmp_path, "county_export")
    assert len(list((export_landing / "2024").glob("*.xlsx"))) == 9  # one workbook per county
    want, got = tables(canonical), tables(exported)
    assert got.keys() == want.keys() and "raw.census_schools" in got
    for name, frame in want.items():
        assert got[name].equals(frame), name
    with connect(exported, read_only=True) as con:
        loads = query_frame(con, "select shape, status, rows_rejected from audit.loads where is_current")
        teaching_points = query_frame(
            con, "select count(*) as n from raw.census_schools where school_type_code = '218'"
        )["n"][0]
    assert set(loads["shape"]) == {"county_export"} and set(loads["status"]) == {"loaded"}
    assert loads["rows_rejected"].sum() == 0
    assert teaching_points > 0  # written as 小学 with 是否计校数 = 否, loaded as teaching points
    with connect(canonical, read_only=True) as con:
        shapes = query_frame(con, "select distinct shape from audit.loads")["shape"].to_list()
    assert shapes == ["school_table"]
