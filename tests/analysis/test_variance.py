"""Box-Cox: the transform, its inverse, and when Guerrero's lambda calls for it."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lstm_model.analysis.variance import box_cox, guerrero_lambda, inverse_box_cox

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True)


@SETTINGS
@given(
    st.lists(st.floats(1e-3, 1e6), min_size=1, max_size=50),
    st.sampled_from([0.0, 0.25, 0.5, 0.8, 1.0]),
)
def test_inverse_box_cox_recovers_positive_values(values, lam):
    values = np.asarray(values)
    np.testing.assert_allclose(inverse_box_cox(box_cox(values, lam), lam), values, rtol=1e-9)


def test_lambda_zero_is_the_log_and_one_is_a_shift():
    values = np.array([1.0, np.e, 10.0])
    np.testing.assert_allclose(box_cox(values, 0.0), np.log(values))
    np.testing.assert_allclose(box_cox(values, 1.0), values - 1)


def test_non_positive_values_are_floored_not_nan():
    assert np.isfinite(box_cox(np.array([0.0, -5.0]), 0.0)).all()
    assert np.isfinite(inverse_box_cox(np.array([-1e3]), 0.5)).all()


def _multiplicative(n=240, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return np.exp(3 + 0.01 * t + 0.3 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 0.05, n))


def test_guerrero_finds_a_small_lambda_when_the_spread_grows_with_the_level():
    assert guerrero_lambda(_multiplicative(), 12) < 0.3


def test_guerrero_keeps_the_scale_when_the_spread_is_constant():
    rng = np.random.default_rng(1)
    t = np.arange(240)
    additive = 100 + 0.5 * t + 10 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1, 240)
    assert guerrero_lambda(additive, 12) > 0.8


def test_box_cox_does_not_apply_to_series_that_reach_zero_or_below():
    assert guerrero_lambda(np.r_[_multiplicative(100), 0.0], 12) is None
    assert guerrero_lambda(np.random.default_rng(2).normal(size=100), 1) is None
