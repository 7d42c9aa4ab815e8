"""Baselines: one step ahead from earlier values only, parameters fitted on the training part.

The statsforecast models are checked on real series of every kind in
tests/bench/test_accuracy_harness.py; here the pipeline's entry point on generated series.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_series

from lstm_model.evaluation.baselines import METHODS, baseline_forecasts

VALUES = make_series(160)["value"].to_numpy()
TRAIN_STOP, TARGETS = 112, np.arange(136, 160)


def test_simple_baselines_on_known_values():
    values = np.arange(20.0) ** 2
    targets = np.array([15, 16])
    result = baseline_forecasts(values, targets, 10, 12, ("naive", "seasonal_naive", "drift"))
    np.testing.assert_array_equal(result.forecasts["naive"], [196, 225])
    np.testing.assert_array_equal(result.forecasts["seasonal_naive"], [9, 16])
    # Drift slope from the training part only: (y[9] - y[0]) / 9 = 9.
    np.testing.assert_allclose(result.forecasts["drift"], [205, 234])
    no_season = baseline_forecasts(values, targets, 10, 1, ("seasonal_naive",))
    np.testing.assert_array_equal(no_season.forecasts["seasonal_naive"], [196, 225])


def test_every_baseline_runs_and_says_which_model_it_fitted():
    result = baseline_forecasts(VALUES, TARGETS, TRAIN_STOP, 12)
    assert set(result.forecasts) == set(METHODS)
    assert result.notes["ets"].startswith("ETS(") and "ARIMA" in result.notes["arima"]
    assert result.notes["theta"].startswith("Theta")
    actual = VALUES[TARGETS]
    naive_mse = np.mean((actual - result.forecasts["naive"]) ** 2)
    for name in ("ets", "arima", "theta"):
        forecasts = result.forecasts[name]
        assert forecasts.shape == TARGETS.shape and np.isfinite(forecasts).all()
        # A clean seasonal series: each reference model is far better than naive.
        assert np.mean((actual - forecasts) ** 2) < 0.5 * naive_mse, name


@pytest.mark.parametrize("name", ["ets", "arima", "theta", "drift"])
def test_forecasts_use_only_earlier_values_and_training_parameters(name):
    forecasts = baseline_forecasts(VALUES, TARGETS, TRAIN_STOP, 12, (name,))
    changed = VALUES.copy()
    changed[140:] += 50
    after = baseline_forecasts(changed, TARGETS, TRAIN_STOP, 12, (name,))
    # Changing values from index 140 on changes no forecast of an index <= 140 (TARGETS start at
    # 136), and the fitted model stays the same ...
    np.testing.assert_allclose(after.forecasts[name][:5], forecasts.forecasts[name][:5])
    assert after.notes == forecasts.notes
    # ... while later forecasts move through the observations they condition on (a seasonal
    # model may look back a whole season, so the last ones move in any case).
    assert not np.allclose(after.forecasts[name][-4:], forecasts.forecasts[name][-4:])


def test_unfittable_model_baseline_is_skipped_with_a_note():
    short = VALUES[:30]
    methods = ("naive", "seasonal_naive", "ets")
    result = baseline_forecasts(short, np.arange(26, 30), 6, 12, methods)
    assert set(result.forecasts) == {"naive", "seasonal_naive"}
    assert result.notes["ets"] == "skipped: tiny datasets"  # AutoETS needs more than 6 rows
