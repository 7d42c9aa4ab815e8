"""Forecasts (one step and whole paths) use only the values before their origin."""

from __future__ import annotations

import numpy as np

from lstm_model.modeling.forecast import one_step_forecasts, path_forecasts
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


def _persistence(horizon: int):
    """Every step of the path repeats the window's last scaled difference."""
    return lambda windows: np.repeat(windows[:, -1:, 0], horizon, axis=1)


def test_paths_from_an_origin_use_only_values_before_it():
    transform = SeriesTransform(differencing=1, lookback=3, mean=0.0, scale=1.0, horizon=5)
    values = np.random.default_rng(1).normal(size=40).cumsum()
    paths = path_forecasts(_persistence(5), transform, values)
    assert paths.shape == (41, 5)
    assert np.isnan(paths[:4]).all() and not np.isnan(paths[4:]).any()
    changed = values.copy()
    changed[25:] += 100
    # Origins up to 25 forecast from values[:25] at most: their whole paths are unchanged.
    np.testing.assert_allclose(
        path_forecasts(_persistence(5), transform, changed)[:26], paths[:26]
    )
    np.testing.assert_array_equal(
        paths[:, 0], one_step_forecasts(_persistence(5), transform, values)
    )


def test_differencing_is_undone_along_the_path():
    # d = 1 with a constant forecast difference of 2 per step: the path climbs from the last
    # true value in steps of 2 (the path's own forecasts are the lags after the origin).
    transform = SeriesTransform(differencing=1, lookback=2, mean=2.0, scale=1.0, horizon=4)
    values = np.array([0.0, 1.0, 3.0, 4.0, 10.0])
    paths = path_forecasts(lambda w: np.zeros((len(w), 4)), transform, values)
    np.testing.assert_allclose(paths[-1], [12.0, 14.0, 16.0, 18.0])
    np.testing.assert_allclose(paths[3], [5.0, 7.0, 9.0, 11.0])  # from values[2] = 3
