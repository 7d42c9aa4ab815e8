"""The global model's SavedModel: cold start from history alone, intervals scaled per window,
checked in a fresh TensorFlow process."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lstm_model.data.panel import panel_from_frame
from lstm_model.delivery.export import FreshTensorFlow
from lstm_model.delivery.global_export import (
    calibrate_global,
    export_global,
    global_bounds,
    verify_global_export,
)
from lstm_model.modeling.global_model import fit_global
from lstm_model.modeling.network import Architecture
from lstm_model.modeling.panel_windows import split_panel, window_origins

LOOKBACK, HORIZON = 12, 4


def test_a_series_never_seen_is_forecast_with_intervals_at_its_own_scale(tmp_path):
    rng = np.random.default_rng(4)
    frames = []
    for i in range(4):
        t = np.arange(72)
        values = (i + 1) * (20 + 4 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 0.4, 72))
        stamps = pd.date_range("2000-01-01", periods=72, freq="MS")
        frames.append(pd.DataFrame({"id": f"s{i}", "timestamp": stamps, "value": values}))
    panel = panel_from_frame(pd.concat(frames, ignore_index=True), "id")
    split = split_panel(panel, 0.15, 0.15)
    fit = fit_global(
        panel,
        split,
        Architecture(units=8, linear_skip=True),
        lookback=LOOKBACK,
        horizon=HORIZON,
        epochs=5,
        patience=3,
        seed=0,
    )
    validation = window_origins(split.starts, *split.part("validation"), LOOKBACK, HORIZON)
    intervals = calibrate_global(fit, panel.values, validation, (80.0, 95.0))
    directory = export_global(fit, tmp_path / "global", intervals)

    # A series the model never saw, a thousand times larger: no statistics of its own needed.
    t = np.arange(LOOKBACK)
    new = 1000 * (50 + 4 * np.sin(2 * np.pi * t / 12))
    known = panel.series("s1")[-LOOKBACK:]
    histories = np.stack([known, new])[:, :, np.newaxis]
    assert verify_global_export(directory, fit, histories, intervals) <= 1e-5
    with FreshTensorFlow() as fresh:
        served = fresh.serve(directory, histories)
    assert served["forecast"].shape == (2, HORIZON)
    assert np.all(served["forecast"][1] > 40_000)  # at the new series' level
    width_known = served["upper_95"][0] - served["lower_95"][0]
    width_new = served["upper_95"][1] - served["lower_95"][1]
    assert np.all(width_new > 100 * width_known)  # scaled by each window's own spread
    lower, upper = global_bounds(served["forecast"], histories, intervals)[80]
    np.testing.assert_allclose(served["lower_80"], lower, rtol=1e-6)
    np.testing.assert_allclose(served["upper_80"], upper, rtol=1e-6)
