"""One-step forecasts use only the values before each target."""

from __future__ import annotations

import numpy as np

from lstm_model.modeling.forecast import one_step_forecasts
from lstm_model.modeling.transform import SeriesTransform


def test_one_step_forecasts_use_only_earlier_values():
    transform = SeriesTransform(differencing=1, lookback=3, mean=0.0, scale=1.0)
    values = np.random.default_rng(0).normal(size=30).cumsum()
    forecasts = one_step_forecasts(lambda w: w.mean(axis=(1, 2)), transform, values)
    assert np.isnan(forecasts[:4]).all() and not np.isnan(forecasts[4:]).any()
    changed = values.copy()
    changed[20:] += 100
    np.testing.assert_allclose(
        one_step_forecasts(lambda w: w.mean(axis=(1, 2)), transform, changed)[:21], forecasts[:21]
    )
