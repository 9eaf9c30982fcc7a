"""The shapes county offices send, against the canonical files of the same synthetic province:
statistics-system county exports (统计三级 names, two-row headers, 办学类型 as text, teaching points
as units not counted as schools), per-school base-form workbooks (教基: one sheet per form, each
value found by its labels; or one workbook of a county's schools) and a year folder mixing them
with a canonical file. Each loads to the
warehouse the canonical files give, value for value, with every file's shape recorded.

The workbooks of one census year are written from that year's canonical files (the generator's
writers, fed the rows the canonical files hold), so a shape costs one year of workbooks, not a
whole province of them."""

import shutil
from pathlib import Path

import polars as pl
import pytest

from contracts.columns import CENSUS_DTYPES
from pipelines.lib.synthetic.exports import write_county_exports
from pipelines.lib.synthetic.form_books import write_form_books
from pipelines.lib.synthetic.province import generate
from pipelines.lib.warehouse import connect, query_frame
from pipelines.runner import run_pipeline
from tests.conftest import warehouse_tables

pytestmark = pytest.mark.integration

YEARS = [2022, 2023, 2024]
COMPARED_SCHEMAS = ("raw", "staging", "marts", "monitoring")
LINEAGE = ("load_id", "source_file", "source_row", "source_sha256")


def landing(root: Path, file_format: str, counties: int) -> Path:
    out = root / f"{file_format}-{counties}" / "landing"
    generate(out, counties=counties, years=YEARS, seed=21, file_format=file_format)
    return out


def load(folder: Path, warehouse: Path, years: list[int] | None = None) -> Path:
    run_pipeline(
        landing=folder,
        warehouse=warehouse,
        published=warehouse.parent / "published" / warehouse.name,
        reports=warehouse.parent / "reports",
        census_years=years,
        progress=lambda _: None,
    )
    return warehouse


def canonical_rows(files: list[Path]) -> pl.DataFrame:
    """The census rows of canonical CSV files, typed as the contract types them."""
    rows = pl.concat([pl.read_csv(f, infer_schema=False) for f in files])
    return rows.select(
        (pl.col(c) == "true") if t == pl.Boolean else pl.col(c).cast(t) for c, t in CENSUS_DTYPES.items()
    )


def census_files(folder: Path) -> list[Path]:
    """The canonical census CSV files of a year folder (not the counties' declaration files)."""
    return sorted(p for p in folder.glob("*.csv") if "申报" not in p.name)


def without_declarations(folder: Path) -> None:
    """The year folder without the counties' declaration files (the base-form workbooks are the
    census alone)."""
    for path in folder.iterdir():
        if "申报" in path.name:
            path.unlink()


def one_year_of(canonical: Path, root: Path, year: int) -> Path:
    """A landing folder of `canonical`'s reference files and no census year yet."""
    shutil.copytree(canonical / "reference", root / "reference")
    (root / str(year)).mkdir(parents=True)
    return root


def county_names(landing: Path) -> dict[str, tuple[str, str]]:
    counties = pl.read_csv(landing / "reference" / "counties.csv", infer_schema=False)
    return {
        r["county_code"]: (r["county_name"], r["prefecture_name"]) for r in counties.iter_rows(named=True)
    }


def tables(warehouse: Path) -> dict[str, pl.DataFrame]:
    """Every data table without its lineage (file, row, load), rows in a fixed order."""
    return warehouse_tables(warehouse, COMPARED_SCHEMAS, drop=LINEAGE)


def assert_same(got: Path, want: Path) -> None:
    got_tables, want_tables = tables(got), tables(want)
    assert got_tables.keys() == want_tables.keys() and "raw.census_schools" in got_tables
    for name, frame in want_tables.items():
        assert got_tables[name].equals(frame), name


def shapes(warehouse: Path) -> list[tuple[str, int]]:
    with connect(warehouse, read_only=True) as con:
        return query_frame(
            con, "select shape, count(*) as files from audit.loads where is_current group by 1 order by 1"
        ).rows()


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("shapes")


@pytest.fixture(scope="module")
def canonical(nine_counties) -> tuple[Path, Path]:
    """The 9-county province as canonical CSV files (two prefectures), loaded: the session's shared
    build (tests/integration/conftest.py), read-only."""
    assert nine_counties.years == YEARS
    return nine_counties.landing, nine_counties.warehouse


def test_county_exports_load_to_the_same_warehouse_as_the_canonical_files(root, canonical):
    folder = landing(root, "county_export", 9)
    exports = [p for p in (folder / "2024").glob("*.xlsx") if "申报" not in p.name]
    assert len(exports) == 9  # one workbook per county (besides the counties' declaration files)
    exported = load(folder, root / "export.duckdb")
    assert_same(exported, canonical[1])
    declared = [s for s in shapes(canonical[1]) if s[0] == "declaration"]  # the same 申报表 in both
    assert shapes(exported) == [("county_export", 27), *declared]
    assert shapes(canonical[1]) == [*declared, ("school_table", 6)]
    with connect(exported, read_only=True) as con:
        loads = query_frame(con, "select status, rows_rejected from audit.loads")
        points = query_frame(
            con, "select count(*) as n from raw.census_schools where school_type_code = '218'"
        )
    assert set(loads["status"]) == {"loaded"} and loads["rows_rejected"].sum() == 0
    assert points["n"][0] > 0  # written as 小学 with 是否计校数 = 否, loaded as teaching points


def test_form_workbooks_load_to_the_same_warehouse_as_the_canonical_files(root):
    csv = landing(root, "csv", 4)  # 4 counties: one workbook a school
    folder = one_year_of(csv, root / "forms", 2024)
    written = write_form_books(canonical_rows(census_files(csv / "2024")), folder / "2024", 2024)
    forms = load(folder, root / "forms.duckdb")
    without_declarations(csv / "2024")  # the forms' folder holds none
    assert_same(forms, load(csv, root / "csv4.duckdb", [2024]))
    assert shapes(forms) == [("jiaoji_forms", written)] and written > 100
    with connect(forms, read_only=True) as con:
        cells = query_frame(con, "select * from audit.form_cells where census_year = 2024")
        schools = query_frame(con, "select count(*) as n from raw.census_schools where census_year = 2024")
    assert cells["school_id"].n_unique() == schools["n"][0]  # every school's values are traceable
    where = cells.filter(pl.col("column") == "teaching_aux_area_m2")["form_cell"].unique().to_list()
    assert where == ["教基5170!C3（教学及辅助用房·建筑面积）"]  # as the synthetic forms are written


def test_a_year_folder_of_three_shapes_loads_like_the_canonical_files(root, canonical):
    csv = canonical[0]
    mixed = one_year_of(csv, root / "mixed", 2024)
    first, second = census_files(csv / "2024")  # two prefectures
    shutil.copy(first, mixed / "2024")  # the first prefecture as one canonical file
    rows = canonical_rows([second])
    counties = sorted(rows["county_code"].unique())
    of = {code: rows.filter(pl.col("county_code") == code) for code in counties}
    by_form = write_form_books(of[counties[0]], mixed / "2024", 2024)  # its first county school by school
    write_form_books(of[counties[1]], mixed / "2024", 2024, by_county=True)  # its second: all forms in one
    exports = pl.concat([of[code] for code in counties[2:]])  # its third and later: statistics exports
    write_county_exports(exports, mixed / "2024", 2024, county_names(csv))
    want = tables(canonical[1])["raw.census_schools"].filter(pl.col("census_year") == 2024)
    got_warehouse = load(mixed, root / "mixed.duckdb", [2024])
    assert tables(got_warehouse)["raw.census_schools"].equals(want)
    assert shapes(got_warehouse) == [
        ("county_export", len(counties) - 2),
        ("jiaoji_forms", by_form + 1),
        ("school_table", 1),
    ]
