"""The one adapter between a SavedModel directory and the service.

The export (:mod:`lstm_model.delivery.export`) writes a ``serving_default`` signature that takes raw
histories in original units, ``history`` (batch, warmup, 1 + k) float64, and returns
``forecast`` (batch, h) float64 with differencing, scaling and their inverse inside the graph,
and ``lower_<level>`` / ``upper_<level>`` (batch, h) for each interval level.
The service calls that signature with plain TensorFlow and nothing else, so it forecasts exactly
what TensorFlow Serving on SageMaker forecasts from the same package.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lstm_model.errors import PipelineInputError

# The export's contract (lstm_model/delivery/export.py); repeated here so that loading a model for
# serving imports TensorFlow only, not Keras or the training code.
SERVING_SIGNATURE = "serving_default"
HISTORY_INPUT = "history"
FORECAST_OUTPUT = "forecast"
PREPROCESSING_FILE = "preprocessing.json"


@dataclass(frozen=True)
class InputScale:
    """How the model standardises its inputs (from ``preprocessing.json``), so the service can
    say how far a window lies outside the data the model was trained on.

    A window's deviation is the largest absolute standardised input the network would see:
    the target Box-Cox transformed (when it was), differenced and scaled, each exogenous
    column scaled, all with the training part's parameters. An LSTM's saturating units return
    a plausible-looking number for any input, so a deviation of tens of standard deviations
    means the forecast is an extrapolation nobody should trust.
    """

    coefficients: tuple[float, ...]  # of (1 - B)^d (1 - B^m)^D, lag 0 first
    mean: float
    scale: float
    box_cox_lambda: float | None = None
    feature_means: tuple[float, ...] = ()
    feature_scales: tuple[float, ...] = ()

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> InputScale | None:
        """From the fields of ``preprocessing.json``; None when it lacks the scaler."""
        if "mean" not in fields or "scale" not in fields:
            return None
        polynomial = np.array([1.0])
        for _ in range(int(fields.get("differencing", 0))):
            polynomial = np.convolve(polynomial, [1.0, -1.0])
        seasonal = np.r_[1.0, np.zeros(int(fields.get("season", 1)) - 1), -1.0]
        for _ in range(int(fields.get("seasonal_differencing", 0))):
            polynomial = np.convolve(polynomial, seasonal)
        return cls(
            tuple(float(c) for c in polynomial),
            float(fields["mean"]),
            float(fields["scale"]) or 1.0,
            fields.get("box_cox_lambda"),
            tuple(fields.get("feature_means") or ()),
            tuple(fields.get("feature_scales") or ()),
        )

    def deviations(self, windows: np.ndarray) -> np.ndarray:
        """Largest absolute standardised input of each window, (batch, warmup, features)."""
        target = windows[:, :, 0]
        with np.errstate(all="ignore"):
            if self.box_cox_lambda is not None:
                lam = float(self.box_cox_lambda)
                # The serving graph floors at 1e-8: a value at or below 0 is off its scale.
                stabilised = np.log(target) if lam == 0 else (target**lam - 1.0) / lam
                target = np.where(target > 0, stabilised, np.inf)
            coefficients = np.asarray(self.coefficients)
            views = np.lib.stride_tricks.sliding_window_view(target, len(coefficients), axis=1)
            z = np.abs((views @ coefficients[::-1] - self.mean) / self.scale)
            deviation = np.nan_to_num(z, nan=np.inf).max(axis=1)
            if self.feature_means and windows.shape[2] > 1:
                scales = np.asarray([s or 1.0 for s in self.feature_scales])
                features = (windows[:, :, 1:] - np.asarray(self.feature_means)) / scales
                spread = np.nan_to_num(np.abs(features), nan=np.inf).max(axis=(1, 2))
                deviation = np.maximum(deviation, spread)
        result: np.ndarray = deviation
        return result


@dataclass(frozen=True)
class ServedPaths:
    """Forecast paths and their interval bounds, original units.

    Attributes:
        paths: (batch, steps) forecasts.
        bounds: level name ('80', '97_5') -> (lower, upper), each (batch, steps).
    """

    paths: np.ndarray
    bounds: dict[str, tuple[np.ndarray, np.ndarray]]

    def first(self, steps: int) -> ServedPaths:
        """The first ``steps`` steps of every path."""
        return ServedPaths(
            self.paths[:, :steps],
            {name: (lo[:, :steps], hi[:, :steps]) for name, (lo, hi) in self.bounds.items()},
        )

    def outputs(self, index: int) -> list[float] | dict[str, list[float]]:
        """One path as TF Serving answers the signature: the values when ``forecast`` is the
        only output, else output name -> values."""
        if not self.bounds:
            values: list[float] = self.paths[index].tolist()
            return values
        answer = {FORECAST_OUTPUT: self.paths[index].tolist()}
        for name, (lower, upper) in self.bounds.items():
            answer[f"lower_{name}"], answer[f"upper_{name}"] = (
                lower[index].tolist(),
                upper[index].tolist(),
            )
        return answer


@dataclass(frozen=True)
class ServedForecaster:
    """Raw windows in, forecast paths and intervals out, in original units.

    Attributes:
        predict: The SavedModel's serving signature as a NumPy function: every output.
        warmup: Raw time steps per window (lookback plus the differencing order).
        columns: Value columns per time step: the target first, then exogenous features.
        lookback: The network's window length, when the export recorded it.
        input_scale: The training part's scaling, when the export recorded it.
        horizon: Steps of every forecast path (h).
    """

    predict: Callable[[np.ndarray], dict[str, np.ndarray]]
    warmup: int
    columns: tuple[str, ...]
    lookback: int | None = None
    input_scale: InputScale | None = None
    horizon: int = 1

    @property
    def n_features(self) -> int:
        return len(self.columns)

    def forecast(self, raw_windows: np.ndarray) -> ServedPaths:
        """Forecast the h steps after each window, with the exported intervals.

        Args:
            raw_windows: (batch, warmup) for a target-only model, or (batch, warmup, features)
                with the target in column 0; oldest step first, original units.

        Returns:
            (batch, h) float64 paths and their bounds, in original units.

        Raises:
            ValueError: when the shape does not match the model.
        """
        windows = np.asarray(raw_windows, dtype=np.float64)
        if windows.ndim == 2 and self.n_features == 1:
            windows = windows[:, :, np.newaxis]
        expected = (self.warmup, self.n_features)
        if windows.ndim != 3 or windows.shape[1:] != expected:
            raise ValueError(
                f"windows must have shape (batch, {self.warmup}, {self.n_features}), "
                f"got {windows.shape}"
            )
        outputs = self.predict(windows)
        bounds = {
            name.removeprefix("lower_"): (
                np.asarray(outputs[name], dtype=np.float64),
                np.asarray(outputs["upper_" + name.removeprefix("lower_")], dtype=np.float64),
            )
            for name in sorted(outputs)
            if name.startswith("lower_")
        }
        paths = np.asarray(outputs[FORECAST_OUTPUT], dtype=np.float64).reshape(len(windows), -1)
        return ServedPaths(paths, bounds)

    def deviations(self, windows: np.ndarray) -> np.ndarray:
        """How many training standard deviations each window's most extreme model input lies
        from the training data (0 when the export recorded no scaler).

        Args:
            windows: (batch, warmup, features) raw windows.

        Returns:
            (batch,) deviations; infinite for values the model's scale cannot take.
        """
        if self.input_scale is None:
            return np.zeros(len(windows))
        return self.input_scale.deviations(np.asarray(windows, dtype=np.float64))


def load_forecaster(directory: Path) -> ServedForecaster:
    """Load an exported SavedModel's raw-history serving signature with plain TensorFlow.

    Args:
        directory: The SavedModel directory (``saved_model.pb``, ``variables/``).

    Returns:
        The forecaster, already called once so the first request does not pay for tracing.

    Raises:
        PipelineInputError: when the directory holds no SavedModel with the raw-history
            signature (e.g. an export made before the signature existed).
    """
    import tensorflow as tf

    directory = Path(directory)
    if not (directory / "saved_model.pb").is_file():
        raise PipelineInputError(
            f"{directory} holds no saved_model.pb: point the service at a SavedModel exported "
            "by the pipeline (the registered model's 'saved_model' artifact)"
        )
    loaded = tf.saved_model.load(str(directory))
    signature = loaded.signatures.get(SERVING_SIGNATURE)
    inputs = signature.structured_input_signature[1] if signature is not None else {}
    spec = inputs.get(HISTORY_INPUT)
    if spec is None or spec.shape.rank != 3 or None in spec.shape.as_list()[1:]:
        raise PipelineInputError(
            f"the SavedModel in {directory} has no '{SERVING_SIGNATURE}' signature taking raw "
            f"histories '{HISTORY_INPUT}' (batch, warmup, features); it was exported before the "
            "serving signature existed. Retrain, or re-export it with lstm_model.delivery.export."
        )
    _, warmup, n_features = spec.shape.as_list()
    fields = _fields(directory)
    columns = tuple(fields.get("columns") or ())
    if len(columns) != n_features:
        columns = ("value", *(f"x{i}" for i in range(1, n_features)))

    def predict(windows: np.ndarray) -> dict[str, np.ndarray]:
        history = tf.constant(windows, dtype=spec.dtype)
        return {
            name: value.numpy() for name, value in signature(**{HISTORY_INPUT: history}).items()
        }

    # The function keeps the loaded object (and so its variables) alive.
    predict.saved_model = loaded  # type: ignore[attr-defined]
    # The first call traces the graph, so the first request does not pay for it.
    horizon = predict(np.zeros((1, warmup, n_features)))[FORECAST_OUTPUT].shape[1]
    return ServedForecaster(
        predict, warmup, columns, fields.get("lookback"), InputScale.from_fields(fields), horizon
    )


def _fields(directory: Path) -> dict[str, Any]:
    """The export's ``preprocessing.json`` (columns, lookback, scaler); empty without it."""
    path = directory / PREPROCESSING_FILE
    fields: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {}
    return fields
