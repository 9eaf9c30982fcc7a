"""The messy province: every shape loads, every planted bad row is caught by the right check,
no good row is refused, and the coefficients equal the clean twin's for the schools that loaded."""

import re

import polars as pl
import pytest

from contracts.columns import CENSUS_DTYPES
from pipelines.lib.outputs.reports import build_reports
from pipelines.lib.synthetic import official
from pipelines.lib.synthetic.province import generate
from pipelines.lib.warehouse import connect, query_frame
from pipelines.runner import run_pipeline

pytestmark = pytest.mark.integration

YEARS = [2021, 2022, 2023, 2024]  # one year of each shape: GBK CSV, Excel (XLS and XLSX), UTF-8 CSV, Parquet


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    root = tmp_path_factory.mktemp("messy")
    truth = generate(root / "messy", counties=9, years=YEARS, seed=17, messy=True)
    generate(root / "clean", counties=9, years=YEARS, seed=17)
    run_pipeline(landing=root / "messy", warehouse=root / "w.duckdb", progress=lambda _: None)
    build_reports(root / "w.duckdb", root / "reports", census_year=YEARS[-1])
    with connect(root / "w.duckdb", read_only=True) as con:
        tables = {
            name: query_frame(con, f"select * from {name}")
            for name in (
                "audit.rejected_rows",
                "audit.loads",
                "raw.census_schools",
                "marts.county_indicator_cv",
                "marts.county_balance",
            )
        }
    return {
        "truth": truth,
        "clean": root / "clean",
        "tables": tables,
        "reports": root / "reports",
        "warehouse": root / "w.duckdb",
    }


def test_every_shape_was_read(messy):
    loads = messy["tables"]["audit.loads"]
    read = loads.filter(pl.col("status") != "ignored")
    assert sorted(set(zip(read["file_format"], read["encoding"], strict=True)), key=str) == sorted(
        {("csv", "gb18030"), ("xlsx", None), ("xls", None), ("csv", "utf-8-sig"), ("parquet", None)}, key=str
    )
    assert (read["status"] == "loaded").all()


def test_the_office_lock_file_of_every_year_is_listed_as_ignored_and_never_current(messy):
    loads = messy["tables"]["audit.loads"]
    ignored = loads.filter(pl.col("status") == "ignored")
    assert sorted(ignored["census_year"].to_list()) == YEARS  # one beside the first file of each year
    assert ignored["source_file"].str.contains("/~$", literal=True).all()
    assert ignored["message"].str.contains("Office 锁定文件", literal=True).all()
    assert not ignored["is_current"].any() and (ignored["rows_read"] == 0).all()
    assert loads.filter(pl.col("status") == "loaded")["is_current"].all()


def test_every_planted_bad_row_is_refused_by_the_expected_check(messy):
    rejected = messy["tables"]["audit.rejected_rows"]
    planted = messy["truth"]["planted_defects"]
    kinds = {d["defect"] for d in planted}
    assert len(kinds) == 16  # 15 row defects + duplicated school ids
    for defect in planted:
        hits = rejected.filter(
            (pl.col("census_year") == defect["census_year"])
            & (pl.col("source_file") == defect["source_file"])
            & (pl.col("school_id") == defect["school_id"])
            & (pl.col("column") == defect["column"])
            & pl.col("check").str.contains(defect["check"], literal=True)
        )
        assert not hits.is_empty(), defect


def test_no_good_row_is_refused(messy):
    rejected = messy["tables"]["audit.rejected_rows"]
    planted = {(d["census_year"], d["school_id"]) for d in messy["truth"]["planted_defects"]}
    refused = set(zip(rejected["census_year"], rejected["school_id"], strict=True))
    assert refused == planted


def test_every_file_reconciles(messy):
    every = messy["tables"]["audit.loads"]
    assert (every["rows_read"] == every["rows_accepted"] + every["rows_rejected"]).all()
    loads = every.filter(pl.col("shape") != "declaration")  # the census extracts (申报表 apart)
    raw = messy["tables"]["raw.census_schools"]
    assert raw.height == loads["rows_accepted"].sum()
    units = messy["truth"]["school_units_per_year"]
    duplicates = sum(d["defect"] == "duplicate_school_id" for d in messy["truth"]["planted_defects"])
    assert loads["rows_read"].sum() == sum(units.values()) + duplicates  # the copy is an extra row
    excel = loads.filter(pl.col("file_format").is_in(["xlsx", "xls"]))
    assert (excel["rows_skipped"] == 3).all()  # title, blank row (or the upper header row), total row
    gbk = loads.filter(pl.col("encoding") == "gb18030")
    assert (gbk["rows_skipped"] == 5).all()  # title, note and blank line above the header, a blank line, 合计


def test_layouts_as_counties_send_them_are_read_without_hand_editing(messy):
    """Units on count headers, 图书(万册) with decimals, a two-row header behind a 汇总 sheet."""
    loads = messy["tables"]["audit.loads"]
    two_row = loads.filter(pl.col("message").str.contains("汇总", literal=True).fill_null(False))
    assert two_row.height == 1 and two_row["sheet"].to_list() == ["学校情况"]
    assert (two_row["status"] == "loaded").all() and two_row["unknown_columns"].list.len().to_list() == [0]
    assert loads.filter(pl.col("status") == "loaded")["unknown_columns"].list.len().sum() == 0


def test_coefficients_equal_the_clean_twin_for_the_schools_that_loaded(messy, golden_standards):
    raw = messy["tables"]["raw.census_schools"]
    clean = pl.concat([pl.read_csv(p, infer_schema=False) for p in sorted(messy["clean"].glob("20*/*.csv"))])
    clean = clean.with_columns(
        (pl.col(c) == "true") if t == pl.Boolean else pl.col(c).cast(t) for c, t in CENSUS_DTYPES.items()
    )
    loaded = clean.join(raw.select("census_year", "school_id"), on=["census_year", "school_id"], how="semi")
    assert loaded.height == raw.height
    for blank in messy["truth"]["blank_cells"]:  # blank in the messy files: unknown, not the clean value
        cell = (pl.col("census_year") == blank["census_year"]) & (pl.col("school_id") == blank["school_id"])
        loaded = loaded.with_columns(
            pl.when(cell).then(None).otherwise(pl.col(blank["column"])).alias(blank["column"])
        )
    got = messy["tables"]["marts.county_indicator_cv"]
    for standard in golden_standards.values():  # the oracle takes the official numbers, not the YAML
        want = official.county_cvs(loaded, standard).rename({"cv": "cv_clean", "n_schools": "n_clean"})
        mine = got.filter(pl.col("standard_id") == standard.standard_id)
        joined = mine.join(want, on=["census_year", "county_code", "stage", "indicator_id"], how="full")
        assert joined.height == mine.height == want.height
        both = joined.filter(pl.col("cv").is_not_null())
        assert (both["n_schools"] == both["n_clean"]).all()
        assert ((both["cv"] - both["cv_clean"]).abs() <= 1e-9 * both["cv_clean"].abs()).all()


def test_planted_scenarios_still_hold_on_the_messy_twin(messy):
    balance = messy["tables"]["marts.county_balance"]
    for scenario in messy["truth"]["scenarios"]:
        if scenario["metric"] != "composite_cv":
            continue
        for year in scenario["years"]:
            row = balance.filter(
                (pl.col("census_year") == year["census_year"])
                & (pl.col("county_code") == scenario["county_code"])
                & (pl.col("stage") == scenario["stage"])
                & (pl.col("standard_id") == scenario["standard_id"])
            ).row(0, named=True)
            assert row["passes"] == year["passes"]
            assert row["composite_cv"] == pytest.approx(year["value"], rel=1e-9)


def test_blank_cells_load_as_unknown_and_mark_their_counties_provisional(messy):
    """A blank measure keeps the school; only the indicators that need it leave it out."""
    blanks = messy["truth"]["blank_cells"]
    assert {b["column"] for b in blanks} == {"equipment_value_yuan", "primary_pe_art_teachers"}
    assert len(blanks) == 2 * len(YEARS)
    raw = messy["tables"]["raw.census_schools"]
    for blank in blanks:
        row = raw.filter(
            (pl.col("census_year") == blank["census_year"]) & (pl.col("school_id") == blank["school_id"])
        )
        assert row.height == 1 and row[blank["column"]].to_list() == [None], blank
    balance = messy["tables"]["marts.county_balance"]
    provisional = balance.filter(pl.col("is_provisional"))
    assert set(zip(provisional["census_year"], provisional["county_code"], strict=True)) == {
        (b["census_year"], b["county_code"]) for b in blanks
    }
    assert set(provisional["stage"]) == {"primary"}
    cvs = messy["tables"]["marts.county_indicator_cv"]
    for blank in blanks:
        missing = cvs.filter(
            (pl.col("census_year") == blank["census_year"])
            & (pl.col("county_code") == blank["county_code"])
            & (pl.col("n_missing_value") > 0)
        )
        needs = {
            "equipment_value_yuan": {"equipment_value_per_student"},
            "primary_pe_art_teachers": {"pe_art_teachers_per_100"},
        }
        assert needs[blank["column"]] <= set(missing["indicator_id"]), blank
        assert (missing["n_missing_value"] >= 1).all()


def test_the_reports_mark_provisional_results(messy):
    year = YEARS[-1]
    blanks = [b for b in messy["truth"]["blank_cells"] if b["census_year"] == year]
    balance = messy["tables"]["marts.county_balance"].filter(
        (pl.col("census_year") == year) & pl.col("is_provisional")
    )
    for blank in blanks:
        html = (messy["reports"] / "counties" / f"{blank['county_code']}.html").read_text(encoding="utf-8")
        page = re.sub(r"<[^>]+>", "", html)  # the figures are cited in their own elements
        assert "结果为暂定：1 所学校有指标所需数据空缺（报表单元格为空）" in page
        assert "暂定：1 所学校数据空缺，未计入" in page  # on the indicator that needs the blank measure
    index = (messy["reports"] / "index.html").read_text(encoding="utf-8")
    assert index.count('，暂定">') == balance.height  # the overview's cell titles
    assert "带 * 的结果为暂定" in index


def test_the_messy_reports_say_only_what_the_warehouse_says(messy):
    # a second province for the claims check (tests/claims.py): blank cells make provisional and
    # undecided results, refused rows, held counties
    import duckdb

    from pipelines.lib.sentences import read_words
    from tests.claims import Warehouse, check_claims, read_page

    reports = messy["reports"]
    pages = [read_page(p) for p in [reports / "index.html", *sorted((reports / "counties").glob("*.html"))]]
    with duckdb.connect(str(messy["warehouse"]), read_only=True) as con:
        problems = check_claims(pages, Warehouse(con), read_words(con))
    assert problems == [], "\n".join(problems[:20])
    assert [(p.path.name, t) for p in pages for t in p.uncited] == []
