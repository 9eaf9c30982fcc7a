"""The tables a county files (pipelines/lib/outputs/filing.py), as the demo's `junheng report` writes
them for every certified county: the workbook opened with openpyxl and the PDF read back with
pdftotext, both held against the warehouse they were made from."""

from __future__ import annotations

import math
import re
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from pipelines.lib.outputs.filing import file_stem
from pipelines.lib.warehouse import connect, query_frame
from tests.pdf_text import need_pdftotext, pdf_pages

pytestmark = pytest.mark.integration

YEAR = 2024
TITLES = ("差异系数表", "学校明细表", "学校补足清单", "全县合计（按学段、指标）")


def published(demo):
    return connect(demo.published, read_only=True)


def certified(demo) -> list[str]:
    with published(demo) as con:
        rows = con.execute(
            "select distinct county_code from marts.certifications "
            "where certified_year <= $y and (revoked_year is null or revoked_year > $y) order by 1",
            {"y": YEAR},
        ).fetchall()
    return [r[0] for r in rows]


def files(demo, code: str, suffix: str) -> Path:
    return demo.reports / "counties" / f"{file_stem(code, YEAR)}.{suffix}"


def quality_county(demo) -> str:
    """A quality-certified county that has schools short of a minimum (the planted slide)."""
    with published(demo) as con:
        code = con.execute(
            "select county_code from marts.certifications where standard_id = 'quality_2017' "
            "and county_code in (select county_code from monitoring.school_fix_list where census_year = $y) "
            "order by county_code limit 1",
            {"y": YEAR},
        ).fetchone()
    assert code is not None
    return code[0]


def test_every_certified_county_has_its_workbook_and_printable_page(demo):
    codes = certified(demo)
    assert len(codes) >= 10
    for code in codes:
        assert files(demo, code, "xlsx").is_file(), code
        assert files(demo, code, "html").is_file(), code
    with published(demo) as con:
        uncertified = con.execute(
            "select county_code from marts.dim_counties where county_code not in "
            "(select county_code from marts.certifications where certified_year <= $y) limit 1",
            {"y": YEAR},
        ).fetchone()
    if uncertified:
        assert not files(demo, uncertified[0], "xlsx").exists()


def _sheet_rows(sheet) -> list[list]:
    return [list(r) for r in sheet.iter_rows(values_only=True)]


def test_the_workbooks_cv_table_holds_the_warehouse_figures(demo):
    """openpyxl finds, per standard, the 差异系数表 with each indicator's 县均值, 标准差 and 差异系数
    for both stages exactly as marts.county_indicator_cv holds them, and the verdict."""
    code = quality_county(demo)
    book = openpyxl.load_workbook(files(demo, code, "xlsx"))
    assert book.sheetnames[:2] == ["基本均衡差异系数表", "优质均衡差异系数表"]
    with published(demo) as con:
        cvs = query_frame(
            con,
            "select cv.*, i.name_zh from marts.county_indicator_cv as cv join marts.standard_indicators as i "
            "using (standard_id, stage, indicator_id) where census_year = $y and county_code = $c",
            {"y": YEAR, "c": code},
        )
        balance = query_frame(
            con,
            "select * from marts.county_balance where census_year = $y and county_code = $c",
            {"y": YEAR, "c": code},
        )
        name = con.execute(
            "select county_name from marts.dim_counties where county_code = $c", {"c": code}
        ).fetchone()
    assert name is not None
    for standard_id, sheet_name in (
        ("basic_2012", "基本均衡差异系数表"),
        ("quality_2017", "优质均衡差异系数表"),
    ):
        rows = _sheet_rows(book[sheet_name])
        assert rows[0][0].startswith(f"{name[0]}{YEAR}年") and rows[0][0].endswith("差异系数表")
        assert rows[3][1:6] == ["县均值", "标准差", "差异系数", "标准值", "是否达标"]
        by_name = {str(r[0]).split("（")[0]: r for r in rows[4:] if r[0]}
        expected = cvs.filter(cvs["standard_id"] == standard_id)
        assert expected.height > 0
        for r in expected.iter_rows(named=True):
            cells = by_name[r["name_zh"]]
            left = 1 if r["stage"] == "primary" else 6
            # xlsx stores a number in 16 significant digits: equal to the warehouse's to that
            assert cells[left : left + 3] == pytest.approx(
                [r["mean_value"], r["sd_value"], r["cv"]], rel=1e-14
            )
            if r["cv_threshold"] is not None:
                assert cells[left + 3] == r["cv_threshold"] and cells[left + 4] == (
                    "是" if r["passes"] else "否"
                )
        composite = by_name["综合差异系数"]
        for b in balance.filter(balance["standard_id"] == standard_id).iter_rows(named=True):
            left = 1 if b["stage"] == "primary" else 6
            assert composite[left + 2] == pytest.approx(b["composite_cv"], rel=1e-14)
        verdict = next(r for r in rows if r[0] == "判定（是否达到本标准）")
        stages = {
            b["stage"]: b for b in balance.filter(balance["standard_id"] == standard_id).iter_rows(named=True)
        }
        assert verdict[1] == ("达标" if stages["primary"]["meets_standard"] else "未达标")
        assert verdict[6] == ("达标" if stages["junior"]["meets_standard"] else "未达标")
        assert any(str(c).startswith("填表人") for r in rows for c in r if c)
        sheet = book[sheet_name]
        assert sheet.page_setup.paperSize == 9 and sheet.print_title_rows == "$3:$4"


def test_the_school_sheet_has_one_row_per_included_school_section(demo):
    code = quality_county(demo)
    rows = _sheet_rows(openpyxl.load_workbook(files(demo, code, "xlsx"))["优质均衡学校明细"])
    with published(demo) as con:
        sections = query_frame(
            con,
            "select school_id, stage, is_compliant from marts.school_compliance "
            "where census_year = $y and county_code = $c and standard_id = 'quality_2017'",
            {"y": YEAR, "c": code},
        )
    body = [r for r in rows[4:] if r[0]]
    assert len(body) == sections.height > 0
    assert {(r[0], {"小学": "primary", "初中": "junior"}[r[2]]) for r in body} == set(
        zip(sections["school_id"], sections["stage"], strict=True)
    )
    verdict_col = rows[2].index("校际资源配置")
    failing = sections.filter(sections["is_compliant"] == False)  # noqa: E712
    assert sum(r[verdict_col] == "未达标" for r in body) == failing.height > 0


def test_fix_list_amounts_are_whole_and_bring_each_school_to_its_minimum(demo):
    """Every amount is whole (万元 to a tenth); added to the school's resource it reaches the
    minimum, and one step less would not; each indicator's total is the sum of its schools."""
    with published(demo) as con:
        fixes = query_frame(
            con,
            "select f.*, v.resource_amount, v.denominator_amount, i.scale, u.per_shown_unit, u.step "
            "from monitoring.school_fix_list as f "
            "join marts.school_indicators as v using (census_year, county_code, stage, standard_id, indicator_id, school_id) "
            "join marts.standard_indicators as i using (standard_id, stage, indicator_id) "
            "join marts.what_if_units as u on u.unit = i.unit where f.census_year = $y",
            {"y": YEAR},
        )
        short = con.execute(
            "select count(*) from marts.school_indicators where census_year = $y and meets_standard = false "
            "and students > 0",
            {"y": YEAR},
        ).fetchone()
    assert short is not None and fixes.height == short[0] > 0
    for r in fixes.iter_rows(named=True):
        steps = r["amount_needed"] / r["step"]
        assert abs(steps - round(steps)) < 1e-9, r

        assert value_with(r, r["amount_needed"]) >= r["standard_value"] * (1 - 1e-9), r
        assert value_with(r, r["amount_needed"] - r["step"]) < r["standard_value"] * (1 - 1e-9), r
        assert math.isclose(r["value_after"], value_with(r, r["amount_needed"])), r
    totals = fixes.group_by("county_code", "stage", "indicator_id").agg(
        total=pl.col("amount_needed").sum(),
        shown=pl.col("county_amount_needed").first(),
        n=pl.len(),
        n_shown=pl.col("n_schools_short").first(),
    )
    for t in totals.iter_rows(named=True):
        assert math.isclose(t["total"], t["shown"]) and t["n"] == t["n_shown"], t


def test_fix_list_costs_add_up_and_order_schools_most_costly_first(demo):
    """Every need is costed at its indicator's reference unit cost (万元 rounded up to a tenth);
    school, indicator and county totals are the sums; schools are listed most costly first."""
    with published(demo) as con:
        fixes = query_frame(
            con,
            "select * from monitoring.school_fix_list where census_year = $y order by county_code, standard_id, fix_order",
            {"y": YEAR},
        )
        costs = dict(con.execute("select indicator_id, unit_cost_wan_yuan from marts.unit_costs").fetchall())
        uncosted = con.execute(
            "select distinct standard_id, indicator_id from marts.standard_indicators "
            "where standard_value is not null and indicator_id not in (select indicator_id from marts.unit_costs)"
        ).fetchall()
    assert uncosted == []
    assert fixes.height > 0 and fixes["cost_wan_yuan"].null_count() == 0
    for r in fixes.iter_rows(named=True):
        exact = r["amount_needed"] * costs[r["indicator_id"]]
        assert r["cost_wan_yuan"] >= exact - 1e-9 and r["cost_wan_yuan"] - exact < 0.1 + 1e-9, r
        assert math.isclose(r["cost_wan_yuan"] * 10, round(r["cost_wan_yuan"] * 10)), r
    for (county, _standard), rows in fixes.group_by("county_code", "standard_id", maintain_order=True):
        schools = rows.group_by("school_id", maintain_order=True).agg(
            total=pl.col("cost_wan_yuan").sum(), shown=pl.col("school_cost_wan_yuan").first()
        )
        for s in schools.iter_rows(named=True):
            assert math.isclose(s["total"], s["shown"], abs_tol=1e-9), (county, s)
        # the list's order: school totals never rise; a school's rows are together
        assert schools["shown"].to_list() == sorted(schools["shown"].to_list(), reverse=True), county
        assert rows["fix_order"].to_list() == list(range(1, rows.height + 1))
        assert math.isclose(rows["county_total_cost_wan_yuan"][0], rows["cost_wan_yuan"].sum(), abs_tol=1e-9)
        assert rows["county_schools_to_fix"][0] == schools.height
        per_indicator = rows.group_by("stage", "indicator_id").agg(
            total=pl.col("cost_wan_yuan").sum(), shown=pl.col("county_cost_wan_yuan").first()
        )
        for t in per_indicator.iter_rows(named=True):
            assert math.isclose(t["total"], t["shown"], abs_tol=1e-9), (county, t)


def test_the_workbooks_fix_sheet_lists_schools_by_cost_with_the_county_total(demo):
    code = quality_county(demo)
    with published(demo) as con:
        fixes = query_frame(
            con,
            "select school_rank, school_name, county_total_cost_wan_yuan, county_schools_to_fix "
            "from monitoring.school_fix_list where census_year = $y and county_code = $c "
            "and standard_id = 'quality_2017' order by fix_order",
            {"y": YEAR, "c": code},
        )
    sheet = openpyxl.load_workbook(files(demo, code, "xlsx"), read_only=True)["优质均衡补足清单"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    listed = [r[1] for r in rows[3:] if isinstance(r[0], int)]
    assert listed == fixes.unique("school_rank", maintain_order=True)["school_name"].to_list()
    total = next(
        r for r in rows if isinstance(r[0], str) and r[0].startswith("全县合计（") and "所学校" in r[0]
    )
    assert total[0] == f"全县合计（{fixes['county_schools_to_fix'][0]} 所学校）"
    assert math.isclose(total[12], fixes["county_total_cost_wan_yuan"][0])


def value_with(r: dict, amount: float) -> float:
    """The school's value with `amount` (in the shown unit) added to its resource."""
    return r["scale"] * (r["resource_amount"] + amount * r["per_shown_unit"]) / r["denominator_amount"]


def test_the_county_pdf_reads_back_with_the_warehouse_figures_and_no_stranded_heading(demo):
    need_pdftotext()
    code = quality_county(demo)
    pdf = files(demo, code, "pdf")
    assert pdf.is_file()
    pages = pdf_pages(pdf)
    assert 3 <= len(pages) <= 20, len(pages)
    text = "\n".join(pages)
    with published(demo) as con:
        cvs = query_frame(
            con,
            "select cv from marts.county_indicator_cv where census_year = $y and county_code = $c and cv is not null",
            {"y": YEAR, "c": code},
        )
        fixes = query_frame(
            con,
            "select county_amount_needed, amount_unit from monitoring.school_fix_list "
            "where census_year = $y and county_code = $c",
            {"y": YEAR, "c": code},
        )
    for cv in cvs["cv"]:
        assert f"{cv:.3f}" in text, cv
    for amount, unit in fixes.unique().iter_rows():
        shown = f"{amount:,.0f}" if float(amount).is_integer() else f"{amount:,.1f}"
        assert f"{shown} {unit}" in text, (amount, unit)
    for number, page in enumerate(pages, start=1):
        assert f"第 {number} 页，共 {len(pages)} 页" in page
        lines = [line.strip() for line in page.splitlines() if line.strip()]
        body = [line for line in lines if "页，共" not in line and "生成日期" not in line]
        assert body, number
        assert not body[-1].endswith(TITLES), (number, body[-1])  # no page ends with a document's title
        assert "县域义务教育均衡发展材料" in lines[0]  # the running title


def test_a_county_page_prints_numbered_without_links_or_stranded_headings(demo, tmp_path):
    """The county page printed as a person would print it from the browser: numbered pages with
    the date, no 返回全省总览 link, no heading left alone at the bottom of a page."""
    need_pdftotext()
    from pipelines.lib.outputs.pdf import find_chromium, print_pdfs

    if find_chromium() is None:
        pytest.skip("no Chromium to print with")
    code = quality_county(demo)
    page = tmp_path / f"{code}.html"
    html = (demo.reports / "counties" / f"{code}.html").read_text(encoding="utf-8")
    page.write_text(html, encoding="utf-8")
    (pdf,) = print_pdfs([page])
    pages = pdf_pages(pdf)
    headings = {
        re.sub(r"<[^>]+>|\s+", "", h) for h in re.findall(r"<h[234][^>]*>(.*?)</h[234]>", html, flags=re.S)
    }
    assert len(pages) >= 3
    text = "\n".join(pages)
    assert "返回全省总览" not in text
    for number, content in enumerate(pages, start=1):
        assert f"第 {number} 页，共 {len(pages)} 页" in content and "生成日期" in content
        body = [
            re.sub(r"\s+", "", line)
            for line in content.splitlines()
            if line.strip() and "页，共" not in line and "生成日期" not in line
        ]
        assert body[-1] not in headings, (number, body[-1])


def test_counties_read_in_batches_get_the_same_tables_as_each_county_read_alone(demo, monkeypatch):
    """The filings read a batch of counties per statement (filing.FILING_BATCH): in batches of 7
    (several, the last one short), every county gets exactly the page it gets when read alone."""
    from datetime import date

    from pipelines.lib.outputs import filing

    codes = certified(demo)
    printed = date(2026, 1, 1)
    template = filing.page_template()
    with published(demo) as con:
        alone = [
            filing.render_html(next(filing.read_county_filings(con, YEAR, [code])), printed, template)
            for code in codes
        ]
        monkeypatch.setattr(filing, "FILING_BATCH", 7)
        batched = [
            filing.render_html(f, printed, template) for f in filing.read_county_filings(con, YEAR, codes)
        ]
    assert len(codes) > 2 * 7 and len(batched) == len(codes)
    for code, one, many in zip(codes, alone, batched, strict=True):
        assert code in one and one == many, code
