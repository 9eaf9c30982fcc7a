"""The benchmark's baseline: county coefficients of variation in plain pandas.

This is how an analyst would compute the county CVs in a notebook: split combined schools into
their primary and junior sections, drop the sections the standard leaves out, work out each
indicator per section, then group by county and call a small Python function per group. The
benchmark times it against the DuckDB SQL models.

It follows pipelines/lib/synthetic/official.py step by step and reads the same Standard objects
and school types, so it must give the same numbers; tests/unit/test_pandas_baseline.py checks that
it does. Like the notebook it stands for, it covers the national standards, which leave teaching
points out; it refuses a standard with the merge_into_parent option rather than give other numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from contracts.code_lists import stages_taught
from contracts.columns import SHARED_MEASURES, STAGE_MEASURES, STAGES

KEYS = ["census_year", "county_code", "stage", "indicator_id"]


def to_float(column: pd.Series) -> pd.Series:
    """Counts may arrive as int, float or pandas nullable Int64; missing values become NaN."""
    return pd.to_numeric(column).astype("float64")


def sections(census: pd.DataFrame, standard) -> pd.DataFrame:
    """One row per school and compulsory stage, shared facilities split by weighted students."""
    taught = stages_taught()
    parts = []
    for stage in STAGES:
        schools = census[census["school_type_code"].isin([c for c, s in taught.items() if stage in s])]
        types = schools["school_type_code"]

        # weighted students over every stage the school teaches, senior included
        weighted_total = pd.Series(0.0, index=schools.index)
        for other in ("primary", "junior", "senior"):
            teaches = types.map({code: other in stages for code, stages in taught.items()})
            weight = types.map({code: standard.split_weight(code, other) for code in taught})
            students = weight.astype(float) * to_float(schools[f"{other}_students"])
            weighted_total = weighted_total + students.where(teaches.astype(bool), 0.0)
        own_weight = types.map({code: standard.split_weight(code, stage) for code in taught}).astype(float)
        n_stages = types.map({code: len(stages) for code, stages in taught.items()}).astype(float)
        own_share = own_weight * to_float(schools[f"{stage}_students"]) / weighted_total
        share = own_share.where(weighted_total > 0, 1.0 / n_stages)

        section = schools[
            ["census_year", "school_id", "county_code", "school_type_code", "ownership", "is_county_run"]
        ].copy()
        section["stage"] = stage
        for measure in STAGE_MEASURES:
            section[measure] = to_float(schools[f"{stage}_{measure}"])
        for measure in SHARED_MEASURES:
            section[measure] = to_float(schools[measure]) * share
        parts.append(section)
    out = pd.concat(parts, ignore_index=True)

    # a section is left out when any exclusion rule matches (a rule matches when all its conditions
    # hold); "boolean" keeps missing values unknown, and unknown sections are left out too
    excluded = pd.Series(False, index=out.index, dtype="boolean")
    for rule in standard.exclusions:
        matches = pd.Series(True, index=out.index, dtype="boolean")
        if rule.school_type_codes is not None:
            matches &= out["school_type_code"].isin(rule.school_type_codes).astype("boolean")
        if rule.ownership is not None:
            matches &= out["ownership"].astype("string") == rule.ownership
        if rule.is_county_run is not None:
            matches &= out["is_county_run"].astype("boolean") == rule.is_county_run
        if rule.students_below is not None:
            matches &= out["students"].astype("Float64") < rule.students_below
        excluded |= matches
    out["is_included"] = (~excluded).fillna(False).astype(bool)
    return out


def school_values(census: pd.DataFrame, standard) -> pd.DataFrame:
    """Included sections in long form: one row per section and indicator, with weight and value."""
    included = sections(census, standard)
    included = included[included["is_included"]]
    parts = []
    for indicator in standard.indicators:
        resource = pd.Series(0.0, index=included.index)
        for measure in indicator.add:
            resource = resource + included[measure]
        for measure in indicator.subtract:
            resource = resource - included[measure]
        part = included[["census_year", "county_code", "stage", "school_id"]].copy()
        part["indicator_id"] = indicator.indicator_id
        part["weight"] = included[indicator.denominator]
        part["value"] = indicator.scale * resource / included[indicator.denominator]
        parts.append(part[(part["weight"] > 0) & part["value"].notna()])  # a blank measure: left out
    return pd.concat(parts, ignore_index=True)


def weighted_cv(group: pd.DataFrame) -> pd.Series:
    """Student-weighted mean, population sd and CV of one county, stage and indicator."""
    mean = np.average(group["value"], weights=group["weight"])
    variance = np.average((group["value"] - mean) ** 2, weights=group["weight"])
    sd = np.sqrt(variance)
    n = len(group)
    cv = sd / mean if n >= 2 and mean != 0 else np.nan
    return pd.Series({"n_schools": n, "mean_value": mean, "sd_value": sd, "cv": cv})


def county_cvs(census: pd.DataFrame, standard) -> pd.DataFrame:
    """columns: census_year, county_code, stage, indicator_id, n_schools, mean_value, sd_value, cv"""
    if standard.teaching_point_mode == "merge_into_parent":
        raise NotImplementedError(
            f"{standard.standard_id}: the pandas baseline does not merge teaching points into their parent"
        )
    values = school_values(census, standard)
    result = values.groupby(KEYS)[["weight", "value"]].apply(weighted_cv).reset_index()
    result["n_schools"] = result["n_schools"].astype("int64")
    return result.sort_values(KEYS, ignore_index=True)


def all_standards_cvs(census: pd.DataFrame, standards) -> pd.DataFrame:
    """county_cvs for every standard, with a standard_id column in front."""
    frames = []
    for standard in standards:
        cvs = county_cvs(census, standard)
        cvs.insert(0, "standard_id", standard.standard_id)
        frames.append(cvs)
    return pd.concat(frames, ignore_index=True)
