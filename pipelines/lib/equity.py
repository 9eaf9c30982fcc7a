"""The official student-weighted coefficient of variation (差异系数), docs/methodology.md §2.1.

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


# --- other equity measures (docs/methodology.md §6): reported beside the official CV, never used to certify ---


def _sorted(values: Sequence[float], students: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(values, dtype=float)
    p = np.asarray(students, dtype=float)
    keep = p > 0
    order = np.argsort(x[keep], kind="stable")
    return x[keep][order], p[keep][order]


def weighted_gini(values: Sequence[float], students: Sequence[float]) -> float | None:
    """Pupil-weighted Gini: Σ_i Σ_j P_i P_j |x_i − x_j| / (2 P² mean), by the sorted formula
    Σ_i P_i x_i (2 C_(i−1) + P_i − P) / (P² mean), C = cumulative pupils in ascending order."""
    x, p = _sorted(values, students)
    total = p.sum()
    if total == 0 or (p * x).sum() == 0:
        return None
    mean = (p * x).sum() / total
    before = np.cumsum(p) - p
    return float(math.fsum(p * x * (2 * before + p - total)) / (total * total * mean))


def theil_t(values: Sequence[float], students: Sequence[float]) -> float | None:
    """Theil T = Σ (P_i/P)(x_i/mean) ln(x_i/mean), with 0·ln 0 = 0."""
    x, p = _sorted(values, students)
    total = p.sum()
    if total == 0 or (p * x).sum() == 0:
        return None
    r = x / ((p * x).sum() / total)
    terms = np.where(r > 0, r * np.log(np.where(r > 0, r, 1.0)), 0.0)
    return float(math.fsum((p / total) * terms))


def theil_decomposition(
    values: Sequence[float], students: Sequence[float], groups: Sequence[str]
) -> tuple[float, float, dict[str, float]] | None:
    """Theil T = between + Σ within_g exactly, with between = Σ_g (P_g/P)(m_g/m) ln(m_g/m) and
    within_g = (P_g m_g)/(P m) · T_g. Returns (between, within, {group: within_g})."""
    x = np.asarray(values, dtype=float)
    p = np.asarray(students, dtype=float)
    g = np.asarray(groups)
    total, resource = p.sum(), (p * x).sum()
    if total == 0 or resource == 0:
        return None
    mean = resource / total
    between_terms, within = [], {}
    for group in sorted(set(g[p > 0])):
        sel = (g == group) & (p > 0)
        pg, rg = p[sel].sum(), (p[sel] * x[sel]).sum()
        share = rg / resource  # (P_g m_g) / (P m)
        if rg > 0:
            between_terms.append(share * math.log((rg / pg) / mean))
        t_g = theil_t(x[sel], p[sel])
        within[str(group)] = share * (t_g or 0.0)
    return math.fsum(between_terms), math.fsum(within.values()), within


def weighted_percentile(values: Sequence[float], students: Sequence[float], q: float) -> float | None:
    """The value of the school at which cumulative pupils first reach q·P (the inverted CDF)."""
    x, p = _sorted(values, students)
    if p.sum() == 0:
        return None
    index = int(np.searchsorted(np.cumsum(p), q * p.sum(), side="left"))
    return float(x[min(index, len(x) - 1)])


def mcloone(values: Sequence[float], students: Sequence[float]) -> float | None:
    """McLoone index: what the lowest half of pupils get, over what they would get at the median.

    Schools sorted ascending; the school holding the median pupil is split fractionally, so
    exactly P/2 pupils count: (Σ_{below} P_i x_i + (P/2 − C) x_median) / (P/2 · x_median).
    """
    x, p = _sorted(values, students)
    total = p.sum()
    if total == 0:
        return None
    half = total / 2
    cumulative = np.cumsum(p)
    k = int(np.searchsorted(cumulative, half, side="left"))
    median = x[k]
    if median == 0:
        return None
    before = cumulative[k] - p[k]
    return float((math.fsum(p[:k] * x[:k]) + (half - before) * median) / (half * median))


def federal_range_ratio(values: Sequence[float], students: Sequence[float]) -> float | None:
    """(x_95 − x_5) / x_5 with pupil-weighted percentiles."""
    p05 = weighted_percentile(values, students, 0.05)
    p95 = weighted_percentile(values, students, 0.95)
    if p05 is None or p95 is None or p05 == 0:
        return None
    return (p95 - p05) / p05
