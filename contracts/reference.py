"""Contracts of the landing folder's reference files (docs/ingest.md, "Reference files")."""

from __future__ import annotations

from collections.abc import Iterable

import pandera.polars as pa
import polars as pl

from contracts.census import COUNTY_CODE_PATTERN

COUNTIES = pa.DataFrameSchema(
    {
        "county_code": pa.Column(pl.String, pa.Check.str_matches(COUNTY_CODE_PATTERN), unique=True),
        "county_name": pa.Column(pl.String),
        "prefecture_code": pa.Column(pl.String, pa.Check.str_matches(r"^\d{4}$")),
        "prefecture_name": pa.Column(pl.String),
        "province_code": pa.Column(pl.String, pa.Check.str_matches(r"^\d{2}$")),
        "province_name": pa.Column(pl.String),
    },
    strict=False,
    name="counties",
)


def certifications_schema(county_codes: Iterable[str], standard_ids: Iterable[str]) -> pa.DataFrameSchema:
    """certifications.csv: a county certified for a standard in a year, perhaps revoked later."""
    return pa.DataFrameSchema(
        {
            "county_code": pa.Column(pl.String, pa.Check.isin(sorted(set(county_codes)))),
            "standard_id": pa.Column(pl.String, pa.Check.isin(sorted(set(standard_ids)))),
            "certified_year": pa.Column(pl.Int64, pa.Check.in_range(1990, 2100)),
            "revoked_year": pa.Column(pl.Int64, pa.Check.in_range(1990, 2100), nullable=True),
        },
        checks=[
            pa.Check(
                lambda data: data.lazyframe.select(
                    pl.col("revoked_year").is_null() | (pl.col("revoked_year") > pl.col("certified_year"))
                ),
                error="revoked_year must be after certified_year",
            ),
        ],
        unique=["county_code", "standard_id"],
        strict=False,
        name="certifications",
    )
