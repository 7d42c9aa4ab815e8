"""Forecast metrics on known values."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_model.evaluation.metrics import forecast_metrics


def test_metrics_on_known_values():
    actual = np.array([1.0, 2.0, 3.0, 4.0])
    predicted = np.array([1.0, 2.0, 2.0, 6.0])
    train = np.array([0.0, 1.0, 3.0, 6.0])  # naive in-sample MAE = (1 + 2 + 3) / 3 = 2
    m = forecast_metrics(actual, predicted, train)
    assert m["mse"] == pytest.approx(5 / 4)
    assert m["rmse"] == pytest.approx(np.sqrt(5 / 4))
    assert m["mae"] == pytest.approx(3 / 4)
    assert m["r2"] == pytest.approx(1 - 5 / 5)
    assert m["mase"] == pytest.approx((3 / 4) / 2)
    assert m["smape"] == pytest.approx(100 / 4 * (2 * 1 / 5 + 2 * 2 / 10))
    seasonal = forecast_metrics(actual, predicted, np.array([0.0, 5.0, 2.0, 9.0]), season=2)
    assert seasonal["mase"] == pytest.approx((3 / 4) / 3)
    assert forecast_metrics(np.zeros(2), np.zeros(2), train)["smape"] == 0.0
