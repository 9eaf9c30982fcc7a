"""Plain-Python statements of what the SQL computes beside the official CV, used by the tests as
independent oracles (they are not on the production path): each school's change of contribution
to CV² (monitoring.school_drivers) and the other equity measures of marts.county_equity
(docs/methodology.md §6, docs/equity.md): reported beside the official CV, never used to certify.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from pipelines.lib.method.equity import cv_contributions


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


# --- other equity measures ----------------------------------------------------------------------


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
