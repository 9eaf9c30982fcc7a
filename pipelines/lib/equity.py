"""The official student-weighted coefficient of variation (差异系数), DOMAIN.md §2.

For one county, stage, year and indicator over the included school sections:

    mean = Σ P_i·x_i / P                      (student-weighted; P = Σ P_i)
    sd   = sqrt( Σ (P_i/P)·(x_i − mean)² )    (population form, no n−1)
    CV   = sd / mean

The warehouse computes the same thing in SQL (models/marts/county_indicator_cv.sql); this module
is the plain-Python statement of the method, used by the synthetic generator and by the tests as
an independent check of the SQL.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MIN_SCHOOLS = 2
"""Fewer included sections than this give no CV (project rule, DOMAIN.md §2 guards)."""


@dataclass(frozen=True)
class WeightedCV:
    n_schools: int
    students: float
    mean_value: float | None
    sd_value: float | None
    cv: float | None
    null_reason: str | None


def weighted_cv(values: Sequence[float], students: Sequence[float]) -> WeightedCV:
    """Student-weighted population CV of `values`, with the guards of DOMAIN.md §2.

    Sections with zero students carry no weight and are not counted.
    """
    x = np.asarray(values, dtype=float)
    p = np.asarray(students, dtype=float)
    if x.shape != p.shape:
        raise ValueError("values and students must have the same length")
    if np.any(p < 0):
        raise ValueError("student counts cannot be negative")
    keep = p > 0
    x, p = x[keep], p[keep]
    n = int(x.size)
    total = float(math.fsum(p))
    if n == 0 or total == 0:
        return WeightedCV(n, total, None, None, None, "no_students")
    mean = math.fsum(p * x) / total
    sd = math.sqrt(math.fsum(p * (x - mean) ** 2) / total)
    if n < MIN_SCHOOLS:
        return WeightedCV(n, total, mean, sd, None, "fewer_than_2_schools")
    if mean == 0:
        return WeightedCV(n, total, mean, sd, None, "zero_mean")
    return WeightedCV(n, total, mean, sd, sd / mean, None)


def cv_contributions(values: Sequence[float], students: Sequence[float]) -> np.ndarray:
    """Each section's share c_i of CV², with CV² = Σ c_i exactly.

    c_i = (P_i/P)·(x_i/mean − 1)². Ranking sections by c_i shows which schools drive the CV.
    """
    x = np.asarray(values, dtype=float)
    p = np.asarray(students, dtype=float)
    total = p.sum()
    mean = float((p * x).sum() / total)
    return (p / total) * (x / mean - 1.0) ** 2


def contribution_changes(
    previous: dict[str, tuple[float, float]], current: dict[str, tuple[float, float]]
) -> dict[str, float]:
    """Each school's change in contribution to CV² between two years, keyed by school id.

    `previous` and `current` map school id -> (value, students). A school in only one year counts
    with a contribution of 0 in the other, so the changes add up exactly to CV²(current) −
    CV²(previous): continuing schools, new schools and closed schools all accounted for.
    """

    def contributions(year: dict[str, tuple[float, float]]) -> dict[str, float]:
        ids = list(year)
        c = cv_contributions([year[i][0] for i in ids], [year[i][1] for i in ids])
        return dict(zip(ids, (float(v) for v in c), strict=True))

    before, after = contributions(previous), contributions(current)
    return {i: after.get(i, 0.0) - before.get(i, 0.0) for i in before.keys() | after.keys()}
