"""Walk-forward folds for the search: expanding training windows, each with its own transform.

Each fold validates on a block as long as the validation part and fits its transform on its own
training rows only, so no fold's scaler sees the values it is validated on; the test part is
never used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstm_model.config import MIN_TRAIN_WINDOWS
from lstm_model.errors import PipelineInputError
from lstm_model.modeling.preparation import PreparedData
from lstm_model.modeling.transform import SeriesTransform


@dataclass(frozen=True)
class Fold:
    """Windows of one train/validation cut; targets of ``validation`` follow ``train`` in time."""

    train_stop: int
    validation: tuple[int, int]
    x_train: np.ndarray
    y_train: np.ndarray
    x_validation: np.ndarray
    y_validation: np.ndarray


def refit_transform(
    transform: SeriesTransform, train_values: np.ndarray, lookback: int
) -> SeriesTransform:
    """A transform like ``transform`` (same differencing, season, columns) fitted afresh on
    ``train_values`` with window length ``lookback``."""
    # Optional fields of newer transforms (seasonal differencing, exogenous columns) carry over.
    extra = {
        name: getattr(transform, name)
        for name in ("seasonal_differencing", "season", "columns", "box_cox_lambda", "horizon")
        if hasattr(transform, name)
    }
    return type(transform).fit(train_values, transform.differencing, lookback, **extra)


def walk_forward_folds(data: PreparedData, lookback: int, k: int = 1) -> list[Fold]:
    """``k`` expanding-window folds over the training and validation parts (never the test).

    Each fold validates on a block as long as the validation part; the last fold is exactly the
    train/validation split. Each fold fits its own transform on its own training rows, so no
    fold's scaler sees the values it is validated on.

    Args:
        data: The prepared series (its transform gives the differencing).
        lookback: Window length to cut.
        k: Number of folds; 1 is the plain validation split.

    Returns:
        The folds, oldest first.

    Raises:
        PipelineInputError: when the first fold's training rows are too few for the lookback.
    """
    val_start, val_stop = data.bounds.validation
    length = val_stop - val_start
    folds = []
    for i in range(k):
        stop = val_stop - (k - 1 - i) * length
        start = stop - length
        if i == k - 1 and lookback == data.transform.lookback and start == data.bounds.train[1]:
            # The plain split: reuse the windows (and transform) prepared upstream.
            transform, train, validation = (
                data.transform,
                (data.x_train, data.y_train),
                (data.x_validation, data.y_validation),
            )
        else:
            transform = refit_transform(data.transform, data.values[:start], lookback)
            if start - transform.warmup < MIN_TRAIN_WINDOWS:
                raise PipelineInputError(
                    f"walk-forward fold {i + 1} of {k} would train on {start} rows, too few for "
                    f"lookback {lookback} (needs {MIN_TRAIN_WINDOWS + transform.warmup}). "
                    "Lower tuning.cv_folds or the lookback, or provide a longer series."
                )
            train = transform.windows(data.values, 0, start)
            validation = transform.windows(data.values, start, stop)
        folds.append(Fold(start, (start, stop), *train, *validation))
    return folds
