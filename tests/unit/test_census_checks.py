"""Checks beyond one row: a teaching point's parent (refuses), plausibility and year-over-year (warn)."""

import polars as pl

from pipelines.lib.ingest.census_checks import plausibility_warnings, year_over_year_warnings
from pipelines.lib.ingest.census_ingest import load_census_year
from tests.conftest import census_frame, census_row, empty_stage
from tests.unit.test_census_contract import REGISTRY, write_csv


def with_lineage(rows: list[dict]) -> pl.DataFrame:
    return census_frame(rows).with_columns(
        pl.lit("2024/a.csv").alias("source_file"),
        pl.int_range(2, len(rows) + 2, dtype=pl.Int64).alias("source_row"),
    )


def checks(warnings: pl.DataFrame, school_id: str) -> list[str]:
    return sorted(warnings.filter(pl.col("school_id") == school_id)["check"].to_list())


def test_a_teaching_point_whose_parent_is_in_another_file_loads(tmp_path):
    parent = census_row(school_id="2190000001")
    point = census_row(
        school_id="2190000002", school_type_code="218", primary_students=60, parent_school_id="2190000001"
    )
    write_csv(tmp_path / "2024" / "a.csv", [parent])
    write_csv(tmp_path / "2024" / "b.csv", [point, census_row(school_id="2190000003")])
    load = load_census_year(tmp_path, 2024, REGISTRY, "load")
    assert load.rejected.is_empty() and load.accepted.height == 3


def test_a_teaching_point_whose_parent_is_missing_is_refused_and_counted(tmp_path):
    point = census_row(
        school_id="2190000002", school_type_code="218", primary_students=60, parent_school_id="2190000099"
    )
    write_csv(
        tmp_path / "2024" / "b.csv",
        [point, census_row(school_id="2190000003"), census_row(school_id="2190000004")],
    )
    load = load_census_year(tmp_path, 2024, REGISTRY, "load")
    assert load.rejected["school_id"].to_list() == ["2190000002"]
    assert "2190000099" in load.rejected["message_en"][0]
    report = load.files[0]
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (3, 2, 1)


def test_plausibility_warns_on_out_of_range_values_only():
    frame = with_lineage(
        [
            census_row(school_id="2190000001"),  # 6 m² per student: fine
            census_row(school_id="2190000002", teaching_aux_area_m2=100_000.0),  # 200 m² per student
            census_row(**{**empty_stage("primary"), "school_id": "2190000003", "primary_teachers": 30}),
            # teachers, no students
        ]
    )
    warnings = plausibility_warnings(frame)
    assert checks(warnings, "2190000001") == []
    assert checks(warnings, "2190000002") == ["plausibility"]
    assert checks(warnings, "2190000003") == ["teachers_without_students"]


def test_year_over_year_warnings_each_fire_only_when_their_condition_holds():
    previous = with_lineage(
        [
            census_row(school_id="2190000001"),
            census_row(school_id="2190000002"),
            census_row(school_id="2190000003"),
            census_row(school_id="2190000004"),
            census_row(school_id="2190000005"),
        ]
    )
    current = with_lineage(
        [
            census_row(school_id="2190000001", primary_students=520, books=15500),  # normal change
            census_row(school_id="2190000002", primary_students=300),  # -40% enrolment
            census_row(school_id="2190000003", books=12000),  # books -20%
            census_row(school_id="2190000005"),  # identical: copied forward
            census_row(school_id="2190000006"),  # new school
        ]
    )  # 2190000004 disappeared
    warnings = year_over_year_warnings(current, previous)
    assert checks(warnings, "2190000001") == []
    assert checks(warnings, "2190000002") == ["enrolment_change"]
    assert checks(warnings, "2190000003") == ["stock_drop"]
    assert checks(warnings, "2190000004") == ["disappeared"]
    assert checks(warnings, "2190000005") == ["identical_to_last_year"]
    assert checks(warnings, "2190000006") == ["appeared"]
    drop = warnings.filter(pl.col("check") == "stock_drop").row(0, named=True)
    assert (drop["column"], drop["value"], drop["previous_value"]) == ("books", 12000.0, 15000.0)


def test_no_previous_year_means_no_year_over_year_warnings():
    assert year_over_year_warnings(with_lineage([census_row()]), pl.DataFrame()).is_empty()
