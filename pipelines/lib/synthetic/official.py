"""The official method in plain Python (polars), from canonical census rows to county CVs.

This is a second, independent statement of what models/staging and models/marts compute in SQL:
split combined schools, apply a standard's exclusion rules, build indicator values, and take the
student-weighted CV per county, stage and indicator. The synthetic generator uses it (with the
shipped standards files) to aim its planted scenarios. The tests use it to check the SQL, giving
it standards built from the official numbers typed into tests/golden rather than the files the
SQL reads, so a wrong number in a standards file shows up as a disagreement.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

import polars as pl

from contracts.code_lists import stages_taught
from contracts.columns import SHARED_MEASURES, STAGE_MEASURES, STAGES
from pipelines.lib.reference.standards import ExclusionRule, Standard


def sections(census: pl.DataFrame, standard: Standard, stages: Sequence[str] = STAGES) -> pl.DataFrame:
    """One row per school x compulsory stage, facilities apportioned, with `is_included`.
    `stages` narrows it to some stages (each stage's rows are computed on their own, so a
    stage's rows are the same either way)."""
    taught = stages_taught()
    parts = []
    for stage in stages:
        types = [code for code, its_stages in taught.items() if stage in its_stages]
        rows = census.filter(pl.col("school_type_code").is_in(types))
        weighted_total = pl.lit(0.0)
        for other in ("primary", "junior", "senior"):
            teaches = pl.col("school_type_code").is_in(
                [code for code, its_stages in taught.items() if other in its_stages]
            )
            weight = pl.col("school_type_code").replace_strict(
                {code: standard.split_weight(code, other) for code in taught},
                default=1.0,
                return_dtype=pl.Float64,
            )
            weighted_total = weighted_total + pl.when(teaches).then(
                weight * pl.col(f"{other}_students")
            ).otherwise(0.0)
        n_stages = pl.col("school_type_code").replace_strict(
            {code: len(its_stages) for code, its_stages in taught.items()}, return_dtype=pl.Float64
        )
        own_weight = pl.col("school_type_code").replace_strict(
            {code: standard.split_weight(code, stage) for code in taught},
            default=1.0,
            return_dtype=pl.Float64,
        )
        share = (
            pl.when(weighted_total > 0)
            .then(own_weight * pl.col(f"{stage}_students") / weighted_total)
            .otherwise(1.0 / n_stages)
        )
        parts.append(
            rows.with_columns(share.alias("facility_share")).select(
                "census_year",
                "school_id",
                "county_code",
                "school_type_code",
                "parent_school_id",
                "ownership",
                "is_county_run",
                pl.lit(stage).alias("stage"),
                *(pl.col(f"{stage}_{m}").cast(pl.Float64).alias(m) for m in STAGE_MEASURES),
                *((pl.col(m).cast(pl.Float64) * pl.col("facility_share")).alias(m) for m in SHARED_MEASURES),
            )
        )
    out = pl.concat(parts)
    merged = pl.lit(False)
    if standard.teaching_point_mode == "merge_into_parent":
        out, merged = _merge_teaching_points(out)
    excluded = merged
    for rule in standard.exclusions:
        excluded = excluded | _matches(rule)
    return out.with_columns((~excluded).alias("is_included")).drop("is_merged", strict=False)


def _merge_teaching_points(out: pl.DataFrame) -> tuple[pl.DataFrame, pl.Expr]:
    """The merge_into_parent option: each teaching point (218) whose parent has a section of the
    same stage in the year is folded into it (pupils, teachers, classes and resources added) and
    left out itself; a point without such a parent falls back to the exclusion rules."""
    keys = ["census_year", "school_id", "stage"]
    measures = [*STAGE_MEASURES, *SHARED_MEASURES]
    parents = out.select("census_year", pl.col("school_id").alias("parent_school_id"), "stage")
    points = out.filter(pl.col("school_type_code") == "218").join(
        parents, on=["census_year", "parent_school_id", "stage"], how="semi"
    )
    # a measure one point left blank leaves the parent's sum unknown
    additions = (
        points.group_by("census_year", "parent_school_id", "stage")
        .agg(
            pl.lit(True).alias("has_points"),
            *(
                pl.when(pl.col(m).null_count() == 0).then(pl.col(m).sum()).alias(f"{m}__added")
                for m in measures
            ),
        )
        .rename({"parent_school_id": "school_id"})
    )
    out = (
        out.join(additions, on=keys, how="left")
        .with_columns(
            pl.when(pl.col("has_points"))
            .then(pl.col(m) + pl.col(f"{m}__added"))
            .otherwise(pl.col(m))
            .alias(m)
            for m in measures
        )
        .drop("has_points")
        .drop(f"{m}__added" for m in measures)
        .join(points.select(keys).with_columns(pl.lit(True).alias("is_merged")), on=keys, how="left")
        .with_columns(pl.col("is_merged").fill_null(False))
    )
    return out, pl.col("is_merged")


def _matches(rule: ExclusionRule) -> pl.Expr:
    condition = pl.lit(True)
    if rule.school_type_codes is not None:
        condition = condition & pl.col("school_type_code").is_in(list(rule.school_type_codes))
    if rule.ownership is not None:
        condition = condition & (pl.col("ownership") == rule.ownership)
    if rule.is_county_run is not None:
        condition = condition & (pl.col("is_county_run") == rule.is_county_run)
    if rule.students_below is not None:
        condition = condition & (pl.col("students") < rule.students_below)
    return condition


def school_values(
    census: pl.DataFrame,
    standard: Standard,
    stages: Sequence[str] = STAGES,
    indicator_ids: Collection[str] | None = None,
) -> pl.DataFrame:
    """Included sections in long form: one row per section x indicator, with `value`. `stages`
    and `indicator_ids` narrow it (the generator, aiming one statistic, computes only that)."""
    included = sections(census, standard, stages).filter(pl.col("is_included"))
    parts = []
    for indicator in standard.indicators:
        if indicator_ids is not None and indicator.indicator_id not in indicator_ids:
            continue
        resource = pl.lit(0.0)
        for measure in indicator.add:
            resource = resource + pl.col(measure)
        for measure in indicator.subtract:
            resource = resource - pl.col(measure)
        parts.append(
            included.select(
                "census_year",
                "county_code",
                "stage",
                "school_id",
                pl.lit(indicator.indicator_id).alias("indicator_id"),
                pl.col(indicator.denominator).alias("weight"),
                (indicator.scale * resource / pl.col(indicator.denominator)).alias("value"),
            ).filter((pl.col("weight") > 0) & pl.col("value").is_not_null())  # a blank measure: left out
        )
    return pl.concat(parts)


def county_cvs(
    census: pl.DataFrame,
    standard: Standard,
    stages: Sequence[str] = STAGES,
    indicator_ids: Collection[str] | None = None,
) -> pl.DataFrame:
    """One row per census_year x county_code x stage x indicator_id: n_schools, mean, sd, cv
    (narrowed as school_values is)."""
    values = school_values(census, standard, stages, indicator_ids)
    keys = ["census_year", "county_code", "stage", "indicator_id"]
    means = values.group_by(keys).agg(
        pl.len().alias("n_schools"),
        pl.col("weight").sum().alias("students"),
        ((pl.col("weight") * pl.col("value")).sum() / pl.col("weight").sum()).alias("mean_value"),
    )
    spread = (
        values.join(means, on=keys)
        .group_by(keys)
        .agg(
            pl.col("n_schools").first(),
            pl.col("students").first(),
            pl.col("mean_value").first(),
            (
                (pl.col("weight") * (pl.col("value") - pl.col("mean_value")) ** 2).sum()
                / pl.col("weight").sum()
            )
            .sqrt()
            .alias("sd_value"),
        )
    )
    return spread.with_columns(
        pl.when((pl.col("n_schools") >= 2) & (pl.col("mean_value") != 0))
        .then(pl.col("sd_value") / pl.col("mean_value"))
        .otherwise(None)
        .alias("cv")
    ).sort(keys)


def county_passes(cvs: pl.DataFrame, standard: Standard) -> pl.DataFrame:
    """Apply the standard's CV rule: one row per census_year x county_code x stage."""
    n_expected = len(standard.indicators)
    rows = []
    for (year, county, stage), group in cvs.group_by(
        ["census_year", "county_code", "stage"], maintain_order=True
    ):
        values = [v for v in group["cv"].to_list() if v is not None]
        threshold = standard.cv_thresholds[str(stage)]
        composite = math.fsum(values) / len(values) if len(values) == n_expected else None
        if len(values) < n_expected:
            passes = None
        elif standard.cv_rule == "composite":
            passes = composite is not None and composite <= threshold
        else:
            passes = max(values) <= threshold
        rows.append(
            {
                "census_year": year,
                "county_code": county,
                "stage": stage,
                "composite_cv": composite,
                "max_indicator_cv": max(values) if values else None,
                "passes": passes,
            }
        )
    return pl.DataFrame(rows)
