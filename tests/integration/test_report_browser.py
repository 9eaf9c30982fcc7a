"""The HTML reports built from the demo province, opened in a real browser.

The reports are opened from disk on isolated networks, so the browser test asserts that a page
makes no request other than file://, logs no error, shows its charts (one per indicator on a
county page) and its Chinese text. Screenshots go to build/test-artifacts/ for a human to look at.
Debian's Chromium (/usr/bin/chromium) drives the pages; the test skips if it is not installed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines.lib.outputs.reports import build_reports
from pipelines.lib.paths import REPO_ROOT
from pipelines.lib.warehouse import connect, query_frame

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO_ROOT / "build" / "test-artifacts"
MAX_REPORT_BYTES = 30_000_000  # every figure carries its source (data-row, data-col): about 40% of it


@dataclass(frozen=True)
class Built:
    out: Path
    index: Path
    seconds: float
    census_year: int
    county: str  # a county with a critical alert in the latest year (planted backsliding)
    alert_message: str
    alert_what_if: str | None
    indicator_names: dict[str, int]  # name_zh -> charts a county page must show for it
    county_count: int
    county_charts: int  # charts the county page must show: a composite chart per stage of a
    county_thresholds: int  # composite standard plus one per indicator; threshold lines where judged


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def warehouse_digest(demo):
    """The demo warehouse is shared by the session: the reports must only read it."""
    return _sha256(demo.warehouse)


@pytest.fixture(scope="module")
def built(demo, warehouse_digest, tmp_path_factory) -> Built:
    out = tmp_path_factory.mktemp("reports")
    (out / "excel").mkdir()
    (out / "excel" / "junheng_alerts.xlsx").write_bytes(b"stand-in for the Excel export")
    started = time.perf_counter()
    index = build_reports(
        demo.warehouse,
        out,
        links={
            "预警清单（Excel）": "excel/junheng_alerts.xlsx",
            "数据质量报告": "data_docs/index.html",  # not written: must not be linked
        },
    )
    seconds = time.perf_counter() - started
    with connect(demo.warehouse, read_only=True) as con:
        year = con.execute("select max(census_year) from monitoring.backsliding_alerts").fetchall()[0][0]
        critical = query_frame(
            con,
            "select county_code, message_zh, what_if_zh from monitoring.backsliding_alerts "
            "where census_year = $y and severity = 'critical' and status <> 'resolved' "
            "order by county_code = '900421' desc, county_code = '900221' desc, county_code, alert_id",
            {"y": year},
        )
        names = query_frame(
            con, "select name_zh, count(*) as n from marts.standard_indicators group by name_zh"
        )
        county_count = con.execute("select count(*) from marts.dim_counties").fetchall()[0][0]
    assert not critical.is_empty(), "the demo plants backsliding: some county must be critical"
    first = critical.row(0, named=True)
    with connect(demo.warehouse, read_only=True) as con:
        # per standard and stage the county has coefficients for: its indicators, and the rule
        shown = con.execute(
            """
            select s.cv_rule, count(distinct c.indicator_id)
            from marts.county_indicator_cv as c
            inner join marts.standards as s using (standard_id)
            where c.county_code = $c
            group by c.standard_id, c.stage, s.cv_rule
            """,
            {"c": first["county_code"]},
        ).fetchall()
    county_charts = sum(n + (rule == "composite") for rule, n in shown)
    county_thresholds = sum(1 if rule == "composite" else n for rule, n in shown)
    return Built(
        out=out,
        index=index,
        seconds=seconds,
        census_year=int(year),
        county=first["county_code"],
        alert_message=first["message_zh"],
        alert_what_if=first["what_if_zh"],
        indicator_names=dict(names.iter_rows()),
        county_count=int(county_count),
        county_charts=county_charts,
        county_thresholds=county_thresholds,
    )


def test_reports_cover_every_county_and_stay_small(built, demo, warehouse_digest, capsys):
    pages = sorted((built.out / "counties").glob("*.html"))
    assert built.index == built.out / "index.html"
    assert len(pages) == built.county_count
    size = sum(p.stat().st_size for p in built.out.rglob("*.html"))
    with capsys.disabled():
        print(
            f"\nreports: {len(pages)} county pages + index in {built.seconds:.1f} s, "
            f"{size / 1e6:.1f} MB on disk ({built.out})"
        )
    assert size < MAX_REPORT_BYTES
    assert _sha256(demo.warehouse) == warehouse_digest  # opened read-only, never modified
    assert not list(built.out.rglob("*.tmp"))


def test_pages_are_offline_and_escaped(built):
    for page in [built.index, built.out / "counties" / f"{built.county}.html"]:
        html = page.read_text(encoding="utf-8")
        assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert "https://" not in html
        assert "@font-face" not in html and "<link" not in html
        # one script element: the page's citations as inert JSON (never run), nothing else
        assert html.count("<script") == 1
        assert '<script type="application/json" id="junheng-facts">' in html
        assert html.count("<style>") == 1
        assert f'<meta name="junheng-census-year" content="{built.census_year}">' in html


def test_index_shows_only_links_whose_target_exists(built):
    html = built.index.read_text(encoding="utf-8")
    assert 'href="excel/junheng_alerts.xlsx"' in html
    assert "data_docs/index.html" not in html


def test_unknown_county_or_year_is_refused_in_both_languages(built, demo, tmp_path):
    with pytest.raises(ValueError, match=r"未知的县区代码.*unknown county code"):
        build_reports(demo.warehouse, tmp_path, county_code="999999")
    with pytest.raises(ValueError, match=r"没有 1990 年.*census year 1990 is not in the warehouse"):
        build_reports(demo.warehouse, tmp_path, census_year=1990)
    assert not (tmp_path / "index.html").exists()


def test_one_county_builds_its_page_and_the_index_links_only_current_pages(built, demo, tmp_path):
    # a page left from an earlier year must not be linked from this year's index
    other = "900101" if built.county != "900101" else "900103"
    (tmp_path / "counties").mkdir()
    stale = tmp_path / "counties" / f"{other}.html"
    stale.write_text('<meta name="junheng-census-year" content="2001">', encoding="utf-8")
    index = build_reports(demo.warehouse, tmp_path, county_code=built.county)
    pages = sorted(p.name for p in (tmp_path / "counties").glob("*.html"))
    assert pages == sorted([f"{built.county}.html", f"{other}.html"])
    html = index.read_text(encoding="utf-8")
    assert f'href="counties/{built.county}.html"' in html
    assert f'href="counties/{other}.html"' not in html
    assert f">{other}<" in html  # still listed, without a link


def test_names_from_the_census_are_escaped(built, demo, tmp_path):
    # names come from census files: a copy of the warehouse gets hostile ones
    warehouse = tmp_path / "hostile.duckdb"
    shutil.copyfile(demo.warehouse, warehouse)
    nasty = "<script>alert(\"县\")</script> & '学校'"
    with connect(warehouse) as con:
        params = {"name": nasty, "code": built.county}
        con.execute("update marts.dim_counties set county_name = $name where county_code = $code", params)
        con.execute(
            "update monitoring.school_drivers set school_name = $name where county_code = $code", params
        )
        con.execute(
            "update marts.school_compliance set school_name = $name where county_code = $code", params
        )
    index = build_reports(warehouse, tmp_path / "out", county_code=built.county)
    for page in [index, tmp_path / "out" / "counties" / f"{built.county}.html"]:
        html = page.read_text(encoding="utf-8")
        assert "<script>" not in html
        assert "&lt;script&gt;alert(&#34;县&#34;)&lt;/script&gt; &amp; &#39;学校&#39;" in html


def need_chromium() -> None:
    """Skip without Debian's Chromium, except under `make test`, which installs it and sets
    JUNHENG_REQUIRE_BROWSER=1 so that a missing browser fails instead of hiding the test."""
    if CHROMIUM.exists():
        return
    message = f"Debian's Chromium is not installed ({CHROMIUM}): apt-get install chromium fonts-noto-cjk"
    if os.environ.get("JUNHENG_REQUIRE_BROWSER") == "1":
        pytest.fail(message)
    pytest.skip(message)


def test_the_demo_reports_folder_opens_offline(demo):
    """What `junheng demo` leaves in the reports folder: the index with its links, the data
    dictionary and the great-expectations Data Docs, all opened from disk with no network."""
    need_chromium()
    from playwright.sync_api import sync_playwright

    pages = [
        demo.reports / "index.html",
        demo.reports / "dictionary.html",
        demo.reports / "data_docs" / "index.html",
    ]
    assert all(p.exists() for p in pages), pages
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            for path in pages:
                page.goto(path.as_uri())
                page.wait_for_load_state("load")
            index_links = set()
            page.goto(pages[0].as_uri())
            for link in page.locator("header a, nav a, .links a").all():
                index_links.add(link.get_attribute("href") or "")
            # every Data Docs page (validations and expectation suites, some six folders deep)
            docs_pages = sorted((demo.reports / "data_docs").rglob("*.html"))
            assert len(docs_pages) > 10
            for path in docs_pages:
                page.goto(path.as_uri())
                page.wait_for_load_state("load")
        finally:
            browser.close()
    assert errors == [], errors
    assert [url for url in requests if not url.startswith("file:")] == []
    assert {"dictionary.html", "data_docs/index.html"} <= index_links
    assert sum(".xlsx" in href for href in index_links) == 2


def test_pages_in_chromium(built, capsys):
    need_chromium()
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    county_page = built.out / "counties" / f"{built.county}.html"
    shots = {
        "index": ARTIFACTS / "report_index.png",
        "county": ARTIFACTS / f"report_county_{built.county}.png",
    }
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            requests: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))

            # --- the province overview
            page.goto(built.index.as_uri())
            page.wait_for_load_state("load")
            assert page.locator("svg.chart").count() > 0
            assert (
                page.locator("svg.chart[role=img][aria-label]").count() == page.locator("svg.chart").count()
            )
            assert page.locator("svg.chart line.threshold").count() > 0
            body = page.inner_text("body")
            for text in [
                "县域义务教育均衡发展监测总览",
                "基本均衡",
                "优质均衡",
                "小学",
                "初中",
                "本年度有效预警",
                "严重",
            ]:
                assert text in body, text
            assert built.alert_message in body
            font = page.evaluate("getComputedStyle(document.body).fontFamily")
            assert "Noto Sans CJK SC" in font
            page.screenshot(path=str(shots["index"]), full_page=True)

            # the relative link to the county page works from file://
            page.locator(f'a[href="counties/{built.county}.html"]').first.click()
            page.wait_for_load_state("load")
            assert page.url == county_page.as_uri()

            # --- the county page with a planted backsliding alert
            charts = page.locator("svg.chart")
            labels = [charts.nth(i).get_attribute("aria-label") or "" for i in range(charts.count())]
            for name, expected in built.indicator_names.items():
                shown = sum(1 for label in labels if f"{name}差异系数" in label)
                assert shown >= expected, f"{name}: {shown} charts, expected {expected}"
            assert charts.count() == built.county_charts  # 2 x (1 + 8) basic + 2 x 7 quality in the demo
            assert page.locator("svg.chart line.threshold").count() == built.county_thresholds
            body = page.inner_text("body")
            for text in ["认定情况", "预警与证据", "主要影响学校", "各项指标差异系数", "严重"]:
                assert text in body, text
            assert built.alert_message in body
            # the table evaluators know: one row per indicator, the stages side by side, then the verdict
            tables = page.locator("table.cv-table")
            assert tables.count() == 2  # basic_2012 and quality_2017
            basic = tables.nth(0).inner_text()
            for text in ["县均值", "差异系数", "阈值", "是否达标", "小学", "初中", "综合差异系数", "判定"]:
                assert text in basic, text
            assert tables.nth(0).locator("tbody tr").count() == 8 + 2  # 8 indicators, composite, verdict
            assert tables.nth(1).locator("tbody tr").count() == 7 + 2
            if built.alert_what_if:
                assert built.alert_what_if in body
            page.screenshot(path=str(shots["county"]), full_page=True)
        finally:
            browser.close()

    assert errors == []
    offline = [url for url in requests if not url.startswith("file:")]
    assert offline == [], f"pages must not reach the network: {offline}"
    assert requests, "the browser loaded the pages"
    with capsys.disabled():
        for path in shots.values():
            print(f"\nscreenshot: {path}")
    assert all(path.stat().st_size > 10_000 for path in shots.values())
