"""Expectation suites over the published warehouse (pipelines/lib/publish/quality.py,
models/quality/expectations.yaml): they pass on the demo province, every error suite catches its
planted corruption and says where, and the Data Docs load nothing from the network."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml

from pipelines.lib.monitoring.alerts import STATUSES
from pipelines.lib.paths import MODELS_DIR
from pipelines.lib.publish.data_docs import missing_local_files
from pipelines.lib.publish.quality import (
    SEVERITIES,
    QualityConfigError,
    SuiteSpec,
    build_frames,
    load_suites,
    run_suites,
)
from pipelines.lib.sql_models import load_model

SUITES_FILE = MODELS_DIR / "quality" / "expectations.yaml"


def suite(name: str) -> SuiteSpec:
    return next(s for s in load_suites() if s.name == name)


def latest_year(database: Path) -> int:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return int(con.execute("select max(census_year) from raw.census_schools").fetchall()[0][0])
    finally:
        con.close()


def corrupted_copy(demo, tmp_path: Path, *statements: str) -> Path:
    """A copy of the demo warehouse with `statements` run on it (the demo file is never touched)."""
    copy = tmp_path / "corrupted.duckdb"
    shutil.copyfile(demo.warehouse, copy)
    con = duckdb.connect(str(copy))
    try:
        for sql in statements:
            con.execute(sql).fetchall()
    finally:
        con.close()
    return copy


# --- the suites file ------------------------------------------------------------------------------


def test_every_suite_has_a_severity_and_a_note_and_keys_come_from_the_sidecars():
    suites = load_suites()
    assert {s.severity for s in suites} == set(SEVERITIES)
    assert all(s.note and s.title_zh and s.note_zh for s in suites)
    keys = {t["table"]: t["key"] for t in suite("unique_keys").params["tables"]}
    sidecar = load_model(MODELS_DIR / "marts" / "county_balance.sql")
    assert keys["marts.county_balance"] == list(sidecar.unique_key)
    assert keys["monitoring.school_drivers"][-1] == "school_id"
    assert keys["monitoring.backsliding_alerts"] == ["alert_id"]
    assert keys["marts.dim_counties"] == ["county_code"]


def test_alert_statuses_in_the_yaml_are_the_ones_the_alerts_write():
    assert suite("alert_codes").params["statuses"] == list(STATUSES)


def test_a_bound_without_a_note_or_an_unknown_severity_is_refused(tmp_path):
    document = yaml.safe_load(SUITES_FILE.read_text(encoding="utf-8"))
    composite = next(s for s in document["suites"] if s["name"] == "composite_identity")
    del composite["tolerance"]["note"]
    path = tmp_path / "quality" / "expectations.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(QualityConfigError, match="composite_identity.*without a note"):
        load_suites(path)

    composite["tolerance"]["note"] = "restored"
    composite["severity"] = "fatal"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(QualityConfigError, match="severity must be one of"):
        load_suites(path)


def test_importing_the_module_does_not_import_great_expectations():
    code = "import sys, pipelines.lib.publish.quality; print('great_expectations' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- the demo province --------------------------------------------------------------------------------


@pytest.mark.parametrize("which_years", ["latest", "all"])
def test_every_suite_passes_on_the_demo_warehouse(demo, which_years):
    before = demo.warehouse.stat().st_mtime_ns
    census_year = latest_year(demo.warehouse) if which_years == "latest" else None
    results = run_suites(demo.warehouse, census_year)
    assert [r.suite for r in results] == [s.name for s in load_suites()]
    for result in results:
        assert result.success, f"{result.suite}: {result.failures}"
        assert result.evaluated > 0, f"{result.suite} evaluated nothing"
    assert demo.warehouse.stat().st_mtime_ns == before  # opened read-only


# Each error suite and a corruption it must catch: (suite, SQL, words the failure line must name).
# {year} is the demo's latest census year; the first county of the registry is the victim.
FIRST_COUNTY = "(select min(county_code) from marts.dim_counties)"
CORRUPTIONS = {
    "duplicate_balance_row": (
        "unique_keys",
        "insert into marts.county_balance select * from marts.county_balance "
        f"where census_year = {{year}} and county_code = {FIRST_COUNTY} limit 1",
        ["marts.county_balance", "census_year x county_code x stage x standard_id"],
    ),
    "composite_changed": (
        "composite_identity",
        "update marts.county_balance set composite_cv = composite_cv + 0.01 "
        f"where census_year = {{year}} and county_code = {FIRST_COUNTY} "
        "and stage = 'primary' and standard_id = 'basic_2012'",
        ["marts.county_balance.composite_cv", "marts.county_indicator_cv.cv", "composite_difference=0.01"],
    ),
    "composite_nulled": (
        "composite_identity",
        "update marts.county_balance set composite_cv = null "
        f"where census_year = {{year}} and county_code = {FIRST_COUNTY} and stage = 'junior'",
        ["marts.county_balance.composite_cv is null exactly where", "composite_is_null=True"],
    ),
    "county_deleted_from_balance": (
        "county_coverage",
        f"delete from marts.county_balance where census_year = {{year}} and county_code = {FIRST_COUNTY}",
        ["marts.county_balance", "marts.county_indicator_cv", "n_balance_groups=0"],
    ),
    "gini_above_one": (
        "hard_ranges",
        "update marts.county_equity set gini = 1.5 "
        f"where census_year = {{year}} and county_code = {FIRST_COUNTY} "
        "and indicator_id = 'books_per_student'",
        ["marts.county_equity.gini <= 1", "largest_gini=1.5"],
    ),
    "negative_cv": (
        "hard_ranges",
        "update marts.county_indicator_cv set cv = -cv "
        f"where census_year = {{year}} and county_code = {FIRST_COUNTY}",
        ["marts.county_indicator_cv.cv >= 0", "smallest_cv=-"],
    ),
    "bogus_alert_severity": (
        "alert_codes",
        "insert into monitoring.backsliding_alerts by name "
        "select alert_id || '-bogus' as alert_id, census_year, county_code, stage, standard_id, rule_id, "
        "'bogus' as severity, severity_rank, status from monitoring.backsliding_alerts "
        "where census_year = {year} limit 1",
        ["monitoring.backsliding_alerts.severity", "severity=bogus"],
    ),
    "year_missing_from_equity": (
        "rows_per_year",
        "delete from marts.county_equity where census_year = {year}",
        ["marts.county_equity has rows", "marts.county_equity=0"],
    ),
}


def test_every_error_suite_has_a_corruption_it_must_catch():
    errors = {s.name for s in load_suites() if s.severity == "error"}
    assert {suite_name for suite_name, _, _ in CORRUPTIONS.values()} == errors


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_an_error_suite_fails_on_its_corruption_and_says_where(demo, tmp_path, corruption):
    suite_name, sql, named = CORRUPTIONS[corruption]
    year = latest_year(demo.warehouse)
    database = corrupted_copy(demo, tmp_path, sql.format(year=year))
    (result,) = run_suites(database, year, suites=[suite(suite_name)])
    assert not result.success and result.severity == "error"
    text = "\n".join(result.failures)
    for words in named:
        assert words in text, f"{words!r} not in:\n{text}"
    assert f"census_year={year}" in text
    # all years: the same corruption is found from the whole table too
    (every_year,) = run_suites(database, None, suites=[suite(suite_name)])
    assert not every_year.success


def test_a_failed_frame_is_validated_again_for_its_rows_and_shown_once_in_the_data_docs(demo, tmp_path):
    # run_suites asks great-expectations for the failing rows' keys only after a frame failed: the
    # second validation replaces the first, so the docs have one page per frame either way
    suite_name, sql, _ = CORRUPTIONS["composite_changed"]
    year = latest_year(demo.warehouse)
    database = corrupted_copy(demo, tmp_path, sql.format(year=year))
    with duckdb.connect(str(database), read_only=True) as con:
        (county,) = con.execute(f"select {FIRST_COUNTY}").fetchone()
    docs = tmp_path / "data_docs"
    (result,) = run_suites(database, year, docs_dir=docs, suites=[suite(suite_name)])
    assert not result.success
    assert f"county_code={county}" in "\n".join(result.failures)  # the failing row, by its keys
    frames = build_frames(database, [suite(suite_name)], year)[suite_name]
    pages = sorted((docs / "validations" / suite_name).rglob("*.html"))
    assert len(pages) == len(frames) > 0


def test_a_late_county_warns_but_breaks_no_identity(demo, tmp_path):
    # a registry county with no schools loaded (its returns are late): completeness, not a wrong figure
    database = corrupted_copy(
        demo,
        tmp_path,
        "insert into marts.dim_counties select '909999', '迟报县', prefecture_code, prefecture_name, "
        "province_code, province_name from marts.dim_counties limit 1",
    )
    year = latest_year(demo.warehouse)
    coverage, registry = run_suites(
        database, year, suites=[suite("county_coverage"), suite("registry_coverage")]
    )
    assert coverage.success, coverage.failures
    assert not registry.success and registry.severity == "warn"
    assert "county_code=909999" in registry.failures[0] and "n_balance_groups=0" in registry.failures[0]


def test_a_missing_table_fails_its_suite_instead_of_crashing(demo, tmp_path):
    database = corrupted_copy(demo, tmp_path, "drop table monitoring.backsliding_alerts")
    (result,) = run_suites(database, latest_year(demo.warehouse), suites=[suite("alert_codes")])
    assert not result.success
    assert "monitoring.backsliding_alerts" in result.failures[0] and "could not build" in result.failures[0]


# --- Data Docs ----------------------------------------------------------------------------------------

# Anything a browser would fetch by itself: script and image sources, stylesheet links, CSS imports
# and url()s. Written here independently of the module's own rewriting.
NETWORK = r"(?:https?:)?//"
FETCHES = [
    re.compile(rf"<script\b[^>]*\bsrc\s*=\s*['\"]?\s*{NETWORK}", re.I),
    re.compile(rf"<link\b[^>]*\bhref\s*=\s*['\"]?\s*{NETWORK}", re.I),
    re.compile(
        rf"<(?:img|iframe|source|video|audio|embed)\b[^>]*\b(?:src|srcset)\s*=\s*['\"]?\s*{NETWORK}", re.I
    ),
    re.compile(rf"@import\s+(?:url\()?\s*['\"]?\s*{NETWORK}", re.I),
    re.compile(rf"url\(\s*['\"]?\s*{NETWORK}", re.I),
]


def network_fetches(folder: Path) -> list[str]:
    found = []
    for path in [*folder.rglob("*.html"), *folder.rglob("*.css")]:
        text = path.read_text(encoding="utf-8")
        found += [f"{path.name}: {m.group(0)}" for pattern in FETCHES for m in pattern.finditer(text)]
    return found


def test_the_network_check_itself_finds_a_cdn_reference(tmp_path):
    (tmp_path / "page.html").write_text(
        '<html><head><link rel="stylesheet" href="https://cdn.example/x.css">\n<img\n class="x"'
        '\n src="https://s3.example/logo.png"></head></html>',
        encoding="utf-8",
    )
    (tmp_path / "style.css").write_text("a { background: url('//cdn.example/a.png') }", encoding="utf-8")
    assert len(network_fetches(tmp_path)) == 3


def test_data_docs_are_written_offline_with_an_index(demo, tmp_path):
    docs = tmp_path / "reports" / "data_docs"
    results = run_suites(demo.warehouse, latest_year(demo.warehouse), docs_dir=docs)
    index = docs / "index.html"
    assert index.is_file()
    pages = list(docs.rglob("*.html"))
    assert len(list((docs / "validations").rglob("*.html"))) >= len(results)
    assert network_fetches(docs) == []
    assert missing_local_files(docs) == []  # e.g. great-expectations' favicon one folder too high
    assert not any(re.search(r"<script\b", p.read_text(encoding="utf-8"), re.I) for p in pages)
    # every page the index links to is there
    text = index.read_text(encoding="utf-8")
    links = re.findall(r'href="([^"#]+)"', text)
    assert links and all((docs / link).is_file() for link in links)
    for result in results:
        assert result.suite in text
    # no staging folder left beside the docs
    assert [p.name for p in docs.parent.iterdir()] == ["data_docs"]
    # a second run replaces the pages instead of piling them up
    run_suites(demo.warehouse, latest_year(demo.warehouse), docs_dir=docs)
    assert len(list(docs.rglob("*.html"))) == len(pages)
    chinese_first_pages(docs)


def chinese_first_pages(docs: Path) -> None:
    """Every suite page opens with its Chinese title, note and rules; great-expectations' own
    words are Chinese; what a reader sees has over twice as many Chinese characters as English words
    (SQL, table and column names and great-expectations' version stay as they are)."""
    suites = load_suites()
    index = docs.joinpath("index.html").read_text(encoding="utf-8")
    for spec in suites:
        assert spec.title_zh in index and spec.note_zh in index
    hanzi = words = 0
    for page in [
        *docs.joinpath("validations").rglob("*.html"),
        *docs.joinpath("expectations").rglob("*.html"),
    ]:
        text = page.read_text(encoding="utf-8")
        assert '<section class="zh-banner"><h2>数据质量检查：' in text, page
        visible = re.sub(r"<(style|pre|code)\b.*?</\1>|<[^>]+>", " ", text, flags=re.S)
        for english in ("Table of Contents", "Evaluated Expectations", "Observed Value", "values must"):
            assert english not in visible, (page, english)
        hanzi += len(re.findall(r"[\u4e00-\u9fff]", visible))
        words += len(re.findall(r"\b[A-Za-z]{2,}\b", visible))
    assert hanzi > 2 * words, (hanzi, words)
