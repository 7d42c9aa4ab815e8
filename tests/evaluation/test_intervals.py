"""Conformal intervals: honest coverage, widening with the horizon, the finite-sample rank."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_model.evaluation.intervals import ConformalIntervals


def _paths(values: np.ndarray, horizon: int, forecast) -> tuple[np.ndarray, np.ndarray]:
    """Actual and forecast paths from every origin t (targets t .. t + h - 1)."""
    origins = np.arange(1, len(values) - horizon + 1)
    actual = values[origins[:, np.newaxis] + np.arange(horizon)]
    return actual, forecast(values, origins, horizon)


def test_coverage_on_a_long_ar_process_is_close_to_nominal():
    rng = np.random.default_rng(0)
    phi, n, horizon = 0.7, 8_000, 6
    values = np.zeros(n)
    for t in range(1, n):
        values[t] = phi * values[t - 1] + rng.normal()

    def ar_forecast(values, origins, horizon):
        return values[origins - 1, np.newaxis] * phi ** np.arange(1, horizon + 1)

    actual, forecasts = _paths(values, horizon, ar_forecast)
    half = len(actual) // 2
    intervals = ConformalIntervals.calibrate(actual[:half] - forecasts[:half])
    coverage = intervals.coverage(actual[half:], forecasts[half:])
    assert coverage[80] == pytest.approx(0.80, abs=0.05)
    assert coverage[95] == pytest.approx(0.95, abs=0.05)
    assert intervals.undersized == ()


def test_intervals_widen_with_the_horizon_on_a_random_walk():
    values = np.random.default_rng(1).normal(size=3_000).cumsum()

    def naive(values, origins, horizon):
        return np.repeat(values[origins - 1, np.newaxis], horizon, axis=1)

    actual, forecasts = _paths(values, 12, naive)
    intervals = ConformalIntervals.calibrate(actual - forecasts)
    for widths in intervals.half_widths:
        assert np.all(np.diff(widths) > 0)
    # A random walk's k-step error has standard deviation sqrt(k): 12 steps ~ 3.5 x one step.
    assert intervals.half_widths[0][-1] / intervals.half_widths[0][0] == pytest.approx(
        np.sqrt(12), rel=0.25
    )
    lower, upper = intervals.bounds(forecasts[:3])[95]
    assert np.all(lower < forecasts[:3]) and np.all(forecasts[:3] < upper)


def test_width_is_the_finite_sample_rank_and_small_samples_are_flagged():
    errors = np.arange(1.0, 20.0)[:, np.newaxis]  # 19 errors: 1, 2, ..., 19
    intervals = ConformalIntervals.calibrate(errors, (80, 95))
    # ceil(20 * 0.8) = 16th and ceil(20 * 0.95) = 19th smallest.
    assert intervals.half_widths == ((16.0,), (19.0,))
    assert intervals.undersized == ()
    few = ConformalIntervals.calibrate(-errors[:10], (80, 95))
    assert few.half_widths == ((9.0,), (10.0,)) and few.undersized == (95,)
    assert few.calibration_sizes == (10,)


def test_missing_errors_and_bad_levels():
    errors = np.array([[1.0, np.nan], [2.0, 3.0], [4.0, np.nan]])
    assert ConformalIntervals.calibrate(errors, (50,)).calibration_sizes == (3, 1)
    with pytest.raises(ValueError, match="percentages"):
        ConformalIntervals.calibrate(errors, (0.95,))
    with pytest.raises(ValueError, match="at least one"):
        ConformalIntervals.calibrate(np.full((3, 2), np.nan))


def test_widths_on_the_log_scale_follow_a_growing_level():
    """Multiplicative errors: calibrated on the log scale on an early, low part, the bounds
    scale with the level and still cover a later part at twice the level; widths in original
    units from the same early errors do not."""
    rng = np.random.default_rng(3)
    n = 6_000
    log_level = np.log(100) + np.linspace(0, np.log(4), n)
    values = np.exp(log_level + rng.normal(0, 0.1, n))
    forecasts = np.exp(log_level)[:, np.newaxis]  # the known level, one step
    actual = values[:, np.newaxis]
    early, late = slice(0, n // 3), slice(2 * n // 3, n)
    on_log = ConformalIntervals.calibrate(
        np.log(actual[early]) - np.log(forecasts[early]), (80, 95), box_cox_lambda=0.0
    )
    coverage = on_log.coverage(actual[late], forecasts[late])
    assert coverage[80] == pytest.approx(0.80, abs=0.03)
    assert coverage[95] == pytest.approx(0.95, abs=0.03)
    lower, upper = on_log.bounds(forecasts[late][:1])[95]
    assert upper - forecasts[late][0] > forecasts[late][0] - lower  # asymmetric, as a log is
    in_units = ConformalIntervals.calibrate(actual[early] - forecasts[early], (80, 95))
    assert in_units.coverage(actual[late], forecasts[late])[80] < 0.6


def test_serving_outputs_are_paired_by_level_lowest_first():
    from lstm_model.evaluation.intervals import bounds_by_level, level_name

    outputs = {"forecast": np.zeros((1, 2))}
    for level in (99.0, 80.0, 97.5):
        outputs[f"lower_{level_name(level)}"] = np.full((1, 2), -level)
        outputs[f"upper_{level_name(level)}"] = np.full((1, 2), level)
    paired = bounds_by_level(outputs)
    assert list(paired) == ["80", "97_5", "99"]
    assert paired["97_5"][1][0, 0] == 97.5 and paired["97_5"][0][0, 0] == -97.5
