"""The shipped standards files say exactly what the official documents say.

tests/golden/official_numbers.py holds every official number typed by hand from
教督〔2012〕3号 and 教督〔2017〕6号 (and the split weights and exclusions as practised in county
evaluations), without reading models/standards/. These tests hold the shipped YAML files against
that table, one test per kind of number, and then compare every warehouse table built from the
YAML with the same table built from the golden standards, row by row. A wrong number typed into
a standards file therefore fails here, even though the oracle and the `standards` fixture read it.
"""

from __future__ import annotations

import polars as pl
import pytest

from contracts.code_lists import stages_taught
from contracts.columns import STAGES
from pipelines.lib.paths import MODELS_DIR
from pipelines.lib.reference.standards import STANDARD_TABLES, Standard, load_standards, standard_tables
from tests.golden import official_numbers as golden
from tests.golden.official_numbers import golden_standard

STANDARDS_DIR = MODELS_DIR / "standards"
"""Read when the tests run (not at import), so a check of the tests can point it at a mutated copy."""

DOCUMENT = {"basic_2012": golden.DOC_2012, "quality_2017": golden.DOC_2017}


@pytest.fixture(scope="module")
def shipped() -> dict[str, Standard]:
    return {s.standard_id: s for s in load_standards(STANDARDS_DIR)}


def where(standard_id: str, *parts: str) -> str:
    """'quality_2017 junior degree_teachers_per_100 (教督〔2017〕6号…)' for assertion messages."""
    return " ".join((standard_id, *parts, f"({DOCUMENT[standard_id]})"))


def test_golden_standards_build_and_every_entry_names_its_source():
    for standard_id in golden.STANDARD_IDS:
        built = golden_standard(standard_id)
        assert built.standard_id == standard_id
    entries = list(golden.entries())
    assert len(entries) > 60
    for label, official in entries:
        assert official.source.strip(), f"{label} has no source"
        assert any(marker in official.source for marker in golden.SOURCE_MARKERS), (
            f"{label}: source names neither document nor county practice: {official.source!r}"
        )
        if "project rule" in official.note:
            assert "教督" in official.source, f"{label}: a project rule says which document it is not in"


def test_golden_standards_fixture_holds_both_standards(golden_standards):
    assert sorted(golden_standards) == sorted(golden.STANDARD_IDS)
    assert golden_standards["quality_2017"].split_weight("345", "senior") == 1.32
    assert golden_standards["basic_2012"].school_rule is None


def test_the_shipped_standards_are_the_two_national_ones(shipped):
    assert sorted(shipped) == sorted(golden.STANDARD_IDS), (
        f"standards in {STANDARDS_DIR}: a standard added there (a provincial variant) needs its "
        "official numbers typed from its own document into tests/golden/official_numbers.py too"
    )


@pytest.mark.parametrize("standard_id", golden.STANDARD_IDS)
def test_cv_rule_matches_the_document(shipped, standard_id):
    expected = golden.CV_RULES[standard_id]
    assert shipped[standard_id].cv_rule == expected.value, (
        f"{where(standard_id, 'cv_rule')}: expected {expected.value!r}; {expected.source}"
    )


@pytest.mark.parametrize("standard_id", golden.STANDARD_IDS)
@pytest.mark.parametrize("stage", STAGES)
def test_cv_threshold_matches_the_document(shipped, standard_id, stage):
    expected = golden.CV_THRESHOLDS[standard_id][stage]
    got = shipped[standard_id].cv_thresholds[stage]
    assert got == pytest.approx(expected.value, abs=1e-12), (
        f"{where(standard_id, stage, 'cv_threshold')}: shipped {got}, document {expected.value}; "
        f"{expected.source}"
    )


@pytest.mark.parametrize("standard_id", golden.STANDARD_IDS)
def test_indicators_are_the_official_ones_in_official_order(shipped, standard_id):
    expected = [o.value for o in golden.INDICATORS[standard_id]]
    got = shipped[standard_id].indicators
    assert [i.indicator_id for i in got] == [e.indicator_id for e in expected], (
        f"{where(standard_id, 'indicator ids and order')}"
    )
    for ind, exp, official in zip(got, expected, golden.INDICATORS[standard_id], strict=True):
        at = where(standard_id, ind.indicator_id)
        assert ind.name_zh == exp.name_zh, f"{at}: name {ind.name_zh!r}, document 「{exp.name_zh}」"
        assert ind.unit == exp.unit, f"{at}: unit {ind.unit!r}, expected {exp.unit!r}"
        assert ind.add == exp.add, f"{at}: numerator adds {ind.add}, expected {exp.add}; {official.note}"
        assert ind.subtract == exp.subtract, (
            f"{at}: numerator subtracts {ind.subtract}, expected {exp.subtract}; {official.note}"
        )
        assert ind.denominator == exp.denominator, f"{at}: denominator {ind.denominator!r}"
        assert ind.scale == exp.scale, (
            f"{at}: scale {ind.scale}, expected {exp.scale} (per student = 1, 每百名学生 = 100); "
            f"{official.source}"
        )


@pytest.mark.parametrize("standard_id", golden.STANDARD_IDS)
def test_per_school_minimums_match_the_document(shipped, standard_id):
    expected = golden.MINIMUMS[standard_id]
    for ind in shipped[standard_id].indicators:
        official = expected.get(ind.indicator_id, {})
        assert set(ind.minimum) == set(official), (
            f"{where(standard_id, ind.indicator_id)}: minimum given for stages {sorted(ind.minimum)}, "
            f"the document sets one for {sorted(official)}"
        )
        for stage, minimum in official.items():
            got = ind.minimum[stage]
            assert got == pytest.approx(minimum.value, abs=1e-12), (
                f"{where(standard_id, stage, ind.indicator_id)}: shipped minimum {got}, document "
                f"{minimum.value}; {minimum.source}"
            )


@pytest.mark.parametrize("standard_id", golden.STANDARD_IDS)
def test_per_school_rule_matches_the_document(shipped, standard_id):
    rule = shipped[standard_id].school_rule
    expected = golden.SCHOOL_RULES.get(standard_id)
    if expected is None:
        assert rule is None, f"{where(standard_id)} has no per-school rule, the shipped file sets {rule}"
        return
    assert rule is not None, f"{where(standard_id)}: the per-school rule is missing"
    assert rule.min_met == expected["min_met"].value, (
        f"{where(standard_id, 'school_rule.min_met')}: shipped {rule.min_met}; {expected['min_met'].source}"
    )
    ratio = expected["unmet_min_ratio"]
    assert rule.unmet_min_ratio == pytest.approx(ratio.value, abs=1e-12), (
        f"{where(standard_id, 'school_rule.unmet_min_ratio')}: shipped {rule.unmet_min_ratio}; {ratio.source}"
    )


@pytest.mark.parametrize("standard_id", golden.STANDARD_IDS)
def test_school_conditions_match_the_document(shipped, standard_id):
    conditions = shipped[standard_id].school_conditions
    expected = golden.SCHOOL_CONDITIONS.get(standard_id)
    if expected is None:
        assert conditions is None, f"{where(standard_id)} sets no school conditions"
        return
    assert conditions is not None, f"{where(standard_id)}: the school conditions are missing"
    for key in (
        "max_school_students",
        "classes_per_music_room",
        "classes_per_art_room",
        "min_music_room_m2",
        "min_art_room_m2",
    ):
        got, official = getattr(conditions, key), expected[key]
        assert got == official.value, f"{where(standard_id, key)}: shipped {got}; {official.source}"
    by_type = expected["max_school_students_by_type"]
    assert set(conditions.max_school_students_by_type) == set(by_type), (
        f"{where(standard_id, 'max_school_students_by_type')}: school types "
        f"{sorted(conditions.max_school_students_by_type)}, document {sorted(by_type)}"
    )
    for code, official in by_type.items():
        got = conditions.max_school_students_by_type[code]
        assert got == official.value, (
            f"{where(standard_id, 'max_school_students', code)}: {got}; {official.source}"
        )
    for stage in STAGES:
        official = expected["max_class_size"][stage]
        got = conditions.max_class_size[stage]
        assert got == official.value, (
            f"{where(standard_id, stage, 'max_class_size')}: {got}; {official.source}"
        )


@pytest.mark.parametrize("standard_id", golden.STANDARD_IDS)
def test_facility_split_weights_match_county_practice(shipped, standard_id):
    expected = golden.SPLIT_WEIGHTS[standard_id]
    got = {
        (code, stage): weight
        for code, weights in shipped[standard_id].student_weights.items()
        for stage, weight in weights.items()
    }
    assert set(got) == set(expected), (
        f"{where(standard_id, 'facility_split')}: weights given for {sorted(got)}, expected {sorted(expected)}"
    )
    for (code, stage), official in expected.items():
        assert got[(code, stage)] == pytest.approx(official.value, abs=1e-12), (
            f"{where(standard_id, stage, 'split weight of', code)}: shipped {got[(code, stage)]}, "
            f"expected {official.value}; {official.source}"
        )


def test_school_types_teach_the_stages_the_split_assumes():
    taught = stages_taught()
    assert set(taught) == set(golden.STAGES_TAUGHT), "school type codes (contracts/codes/school_types.yaml)"
    for code, official in golden.STAGES_TAUGHT.items():
        assert tuple(taught[code]) == official.value, (
            f"school type {code} teaches {taught[code]}, expected {list(official.value)}; {official.source}"
        )


@pytest.mark.parametrize("standard_id", golden.STANDARD_IDS)
def test_exclusion_rules_match_the_documents(shipped, standard_id):
    expected = list(golden.EXCLUSIONS[standard_id])
    got = shipped[standard_id].exclusions
    assert [r.rule_id for r in got] == [o.value.rule_id for o in expected], (
        f"{where(standard_id, 'exclusion rules and their order')}"
    )
    for rule, official in zip(got, expected, strict=True):
        exp = official.value
        at = where(standard_id, "exclusion", rule.rule_id)
        assert rule.school_type_codes == exp.school_type_codes, (
            f"{at}: school types {rule.school_type_codes}, expected {exp.school_type_codes}; {official.source}"
        )
        assert rule.ownership == exp.ownership, f"{at}: ownership {rule.ownership!r}; {official.source}"
        assert rule.is_county_run == exp.is_county_run, (
            f"{at}: is_county_run {rule.is_county_run!r}; {official.source}"
        )
        assert rule.students_below == exp.students_below, (
            f"{at}: students_below {rule.students_below!r}, expected {exp.students_below!r}; "
            f"{official.source} {official.note}"
        )


@pytest.mark.parametrize("standard_id", golden.STANDARD_IDS)
def test_teaching_point_mode_matches_practice(shipped, standard_id):
    official = golden.TEACHING_POINT_MODES[standard_id]
    got = shipped[standard_id].teaching_point_mode
    assert got == official.value, f"{where(standard_id, 'teaching_points.mode')}: {got!r}; {official.source}"


def _sorted_rows(frame: pl.DataFrame) -> list[tuple]:
    frame = frame.drop("source_file", strict=False)  # where the standard was read from, not what it says
    return sorted(frame.rows(), key=repr)


@pytest.mark.parametrize("table", STANDARD_TABLES)
def test_every_warehouse_row_equals_the_golden_one(shipped, table):
    got = standard_tables([shipped[sid] for sid in golden.STANDARD_IDS])[table]
    expected = standard_tables([golden_standard(sid) for sid in golden.STANDARD_IDS])[table]
    assert got.drop("source_file", strict=False).columns == expected.drop("source_file", strict=False).columns
    got_rows, expected_rows = _sorted_rows(got), _sorted_rows(expected)
    extra = [r for r in got_rows if r not in expected_rows]
    missing = [r for r in expected_rows if r not in got_rows]
    assert got_rows == expected_rows, (
        f"marts.{table} built from {STANDARDS_DIR} differs from the golden table "
        f"(教督〔2012〕3号 / 教督〔2017〕6号):\n shipped only: {extra}\n golden only: {missing}"
    )
