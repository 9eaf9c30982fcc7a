"""monitoring.county_data_status: when a county-year's figures are provisional (data_hold)."""

import polars as pl

from pipelines.lib.ingest.census_ingest import REJECTION_SCHEMA
from pipelines.lib.sql_models import run_model
from pipelines.lib.warehouse import replace_census_year
from tests.conftest import census_frame, census_row


def schools(county: str, n: int, first: int = 1) -> list[dict]:
    return [
        census_row(school_id=f"2{county[-2:]}{i:07d}", county_code=county) for i in range(first, first + n)
    ]


def rejection(county: str, row: int) -> dict:
    return {
        "source_file": "2024/x.csv",
        "source_row": row,
        "school_id": "bad",
        "column": "primary_students",
        "check": "dtype",
        "value": "x",
        "message_zh": "x",
        "message_en": "x",
        "county_code": county,
    }


def test_missing_schools_and_rejected_rows_make_a_county_year_provisional(tiny_warehouse):
    # settings (models/rules/backsliding.yaml): rejected share > 2%, missing school share > 10%
    tiny_warehouse.load(
        schools("900101", 20) + schools("900102", 20) + schools("900103", 50), census_year=2023
    )
    this_year = schools("900101", 17) + schools("900102", 20) + schools("900103", 49)  # 101: 3 of 20 gone
    tiny_warehouse.load(this_year, census_year=2024)
    # 900103: 2 rejected rows (one with two failed checks) out of 51 read = 3.9%; 900102: none
    frame = census_frame(this_year).with_columns(
        pl.lit(2024, pl.Int32).alias("census_year"),
        pl.lit("x.csv").alias("source_file"),
        pl.lit("0" * 64).alias("source_sha256"),
        pl.int_range(2, len(this_year) + 2, dtype=pl.Int64).alias("source_row"),
        pl.lit("l").alias("load_id"),
    )
    rejected = pl.DataFrame(
        [rejection("900103", 900), rejection("900103", 900), rejection("900103", 901)],
        schema=REJECTION_SCHEMA,
    )
    replace_census_year(tiny_warehouse.con, 2024, frame, rejected, "l")
    run_model(tiny_warehouse.con, tiny_warehouse.models["monitoring.county_data_status"], 2024)
    status = {
        r["county_code"]: r
        for r in tiny_warehouse.table("monitoring.county_data_status", "census_year = 2024").iter_rows(
            named=True
        )
    }
    assert status["900101"]["schools_missing"] == 3 and status["900101"]["missing_school_share"] == 0.15
    assert status["900101"]["is_provisional"] and status["900101"]["provisional_reason"] == "missing_schools"
    assert status["900102"]["is_provisional"] is False and status["900102"]["provisional_reason"] == ""
    assert status["900103"]["rows_rejected"] == 2
    assert status["900103"]["is_provisional"] and status["900103"]["provisional_reason"] == "rejected_rows"


def test_the_first_year_loaded_has_no_missing_school_share(tiny_warehouse):
    tiny_warehouse.load(schools("900101", 5), census_year=2024)
    row = tiny_warehouse.table("monitoring.county_data_status", "census_year = 2024").row(0, named=True)
    assert row["schools_previous_year"] is None and row["missing_school_share"] is None
    assert row["is_provisional"] is False
