"""A census-year folder may mix the shapes county offices send: canonical files, statistics-system
county exports and per-school base-form workbooks. Each file's shape is detected and recorded, and
the year loads to what the canonical files alone give."""

import shutil

import polars as pl
import pytest

from pipelines.lib.synthetic.province import generate
from pipelines.lib.warehouse import connect, query_frame
from pipelines.runner import run_pipeline

pytestmark = pytest.mark.integration

LINEAGE = ["load_id", "source_file", "source_row", "source_sha256"]


def landing(root, file_format):
    out = root / file_format
    generate(out, counties=9, years=[2022, 2023, 2024], seed=21, file_format=file_format)
    return out


def load_2024(folder, warehouse):
    run_pipeline(
        landing=folder,
        warehouse=warehouse,
        published=warehouse.parent / "published" / warehouse.name,
        reports=warehouse.parent / "reports",
        census_years=[2024],
        progress=lambda _: None,
    )
    with connect(warehouse, read_only=True) as con:
        schools = query_frame(con, "select * from raw.census_schools").drop(LINEAGE)
        shapes = query_frame(con, "select shape, count(*) as files from audit.loads group by 1 order by 1")
    return schools.sort(schools.columns), shapes


def test_a_year_folder_of_three_shapes_loads_like_the_canonical_files(tmp_path):
    csv, export, forms = (landing(tmp_path, f) for f in ("csv", "county_export", "jiaoji"))
    mixed = tmp_path / "mixed"
    shutil.copytree(csv / "reference", mixed / "reference")
    (mixed / "2024").mkdir(parents=True)
    first, second = sorted((csv / "2024").glob("*.csv"))  # two prefectures
    shutil.copy(first, mixed / "2024")  # the first prefecture as one canonical file
    counties = sorted(pl.read_csv(second, infer_schema=False)["county_code"].unique())
    by_form = set(
        pl.read_csv(second, infer_schema=False).filter(pl.col("county_code") == counties[0])["school_id"]
    )
    for path in (export / "2024").glob("*.xlsx"):  # the second's other counties as exports
        if any(path.stem.endswith(code) for code in counties[1:]):
            shutil.copy(path, mixed / "2024")
    for path in (forms / "2024").glob("*.xlsx"):  # and its first county school by school
        if path.name.split("_")[1] in by_form:
            shutil.copy(path, mixed / "2024")
    want, _ = load_2024(csv, tmp_path / "csv.duckdb")
    got, shapes = load_2024(mixed, tmp_path / "mixed.duckdb")
    assert got.equals(want)
    assert shapes.rows() == [
        ("county_export", len(counties) - 1),
        ("jiaoji_forms", len(by_form)),
        ("school_table", 1),
    ]
