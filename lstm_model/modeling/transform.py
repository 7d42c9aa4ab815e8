"""Leakage-free preprocessing: Box-Cox, differencing, train-only scaling and windows.

The target is differenced (``d`` regular and ``D`` seasonal differences), standardised with a
scaler fitted on the training part only (each exogenous feature with its own), and cut into
(lookback steps -> next ``horizon`` values) windows. A window belongs to the split *all* its
targets lie in; its inputs may reach back into earlier splits, which is exactly the history a
forecaster has at that moment, never the future.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.preprocessing import StandardScaler

from lstm_model.analysis.variance import box_cox, inverse_box_cox

# Name of the target among the model's input columns (exogenous features keep their own).
TARGET_COLUMN = "value"


@dataclass(frozen=True)
class SeriesTransform:
    """Box-Cox -> difference -> scale -> window, fitted on the training part, invertible to
    original units.

    The target (column 0) is Box-Cox transformed when ``box_cox_lambda`` is set (see
    :mod:`lstm_model.analysis.variance`), differenced with ``(1 - B)^d (1 - B^m)^D`` (``d``
    regular and ``D`` seasonal differences at period ``m``) and standardised; each exogenous
    column is standardised with its own scaler and kept at its original time index. A window's
    targets are the next ``horizon`` differenced, scaled target values (a direct, multi-output
    forecast); :meth:`inverse_paths` undoes the differencing along each forecast path.
    ``mean``/``scale`` and ``feature_means``/``feature_scales`` are scikit-learn
    ``StandardScaler`` parameters, kept as plain floats so the transform serialises to JSON and
    travels with the exported model (where the same arithmetic runs inside the serving graph).

    Values are either a 1-D target of shape (n,) or a matrix (n, 1 + k) with the target in
    column 0 and k exogenous features after it; windows have shape (count, lookback, 1 + k).
    """

    differencing: int
    lookback: int
    mean: float
    scale: float
    seasonal_differencing: int = 0
    season: int = 1
    feature_means: tuple[float, ...] = ()
    feature_scales: tuple[float, ...] = ()
    columns: tuple[str, ...] = (TARGET_COLUMN,)
    box_cox_lambda: float | None = None
    horizon: int = 1

    @property
    def order(self) -> int:
        """Raw values one differenced value consumes beyond itself: d + D * m."""
        return self.differencing + self.seasonal_differencing * self.season

    @property
    def warmup(self) -> int:
        """Raw values needed before the first forecast: lookback differenced values need
        ``order`` more."""
        return self.lookback + self.order

    @property
    def n_features(self) -> int:
        """Values per time step in a window: the target plus the exogenous features."""
        return 1 + len(self.feature_means)

    @property
    def coefficients(self) -> np.ndarray:
        """``c`` with differenced_t = sum_k c[k] * y[t - k] (so ``c[0] == 1``)."""
        return difference_coefficients(self.differencing, self.seasonal_differencing, self.season)

    @classmethod
    def fit(
        cls,
        train_values: np.ndarray,
        differencing: int,
        lookback: int,
        seasonal_differencing: int = 0,
        season: int = 1,
        columns: Sequence[str] | None = None,
        box_cox_lambda: float | None = None,
        horizon: int = 1,
    ) -> SeriesTransform:
        """Fit on the training part only.

        Args:
            train_values: Raw values of the training part in time order, (n,) or (n, 1 + k).
            differencing: Regular differences d (0-2).
            lookback: Window length in differenced steps.
            seasonal_differencing: Seasonal differences D (0 or 1) at period ``season``.
            season: Seasonal period m (needed > 1 when D > 0).
            columns: Names of the value columns (target first); default ``value``, ``x1``, ...
            box_cox_lambda: Box-Cox lambda of the target (None: original scale).
            horizon: Steps each window forecasts (h).

        Returns:
            The fitted transform.

        Raises:
            ValueError: for a seasonal difference without a season, or too few rows to fit.
        """
        if horizon < 1:
            raise ValueError(f"the horizon must be at least 1 step, got {horizon}")
        matrix = as_matrix(train_values)
        if seasonal_differencing and season < 2:
            raise ValueError(f"seasonal differencing needs a season > 1, got {season}")
        coefficients = difference_coefficients(differencing, seasonal_differencing, season)
        if len(matrix) < len(coefficients) + 1:
            raise ValueError(
                f"{len(matrix)} training rows cannot fit a transform differencing over "
                f"{len(coefficients) - 1} steps"
            )
        target = matrix[:, 0] if box_cox_lambda is None else box_cox(matrix[:, 0], box_cox_lambda)
        differenced = _difference(target, coefficients)
        scaler = StandardScaler().fit(differenced.reshape(-1, 1))
        features = StandardScaler().fit(matrix[:, 1:]) if matrix.shape[1] > 1 else None
        names = tuple(columns) if columns is not None else _default_columns(matrix.shape[1])
        if len(names) != matrix.shape[1]:
            raise ValueError(f"{len(names)} column names for {matrix.shape[1]} value columns")
        return cls(
            differencing,
            lookback,
            float(scaler.mean_[0]),
            float(scaler.scale_[0]),
            seasonal_differencing,
            season,
            tuple(float(v) for v in features.mean_) if features else (),
            tuple(float(v) for v in features.scale_) if features else (),
            names,
            None if box_cox_lambda is None else float(box_cox_lambda),
            horizon,
        )

    def stabilised(self, target: np.ndarray) -> np.ndarray:
        """The target on the scale the differences are taken on (Box-Cox when it is set)."""
        target = np.asarray(target, dtype=float)
        return target if self.box_cox_lambda is None else box_cox(target, self.box_cox_lambda)

    def scaled(self, values: np.ndarray) -> np.ndarray:
        """Differenced and standardised target; element j belongs to original index j + order."""
        target = self.stabilised(as_matrix(values)[:, 0])
        return (_difference(target, self.coefficients) - self.mean) / self.scale

    def model_inputs(self, values: np.ndarray) -> np.ndarray:
        """The per-step model inputs (n - order, 1 + k): the scaled, differenced target in
        column 0 and the scaled features at the same original indices after it."""
        matrix = self._checked(values)
        z = self.scaled(matrix)
        if self.n_features == 1:
            return z[:, np.newaxis]
        features = (matrix[self.order :, 1:] - np.asarray(self.feature_means)) / np.asarray(
            self.feature_scales
        )
        return np.column_stack([z, features])

    def window_targets(self, start: int, stop: int) -> np.ndarray:
        """Original indices of the first targets of :meth:`windows` for [start, stop)."""
        return np.arange(max(start, self.warmup), stop - self.horizon + 1)

    def windows(self, values: np.ndarray, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """Windows whose ``horizon`` targets all lie in the original indices [start, stop).

        Returns:
            ``X`` of shape (count, lookback, 1 + k) and ``y`` of shape (count, horizon), both
            scaled; row r's targets are the indices ``window_targets(start, stop)[r] + j``.
        """
        start = max(start, self.warmup)
        span = self.lookback + self.horizon
        if start > stop - self.horizon:
            empty = np.zeros((0, self.lookback, self.n_features), dtype=np.float32)
            return empty, np.zeros((0, self.horizon), dtype=np.float32)
        inputs = self.model_inputs(as_matrix(values)[:stop])
        # Row r holds inputs[r : r + lookback + horizon]: the window, then the targets from
        # original index r + warmup on. Views, not copies, until the final cast.
        rows = sliding_window_view(inputs, span, axis=0)[start - self.warmup :]
        x = rows[:, :, : self.lookback].transpose(0, 2, 1)
        return x.astype(np.float32), rows[:, 0, self.lookback :].astype(np.float32)

    def forecast_windows(self, values: np.ndarray) -> np.ndarray:
        """Input windows for every target index in [warmup, len(values)], the last one being
        the first step after the data. Shape (len(values) - warmup + 1, lookback, 1 + k)."""
        inputs = self.model_inputs(values)
        windows = sliding_window_view(inputs, self.lookback, axis=0).transpose(0, 2, 1)
        return windows.astype(np.float32)

    def histories(self, values: np.ndarray) -> np.ndarray:
        """Raw histories (original units) for every target index in [warmup, len(values)]:
        row i holds ``values[i : i + warmup]``, what the serving signature takes to forecast
        index ``i + warmup``. Shape (len(values) - warmup + 1, warmup, 1 + k)."""
        matrix = self._checked(values)
        return sliding_window_view(matrix, self.warmup, axis=0).transpose(0, 2, 1)

    def inverse(
        self, scaled_predictions: np.ndarray, values: np.ndarray, targets: np.ndarray
    ) -> np.ndarray:
        """Map scaled one-step predictions for original indices ``targets`` back to original
        units, undifferencing with the true values before each target (see
        :meth:`inverse_paths`, of which this is the one-step case)."""
        scaled = np.asarray(scaled_predictions, dtype=float).reshape(-1, 1)
        paths: np.ndarray = self.inverse_paths(scaled, values, targets)[:, 0]
        return paths

    def inverse_paths(
        self, scaled_paths: np.ndarray, values: np.ndarray, origins: np.ndarray
    ) -> np.ndarray:
        """Map scaled forecast paths back to original units.

        Path r forecasts the indices ``origins[r] + j`` for j < h from the true values before
        ``origins[r]``. Undifferencing runs along the path: y_t = w_t - sum_{k>=1} c_k y_{t-k},
        with ``c`` the :attr:`coefficients`, true values for lags before the origin and the
        path's own forecasts after it (on the Box-Cox scale when it is set; the result is then
        transformed back: the median, not the mean, of the back-transformed forecast).

        Args:
            scaled_paths: (count, h) scaled, differenced forecasts.
            values: The series; only values before each origin are read.
            origins: (count,) index of each path's first forecast, at least ``order``.

        Returns:
            (count, h) forecasts in original units.
        """
        target = self.stabilised(as_matrix(values)[:, 0])
        origins = np.asarray(origins)
        paths = np.asarray(scaled_paths, dtype=float) * self.scale + self.mean
        coefficients = self.coefficients
        order = len(coefficients) - 1
        if order:
            # Each row: the last ``order`` true values before its origin, then the path as it
            # is rebuilt; lags reach back into it. The loop runs over the h steps only.
            history = target[origins[:, np.newaxis] - order + np.arange(order)]
            level = np.concatenate([history, np.zeros_like(paths)], axis=1)
            for step in range(paths.shape[1]):
                lagged = level[:, step : step + order][:, ::-1]
                level[:, order + step] = paths[:, step] - lagged @ coefficients[1:]
            paths = level[:, order:]
        if self.box_cox_lambda is not None:
            paths = inverse_box_cox(paths, self.box_cox_lambda)
        return paths

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> SeriesTransform:
        fields = json.loads(text)
        for name in ("feature_means", "feature_scales", "columns"):
            if name in fields:
                fields[name] = tuple(fields[name])
        return cls(**fields)

    def _checked(self, values: np.ndarray) -> np.ndarray:
        matrix = as_matrix(values)
        if matrix.shape[1] != self.n_features:
            raise ValueError(
                f"the transform was fitted on {self.n_features} value column(s) "
                f"{list(self.columns)}, got {matrix.shape[1]}"
            )
        return matrix


def difference_coefficients(
    differencing: int, seasonal_differencing: int = 0, season: int = 1
) -> np.ndarray:
    """Coefficients of the lag polynomial (1 - B)^d (1 - B^m)^D, lowest power first."""
    coefficients = np.ones(1)
    for _ in range(differencing):
        coefficients = np.convolve(coefficients, [1.0, -1.0])
    for _ in range(seasonal_differencing):
        coefficients = np.convolve(coefficients, np.r_[1.0, np.zeros(season - 1), -1.0])
    return coefficients


def as_matrix(values: np.ndarray) -> np.ndarray:
    """Values as a float matrix (n, 1 + k): a 1-D target becomes one column."""
    matrix = np.asarray(values, dtype=float)
    if matrix.ndim == 1:
        return matrix[:, np.newaxis]
    if matrix.ndim != 2 or matrix.shape[1] < 1:
        raise ValueError(f"values must have shape (n,) or (n, 1 + k), got {matrix.shape}")
    return matrix


def _difference(target: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
    if len(coefficients) == 1:
        return target.copy()
    # Row r of the view is target[r : r + L]; its dot product with the reversed coefficients
    # is sum_k c[k] * target[t - k] for t = r + L - 1.
    differenced: np.ndarray = sliding_window_view(target, len(coefficients)) @ coefficients[::-1]
    return differenced


def _default_columns(count: int) -> tuple[str, ...]:
    return (TARGET_COLUMN, *(f"x{i}" for i in range(1, count)))
