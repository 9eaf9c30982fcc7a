"""Contracts of the landing folder's reference files (DATA_CONTRACT.md, "Reference files")."""

from __future__ import annotations

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
