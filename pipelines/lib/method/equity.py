"""The official student-weighted coefficient of variation (差异系数), docs/methodology.md §2.1.

For one county, stage, year and indicator over the included school sections:

    mean = Σ P_i·x_i / P                      (student-weighted; P = Σ P_i)
    sd   = sqrt( Σ (P_i/P)·(x_i − mean)² )    (population form, no n−1)
    CV   = sd / mean

The warehouse computes the same thing in SQL (models/marts/county_indicator_cv.sql). Python needs
it too: the synthetic generator aims its scenarios with it, and tests check the SQL against it. The other equity measures of marts.county_equity have their
plain-Python statements in tests/oracles, where they check the SQL.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MIN_SCHOOLS = 2
"""Fewer included sections than this give no CV (project rule, docs/methodology.md §2.2)."""


@dataclass(frozen=True)
class WeightedCV:
    n_schools: int
    students: float
    mean_value: float | None
    sd_value: float | None
    cv: float | None
    null_reason: str | None


def weighted_cv(values: Sequence[float], students: Sequence[float]) -> WeightedCV:
    """Student-weighted population CV of `values`, with the guards of docs/methodology.md §2.2.

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
