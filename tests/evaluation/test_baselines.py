"""Baselines: one step ahead from earlier values only, parameters fitted on the training part."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_series

from lstm_model.config import EvaluationConfig
from lstm_model.evaluation.baselines import (
    arima_forecast,
    baseline_forecasts,
    drift_forecast,
    ets_forecast,
    naive_forecast,
    seasonal_naive_forecast,
)

VALUES = make_series(160)["value"].to_numpy()
TRAIN_STOP, TARGETS = 112, np.arange(136, 160)
SMALL = EvaluationConfig(arima_max_p=1, arima_max_q=1)


def test_simple_baselines_on_known_values():
    values = np.arange(20.0) ** 2
    targets = np.array([15, 16])
    np.testing.assert_array_equal(naive_forecast(values, targets), [196, 225])
    np.testing.assert_array_equal(seasonal_naive_forecast(values, targets, 12), [9, 16])
    np.testing.assert_array_equal(seasonal_naive_forecast(values, targets, 1), [196, 225])
    # Drift slope from the training part only: (y[9] - y[0]) / 9 = 9.
    np.testing.assert_allclose(drift_forecast(values, targets, 10), [205, 234])


@pytest.mark.parametrize("name", ["ets", "arima"])
def test_model_baselines_use_only_earlier_values_and_train_parameters(name):
    def run(values):
        if name == "ets":
            return ets_forecast(values, TARGETS, TRAIN_STOP, 12, trend=True)
        return arima_forecast(values, TARGETS, TRAIN_STOP, 1, 12, SMALL)[0]

    forecasts = run(VALUES)
    assert forecasts.shape == TARGETS.shape and np.isfinite(forecasts).all()
    # Good on a clean seasonal series: far better than the naive forecast.
    naive = naive_forecast(VALUES, TARGETS)
    actual = VALUES[TARGETS]
    assert np.mean((actual - forecasts) ** 2) < 0.5 * np.mean((actual - naive) ** 2)
    # Changing the future changes no earlier forecast ...
    changed = VALUES.copy()
    changed[148:] += 50
    np.testing.assert_allclose(run(changed)[:12], forecasts[:12], rtol=1e-8)
    # ... and changing the test part leaves the fitted parameters alone (no refit on test data):
    # a one-step forecast moves only through the observations it conditions on.
    assert not np.allclose(run(changed)[13:], forecasts[13:])


def test_arima_order_is_chosen_by_aic_on_the_training_part():
    _, order = arima_forecast(VALUES, TARGETS, TRAIN_STOP, 1, 12, SMALL)
    assert order.startswith("(") and ",1," in order
    # The test part cannot change the chosen order.
    changed = VALUES.copy()
    changed[TRAIN_STOP:] = changed[TRAIN_STOP:] * -3
    assert arima_forecast(changed, TARGETS, TRAIN_STOP, 1, 12, SMALL)[1] == order


def test_baseline_forecasts_runs_every_configured_baseline():
    result = baseline_forecasts(VALUES, TARGETS, TRAIN_STOP, 12, 1, SMALL)
    assert set(result.forecasts) == {"naive", "seasonal_naive", "drift", "ets", "arima"}
    assert "arima" in result.notes and "ets" in result.notes
    only = EvaluationConfig(baselines=("seasonal_naive", "drift"))
    assert set(baseline_forecasts(VALUES, TARGETS, TRAIN_STOP, 12, 1, only).forecasts) == {
        "seasonal_naive",
        "drift",
    }


def test_unfittable_model_baseline_is_skipped_with_a_note():
    short = VALUES[:30]
    config = EvaluationConfig(baselines=("naive", "seasonal_naive", "ets"))
    result = baseline_forecasts(short, np.arange(26, 30), 6, 12, 1, config)
    assert "naive" in result.forecasts
    assert "ets" not in result.forecasts and result.notes["ets"].startswith("skipped")
