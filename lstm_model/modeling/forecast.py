"""One-step-ahead forecasting in original units with a fitted transform and any window model."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from lstm_model.modeling.transform import SeriesTransform, as_matrix

# Maps a batch of scaled windows (k, lookback, features) to scaled forecasts (k,) or (k, 1).
WindowPredictor = Callable[[np.ndarray], np.ndarray]


def one_step_forecasts(
    predict_windows: WindowPredictor, transform: SeriesTransform, values: np.ndarray
) -> np.ndarray:
    """Forecast every index from the true values before it, in original units.

    Args:
        predict_windows: The model on scaled windows.
        transform: The fitted transform.
        values: The series, (n,) or (n, 1 + k) with the target in column 0.

    Returns:
        An array of ``len(values) + 1``: NaN for the first ``transform.warmup`` indices (not
        enough history), and the last element is the forecast of the step after the data.
    """
    matrix = as_matrix(values)
    forecasts = np.full(len(matrix) + 1, np.nan)
    if len(matrix) < transform.warmup:
        return forecasts
    targets = np.arange(transform.warmup, len(matrix) + 1)
    scaled = np.asarray(predict_windows(transform.forecast_windows(matrix))).reshape(-1)
    # The step after the data has no true value yet; undifferencing only needs earlier ones.
    padded = np.r_[matrix[:, 0], np.nan]
    forecasts[targets] = transform.inverse(scaled, padded, targets)
    return forecasts
