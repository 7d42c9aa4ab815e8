"""The one adapter between a SavedModel directory and the service.

The export (:mod:`lstm_model.delivery.export`) writes a ``serving_default`` signature that takes raw
histories in original units, ``history`` (batch, warmup, 1 + k) float64, and returns
``forecast`` (batch,) float64 with differencing, scaling and their inverse inside the graph.
The service calls that signature with plain TensorFlow and nothing else, so it forecasts exactly
what TensorFlow Serving on SageMaker forecasts from the same package.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lstm_model.errors import PipelineInputError

# The export's contract (lstm_model/delivery/export.py); repeated here so that loading a model for
# serving imports TensorFlow only, not Keras or the training code.
SERVING_SIGNATURE = "serving_default"
HISTORY_INPUT = "history"
FORECAST_OUTPUT = "forecast"
PREPROCESSING_FILE = "preprocessing.json"


@dataclass(frozen=True)
class ServedForecaster:
    """Raw windows in, next-step forecasts out, in original units.

    Attributes:
        predict: The SavedModel's serving signature as a NumPy function.
        warmup: Raw time steps per window (lookback plus the differencing order).
        columns: Value columns per time step: the target first, then exogenous features.
        lookback: The network's window length, when the export recorded it.
    """

    predict: Callable[[np.ndarray], np.ndarray]
    warmup: int
    columns: tuple[str, ...]
    lookback: int | None = None

    @property
    def n_features(self) -> int:
        return len(self.columns)

    def forecast(self, raw_windows: np.ndarray) -> np.ndarray:
        """Forecast the step after each window.

        Args:
            raw_windows: (batch, warmup) for a target-only model, or (batch, warmup, features)
                with the target in column 0; oldest step first, original units.

        Returns:
            (batch,) float64 forecasts in original units.

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
        return np.asarray(self.predict(windows), dtype=np.float64).reshape(-1)


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
    columns, lookback = _columns(directory, n_features)

    def predict(windows: np.ndarray) -> np.ndarray:
        history = tf.constant(windows, dtype=spec.dtype)
        forecasts: np.ndarray = signature(**{HISTORY_INPUT: history})[FORECAST_OUTPUT].numpy()
        return forecasts

    # The function keeps the loaded object (and so its variables) alive.
    predict.saved_model = loaded  # type: ignore[attr-defined]
    forecaster = ServedForecaster(predict, warmup, columns, lookback)
    forecaster.forecast(np.zeros((1, warmup, n_features)))
    return forecaster


def _columns(directory: Path, n_features: int) -> tuple[tuple[str, ...], int | None]:
    """Column names and lookback from ``preprocessing.json``; generic names without it."""
    path = directory / PREPROCESSING_FILE
    fields = json.loads(path.read_text()) if path.is_file() else {}
    columns = tuple(fields.get("columns") or ())
    if len(columns) != n_features:
        columns = ("value", *(f"x{i}" for i in range(1, n_features)))
    return columns, fields.get("lookback")
