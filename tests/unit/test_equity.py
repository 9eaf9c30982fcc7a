"""The official student-weighted CV (docs/methodology.md §2) against independent computations."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from pipelines.lib.method.equity import cv_contributions, weighted_cv
from tests.oracles.equity_measures import contribution_changes

# docs/methodology.md §2.4 worked example: weights by replication.
X = [541, 1463, 2445, 3438, 4437, 5401, 6392, 8304, 11904, 22261]
P = [482, 825, 722, 690, 661, 760, 745, 2140, 1911, 1024]


def test_worked_example_matches_domain_reference():
    result = weighted_cv(X, P)
    assert result.mean_value == pytest.approx(8104.344578313254, rel=1e-12)
    assert result.cv == pytest.approx(0.733159038194987, rel=1e-12)
    assert result.n_schools == 10 and result.students == sum(P)


def test_worked_example_equals_scipy_on_replicated_data():
    replicated = np.repeat(X, P)
    assert weighted_cv(X, P).cv == pytest.approx(stats.variation(replicated), rel=1e-12)


def test_an_unweighted_cv_would_fail_the_worked_example():
    # The known mistake: treating every school alike, in population or sample form.
    population = float(np.std(X) / np.mean(X))
    sample = float(np.std(X, ddof=1) / np.mean(X))
    official = weighted_cv(X, P).cv
    assert abs(population - official) > 0.05
    assert abs(sample - official) > 0.05


def test_guards_give_null_with_reason_never_an_error():
    assert weighted_cv([5.0], [100]).null_reason == "fewer_than_2_schools"
    assert weighted_cv([5.0, 6.0], [0, 0]).null_reason == "no_students"
    assert weighted_cv([0.0, 0.0], [10, 20]).null_reason == "zero_mean"
    assert weighted_cv([], []).cv is None


def test_sections_without_students_carry_no_weight():
    assert weighted_cv([1.0, 2.0, 99.0], [10, 10, 0]).cv == weighted_cv([1.0, 2.0], [10, 10]).cv


values = st.lists(st.floats(0.01, 1e5, allow_nan=False), min_size=2, max_size=30)


@st.composite
def county(draw):
    x = draw(values)
    p = draw(st.lists(st.integers(1, 3000), min_size=len(x), max_size=len(x)))
    return x, p


@given(county(), st.floats(1e-3, 1e4))
@settings(max_examples=200, deadline=None)
def test_scale_invariance(data, scale):
    # per student vs per 100 students does not change a CV
    x, p = data
    assert weighted_cv([v * scale for v in x], p).cv == pytest.approx(
        weighted_cv(x, p).cv, rel=1e-9, abs=1e-12
    )


@given(county(), st.integers(2, 7))
@settings(max_examples=200, deadline=None)
def test_replication_invariance(data, k):
    # weighting by students is the same as repeating each school's value P_i times
    x, p = data
    assert weighted_cv(x, [n * k for n in p]).cv == pytest.approx(weighted_cv(x, p).cv, rel=1e-9, abs=1e-12)
    small = [max(1, n // 100) for n in p]
    assert weighted_cv(x, small).cv == pytest.approx(
        stats.variation(np.repeat(x, small)), rel=1e-7, abs=1e-12
    )


@given(county())
@settings(max_examples=200, deadline=None)
def test_contributions_sum_exactly_to_cv_squared(data):
    x, p = data
    c = cv_contributions(x, p)
    assert math.fsum(c) == pytest.approx(weighted_cv(x, p).cv ** 2, rel=1e-9, abs=1e-12)
    assert (c >= 0).all()


@st.composite
def two_years(draw):
    ids = [f"s{i}" for i in range(draw(st.integers(3, 12)))]

    def year():
        present = [i for i in ids if draw(st.booleans())] or ids[:2]
        if len(present) < 2:
            present = ids[:2]
        return {i: (draw(st.floats(0.1, 1e4)), draw(st.integers(1, 2000))) for i in present}

    return year(), year()


@given(two_years())
@settings(max_examples=200, deadline=None)
def test_contribution_changes_sum_to_the_change_in_cv_squared(years):
    previous, current = years
    changes = contribution_changes(previous, current)
    cv_before = weighted_cv([v for v, _ in previous.values()], [p for _, p in previous.values()]).cv
    cv_after = weighted_cv([v for v, _ in current.values()], [p for _, p in current.values()]).cv
    assert math.fsum(changes.values()) == pytest.approx(cv_after**2 - cv_before**2, abs=1e-9)
    assert set(changes) == set(previous) | set(current)  # closed and new schools are in the sum
