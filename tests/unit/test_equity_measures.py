"""Gini, Theil (with its urban/rural split), McLoone and the federal range ratio, each against an
independent computation on replicated data (every school's value repeated once per pupil)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from inequality.gini import Gini
from inequality.theil import Theil, TheilD

from tests.oracles.equity_measures import (
    federal_range_ratio,
    mcloone,
    theil_decomposition,
    theil_t,
    weighted_gini,
    weighted_percentile,
)

X = [541, 1463, 2445, 3438, 4437, 5401, 6392, 8304, 11904, 22261]
P = [48, 82, 72, 69, 66, 76, 74, 214, 191, 102]
AREA = ["城区", "城区", "镇区", "乡村", "乡村", "镇区", "城区", "城区", "镇区", "乡村"]


def replicated(x, p):
    return np.repeat(np.asarray(x, dtype=float), p)


def test_gini_equals_the_inequality_package_on_replicated_data():
    assert weighted_gini(X, P) == pytest.approx(Gini(replicated(X, P)).g, rel=1e-12)


def test_theil_equals_the_inequality_package_on_replicated_data():
    assert theil_t(X, P) == pytest.approx(Theil(replicated(X, P)).T, rel=1e-10)


def test_theil_split_equals_the_inequality_package_and_adds_up():
    between, within, by_area = theil_decomposition(X, P, AREA)
    groups = np.repeat(np.asarray(AREA), P)
    reference = TheilD(replicated(X, P), groups)
    assert between == pytest.approx(float(np.ravel(reference.bg)[0]), rel=1e-10)
    assert within == pytest.approx(float(np.ravel(reference.wg)[0]), rel=1e-10)
    assert between + within == pytest.approx(theil_t(X, P), rel=1e-12)
    assert math.fsum(by_area.values()) == pytest.approx(within, rel=1e-12)


@pytest.mark.parametrize("q", [0.05, 0.5, 0.95])
def test_percentiles_equal_numpy_inverted_cdf_on_replicated_data(q):
    expected = np.percentile(replicated(X, P), q * 100, method="inverted_cdf")
    assert weighted_percentile(X, P, q) == expected


def test_mcloone_equals_the_lowest_half_of_replicated_pupils():
    pupils = np.sort(replicated(X, [2 * n for n in P]))  # an even number of pupils: an exact half
    half = pupils[: len(pupils) // 2]
    median = np.percentile(pupils, 50, method="inverted_cdf")
    assert mcloone(X, [2 * n for n in P]) == pytest.approx(half.sum() / (len(half) * median), rel=1e-12)


def test_federal_range_ratio_from_replicated_percentiles():
    pupils = replicated(X, P)
    p05, p95 = (np.percentile(pupils, q, method="inverted_cdf") for q in (5, 95))
    assert federal_range_ratio(X, P) == pytest.approx((p95 - p05) / p05, rel=1e-12)


def test_perfect_equality_gives_the_ideal_values():
    x, p = [7.0, 7.0, 7.0], [10, 200, 35]
    assert weighted_gini(x, p) == pytest.approx(0.0, abs=1e-15)
    assert theil_t(x, p) == pytest.approx(0.0, abs=1e-15)
    assert mcloone(x, p) == pytest.approx(1.0)
    assert federal_range_ratio(x, p) == 0.0


county = st.integers(2, 15).flatmap(
    lambda n: st.tuples(
        st.lists(st.floats(0.01, 1e5), min_size=n, max_size=n),
        st.lists(st.integers(1, 500), min_size=n, max_size=n),
        st.lists(st.sampled_from(["城区", "镇区", "乡村"]), min_size=n, max_size=n),
    )
)


@given(county, st.floats(1e-3, 1e3))
@settings(max_examples=150, deadline=None)
def test_scale_invariance(data, scale):
    x, p, _ = data
    scaled = [v * scale for v in x]
    for measure in (weighted_gini, theil_t, mcloone, federal_range_ratio):
        assert measure(scaled, p) == pytest.approx(measure(x, p), rel=1e-7, abs=1e-12)


@given(county, st.integers(2, 5))
@settings(max_examples=150, deadline=None)
def test_replication_invariance(data, k):
    x, p, _ = data
    more = [n * k for n in p]
    for measure in (weighted_gini, theil_t):
        assert measure(x, more) == pytest.approx(measure(x, p), rel=1e-9, abs=1e-12)
    assert weighted_gini(x, p) == pytest.approx(Gini(replicated(x, p)).g, rel=1e-9, abs=1e-12)


@given(county)
@settings(max_examples=150, deadline=None)
def test_theil_between_plus_within_is_the_total(data):
    x, p, area = data
    between, within, by_area = theil_decomposition(x, p, area)
    assert between + within == pytest.approx(theil_t(x, p), rel=1e-9, abs=1e-12)
    assert math.fsum(by_area.values()) == pytest.approx(within, rel=1e-9, abs=1e-12)
