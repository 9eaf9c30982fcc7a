"""The province's annual monitoring report (pipelines/lib/outputs/province_report.py), as the demo's
`junheng report` writes it: its counts are the warehouse's, counted again here from the county
verdicts; its PDF reads back with pdftotext, numbered, with no page ending in a heading."""

from __future__ import annotations

import re
import subprocess
from urllib.parse import quote

import polars as pl
import pytest

from pipelines.lib.warehouse import connect, query_frame
from tests.pdf_text import need_pdftotext, pdf_pages

pytestmark = pytest.mark.integration

YEAR = 2024


def test_the_area_counts_are_the_county_verdicts_counted_again(demo):
    """monitoring.area_summary (every count the report states) against a count of
    marts.county_balance and marts.certifications made here, this year and last."""
    with connect(demo.published, read_only=True) as con:
        areas = query_frame(con, "select * from monitoring.area_summary where census_year = $y", {"y": YEAR})
        verdicts = query_frame(
            con,
            "select b.census_year, b.county_code, c.prefecture_code, c.province_code, b.standard_id, b.stage, "
            "b.meets_standard, coalesce(cert.certified_year <= b.census_year "
            "and (cert.revoked_year is null or cert.revoked_year > b.census_year), false) as certified "
            "from marts.county_balance as b join marts.dim_counties as c using (county_code) "
            "left join marts.certifications as cert using (county_code, standard_id) "
            "where b.census_year in ($y, $y - 1)",
            {"y": YEAR},
        )
    now = verdicts.filter(pl.col("census_year") == YEAR)
    before = verdicts.filter(pl.col("census_year") == YEAR - 1).select(
        "county_code", "standard_id", "stage", pl.col("meets_standard").alias("before")
    )
    joined = now.join(before, on=["county_code", "standard_id", "stage"], how="left")
    assert areas.filter(pl.col("area_level") == "province").height == 4
    for a in areas.iter_rows(named=True):
        level = "province_code" if a["area_level"] == "province" else "prefecture_code"
        mine = joined.filter(
            (pl.col(level) == a["area_code"])
            & (pl.col("standard_id") == a["standard_id"])
            & (pl.col("stage") == a["stage"])
        )
        assert a["n_counties"] == mine.height > 0
        assert a["n_meeting_standard"] == mine.filter(pl.col("meets_standard")).height
        assert a["n_failing_standard"] == mine.filter(~pl.col("meets_standard")).height
        assert a["n_meeting_last_year"] == mine.filter(pl.col("before")).height
        assert a["n_newly_failing"] == mine.filter(~pl.col("meets_standard") & pl.col("before")).height
        assert a["n_recovered"] == mine.filter(pl.col("meets_standard") & ~pl.col("before")).height
        assert a["n_monitored"] == mine.filter(pl.col("certified")).height
        assert a["n_monitored_failing"] == mine.filter(pl.col("certified") & ~pl.col("meets_standard")).height


def test_the_report_states_the_province_counts_and_lists_every_warning(demo):
    page = demo.reports / f"监测报告_{YEAR}.html"
    text = re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8"))
    with connect(demo.published, read_only=True) as con:
        province = query_frame(
            con,
            "select * from monitoring.area_summary where census_year = $y and area_level = 'province' "
            "order by standard_id, stage desc",
            {"y": YEAR},
        )
        alerts = query_frame(
            con,
            "select county_name from monitoring.backsliding_alerts where census_year = $y "
            "and status in ('new', 'continuing') and severity_rank >= 2",
            {"y": YEAR},
        )
    stage = {"primary": "小学", "junior": "初中"}
    standard = {"basic_2012": "基本均衡", "quality_2017": "优质均衡"}
    for r in province.iter_rows(named=True):
        assert (
            f"{standard[r['standard_id']]}·{stage[r['stage']]}：{r['n_counties']} 个县中 "
            f"{r['n_meeting_standard']} 个达标、{r['n_failing_standard']} 个未达标"
        ) in text
    assert alerts.height > 0
    for name in alerts["county_name"]:
        assert name in text
    assert "五、排名（已认定县与未认定县分列）" in text and "未认定县" in text
    index = (demo.reports / "index.html").read_text(encoding="utf-8")
    assert (
        f'href="{quote(f"监测报告_{YEAR}.html")}"' in index
        and f'href="{quote(f"监测报告_{YEAR}.pdf")}"' in index
    )


def test_the_report_pdf_is_numbered_and_leaves_no_heading_at_a_page_bottom(demo):
    need_pdftotext()
    pdf = demo.reports / f"监测报告_{YEAR}.pdf"
    pages = pdf_pages(pdf)
    assert 4 <= len(pages) <= 40, len(pages)
    headings = re.findall(
        r"<h[23][^>]*>(.*?)</h[23]>", (demo.reports / f"监测报告_{YEAR}.html").read_text(encoding="utf-8")
    )
    heading_texts = {re.sub(r"<[^>]+>", "", h).strip() for h in headings}
    assert "一、总体情况" in heading_texts
    for number, page in enumerate(pages, start=1):
        lines = [line.strip() for line in page.splitlines() if line.strip()]
        assert f"第 {number} 页，共 {len(pages)} 页" in page
        body = [line for line in lines if "页，共" not in line and "生成日期" not in line]
        assert body[-1] not in heading_texts, (number, body[-1])
    # the Chinese is text (pdftotext reads it) in fonts embedded in the file: it prints the same anywhere
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    rows = fonts.splitlines()[2:]
    assert rows and all(" yes " in row for row in rows), fonts
    assert "总体情况" in pages[0]


def test_the_checklist_counts_are_the_checkpoints_counted_again(demo):
    """marts.county_checklist_summary against marts.county_checklist counted here, and the
    report's checklist sentence states the province's counts."""
    with connect(demo.published, read_only=True) as con:
        summary = query_frame(
            con,
            "select * from marts.county_checklist_summary where census_year = $y and area_level = 'province'",
            {"y": YEAR},
        ).row(0, named=True)
        again = con.execute(
            "select count(*), count(*) filter (where judged_by = 'census' and met), "
            "count(*) filter (where judged_by = 'census' and not met), "
            "count(*) filter (where judged_by = 'census' and met is null), "
            "count(*) filter (where null_reason = 'not_declared'), count(*) filter (where judged_by = 'not_judged') "
            "from marts.county_checklist where census_year = $y",
            {"y": YEAR},
        ).fetchone()
    assert again == (
        summary["n_checkpoints"],
        summary["n_census_met"],
        summary["n_census_not_met"],
        summary["n_census_undecided"],
        summary["n_not_declared"],
        summary["n_not_judged"],
    )
    page = demo.reports / f"监测报告_{YEAR}.html"
    text = re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8"))
    assert (
        f"全省 {summary['n_counties']} 个县区共 {summary['n_checkpoints']} 个检查点次。普查计算的 "
        f"{summary['n_census']} 个中，达标 {summary['n_census_met']} 个、未达标 {summary['n_census_not_met']} 个"
    ) in text
