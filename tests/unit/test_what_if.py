"""The resource-floor what-if against hand computation and brute-force grids."""

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import pipelines.lib.method.what_if as what_if
from pipelines.lib.method.what_if import composite_floor_for_target, floor_for_target

GRID = 20_001


def grid_cv(x, p, floors):
    """CV of max(x, L) for every L in `floors`, in plain numpy (two-pass, population form)."""
    v = np.maximum(np.asarray(x, float)[None, :], np.asarray(floors, float)[:, None])
    p = np.asarray(p, float)
    mean = (v * p).sum(axis=1) / p.sum()
    sd = np.sqrt((p * (v - mean[:, None]) ** 2).sum(axis=1) / p.sum())
    return sd / mean


def plain_cv(x, p):
    return float(grid_cv(x, p, [-math.inf])[0])


def test_hand_computed_three_schools():
    # x = 2, 4, 6 with 10, 20, 10 students: mean 4, var 2, CV = √2/4 ≈ 0.354.
    # Floor 3: values 3, 4, 6 -> mean 170/40 = 4.25, E[x²] = 770/40 = 19.25, var = 1.1875,
    # CV = √1.1875 / 4.25 ≈ 0.2564. With that as the target the answer is L = 3, one school
    # raised, cost 10 × (3 − 2) = 10.
    target = math.sqrt(1.1875) / 4.25
    result = floor_for_target([2, 4, 6], [10, 20, 10], target)
    assert result is not None
    assert result.floor == pytest.approx(3.0, rel=1e-9)
    assert result.cv_before == pytest.approx(math.sqrt(2) / 4, rel=1e-12)
    assert result.cv_after <= target + 1e-12
    assert result.schools_raised == 1 and result.cost == pytest.approx(10.0, rel=1e-9)
    assert not result.already_met


def test_target_met_at_a_school_value_lands_on_it():
    # Floor 4: values 4, 4, 6 -> mean 4.5, var 0.75, CV = √0.75/4.5; cost 10 × 2 = 20.
    result = floor_for_target([2, 4, 6], [10, 20, 10], math.sqrt(0.75) / 4.5)
    assert result is not None
    assert result.floor == pytest.approx(4.0, rel=1e-9) and result.cost == pytest.approx(20.0, rel=1e-8)


def test_already_met_costs_nothing():
    result = floor_for_target([2, 4, 6], [10, 20, 10], 0.5)
    assert result is not None and result.already_met
    assert result.cost == 0 and result.schools_raised == 0
    assert result.floor == 2 and result.cv_after == result.cv_before


def test_zero_target_floors_everyone_to_the_top():
    result = floor_for_target([2, 4, 6], [10, 20, 10], 0.0)
    assert result is not None
    assert result.floor == 6 and result.cost == 10 * 4 + 20 * 2 and result.cv_after < 1e-15


def test_unusable_schools_are_ignored_and_too_few_give_none():
    # no students, missing or NaN values carry no weight; a lone school or a zero mean gives None
    full = floor_for_target([2, 4, 6, None, math.nan, 100], [10, 20, 10, 5, 5, 0], 0.2)
    assert full == floor_for_target([2, 4, 6], [10, 20, 10], 0.2)
    assert floor_for_target([2, None, 6], [10, 20, 0], 0.2) is None
    assert floor_for_target([0, 0], [10, 20], 0.2) is None
    assert composite_floor_for_target([([2, 4, 6], [1, 1, 1]), ([5], [3])], 0.1) is None
    with pytest.raises(ValueError):
        floor_for_target([2, 4], [1, 1], -0.1)


def test_bisection_fallback_agrees_with_the_quadratic(monkeypatch):
    # the fallback path is otherwise rarely taken; it must give the same floor
    x, p = [3.0, 7.0, 8.0, 20.0, 41.0], [120, 15, 300, 80, 7]
    quadratic = floor_for_target(x, p, 0.3)
    monkeypatch.setattr(what_if, "_crossing", lambda *args: None)
    bisected = floor_for_target(x, p, 0.3)
    assert quadratic is not None and bisected is not None
    assert bisected.floor == pytest.approx(quadratic.floor, rel=1e-11)


@st.composite
def county(draw):
    x = draw(st.lists(st.floats(0.01, 1e5, allow_nan=False), min_size=2, max_size=30))
    p = draw(st.lists(st.integers(1, 3000), min_size=len(x), max_size=len(x)))
    return x, p


def first_meeting(levels, cvs, target):
    """Index of the first grid level meeting the target (the grid ends at CV ≈ 0)."""
    index = int(np.argmax(cvs <= target))
    assert index > 0 and cvs[index] <= target
    return index


@given(county(), st.floats(0.05, 0.9))
@settings(max_examples=60, deadline=None)
def test_floor_matches_a_brute_force_grid(data, fraction):
    x, p = data
    before = plain_cv(x, p)
    assume(before > 1e-6)
    target = fraction * before
    result = floor_for_target(x, p, target)
    assert result is not None
    levels = np.linspace(min(x), max(x), GRID)
    i = first_meeting(levels, grid_cv(x, p, levels), target)
    tol = 1e-9 * (max(x) - min(x))
    assert levels[i - 1] - tol <= result.floor <= levels[i] + tol
    assert result.cv_after <= target + 1e-9
    assert plain_cv(np.maximum(x, result.floor), p) <= target + 1e-9
    cost = float(np.sum(np.asarray(p) * np.maximum(0.0, result.floor - np.asarray(x))))
    assert result.cost == pytest.approx(cost, rel=1e-9)
    assert result.schools_raised == sum(v < result.floor for v in x)


@given(st.lists(county(), min_size=2, max_size=3), st.floats(0.05, 0.9))
@settings(max_examples=40, deadline=None)
def test_composite_matches_a_brute_force_grid(indicators, fraction):
    befores = [plain_cv(x, p) for x, p in indicators]
    assume(min(befores) > 1e-6)
    target = fraction * float(np.mean(befores))
    result = composite_floor_for_target(indicators, target)
    assert result is not None and not result.already_met
    means = [float(np.dot(x, p) / np.sum(p)) for x, p in indicators]
    shares = np.linspace(0.0, max(max(x) / m for (x, _), m in zip(indicators, means, strict=True)), GRID)
    composite = np.mean(
        [grid_cv(x, p, shares * m) for (x, p), m in zip(indicators, means, strict=True)], axis=0
    )
    i = first_meeting(shares, composite, target)
    tol = 1e-9 * shares[-1]
    assert shares[i - 1] - tol <= result.share_of_mean <= shares[i] + tol
    assert result.composite_after <= target + 1e-9
    for (x, p), m, floor in zip(indicators, means, result.floors, strict=True):
        level = result.share_of_mean * m
        assert floor.floor == pytest.approx(level, rel=1e-12)
        cost = float(np.sum(np.asarray(p) * np.maximum(0.0, level - np.asarray(x))))
        assert floor.cost == pytest.approx(cost, rel=1e-9, abs=1e-9)
        assert floor.already_met == (floor.schools_raised == 0)


def test_composite_of_one_indicator_is_the_single_floor():
    # one indicator: the share of the mean is just the single floor over the mean (4)
    single = floor_for_target([2, 4, 6], [10, 20, 10], 0.2)
    combined = composite_floor_for_target([([2, 4, 6], [10, 20, 10])], 0.2)
    assert single is not None and combined is not None
    assert combined.share_of_mean * 4 == pytest.approx(single.floor, rel=1e-10)


def test_composite_already_met_raises_nothing():
    result = composite_floor_for_target([([2, 4, 6], [10, 20, 10]), ([1, 1.1], [5, 5])], 0.5)
    assert result is not None and result.already_met and result.share_of_mean == 0
    assert all(f.cost == 0 and f.already_met for f in result.floors)
    assert result.composite_after == pytest.approx(result.composite_before, rel=1e-12)
