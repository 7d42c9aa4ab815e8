"""Diebold–Mariano with the HLN correction and the paired t-test, against known values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from lstm_model.evaluation.comparison import compare_forecasts, diebold_mariano, paired_t_test

# A small fixed pair of error series (challenger, other).
E1 = np.array([0.5, -1.0, 0.8, 0.2, -0.4, 1.1, -0.3, 0.6])
E2 = np.array([1.0, -1.5, 0.7, 0.9, -1.2, 1.0, -0.8, 1.4])


def _reference_dm_hln(e1, e2, h, loss):
    """The textbook formulas written out element by element (Diebold & Mariano 1995, HLN 1997)."""
    if loss == "squared":
        d = [a * a - b * b for a, b in zip(e1, e2, strict=True)]
    else:
        d = [abs(a) - abs(b) for a, b in zip(e1, e2, strict=True)]
    n = len(d)
    mean = sum(d) / n
    gamma = []
    for k in range(h):
        gamma.append(sum((d[t] - mean) * (d[t - k] - mean) for t in range(k, n)) / n)
    variance = (gamma[0] + 2 * sum(gamma[1:])) / n
    dm = mean / math.sqrt(variance)
    hln = dm * math.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    return hln, stats.t.cdf(hln, df=n - 1)


@pytest.mark.parametrize("loss", ["squared", "absolute"])
@pytest.mark.parametrize("horizon", [1, 2])
def test_dm_hln_matches_the_formula(loss, horizon):
    statistic, p_value = diebold_mariano(E1, E2, loss, horizon)
    expected_statistic, expected_p = _reference_dm_hln(E1, E2, horizon, loss)
    assert statistic == pytest.approx(expected_statistic, rel=1e-12)
    assert p_value == pytest.approx(expected_p, rel=1e-12)


def test_dm_known_values_for_this_array():
    # d = e1² - e2² = [-.75, -1.25, .15, -.77, -1.28, .21, -.55, -1.6]: mean -0.73, n = 8.
    d = E1**2 - E2**2
    assert d.mean() == pytest.approx(-0.73)
    assert diebold_mariano(E1, E2, "squared", 1) == pytest.approx((-3.142355, 0.0081627), rel=1e-5)
    assert diebold_mariano(E1, E2, "squared", 2) == pytest.approx((-4.526025, 0.00135628), rel=1e-5)


def test_negative_long_run_variance_falls_back_to_lag_zero():
    # For h = 3 on this array gamma0 + 2(gamma1 + gamma2) < 0: the variance uses gamma0 alone.
    d = E1**2 - E2**2
    n, h = len(d), 3
    centred = d - d.mean()
    gammas = [centred[k:] @ centred[: n - k] / n for k in range(h)]
    assert gammas[0] + 2 * sum(gammas[1:]) < 0
    expected = d.mean() / np.sqrt(gammas[0] / n) * np.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    assert diebold_mariano(E1, E2, "squared", h)[0] == pytest.approx(expected, rel=1e-12)


def test_one_step_hln_equals_the_paired_t_statistic():
    rng = np.random.default_rng(3)
    a, b = rng.normal(0, 1, 40), rng.normal(0, 1.3, 40)
    for loss, la, lb in (("squared", a**2, b**2), ("absolute", abs(a), abs(b))):
        expected = stats.ttest_rel(la, lb, alternative="less")
        dm = diebold_mariano(a, b, loss, horizon=1)
        assert dm[0] == pytest.approx(expected.statistic, rel=1e-10)
        assert dm[1] == pytest.approx(expected.pvalue, rel=1e-10)
        assert paired_t_test(a, b, loss) == pytest.approx(
            (expected.statistic, expected.pvalue), rel=1e-12
        )


def test_limits_large_sample_and_symmetry():
    rng = np.random.default_rng(4)
    n = 20000
    a, b = rng.normal(0, 1, n), rng.normal(0, 1, n)
    # HLN factor -> 1 and t(n-1) -> normal: the plain DM statistic and a normal p-value.
    d = a**2 - b**2
    plain = d.mean() / np.sqrt(np.var(d) / n)
    statistic, p_value = diebold_mariano(a, b, "squared", 1)
    assert statistic == pytest.approx(plain, rel=1e-4)
    assert p_value == pytest.approx(stats.norm.cdf(plain), abs=1e-4)
    # Under H0 (same distribution) the p-value is not extreme; swapping the roles mirrors it.
    assert 0.001 < p_value < 0.999
    assert diebold_mariano(b, a, "squared", 1)[1] == pytest.approx(1 - p_value, rel=1e-9)
    # A clearly better challenger: p -> 0 as n grows.
    assert diebold_mariano(0.5 * a, b, "squared", 1)[1] < 1e-12


def test_degenerate_differentials():
    e = np.array([1.0, -2.0, 0.5, 0.3])
    assert diebold_mariano(e, e) == (0.0, 0.5)
    assert paired_t_test(e, e) == (0.0, 0.5)
    # Constant, nonzero differential: certain in one direction.
    assert diebold_mariano(np.zeros(4), np.ones(4))[1] == 0.0
    assert paired_t_test(np.ones(4), np.zeros(4))[1] == 1.0
    with pytest.raises(ValueError, match="paired"):
        diebold_mariano(np.zeros(3), np.zeros(4))


def test_compare_forecasts_uses_common_points_and_names_metrics():
    challenger = E1.copy()
    champion = E2.copy()
    champion[:2] = np.nan  # a champion with a longer window has no first forecasts
    comparison = compare_forecasts(challenger, champion, "champion v1")
    assert comparison.n_points == 6
    assert comparison.challenger_mse == pytest.approx(np.mean(E1[2:] ** 2))
    metrics = comparison.metrics("compare/champion")
    for key in (
        "compare/champion/dm_squared_stat",
        "compare/champion/dm_squared_p",
        "compare/champion/dm_absolute_p",
        "compare/champion/ttest_squared_p",
        "compare/champion/ttest_absolute_stat",
    ):
        assert np.isfinite(metrics[key])
    assert metrics["compare/champion/dm_squared_p"] == pytest.approx(
        diebold_mariano(E1[2:], E2[2:], "squared")[1]
    )


def test_paths_are_compared_on_their_mean_loss_with_the_horizon_in_the_variance():
    rng = np.random.default_rng(3)
    challenger = rng.normal(0, 1.0, (30, 4))
    other = rng.normal(0, 1.3, (30, 4))
    other[0, 2] = np.nan  # an incomplete path is left out whole
    comparison = compare_forecasts(challenger, other, "seasonal_naive")
    assert comparison.n_points == 29
    per_path_a = np.sqrt(np.mean(challenger[1:] ** 2, axis=1))
    per_path_b = np.sqrt(np.mean(other[1:] ** 2, axis=1))
    # The DM test on paths equals DM at horizon 4 on errors whose squares are the path means.
    expected = diebold_mariano(per_path_a, per_path_b, "squared", horizon=4)
    assert comparison.tests[("diebold_mariano", "squared")] == pytest.approx(expected)
    assert comparison.challenger_mse == pytest.approx(np.mean(challenger[1:] ** 2))
