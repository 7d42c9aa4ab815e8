"""Residual diagnostics and the perturbation sensitivity of each lookback step."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_model.evaluation.diagnostics import (
    perturbation_sensitivity,
    plot_residuals,
    plot_sensitivity,
    residual_diagnostics,
)


def test_white_noise_passes_and_structure_fails(tmp_path):
    rng = np.random.default_rng(5)
    noise = rng.normal(0, 1, 200)
    good = residual_diagnostics(noise, lags=10)
    assert good.ljung_box_pvalue > 0.05 and good.normality_pvalue > 0.05
    assert good.acf[0] == pytest.approx(1.0) and len(good.acf) == 11
    # An AR(1) with phi = 0.8 leaves autocorrelation; squared noise is far from normal.
    ar = np.zeros(200)
    for t in range(1, 200):
        ar[t] = 0.8 * ar[t - 1] + noise[t]
    assert residual_diagnostics(ar).ljung_box_pvalue < 1e-6
    assert residual_diagnostics(noise**2).normality_pvalue < 1e-6
    assert residual_diagnostics(noise[:20], lags=10).ljung_box_lags == 4  # at most n/5
    path = plot_residuals(noise, noise + 1, good, tmp_path / "residuals.png")
    assert path.stat().st_size > 1000


def test_sensitivity_recovers_a_linear_models_weights(tmp_path):
    weights = np.array([0.0, 0.1, 0.3, 0.6])  # oldest step first

    def linear(windows):
        return windows[:, :, 0] @ weights

    windows = np.random.default_rng(6).normal(size=(25, 4, 1)).astype(np.float32)
    result = perturbation_sensitivity(linear, windows, scale=2.0, delta=0.5)
    assert result.lags == [4, 3, 2, 1]
    # Each step moves the forecast by weight * delta * scale (original units), exactly.
    np.testing.assert_allclose(result.mean_change, weights * 0.5 * 2.0, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result.share, weights / weights.sum(), rtol=1e-5, atol=1e-6)
    assert result.rows()[-1] == {
        "lag": 1,
        "mean_abs_change": pytest.approx(0.6),
        "mean_change": pytest.approx(0.6),
        "share": pytest.approx(0.6),
    }
    assert plot_sensitivity(result, tmp_path / "s.png").exists()


def test_sensitivity_of_a_keras_model_in_one_batch(trained):
    model, data, _ = trained
    calls = []

    def predict(windows):
        calls.append(len(windows))
        return model.predict(windows, verbose=0)

    result = perturbation_sensitivity(predict, data.x_test, data.transform.scale)
    assert calls == [len(data.x_test), len(data.x_test) * data.transform.lookback]
    assert len(result.lags) == data.transform.lookback
    assert all(np.isfinite(result.mean_abs_change)) and sum(result.share) == pytest.approx(1.0)
