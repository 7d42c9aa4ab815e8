"""The global model's SavedModel: raw histories of any series in, paths and intervals out.

The serving signature has the single-series contract (``history`` (batch, lookback, 1) float64
in original units -> ``forecast`` (batch, h) and ``lower_<level>`` / ``upper_<level>``), so the
service, TensorFlow Serving and the fresh-process check serve it unchanged. Inside the graph
each history is standardised by its own mean and spread (as in training,
:mod:`lstm_model.modeling.panel_windows`), the network forecasts the scaled path and the path is
scaled back. Nothing depends on a series id: a series the model never saw is forecast from its
history alone (cold start).

Intervals are conformal on the *scaled* errors (each error divided by its window's spread), so
one set of widths per step serves series of any level: the bounds are ``path +- width * spread``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import keras
import numpy as np

from lstm_model.delivery.export import (
    FORECAST_OUTPUT,
    HISTORY_INPUT,
    PREPROCESSING_FILE,
    SERVING_SIGNATURE,
    FreshTensorFlow,
    compare_outputs,
    interval_outputs,
)
from lstm_model.evaluation.intervals import ConformalIntervals
from lstm_model.evaluation.panel_backtest import LstmPaths
from lstm_model.modeling.global_model import GlobalFit, global_paths
from lstm_model.modeling.panel_windows import (
    ABSOLUTE_FLOOR,
    RELATIVE_FLOOR,
    normalised_windows,
    window_scale,
)


def calibrate_global(
    fit: GlobalFit, values: np.ndarray, origins: np.ndarray, levels: tuple[float, ...]
) -> ConformalIntervals:
    """Widths per step from the scaled errors of paths whose targets the model never trained on.

    Args:
        fit: The global model.
        values: The panel's flat values.
        origins: Origins of out-of-sample paths (e.g. every series' validation windows).
        levels: Coverage levels in percent.
    """
    _, _, _, scale = normalised_windows(values, origins, fit.lookback, fit.horizon)
    actual = np.asarray(values, dtype=np.float64)[origins[:, np.newaxis] + np.arange(fit.horizon)]
    scaled_errors = (actual - global_paths(fit, values, origins)) / scale[:, np.newaxis]
    return ConformalIntervals.calibrate(scaled_errors, levels)


def global_bounds(
    paths: np.ndarray, histories: np.ndarray, intervals: ConformalIntervals
) -> dict[float, tuple[np.ndarray, np.ndarray]]:
    """``level -> (lower, upper)``: each path +- the level's widths times its history's spread."""
    _, spread = window_scale(np.asarray(histories, dtype=np.float64).reshape(len(paths), -1))
    bounds = {}
    for level, width in zip(intervals.levels, intervals.half_widths, strict=True):
        half = np.asarray(width) * spread[:, np.newaxis]
        bounds[level] = (paths - half, paths + half)
    return bounds


def global_lstm_paths(
    fit: GlobalFit, values: np.ndarray, origins: np.ndarray, intervals: ConformalIntervals
) -> LstmPaths:
    """The global model's paths and interval bounds from ``origins``, for the backtest."""
    values = np.asarray(values, dtype=np.float64)
    histories = values[origins[:, np.newaxis] - fit.lookback + np.arange(fit.lookback)]
    paths = global_paths(fit, values, origins)
    return LstmPaths(origins, paths, global_bounds(paths, histories, intervals), fit.lookback)


def export_global(
    fit: GlobalFit,
    directory: Path,
    intervals: ConformalIntervals,
    series_column: str = "series_id",
) -> Path:
    """Write the SavedModel of the global model with normalisation and intervals in the graph.

    Args:
        fit: The global model.
        directory: Where ``saved_model.pb`` and ``variables/`` go (TF Serving layout).
        intervals: Widths on the scaled errors (:func:`calibrate_global`).
        series_column: The panel's series id column, which the registered pyfunc reads.

    Returns:
        The directory.
    """
    import tensorflow as tf

    model: keras.Model = fit.model
    widths = {
        level: tf.constant(np.asarray(w).reshape(1, -1), tf.float64)
        for level, w in zip(intervals.levels, intervals.half_widths, strict=True)
    }

    def serve(history: Any) -> dict[str, Any]:
        target = history[:, :, 0]
        # Same arithmetic as panel_windows.window_scale.
        location = tf.reduce_mean(target, axis=1, keepdims=True)
        spread = tf.math.reduce_std(target, axis=1, keepdims=True)
        scale = tf.maximum(spread, tf.maximum(RELATIVE_FLOOR * tf.abs(location), ABSOLUTE_FLOOR))
        window = tf.cast((target - location) / scale, tf.float32)[:, :, tf.newaxis]
        scaled = tf.cast(tf.reshape(model(window, training=False), [-1, fit.horizon]), tf.float64)
        path = scaled * scale + location
        outputs = {FORECAST_OUTPUT: path}
        for level, width in widths.items():
            lower, upper = interval_outputs(level)
            outputs[lower], outputs[upper] = path - width * scale, path + width * scale
        return outputs

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        name=SERVING_SIGNATURE,
        fn=serve,
        input_signature=[tf.TensorSpec((None, fit.lookback, 1), tf.float64, name=HISTORY_INPUT)],
    )
    directory = Path(directory)
    archive.write_out(str(directory), verbose=False)
    description = {
        "kind": "global",
        "lookback": fit.lookback,
        "horizon": fit.horizon,
        "series_column": series_column,
    }
    (directory / PREPROCESSING_FILE).write_text(json.dumps({**description, "columns": ["value"]}))
    return directory


def verify_global_export(
    directory: Path,
    fit: GlobalFit,
    histories: np.ndarray,
    intervals: ConformalIntervals,
    fresh: FreshTensorFlow | None = None,
    tolerance: float = 1e-5,
) -> float:
    """Serve ``histories`` from the SavedModel in a fresh TensorFlow process and compare every
    output with the pipeline's own paths and bounds.

    Returns:
        The largest relative difference.

    Raises:
        ExportVerificationError: an output is missing or differs by more than ``tolerance``.
    """
    histories = np.asarray(histories, dtype=np.float64)
    count, lookback = histories.shape[0], histories.shape[1]
    # The histories as one flat series with an origin after each: the pipeline's own paths.
    flat = histories.reshape(-1)
    origins = np.arange(1, count + 1) * lookback
    expected = {FORECAST_OUTPUT: global_paths(fit, flat, origins)}
    for level, bounds in global_bounds(expected[FORECAST_OUTPUT], histories, intervals).items():
        expected.update(zip(interval_outputs(level), bounds, strict=True))
    if fresh is None:
        with FreshTensorFlow() as process:
            served = process.serve(directory, histories)
    else:
        served = fresh.serve(directory, histories)
    # A floor near 0 instead of a series scale: the histories may be of any series.
    _, worst = compare_outputs(
        directory, expected, served, 1e-9, tolerance, [f"history {i}" for i in range(count)]
    )
    return worst
