"""Every sentence true: the demo's reports say only what the warehouse says.

Each page marks every figure, year, count and verdict it shows with the table, key and column it
came from (pipelines/lib/outputs/reports/facts.py). These tests read every page of the demo's
report folder (the index and every county page), look each claim up in the published snapshot
and fail on the first page that says something else (tests/claims.py); then they check the
statements an inspector found false before, one by one, on the same demo.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.lib.sentences import read_words
from pipelines.lib.warehouse import query_frame
from tests.claims import Page, Warehouse, check_claims, read_page

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def con(demo):
    with duckdb.connect(str(demo.published), read_only=True) as connection:
        yield connection


@pytest.fixture(scope="module")
def pages(demo) -> list[Page]:
    paths = [
        demo.reports / "index.html",
        *sorted(demo.reports.glob("监测报告_*.html")),
        *sorted((demo.reports / "counties").glob("*.html")),
    ]
    assert len(paths) > 60
    return [read_page(p) for p in paths]


def test_every_claim_on_every_page_is_the_warehouse_value(pages, con):
    problems = check_claims(pages, Warehouse(con), read_words(con))
    assert sum(len(p.claims) for p in pages) > 50_000
    assert problems == [], "\n".join(problems[:30])


def test_no_page_shows_a_number_without_its_source(pages):
    uncited = [(p.path.name, text) for p in pages for text in p.uncited]
    assert uncited == [], uncited[:30]


def test_every_alert_message_on_a_page_is_the_stored_one_and_cites_its_figures(pages, con):
    # the pages write each message from its template, every slot cited; the claim check above
    # compares the whole sentence with message_zh and each figure with its column
    messages = [c for p in pages for c in p.claims if c.column == "message_zh"]
    active = query_frame(
        con, "select count(*) as n from monitoring.backsliding_alerts where census_year = 2024"
    )
    assert len(messages) >= active["n"][0]  # each alert on its county page, the active ones on the index too
    assert all(c.fmt == "sentence" for c in messages)


def test_a_failing_school_list_has_exactly_the_count_its_headline_says(pages, demo):
    checked = 0
    for page in pages:
        html = page.path.read_text(encoding="utf-8")
        lists = re.findall(
            r'<h3 class="list-head"[^>]*>(.*?)</h3>\s*(?:<p class="note">.*?</p>\s*)?'
            r'(<table class="school-list".*?</table>|<p class="empty">)',
            html,
            flags=re.S,
        )
        for heading, table in lists:
            count = int(re.search(r'data-fmt="int">(\d+)<', heading).group(1))
            rows = table.count('<tr class="school">')
            assert rows == count, (page.path.name, re.sub(r"<[^>]+>", "", heading))
            checked += 1
    assert checked > 100


def test_a_county_under_its_threshold_until_2021_says_its_failure_began_in_2021(con, demo):
    # 北安县 primary basic composite: 0.585 in 2019, 0.610 in 2020 (under 0.65), 0.690 in 2021
    rows = query_frame(
        con,
        "select * from monitoring.backsliding_alerts where county_code = '900221' and stage = 'primary' "
        "and standard_id = 'basic_2012' and census_year = 2024 and status <> 'resolved'",
    )
    failing = rows.filter(pl.col("failing_since_year").is_not_null())
    assert failing.height >= 1
    assert set(failing["failing_since_year"]) == {2021} and set(failing["failing_years"]) == {4}
    page = (demo.reports / "counties" / "900221.html").read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", "", page)
    assert "自 2021 年起已连续 4 年" in text
    assert "自 2019 年起" not in text


def test_near_threshold_is_never_said_of_a_metric_over_its_threshold(con):
    over = query_frame(
        con,
        "select census_year, county_code, fired_rules, message_zh from monitoring.backsliding_alerts "
        "where observed_value > threshold and evidence_metric_id = metric_id and status <> 'resolved'",
    )
    assert over.height > 0
    for row in over.iter_rows(named=True):
        assert not {"near_threshold", "near_threshold_rising"} & set(row["fired_rules"]), row
        assert "接近阈值" not in row["message_zh"], row


def test_what_if_amounts_are_whole_and_reach_the_per_school_minimum(con):
    schools = query_frame(
        con,
        "select s.*, u.step from monitoring.what_if_schools as s "
        "inner join marts.what_if_units as u on u.shown_unit = s.amount_unit",
    )
    assert schools.height > 0
    for row in schools.iter_rows(named=True):
        steps = row["amount_needed"] / row["step"]
        assert steps == pytest.approx(round(steps), abs=1e-6) and steps >= 1, row
        assert row["value_after"] >= row["floor_value"] - 1e-9, row
        if row["standard_value"] is not None:
            assert row["value_after"] >= row["standard_value"] - 1e-9, row
    people = schools.filter(pl.col("amount_unit") == "人")
    assert people.height > 0 and all(float(v).is_integer() for v in people["amount_needed"])
    plans = query_frame(
        con,
        "select * from monitoring.what_if_plans "
        "where is_needed and plan_null_reason is null and metric_id = plan_metric_id",
    )
    assert plans.height > 0 and (plans["cv_after"] <= plans["target_cv"]).all()


def test_a_plan_that_needs_nothing_is_one_sentence_and_no_table(con, demo):
    plans = query_frame(
        con,
        "select county_code from monitoring.what_if_plans where census_year = 2024 and not is_needed",
    )
    assert plans.height > 0
    for code in set(plans["county_code"]):
        html = (demo.reports / "counties" / f"{code}.html").read_text(encoding="utf-8")
        for block in re.findall(r'<p class="what-if">(.*?)</p>\s*(<table)?', html, flags=re.S):
            if "无需补足" in block[0]:
                assert block[1] == "", code


def test_the_alert_list_counts_are_the_overview_counts(con, demo):
    from pipelines.cli import main

    summary = query_frame(con, "select * from monitoring.year_summary where census_year = 2024").row(
        0, named=True
    )
    index = (demo.reports / "index.html").read_text(encoding="utf-8")
    assert f'data-col="n_active_alerts" data-fmt="int">{summary["n_active_alerts"]}<' in index
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["alerts", "--published", str(demo.published)]) == 0
    text = out.getvalue()
    last = text.strip().splitlines()[-1]
    assert f"有效预警 {summary['n_active_alerts']} 条" in last
    assert f"已解除 {summary['n_resolved_alerts']} 条" in last
    assert "critical" not in text and "primary" not in text and "basic_2012" not in text  # Chinese by default


def test_page_sizes_stay_reasonable(demo):
    sizes = [p.stat().st_size for p in Path(demo.reports / "counties").glob("*.html")]
    assert max(sizes) < 600_000


def test_the_rankings_are_in_the_warehouses_order(demo):
    # each ranking lists its counties from the highest figure down (the order of the ranking query)
    html = (demo.reports / "index.html").read_text(encoding="utf-8")
    section = html[html.index('<section id="rankings">') : html.index('<section id="counties">')]
    figures = re.findall(r"<figure>.*?</figure>", section, flags=re.S)
    assert len(figures) == 4
    for figure in figures:
        shown = [
            float(v)
            for v in re.findall(
                r'data-col="(?:composite_cv|n_indicators_over_threshold)" data-fmt="\w+">([\d.]+)<', figure
            )
        ]
        assert len(shown) > 10 and shown == sorted(shown, reverse=True), shown[:20]
