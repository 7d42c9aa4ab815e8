"""Windows from every series of a panel for one global model, each normalised by itself.

A global LSTM reads windows of many series whose levels and scales differ by orders of
magnitude. Each window is standardised by its own mean and standard deviation (the temporal
normalisation of neuralforecast's models, Kim et al. 2022's RevIN without the learned affine),
and its targets with the same two numbers, so the network sees every series on one scale, a
series it never saw needs no statistics of its own (cold start from history alone), and no
statistic ever looks past the window's last input.

Windows are described by their *origin*: the row of the first target. Row ``o`` of the panel's
flat arrays gives inputs ``values[o - lookback : o]`` and targets ``values[o : o + horizon]``;
origins are cut with index arithmetic per part, so every window lies inside one series and
every target inside one part (train, validation or test) of that series.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lstm_model.data.panel import Panel
from lstm_model.errors import PipelineInputError

# A window whose spread is below this share of its level is treated as flat: its scale is
# floored so that targets do not explode (a constant window then forecasts its level).
RELATIVE_FLOOR = 1e-3
ABSOLUTE_FLOOR = 1e-8


@dataclass(frozen=True)
class PanelSplit:
    """Absolute row bounds of each series' parts in the panel's flat arrays, each (S,).

    Series i has train rows [starts[i], validation[i]), validation rows [validation[i],
    test[i]) and test rows [test[i], stops[i]).
    """

    starts: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    stops: np.ndarray

    def part(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(first row, end row) of one part of every series: train, validation or test."""
        bounds = {
            "train": (self.starts, self.validation),
            "validation": (self.validation, self.test),
            "test": (self.test, self.stops),
        }
        return bounds[name]


def split_panel(panel: Panel, validation_fraction: float, test_fraction: float) -> PanelSplit:
    """Every series ends with the same number of validation and test rows.

    The counts are the fractions of the median series length (at least one row each), the
    same for every series: series that end together (the usual panel) are then cut at the same
    dates, so no series' training part reaches into another's test period, and every series
    has the same backtest origins.
    """
    median = float(np.median(panel.lengths))
    n_test = max(1, int(np.ceil(median * test_fraction)))
    n_validation = max(1, int(np.ceil(median * validation_fraction)))
    stops = panel.starts[1:]
    return PanelSplit(panel.starts[:-1], stops - n_test - n_validation, stops - n_test, stops)


def window_origins(
    series_starts: np.ndarray,
    first: np.ndarray,
    end: np.ndarray,
    lookback: int,
    horizon: int,
) -> np.ndarray:
    """Origins of every window whose targets lie in [first, end) of its series.

    Inputs may reach back into earlier parts of the same series (the history a forecaster has
    at that moment), never into another series.

    Args:
        series_starts: (S,) first row of each series.
        first: (S,) first row of the part in each series.
        end: (S,) end row of the part in each series.
        lookback: Input steps per window.
        horizon: Target steps per window.

    Returns:
        Sorted absolute origins, series after series.
    """
    lowest = np.maximum(first, series_starts + lookback)
    highest = end - horizon + 1  # exclusive
    counts = np.maximum(highest - lowest, 0)
    offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    origins: np.ndarray = np.repeat(lowest, counts) + offsets
    return origins


def normalised_windows(
    values: np.ndarray, origins: np.ndarray, lookback: int, horizon: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Inputs and targets of the windows at ``origins``, each scaled by its inputs only.

    Args:
        values: The panel's flat values.
        origins: Window origins (targets may run past the data for forecasting: NaN there).
        lookback: Input steps.
        horizon: Target steps.

    Returns:
        ``x`` (k, lookback, 1) float32, ``y`` (k, horizon) float32, and the per-window
        ``location`` and ``scale`` (k,) float64 that undo it: original = z * scale + location.
    """
    values = np.asarray(values, dtype=np.float64)
    padded = np.r_[values, np.full(horizon, np.nan)]
    inputs = values[np.asarray(origins)[:, np.newaxis] - lookback + np.arange(lookback)]
    targets = padded[np.asarray(origins)[:, np.newaxis] + np.arange(horizon)]
    location, scale = window_scale(inputs)
    x = ((inputs - location[:, np.newaxis]) / scale[:, np.newaxis])[:, :, np.newaxis]
    y = (targets - location[:, np.newaxis]) / scale[:, np.newaxis]
    return x.astype(np.float32), y.astype(np.float32), location, scale


def window_scale(inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (floored) standard deviation of each window's inputs, (k,) each."""
    location = inputs.mean(axis=1)
    spread = inputs.std(axis=1)
    floor = np.maximum(RELATIVE_FLOOR * np.abs(location), ABSOLUTE_FLOOR)
    scale: np.ndarray = np.maximum(spread, floor)
    return location, scale


def denormalise(paths: np.ndarray, location: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Scaled paths (k, h) back to original units with each window's own numbers."""
    scaled = np.asarray(paths, dtype=np.float64)
    original: np.ndarray = scaled * scale[:, np.newaxis] + location[:, np.newaxis]
    return original


def window_dataset(
    values: np.ndarray,
    origins: np.ndarray,
    lookback: int,
    horizon: int,
    batch_size: int,
    shuffle_seed: int | None = None,
) -> Any:
    """A ``tf.data.Dataset`` of normalised (x, y) batches, cut from the flat values on the fly.

    Only the origins are shuffled and batched; each batch gathers its windows from one tensor of
    the panel's values and normalises them in the graph, so the windows of all series are never
    materialised together. ``shuffle_seed`` None keeps the origins in order (for prediction).
    """
    import tensorflow as tf

    series = tf.constant(np.asarray(values, dtype=np.float32))
    steps = tf.range(lookback + horizon)
    dataset = tf.data.Dataset.from_tensor_slices(np.asarray(origins, dtype=np.int64))
    if shuffle_seed is not None:
        dataset = dataset.shuffle(len(origins), seed=shuffle_seed, reshuffle_each_iteration=True)

    def cut(batch: Any) -> tuple[Any, Any]:
        rows = batch[:, tf.newaxis] - lookback + tf.cast(steps, tf.int64)[tf.newaxis]
        windows = tf.gather(series, rows)
        inputs, targets = windows[:, :lookback], windows[:, lookback:]
        location = tf.reduce_mean(inputs, axis=1, keepdims=True)
        spread = tf.math.reduce_std(inputs, axis=1, keepdims=True)
        floor = tf.maximum(RELATIVE_FLOOR * tf.abs(location), ABSOLUTE_FLOOR)
        scale = tf.maximum(spread, floor)
        return ((inputs - location) / scale)[:, :, tf.newaxis], (targets - location) / scale

    return dataset.batch(batch_size).map(cut, num_parallel_calls=tf.data.AUTOTUNE).prefetch(2)


def short_series(panel: Panel, split: PanelSplit, lookback: int, horizon: int) -> dict[str, str]:
    """Series whose training part holds no whole window (``lookback`` inputs, ``horizon``
    targets), as series id -> why.

    Raises:
        PipelineInputError: the common validation or test part is shorter than the horizon,
            so no series could be evaluated.
    """
    for name, (first, end) in (
        ("validation", split.part("validation")),
        ("test", split.part("test")),
    ):
        rows = int((end - first)[0])
        if rows < horizon:
            raise PipelineInputError(
                f"every series' {name} part has {rows} rows (a share of the median length "
                f"{int(np.median(panel.lengths))}), fewer than the horizon {horizon}: lower "
                f"--horizon (forecast.horizon) or raise split.{name}_fraction"
            )
    training = split.validation - split.starts
    needed = lookback + horizon
    return {
        str(panel.ids[i]): (
            f"{panel.lengths[i]} rows leave {training[i]} for training, fewer than the "
            f"{needed} one window needs (lookback {lookback} + horizon {horizon})"
        )
        for i in np.flatnonzero(training < needed)
    }
