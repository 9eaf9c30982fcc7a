"""What a resource floor would do: the smallest floor that brings the CV to a target, and its cost.

A monitoring rule of the form "raise every school below L up to L" lowers the student-weighted CV
of docs/methodology.md §2.1. `floor_for_target` finds the smallest such L for one indicator and what it costs;
`composite_floor_for_target` does the same for the plain mean of several indicators' CVs, with
every indicator's floor set at the same share of its own mean.

Why the answer is exact. Write x' = max(x, L) and let W be the students of the raised schools.
The floored mean m(L) is at least L, so dm/dL = W/P > 0 and dVar/dL = 2W(L − m)/P ≤ 0: the CV
sd/m is continuous and non-increasing in L (while m > 0), and 0 at L = max(x). Sort the values;
for L in [x_(k), x_(k+1)] the raised schools are the k lowest. With A1 = Σ P_i x_i and
A2 = Σ P_i x_i² over the others, CV(L) ≤ τ  ⟺  P(W L² + A2) ≤ (1+τ²)(W L + A1)²  ⟺
a L² + b L + c ≤ 0, where a = P·W − (1+τ²)W², b = −2(1+τ²)A1·W, c = P·A2 − (1+τ²)A1².
So the answer is in the first segment whose right end meets the target, at the root of that
quadratic. The code solves the same quadratic for y = (x − m0)/m0 (m0 the starting mean, weights
summing to 1), which avoids cancellation when the CV is small.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from pipelines.lib.method.equity import MIN_SCHOOLS, weighted_cv

_REL_TOL = 1e-12
"""Bisection stops when the bracket is this small relative to the answer."""


@dataclass(frozen=True)
class Floor:
    """One indicator with every school below `floor` raised to it."""

    floor: float
    cv_before: float
    cv_after: float
    schools_raised: int
    """Schools strictly below the floor."""
    cost: float
    """Σ P_i·max(0, floor − x_i), in value units × students; divide by the indicator's scale."""
    already_met: bool


@dataclass(frozen=True)
class CompositeFloor:
    """Floors at the same share of each indicator's mean, meeting a target for the mean CV."""

    share_of_mean: float
    floors: list[Floor]
    """One per indicator, in input order; floor k = share_of_mean × indicator k's mean."""
    composite_before: float
    composite_after: float
    already_met: bool


def floor_for_target(
    values: Sequence[float | None], students: Sequence[float], target_cv: float
) -> Floor | None:
    """The smallest floor L that brings the CV of `values` to at most `target_cv`, and its cost.

    Schools with no students or a missing value are ignored. Returns None when fewer than two
    schools remain or their mean is not positive. When the CV already meets the target, the
    floor is the lowest value and nothing is raised.
    """
    _check_target(target_cv)
    data = _clean(values, students)
    if data is None:
        return None
    x, p = data
    before = _cv(x, p)
    if before <= target_cv:
        return Floor(float(x.min()), before, before, 0, 0.0, True)
    return _floor_at(x, p, _smallest_floor(x, p, target_cv), before)


def composite_floor_for_target(
    indicators: Sequence[tuple[Sequence[float | None], Sequence[float]]], target_mean_cv: float
) -> CompositeFloor | None:
    """The smallest share f of the mean such that flooring every indicator at f × its own mean
    brings the plain mean of the indicators' CVs to at most `target_mean_cv`.

    `indicators` holds (values, students) per indicator. Returns None when there are no
    indicators or any of them has fewer than two usable schools or a non-positive mean. When
    the target is already met, f is 0.
    """
    _check_target(target_mean_cv)
    cleaned = []
    for values, students in indicators:
        data = _clean(values, students)
        if data is None:
            return None
        cleaned.append(data)
    if not cleaned:
        return None
    means = [math.fsum(p * x) / math.fsum(p) for x, p in cleaned]
    befores = [_cv(x, p) for x, p in cleaned]

    def composite(f: float) -> float:
        cvs = [_cv(np.maximum(x, f * m), p) for (x, p), m in zip(cleaned, means, strict=True)]
        return math.fsum(cvs) / len(cvs)

    composite_before = math.fsum(befores) / len(befores)
    already_met = composite_before <= target_mean_cv
    if already_met:
        share = 0.0
    else:
        # The composite is 0 once every floor reaches its indicator's highest value.
        top = max(float(x.max()) / m for (x, _), m in zip(cleaned, means, strict=True))
        while any(top * m < x.max() for (x, _), m in zip(cleaned, means, strict=True)):
            top = math.nextafter(top, math.inf)
        share = 0.0 if composite(0.0) <= target_mean_cv else top
        if share > 0 and target_mean_cv > 0:
            share = _bisect(lambda f: composite(f) <= target_mean_cv, 0.0, top, lambda f: f)
    floors = [
        _floor_at(x, p, share * m, before) for (x, p), m, before in zip(cleaned, means, befores, strict=True)
    ]
    after = math.fsum(f.cv_after for f in floors) / len(floors)
    return CompositeFloor(share, floors, composite_before, after, already_met)


def _check_target(target: float) -> None:
    if not target >= 0:  # also rejects NaN
        raise ValueError("the target CV must be a number >= 0")


def _clean(values: Sequence[float | None], students: Sequence[float]) -> tuple[np.ndarray, np.ndarray] | None:
    """The schools with students and a value, or None if fewer than two or a mean <= 0."""
    if len(values) != len(students):
        raise ValueError("values and students must have the same length")
    x = np.array([math.nan if v is None else v for v in values], dtype=float)
    p = np.array(students, dtype=float)
    keep = np.isfinite(x) & np.isfinite(p) & (p > 0)
    x, p = x[keep], p[keep]
    if x.size < MIN_SCHOOLS or math.fsum(p * x) <= 0:
        return None
    return x, p


def _cv(x: np.ndarray, p: np.ndarray) -> float:
    cv = weighted_cv(x.tolist(), p.tolist()).cv
    if cv is None:  # cannot happen after _clean: at least two schools and a positive mean
        raise ValueError("no CV for these schools")
    return cv


def _floor_at(x: np.ndarray, p: np.ndarray, floor: float, before: float) -> Floor:
    raised = int(np.count_nonzero(x < floor))
    cost = math.fsum(p * np.maximum(0.0, floor - x))
    return Floor(floor, before, _cv(np.maximum(x, floor), p), raised, cost, raised == 0)


def _smallest_floor(x: np.ndarray, p: np.ndarray, tau: float) -> float:
    """The exact smallest L with CV(max(x, L)) <= tau, for a CV currently above tau."""
    if tau == 0:
        return float(x.max())
    order = np.argsort(x, kind="stable")
    x, p = x[order], p[order]
    w = p / math.fsum(p)
    m0 = math.fsum(w * x)
    y = (x - m0) / m0
    tau2 = tau * tau
    # Segment j = [y_j, y_(j+1)] raises the j+1 lowest schools; others are j+1 .. n-1.
    raised_w = np.cumsum(w)[:-1]
    others_1 = np.cumsum((w * y)[::-1])[::-1][1:]
    others_2 = np.cumsum((w * y * y)[::-1])[::-1][1:]

    def excess(mu: np.ndarray | float, j: np.ndarray | int) -> np.ndarray | float:
        """Var − τ²·mean² of the floored y, scaled by m0²; <= 0 means the target is met."""
        s1 = raised_w[j] * mu + others_1[j]
        return raised_w[j] * mu * mu + others_2[j] - s1 * s1 - tau2 * (1.0 + s1) ** 2

    meets = np.flatnonzero(excess(y[1:], np.arange(y.size - 1)) <= 0)
    j = int(meets[0]) if meets.size else y.size - 2
    lo, hi = float(y[j]), float(y[j + 1])
    wr, b1, b2 = float(raised_w[j]), float(others_1[j]), float(others_2[j])
    mu = _crossing(
        wr - (1 + tau2) * wr * wr,
        -2.0 * wr * ((1 + tau2) * b1 + tau2),
        b2 - b1 * b1 - tau2 * (1.0 + b1) ** 2,
        lo,
        hi,
    )
    if mu is None:  # numerical trouble: bisect the same condition inside the segment
        mu = _bisect(lambda m: bool(excess(m, j) <= 0), lo, hi, lambda m: 1.0 + m)
    if mu >= hi:
        return float(x[j + 1])
    return min(max(m0 + m0 * mu, float(x[j])), float(x[j + 1]))


def _crossing(a: float, b: float, c: float, lo: float, hi: float) -> float | None:
    """The root in [lo, hi] where a·u² + b·u + c turns from positive to non-positive, or None.

    That root is always (−b − √D)/(2a), computed here without cancellation.
    """
    d = b * b - 4.0 * a * c
    if not (d >= 0 and math.isfinite(d)):
        return None
    if b < 0:
        root = 2.0 * c / (-b + math.sqrt(d))
    elif a != 0:
        root = (-b - math.sqrt(d)) / (2.0 * a)
    else:
        return None
    slack = 1e-9 * (hi - lo)
    if not (math.isfinite(root) and lo - slack <= root <= hi + slack):
        return None
    return min(max(root, lo), hi)


def _bisect(ok: Callable[[float], bool], lo: float, hi: float, size: Callable[[float], float]) -> float:
    """The smallest u in [lo, hi] with ok(u), for ok false at lo and true at hi (monotone)."""
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if not lo < mid < hi or hi - lo <= _REL_TOL * abs(size(hi)):
            break
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi
