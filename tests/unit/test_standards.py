"""Standards files: the shipped ones load as documented, and a broken file says what is wrong."""

import copy

import pytest
import yaml

from pipelines.lib.paths import MODELS_DIR
from pipelines.lib.reference.standards import StandardError, parse_standard, standard_tables


def shipped(name: str) -> dict:
    with open(MODELS_DIR / "standards" / f"{name}.yaml", encoding="utf-8") as f:
        return yaml.safe_load(f)


def test_basic_2012_has_the_eight_official_indicators_and_composite_rule(standards):
    basic = standards["basic_2012"]
    assert basic.cv_rule == "composite"
    assert basic.cv_thresholds == {"primary": 0.65, "junior": 0.55}
    assert [i.indicator_id for i in basic.indicators] == [
        "teaching_area_per_student",
        "sports_area_per_student",
        "equipment_value_per_student",
        "computers_per_100",
        "books_per_student",
        "teachers_per_student",
        "degree_teachers_per_student",
        "senior_title_teachers_per_student",
    ]
    teaching = basic.indicators[0]
    assert teaching.add == ("teaching_aux_area_m2",) and teaching.subtract == ("indoor_sports_area_m2",)


def test_quality_2017_has_seven_indicators_with_minimums_and_each_indicator_rule(standards):
    quality = standards["quality_2017"]
    assert quality.cv_rule == "each_indicator"
    assert quality.cv_thresholds == {"primary": 0.50, "junior": 0.45}
    minimums = {i.indicator_id: i.minimum for i in quality.indicators}
    assert len(minimums) == 7
    assert minimums["sports_area_per_student"] == {"primary": 7.5, "junior": 10.2}
    assert minimums["equipment_value_per_student"] == {"primary": 2000, "junior": 2500}


def test_split_weights_are_data(standards):
    basic = standards["basic_2012"]
    assert basic.split_weight("312", "junior") == 1.1
    assert basic.split_weight("341", "senior") == 1.2
    assert basic.split_weight("345", "senior") == 1.32
    assert basic.split_weight("211", "primary") == 1.0  # unlisted: weight 1


def test_tables_have_one_row_per_standard_stage_indicator(standards):
    tables = standard_tables(list(standards.values()))
    assert tables["standard_indicators"].height == 2 * (8 + 7)
    assert tables["standard_thresholds"].height == 4


def broken(mutate) -> dict:
    doc = copy.deepcopy(shipped("basic_2012"))
    mutate(doc)
    return doc


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("cv_rule"), "cv_rule"),
        (lambda d: d.update(cv_rule="median"), "cv_rule must be one of"),
        (lambda d: d["cv_thresholds"].pop("junior"), "junior"),
        (
            lambda d: d["indicators"][0]["numerator"].update(add=["floor_space"]),
            "unknown measure 'floor_space'",
        ),
        (lambda d: d["indicators"].append(dict(d["indicators"][0])), "duplicate indicator id"),
        (lambda d: d["exclusions"]["rules"][0]["when"].update(colour="red"), "unknown condition"),
        (
            lambda d: d["exclusions"]["rules"][0]["when"].update(school_type_codes=["999"]),
            "unknown school type",
        ),
        (lambda d: d["facility_split"]["student_weights"].update({"312": {"primary": 0}}), "must be > 0"),
    ],
)
def test_a_broken_standards_file_names_the_problem(mutate, message):
    with pytest.raises(StandardError, match=message):
        parse_standard(broken(mutate), "models/standards/broken.yaml")
