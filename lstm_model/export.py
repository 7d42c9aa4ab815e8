"""TensorFlow SavedModel export, verified against the Keras model before anything ships."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from lstm_model.preprocess import SeriesTransform

# The transform travels inside the package, next to saved_model.pb.
PREPROCESSING_FILE = "preprocessing.json"


class ExportVerificationError(RuntimeError):
    """The reloaded SavedModel does not reproduce the Keras model's forecasts."""


def export_saved_model(model: keras.Model, transform: SeriesTransform, directory: Path) -> Path:
    """Write a TF SavedModel (signatures ``serve`` and ``serving_default``) plus the transform.

    Returns:
        The SavedModel directory.
    """
    directory = Path(directory)
    model.export(str(directory), format="tf_saved_model", verbose=False)
    (directory / PREPROCESSING_FILE).write_text(transform.to_json())
    return directory


def load_window_predictor(directory: Path):
    """Load a SavedModel with plain TensorFlow; returns windows (k, lookback, f) -> forecasts (k,).

    The transform it was trained with is read from the same directory.
    """
    import tensorflow as tf

    loaded = tf.saved_model.load(str(directory))
    serve = loaded.signatures["serving_default"]
    input_name = next(iter(serve.structured_input_signature[1]))

    def predict(windows: np.ndarray) -> np.ndarray:
        outputs = serve(**{input_name: tf.constant(windows, dtype=tf.float32)})
        return next(iter(outputs.values())).numpy().reshape(-1)

    # Keep the loaded object alive as long as the function is.
    predict.saved_model = loaded  # type: ignore[attr-defined]
    transform = SeriesTransform.from_json((Path(directory) / PREPROCESSING_FILE).read_text())
    return predict, transform


def verify_export(
    directory: Path, model: keras.Model, windows: np.ndarray, tolerance: float = 1e-5
) -> float:
    """Reload the export and compare its forecasts with the Keras model's on ``windows``.

    Returns:
        The largest absolute difference.

    Raises:
        ExportVerificationError: when any forecast differs by more than ``tolerance``.
    """
    predict, _ = load_window_predictor(directory)
    expected = model.predict(windows, verbose=0).reshape(-1)
    difference = float(np.max(np.abs(predict(windows) - expected)))
    if not difference <= tolerance:
        raise ExportVerificationError(
            f"the SavedModel in {directory} differs from the trained model by {difference:.3g} "
            f"(tolerance {tolerance}) on {len(windows)} windows; refusing to register or push it"
        )
    return difference
