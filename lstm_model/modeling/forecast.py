"""Forecasting in original units with a fitted transform and any window model: a path of
``horizon`` steps from every origin, each from the true values before it."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from lstm_model.modeling.transform import SeriesTransform, as_matrix

# Maps a batch of scaled windows (k, lookback, features) to scaled forecasts (k, h) ((k,) or
# (k, 1) when h is 1).
WindowPredictor = Callable[[np.ndarray], np.ndarray]


def path_forecasts(
    predict_windows: WindowPredictor, transform: SeriesTransform, values: np.ndarray
) -> np.ndarray:
    """Forecast a path of ``transform.horizon`` steps from every origin, in original units.

    Args:
        predict_windows: The model on scaled windows.
        transform: The fitted transform.
        values: The series, (n,) or (n, 1 + k) with the target in column 0.

    Returns:
        An array (len(values) + 1, h): row t is the path forecast from origin t (indices t,
        t + 1, ..., t + h - 1) from the values before t. Rows before ``transform.warmup`` are
        NaN (not enough history); the last row is the forecast of the h steps after the data.
    """
    matrix = as_matrix(values)
    horizon = transform.horizon
    paths = np.full((len(matrix) + 1, horizon), np.nan)
    if len(matrix) < transform.warmup:
        return paths
    origins = np.arange(transform.warmup, len(matrix) + 1)
    scaled = np.asarray(predict_windows(transform.forecast_windows(matrix)))
    # The step after the data has no true value yet; undifferencing only reads earlier ones.
    padded = np.r_[matrix[:, 0], np.nan]
    paths[origins] = transform.inverse_paths(scaled.reshape(len(origins), horizon), padded, origins)
    return paths


def one_step_forecasts(
    predict_windows: WindowPredictor, transform: SeriesTransform, values: np.ndarray
) -> np.ndarray:
    """Forecast every index from the true values before it: the first step of each path.

    Returns:
        An array of ``len(values) + 1``: NaN for the first ``transform.warmup`` indices, and the
        last element is the forecast of the step after the data.
    """
    first: np.ndarray = path_forecasts(predict_windows, transform, values)[:, 0]
    return first
