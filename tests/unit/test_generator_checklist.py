"""The synthetic province's checklist data: junior grade enrolment that follows its cohorts (初中三年
巩固率 about 0.96-1.01, one planted slide below 95%), 随迁子女 and certified teachers within their
totals, no checklist columns before CHECKLIST_COLUMNS_FROM, and the counties' declaration files."""

import csv

import numpy as np
import openpyxl
import polars as pl
import pytest

from contracts.columns import CENSUS_DTYPES, CHECKLIST_MEASURES
from pipelines.lib.synthetic.declarations import (
    DECLARATION_HEADER,
    declared_checkpoints,
    write_declaration,
)
from pipelines.lib.synthetic.province import (
    CHECKLIST_COLUMNS_FROM,
    Generator,
    county_retention,
    plan_checklist,
    plan_province,
    write_landing,
)

YEARS = list(range(2016, 2023))  # one year before the checklist columns, 2021 quality certifications
SEED = 25  # six counties: a quality-certified county free for the 巩固率 slide, two declaring counties


@pytest.fixture(scope="module")
def landing(tmp_path_factory):
    out = tmp_path_factory.mktemp("checklist")
    gen, province = plan_province(6, YEARS, SEED)
    truth = write_landing(gen, province, out)
    frames = {}
    for year in YEARS:
        read = pl.concat(
            [pl.read_csv(p, infer_schema=False) for p in sorted((out / str(year)).glob("census_*.csv"))]
        )
        frames[year] = read.with_columns(
            (pl.col(c) == "true") if CENSUS_DTYPES[c] == pl.Boolean else pl.col(c).cast(CENSUS_DTYPES[c])
            for c in read.columns
        )
    return out, truth, frames, province, gen


def _slide(truth: dict) -> dict:
    return next(s for s in truth["scenarios"] if s["scenario_id"] == "retention_slide")


def _retention(frames: dict[int, pl.DataFrame]) -> dict[tuple[str, int], float]:
    """County 巩固率 from the written files: 初三 of a year over 初一 two years before."""
    out = {}
    for year, frame in frames.items():
        if year - 2 not in frames or "junior_grade7_students" not in frames[year - 2].columns:
            continue
        grade9 = frame.group_by("county_code").agg(pl.col("junior_grade9_students").sum())
        grade7 = frames[year - 2].group_by("county_code").agg(pl.col("junior_grade7_students").sum())
        for code, g9, g7 in grade9.join(grade7, on="county_code").iter_rows():
            out[(code, year)] = g9 / g7
    return out


def test_years_before_the_cut_off_have_no_checklist_columns(landing):
    _, _, frames, _, _ = landing
    for year, frame in frames.items():
        present = set(CHECKLIST_MEASURES) & set(frame.columns)
        if year < CHECKLIST_COLUMNS_FROM:
            assert not present, year
        else:
            assert present == set(CHECKLIST_MEASURES), year
            assert frame.select(CHECKLIST_MEASURES).null_count().sum_horizontal().item() == 0, year


def test_grades_add_up_to_the_junior_students(landing):
    _, _, frames, _, _ = landing
    for year in (y for y in YEARS if y >= CHECKLIST_COLUMNS_FROM):
        frame = frames[year]
        grades = pl.sum_horizontal(f"junior_grade{g}_students" for g in (7, 8, 9))
        assert (frame["junior_students"] == frame.select(grades).to_series()).all(), year
        assert frame.filter(pl.col("junior_students") == 0)["junior_grade7_students"].eq(0).all()
        junior = frame.filter(pl.col("junior_students") > 100)
        for g in (7, 8, 9):  # each grade about a third of the stage
            share = junior[f"junior_grade{g}_students"] / junior["junior_students"]
            assert share.min() > 0.2 and share.max() < 0.45, (year, g)


def test_ordinary_counties_retain_their_cohorts(landing):
    _, truth, frames, _, _ = landing
    slide = _slide(truth)
    retention = _retention(frames)
    assert retention, "the window has census years two years apart with the grade columns"
    for (code, year), value in retention.items():
        if code == slide["county_code"] and year >= slide["first_failing_year"]:
            continue
        assert 0.95 <= value <= 1.02, (code, year, value)


def test_retention_over_a_larger_roster_stays_realistic():
    """Cohorts over 2015-2024 in 20 counties (no aiming: the grade plan reads enrolment only)."""
    years = list(range(2015, 2025))
    gen = Generator(20, years, seed=7)
    roster = gen.build_roster()
    gen.evolve(roster)
    plan_checklist(gen, roster, years)
    values = [county_retention(c, y) or 0.0 for c in roster for y in years[2:]]
    assert min(values) >= 0.96 and max(values) <= 1.01, (min(values), max(values))
    for county in roster:
        for school in county.schools:
            for year, grades in school.grades.items():
                assert sum(grades) == school.history[year]["junior"]


def test_the_planted_retention_slide(landing):
    out, truth, frames, province, _ = landing
    slide = _slide(truth)
    county = slide["county_code"]
    assert slide["standard_id"] == "quality_2017" and slide["checkpoint_code"] == "C36"
    assert slide["threshold"] == 0.95 and slide["metric"] == "checkpoint"
    assert county not in {s["county_code"] for s in truth["scenarios"] if s is not slide}
    first = slide["first_failing_year"]
    assert first is not None and first >= slide["quality_certified_year"] + 1 and first >= YEARS[-2]
    retention = _retention(frames)
    for row in slide["years"]:
        year = row["census_year"]
        assert row["value"] == pytest.approx(retention[(county, year)], abs=1e-4)
        assert row["passes"] == (year < first)
        if year >= first:
            assert 0.89 <= row["value"] < 0.93
    assert slide["expected_alerts"] == [
        {"census_year": y, "severity": "warning", "rule_id": "checkpoint_lapse", "stage": None}
        for y in YEARS
        if y >= first
    ]
    # the junior stage keeps the enrolment it had: the pupils 初三 lacks are counted in 初一 and 初二
    planted = next(c for c in province.counties if c.county_code == county)
    for year in YEARS:
        written = frames[year].filter(pl.col("county_code") == county)["junior_students"].sum()
        assert written == sum(s.history[year]["junior"] for s in planted.schools if year in s.history)


def test_migrants_and_certified_teachers_stay_within_their_totals(landing):
    _, _, frames, province, _ = landing
    quality = {c.county_code: c.quality_certified for c in province.counties}
    for year in (y for y in YEARS if y >= CHECKLIST_COLUMNS_FROM):
        frame = frames[year]
        for stage in ("primary", "junior"):
            assert (frame[f"{stage}_migrant_students"] <= frame[f"{stage}_students"]).all()
            assert (frame[f"{stage}_certified_teachers"] <= frame[f"{stage}_teachers"]).all()
        counties = frame.group_by("county_code").agg(
            migrants=pl.sum_horizontal("primary_migrant_students", "junior_migrant_students").sum(),
            public=pl.sum_horizontal("primary_migrant_students", "junior_migrant_students")
            .filter(pl.col("ownership") == "public")
            .sum(),
            students=pl.sum_horizontal("primary_students", "junior_students").sum(),
            teachers=pl.sum_horizontal("primary_teachers", "junior_teachers").sum(),
            certified=pl.sum_horizontal("primary_certified_teachers", "junior_certified_teachers").sum(),
        )
        for row in counties.iter_rows(named=True):
            assert 0.02 <= row["migrants"] / row["students"] <= 0.15, row
            certified = row["certified"] / row["teachers"]
            held = quality[row["county_code"]] is not None and year >= quality[row["county_code"]]
            if held:  # certified for quality balance: every teacher holds a certificate
                assert certified == 1.0 and row["public"] / row["migrants"] >= 0.85, row
            else:
                assert 0.96 <= certified <= 1.0, row


def test_declaration_files(landing):
    out, truth, _, province, _ = landing
    declared = [cp["code"] for cp in declared_checkpoints()]
    assert len(declared) == 23
    listed = truth["declarations"]
    assert listed and {d["county_code"] for d in listed} == set(province.declarants)
    quality = {c.county_code: c.quality_certified for c in province.counties if c.quality_certified}
    for code, certified in quality.items():  # from the year before certification on
        years = sorted(d["census_year"] for d in listed if d["county_code"] == code)
        assert years == [y for y in YEARS if y >= certified - 1], code
    names = {c.county_code: c.county_name for c in province.counties}
    for d in listed:
        path = out / d["file"]
        assert path.name == f"县区申报_{d['census_year']}_{d['county_code']}.xlsx"  # a small province: xlsx
        sheet = openpyxl.load_workbook(path).active
        assert [str(r) for r in sheet.merged_cells.ranges] == ["A1:G1"]
        rows = _cells(path)
        _check_declaration(rows, names[d["county_code"]], d["county_code"], d["census_year"], declared)
        if d["county_code"] in quality:
            assert d["not_met"] == []


def _check_declaration(rows: list[list], name: str, code: str, year: int, declared: list[str]) -> None:
    assert rows[0][0] == f"{name}{year}年义务教育优质均衡发展县区申报表"
    assert tuple(rows[1]) == DECLARATION_HEADER
    assert [r[2] for r in rows[2:]] == declared
    assert {r[0] for r in rows[2:]} == {code}  # the code as text: six digits kept
    values = {r[2]: r[4] for r in rows[2:]}
    assert values["C15"] in ("是", "否") and str(values["C33b"]).endswith("%")
    assert float(values["C27"]) >= 6000


def test_a_csv_declaration_with_misses(tmp_path):
    declared = [cp["code"] for cp in declared_checkpoints()]
    rng = np.random.default_rng(1)
    misses = {"C31a": 0.085, "C37": 0.93, "C39": False}
    path, not_met = write_declaration(tmp_path, 2024, "900123", "青山县", "csv", rng, misses)
    assert path.name == "县区申报_2024_900123.csv" and path.read_bytes().startswith(b"\xef\xbb\xbf")
    rows = _cells(path)
    _check_declaration(rows, "青山县", "900123", 2024, declared)
    values = {r[2]: r[4] for r in rows[2:]}
    assert (values["C31a"], values["C37"], values["C39"]) == ("8.5%", "93%", "否")
    assert not_met == ["C31a", "C37", "C39"]


def test_a_new_landing_replaces_old_files_and_writes_the_same_declarations(landing, tmp_path):
    out, truth, _, province, gen = landing
    stale = tmp_path / "2022" / "县区申报_2022_999999.xlsx"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    again = write_landing(gen, province, tmp_path)
    assert not stale.exists()
    assert again["declarations"] == truth["declarations"]
    for d in truth["declarations"]:  # the same values (a workbook also holds the time it was made)
        assert _cells(tmp_path / d["file"]) == _cells(out / d["file"]), d["file"]


def _cells(path) -> list[list]:
    """A declaration's rows, blank cells as empty text (as the CSV file has them)."""
    if path.suffix == ".csv":
        return list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    sheet = openpyxl.load_workbook(path).active
    return [["" if v is None else v for v in r] for r in sheet.iter_rows(values_only=True)]
