"""The global model: one LSTM fitted on every series' windows, scale-free by normalisation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstm_model.data.panel import panel_from_frame
from lstm_model.modeling.global_model import fit_global, global_paths
from lstm_model.modeling.network import Architecture
from lstm_model.modeling.panel_windows import split_panel, window_origins

LOOKBACK, HORIZON = 24, 6


@pytest.fixture(scope="module")
def seasonal_panel():
    """Eight noisy monthly-like cycles (period 12) at levels from 1 to 1000, several lengths."""
    rng = np.random.default_rng(0)
    frames = []
    for i in range(8):
        n = 96 + 12 * (i % 3)
        level = 10.0 ** (i % 4)
        t = np.arange(n)
        values = level * (10 + 3 * np.sin(2 * np.pi * (t + i) / 12) + rng.normal(0, 0.3, n))
        stamps = pd.date_range("2000-01-01", periods=n, freq="MS")
        frames.append(pd.DataFrame({"id": f"s{i}", "timestamp": stamps, "value": values}))
    return panel_from_frame(pd.concat(frames, ignore_index=True), "id")


def test_one_model_forecasts_every_series_at_its_own_scale(seasonal_panel):
    panel = seasonal_panel
    split = split_panel(panel, 0.15, 0.15)
    fit = fit_global(
        panel,
        split,
        Architecture(units=16, learning_rate=5e-3, linear_skip=True),
        lookback=LOOKBACK,
        horizon=HORIZON,
        epochs=40,
        patience=8,
        seed=1,
    )
    assert fit.train_windows > 300 and 1 <= fit.best_epoch <= 40
    origins = window_origins(split.starts, *split.part("test"), LOOKBACK, HORIZON)
    paths = global_paths(fit, panel.values, origins)
    truth = panel.values[origins[:, np.newaxis] + np.arange(HORIZON)]
    naive = panel.values[origins - 1][:, np.newaxis]
    owner = panel.series_of_row[origins]
    # Per series, the global model beats the naive forecast whatever the series' level.
    for i in range(len(panel.ids)):
        mine = owner == i
        model_error = np.abs(truth[mine] - paths[mine]).mean()
        naive_error = np.abs(truth[mine] - naive[mine]).mean()
        assert model_error < 0.8 * naive_error, panel.ids[i]
