"""Leakage-free preprocessing: chronological split, train-only scaling, windows cut after the split.

The series is differenced ``d`` times, standardised with a scaler fitted on the training part
only, and cut into (lookback values -> next value) windows. A window belongs to the split its
*target* lies in; its inputs may reach back into earlier splits, which is exactly the history a
forecaster has at that moment, never the future.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.special import comb
from sklearn.preprocessing import StandardScaler

from lstm_model.errors import PipelineInputError

# Fewest training windows worth fitting an LSTM on.
MIN_TRAIN_WINDOWS = 16


@dataclass(frozen=True)
class SplitBounds:
    """Index ranges [start, stop) of each split in the original series."""

    train: tuple[int, int]
    validation: tuple[int, int]
    test: tuple[int, int]


def chronological_split(n: int, validation_fraction: float, test_fraction: float) -> SplitBounds:
    """Train | validation | test by position in time; never shuffled."""
    n_test = max(1, math.ceil(n * test_fraction))
    n_validation = max(1, math.ceil(n * validation_fraction))
    n_train = n - n_validation - n_test
    return SplitBounds((0, n_train), (n_train, n_train + n_validation), (n_train + n_validation, n))


@dataclass(frozen=True)
class SeriesTransform:
    """Difference -> scale -> window, fitted on the training part, invertible to original units.

    ``mean`` and ``scale`` are a scikit-learn ``StandardScaler``'s parameters, kept as plain
    floats so the transform serialises to JSON and travels with the exported model.
    """

    differencing: int
    lookback: int
    mean: float
    scale: float

    @property
    def warmup(self) -> int:
        """Raw values needed before the first forecast: lookback differenced values need d more."""
        return self.lookback + self.differencing

    @classmethod
    def fit(cls, train_values: np.ndarray, differencing: int, lookback: int) -> SeriesTransform:
        """Fit on the training part only.

        Args:
            train_values: Raw target values of the training part, in time order.
            differencing: How many times to difference (0-2).
            lookback: Window length in differenced steps.

        Returns:
            The fitted transform.
        """
        differenced = np.diff(np.asarray(train_values, dtype=float), n=differencing)
        scaler = StandardScaler().fit(differenced.reshape(-1, 1))
        return cls(differencing, lookback, float(scaler.mean_[0]), float(scaler.scale_[0]))

    def scaled(self, values: np.ndarray) -> np.ndarray:
        """Differenced and standardised series; element j belongs to original index j + d."""
        return (
            np.diff(np.asarray(values, dtype=float), n=self.differencing) - self.mean
        ) / self.scale

    def windows(self, values: np.ndarray, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """Windows whose targets are the original indices [start, stop).

        Returns:
            ``X`` of shape (k, lookback, 1) and ``y`` of shape (k,), both scaled.
        """
        start = max(start, self.warmup)
        z = self.scaled(values[:stop])
        # Row r holds z[r : r + lookback + 1]: inputs, then the target at original r + lookback + d.
        rows = sliding_window_view(z, self.lookback + 1)[start - self.warmup :]
        return rows[:, :-1, np.newaxis].astype(np.float32), rows[:, -1].astype(np.float32)

    def forecast_windows(self, values: np.ndarray) -> np.ndarray:
        """Input windows for every target index in [warmup, len(values)], the last one being
        the first step after the data. Shape (len(values) - warmup + 1, lookback, 1)."""
        z = self.scaled(values)
        return sliding_window_view(z, self.lookback)[:, :, np.newaxis].astype(np.float32)

    def inverse(
        self, scaled_predictions: np.ndarray, values: np.ndarray, targets: np.ndarray
    ) -> np.ndarray:
        """Map scaled predictions for original indices ``targets`` back to original units.

        Undifferencing uses the true values before each target, as a one-step forecast does:
        y_t = Δ^d y_t - Σ_{k=1..d} (-1)^k C(d, k) y_{t-k}.
        """
        values = np.asarray(values, dtype=float)
        targets = np.asarray(targets)
        forecast = np.asarray(scaled_predictions, dtype=float).reshape(-1) * self.scale + self.mean
        for k in range(1, self.differencing + 1):
            forecast = forecast - (-1) ** k * comb(self.differencing, k) * values[targets - k]
        return forecast

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> SeriesTransform:
        return cls(**json.loads(text))


@dataclass(frozen=True)
class PreparedData:
    """Everything the model stages need, derived from the split series."""

    values: np.ndarray
    bounds: SplitBounds
    transform: SeriesTransform
    x_train: np.ndarray
    y_train: np.ndarray
    x_validation: np.ndarray
    y_validation: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def prepare(
    values: np.ndarray,
    differencing: int,
    lookback: int,
    validation_fraction: float,
    test_fraction: float,
) -> PreparedData:
    """Split chronologically, fit the transform on train, cut windows per split.

    Raises:
        PipelineInputError: when the series is too short for the lookback and the splits.
    """
    values = np.asarray(values, dtype=float)
    bounds = chronological_split(len(values), validation_fraction, test_fraction)
    transform = SeriesTransform.fit(values[slice(*bounds.train)], differencing, lookback)
    train_windows = bounds.train[1] - transform.warmup
    if train_windows < MIN_TRAIN_WINDOWS:
        needed = MIN_TRAIN_WINDOWS + transform.warmup
        raise PipelineInputError(
            f"the series has {len(values)} rows: its training part ({bounds.train[1]} rows) "
            f"is too short for lookback {lookback} with differencing {differencing} "
            f"(needs at least {needed} training rows, about "
            f"{math.ceil(needed / (1 - validation_fraction - test_fraction))} rows in all). "
            "Provide a longer series or lower analysis.max_lookback."
        )
    return PreparedData(
        values,
        bounds,
        transform,
        *transform.windows(values, *bounds.train),
        *transform.windows(values, *bounds.validation),
        *transform.windows(values, *bounds.test),
    )
