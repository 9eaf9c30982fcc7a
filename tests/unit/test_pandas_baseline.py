"""The benchmark's pandas baseline gives the same county CVs as the official method."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest

from bench.pandas_baseline import all_standards_cvs, county_cvs, sections
from pipelines.lib.paths import MODELS_DIR
from pipelines.lib.reference.standards import load_standards
from pipelines.lib.synthetic import official
from pipelines.lib.synthetic.province import plan_province

KEYS = ["census_year", "county_code", "stage", "indicator_id"]
STANDARDS = load_standards(MODELS_DIR / "standards")
EXAMPLES = [  # the baseline, like the notebook it stands for, has no teaching-point merge
    s
    for s in load_standards(MODELS_DIR / "standards" / "examples")
    if s.teaching_point_mode != "merge_into_parent"
]
MERGE_VARIANTS = [
    s
    for s in load_standards(MODELS_DIR / "standards" / "examples")
    if s.teaching_point_mode == "merge_into_parent"
]
YEAR = 2023


@pytest.fixture(scope="module")
def census() -> pl.DataFrame:
    gen, province = plan_province(counties=6, years=[2022, 2023, 2024], seed=5)
    return pl.concat(
        [gen.county_year(c, YEAR, province.dispersion[(c.county_code, YEAR)]) for c in province.counties]
    )


def as_pandas(census: pl.DataFrame, dtypes: str) -> pd.DataFrame:
    frame = census.to_pandas()
    if dtypes == "nullable":  # Int64 / Float64 / boolean / string, as some readers give them
        return frame.convert_dtypes()
    if dtypes == "float":  # integer columns with a missing value arrive as float
        ints = frame.select_dtypes("integer").columns.drop("census_year")
        return frame.astype({c: "float64" for c in ints})
    return frame


def assert_same(expected: pl.DataFrame, got: pd.DataFrame) -> None:
    assert list(got.columns) == [*KEYS, "n_schools", "mean_value", "sd_value", "cv"]
    want = expected.to_pandas()
    both = want.merge(got, on=KEYS, how="outer", suffixes=("_want", "_got"), indicator=True)
    assert (both["_merge"] == "both").all(), both.loc[both["_merge"] != "both", KEYS]
    assert len(got) == len(want) > 0
    assert (both["n_schools_want"] == both["n_schools_got"]).all()
    for column in ("mean_value", "sd_value", "cv"):
        a, b = both[f"{column}_want"].to_numpy(float), both[f"{column}_got"].to_numpy(float)
        assert (np.isnan(a) == np.isnan(b)).all(), column
        assert np.allclose(a, b, rtol=1e-9, atol=0, equal_nan=True), column


@pytest.mark.parametrize("dtypes", ["numpy", "nullable", "float"])
@pytest.mark.parametrize("standard", STANDARDS + EXAMPLES, ids=lambda s: s.standard_id)
def test_same_numbers_as_official(census, standard, dtypes):
    assert_same(official.county_cvs(census, standard), county_cvs(as_pandas(census, dtypes), standard))


def test_combined_schools_are_split(census):
    combined = census.filter(pl.col("school_type_code").is_in(["312", "345"]))
    assert combined.height > 0
    standard = STANDARDS[0]
    split = sections(census.to_pandas(), standard)
    split = split[split["school_id"].isin(combined["school_id"].to_list())]
    assert set(split["stage"]) == {"primary", "junior"}
    want = official.sections(combined, standard).to_pandas()
    merged = want.merge(split, on=["school_id", "stage"], suffixes=("_want", "_got"))
    assert len(merged) == len(want) == len(split)
    # facilities are apportioned between the two sections, not copied to both
    assert np.allclose(merged["books_want"], merged["books_got"], rtol=1e-12)
    totals = split.groupby("school_id")["books"].sum()
    books = combined.to_pandas().set_index("school_id")["books"]
    assert np.allclose(totals, books.loc[totals.index], rtol=1e-12)
    assert (split.groupby("school_id")["books"].min() < totals).all()


def test_missing_values_are_treated_as_official_does(census):
    # a few missing amounts, pupils and flags, in columns the indicators and rules use: a section
    # with an unknown value is left out of that indicator only (docs/methodology.md §8.8)
    holes = {"books": 3, "equipment_value_yuan": 7, "primary_students": 11, "is_county_run": 13}
    patched = census.with_row_index("i").with_columns(
        pl.when(pl.col("i") % step == 0).then(None).otherwise(pl.col(column)).alias(column)
        for column, step in holes.items()
    )
    patched = patched.drop("i")
    for standard in STANDARDS + EXAMPLES:
        for dtypes in ("numpy", "nullable"):
            got = county_cvs(as_pandas(patched, dtypes), standard)
            assert_same(official.county_cvs(patched, standard), got)


def test_all_standards_cvs_stacks_every_standard(census):
    out = all_standards_cvs(census.to_pandas(), STANDARDS)
    assert list(out.columns)[0] == "standard_id"
    assert set(out["standard_id"]) == {s.standard_id for s in STANDARDS}
    for standard in STANDARDS:
        part = out[out["standard_id"] == standard.standard_id].drop(columns="standard_id")
        assert_same(official.county_cvs(census, standard), part.reset_index(drop=True))


@pytest.mark.parametrize("standard", MERGE_VARIANTS, ids=lambda s: s.standard_id)
def test_the_baseline_refuses_the_teaching_point_merge_rather_than_give_other_numbers(census, standard):
    with pytest.raises(NotImplementedError, match="merge teaching points"):
        county_cvs(census.to_pandas(), standard)
