"""TensorFlow SavedModel export with the preprocessing inside the serving graph, verified in a
fresh process before anything is registered or pushed.

The SavedModel has two signatures:

- ``serving_default``: ``history`` (batch, warmup, 1 + k) float64 raw values in original units
  (target in column 0, exogenous features after it, oldest row first) -> ``forecast`` (batch, h)
  float64, the next h values in original units, and with intervals ``lower_<level>`` /
  ``upper_<level>`` (batch, h) for each level (``lower_80``, ``upper_95``; 97.5 is ``97_5``).
  Box-Cox, differencing along the path, scaling, their inverses and the interval widths run in
  the graph, so TensorFlow Serving (SageMaker) needs nothing else.
- ``windows``: ``window`` (batch, lookback, 1 + k) float32 scaled windows -> the model's scaled
  output, for checks against the Keras model.

``saved_model.pb`` and ``variables/`` sit at the top of the directory (TF Serving layout), next to
``preprocessing.json`` (the fitted transform, for provenance and for the pyfunc's column names).
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np

from lstm_model.analysis.variance import POSITIVE_FLOOR
from lstm_model.evaluation.intervals import ConformalIntervals, level_name
from lstm_model.modeling.fitting import predict_windows
from lstm_model.modeling.forecast import path_forecasts
from lstm_model.modeling.transform import SeriesTransform

# The transform travels inside the package, next to saved_model.pb.
PREPROCESSING_FILE = "preprocessing.json"
SERVING_SIGNATURE = "serving_default"
WINDOWS_SIGNATURE = "windows"
HISTORY_INPUT = "history"
FORECAST_OUTPUT = "forecast"
WINDOW_INPUT = "window"

# Run by a fresh interpreter: plain TensorFlow and NumPy only, no code of ours. It imports
# TensorFlow first (the slow part) and only then waits for the paths on stdin.
_CHECK_SCRIPT = """
import json
import sys
import numpy as np
import tensorflow as tf
directory, inputs, outputs = json.loads(sys.stdin.readline())
serve = tf.saved_model.load(directory).signatures["serving_default"]
history = np.load(inputs)["history"]
served = serve(history=tf.constant(history, dtype=tf.float64))
np.savez(outputs, **{name: tensor.numpy() for name, tensor in served.items()})
"""


class ExportVerificationError(RuntimeError):
    """The exported SavedModel does not reproduce the pipeline's forecasts."""


@dataclass(frozen=True)
class ExportCheck:
    """How closely the reloaded SavedModel matched the pipeline on sample histories."""

    samples: int
    max_abs_difference: float
    max_rel_difference: float
    tolerance: float


def _difference_matrix(transform: SeriesTransform) -> np.ndarray:
    """M (warmup, lookback) with ``history_target @ M`` = the differenced target window."""
    coefficients = transform.coefficients
    matrix = np.zeros((transform.warmup, transform.lookback))
    columns = np.arange(transform.lookback)
    # Differenced value j of the window is sum_k c[k] * raw[j + order - k].
    for lag, coefficient in enumerate(coefficients):
        matrix[columns + transform.order - lag, columns] = coefficient
    return matrix


def interval_outputs(level: float) -> tuple[str, str]:
    """The serving outputs of one interval level: ``lower_80``, ``upper_80``."""
    return f"lower_{level_name(level)}", f"upper_{level_name(level)}"


def export_saved_model(
    model: keras.Model,
    transform: SeriesTransform,
    directory: Path,
    intervals: ConformalIntervals | None = None,
) -> Path:
    """Write the SavedModel (raw-history serving signature plus ``windows``) and the transform.

    Args:
        model: Maps scaled windows (batch, lookback, 1 + k) to scaled paths (batch, h).
        transform: The fitted transform the model was trained with.
        directory: Where to write; ``saved_model.pb`` and ``variables/`` land at its top.
        intervals: Half-widths per level and step, added around the path in the graph.

    Returns:
        The SavedModel directory.
    """
    import tensorflow as tf

    directory = Path(directory)
    order, warmup, features = transform.order, transform.warmup, transform.n_features
    difference = tf.constant(_difference_matrix(transform), tf.float64)
    # Undifferencing: each step adds back -sum_{k>=1} c[k] y[T-k] over the ``order`` values
    # before it (true ones before the origin, the path's own after it); oldest lag first.
    undifference = tf.constant(-transform.coefficients[1:][::-1].copy(), tf.float64)
    horizon = transform.horizon
    widths = (
        {}
        if intervals is None
        else {
            level: tf.constant(np.asarray(width).reshape(1, -1), tf.float64)
            for level, width in zip(intervals.levels, intervals.half_widths, strict=True)
        }
    )
    mean, scale = transform.mean, transform.scale
    feature_means = tf.constant(np.asarray(transform.feature_means).reshape(1, 1, -1), tf.float64)
    feature_scales = tf.constant(np.asarray(transform.feature_scales).reshape(1, 1, -1), tf.float64)

    lam = transform.box_cox_lambda
    interval_lambda = None if intervals is None else intervals.box_cox_lambda

    def box_cox(values: Any, lam: float) -> Any:
        # Same arithmetic as lstm_model.analysis.variance.box_cox.
        floored = tf.maximum(values, POSITIVE_FLOOR)
        return tf.math.log(floored) if lam == 0 else (tf.pow(floored, lam) - 1.0) / lam

    def inverse_box_cox(values: Any, lam: float) -> Any:
        if lam == 0:
            return tf.exp(values)
        return tf.pow(tf.maximum(lam * values + 1.0, 0.0), 1.0 / lam)

    def serve(history: Any) -> dict[str, Any]:
        target = history[:, :, 0]
        if lam is not None:
            target = box_cox(target, lam)
        z = (tf.linalg.matmul(target, difference) - mean) / scale
        window = z[:, :, tf.newaxis]
        if features > 1:
            exogenous = (history[:, order:, 1:] - feature_means) / feature_scales
            window = tf.concat([window, exogenous], axis=-1)
        scaled = tf.reshape(model(tf.cast(window, tf.float32), training=False), [-1, horizon])
        path = tf.cast(scaled, tf.float64) * scale + mean
        if order:
            levels = [target[:, warmup - order + i] for i in range(order)]
            for step in range(horizon):  # h is small and fixed: unrolled in the graph
                recent = tf.stack(levels[-order:], axis=1)
                levels.append(path[:, step] + tf.linalg.matvec(recent, undifference))
            path = tf.stack(levels[order:], axis=1)
        if lam is not None:
            path = inverse_box_cox(path, lam)
        outputs = {FORECAST_OUTPUT: path}
        # Widths are symmetric on the scale they were calibrated on (ConformalIntervals.bounds).
        centre = path if interval_lambda is None else box_cox(path, interval_lambda)
        for level, width in widths.items():
            lower, upper = centre - width, centre + width
            if interval_lambda is not None:
                lower = inverse_box_cox(lower, interval_lambda)
                upper = inverse_box_cox(upper, interval_lambda)
            names = interval_outputs(level)
            outputs[names[0]], outputs[names[1]] = lower, upper
        return outputs

    def windows(window: Any) -> dict[str, Any]:
        return {FORECAST_OUTPUT: model(window, training=False)}

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        name=SERVING_SIGNATURE,
        fn=serve,
        input_signature=[tf.TensorSpec((None, warmup, features), tf.float64, name=HISTORY_INPUT)],
    )
    archive.add_endpoint(
        name=WINDOWS_SIGNATURE,
        fn=windows,
        input_signature=[
            tf.TensorSpec((None, transform.lookback, features), tf.float32, name=WINDOW_INPUT)
        ],
    )
    archive.write_out(str(directory), verbose=False)
    (directory / PREPROCESSING_FILE).write_text(transform.to_json())
    return directory


def load_transform(directory: Path) -> SeriesTransform:
    """The transform an export was made with (its ``preprocessing.json``)."""
    return SeriesTransform.from_json((Path(directory) / PREPROCESSING_FILE).read_text())


def load_serving(directory: Path) -> Callable[[np.ndarray], dict[str, np.ndarray]]:
    """Load the serving signature with plain TensorFlow.

    Returns:
        A function raw histories (batch, warmup, 1 + k) -> every output in original units:
        ``forecast`` (batch, h) and ``lower_<level>`` / ``upper_<level>`` when exported with
        intervals.
    """
    import tensorflow as tf

    loaded = tf.saved_model.load(str(directory))
    serve = loaded.signatures[SERVING_SIGNATURE]

    def outputs(histories: np.ndarray) -> dict[str, np.ndarray]:
        tensor = tf.constant(np.asarray(histories, dtype=np.float64))
        return {name: value.numpy() for name, value in serve(**{HISTORY_INPUT: tensor}).items()}

    outputs.saved_model = loaded  # type: ignore[attr-defined]  # keep it alive with the function
    return outputs


def load_history_predictor(directory: Path) -> Callable[[np.ndarray], np.ndarray]:
    """Raw histories (batch, warmup, 1 + k) -> forecast paths (batch, h), original units."""
    serve = load_serving(directory)

    def predict(histories: np.ndarray) -> np.ndarray:
        return serve(histories)[FORECAST_OUTPUT]

    return predict


def load_window_predictor(
    directory: Path,
) -> tuple[Callable[[np.ndarray], np.ndarray], SeriesTransform]:
    """Load the ``windows`` signature with plain TensorFlow.

    Returns:
        windows (k, lookback, 1 + k) -> scaled forecasts (k, h), and the export's transform.
    """
    import tensorflow as tf

    loaded = tf.saved_model.load(str(directory))
    serve = loaded.signatures[WINDOWS_SIGNATURE]

    def predict(windows: np.ndarray) -> np.ndarray:
        outputs = serve(**{WINDOW_INPUT: tf.constant(windows, dtype=tf.float32)})
        forecasts: np.ndarray = outputs[FORECAST_OUTPUT].numpy().reshape(len(windows), -1)
        return forecasts

    predict.saved_model = loaded  # type: ignore[attr-defined]
    return predict, load_transform(directory)


def sample_histories(
    transform: SeriesTransform, values: np.ndarray, count: int = 64
) -> tuple[np.ndarray, np.ndarray]:
    """Raw histories for the last ``count`` forecastable targets (the step after the data too).

    Returns:
        Histories (count, warmup, 1 + k) and the original indices of their targets.
    """
    histories = transform.histories(values)
    targets = np.arange(transform.warmup, len(values) + 1)
    return np.ascontiguousarray(histories[-count:]), targets[-count:]


class FreshTensorFlow:
    """A new Python process that imports only TensorFlow, then serves one SavedModel once.

    A fresh interpreter proves the SavedModel stands alone: no Keras objects, custom code or
    state of this process can leak into the answer. Importing TensorFlow takes several seconds,
    so the process starts when this object is made and imports while the caller is still
    writing the SavedModel; :meth:`serve` hands it the paths.

    Use it as a context manager so the process and its folder go away on errors too.
    """

    def __init__(self, timeout: float = 180) -> None:
        self.timeout = timeout
        self._folder = tempfile.TemporaryDirectory(prefix="export-check-")
        self._process = subprocess.Popen(
            [sys.executable, "-c", _CHECK_SCRIPT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
            cwd=self._folder.name,
        )

    def __enter__(self) -> FreshTensorFlow:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def serve(self, directory: Path, histories: np.ndarray) -> dict[str, np.ndarray]:
        """Every output of the SavedModel's serving signature for raw ``histories``.

        Raises:
            ExportVerificationError: when the process fails or times out.
        """
        folder = Path(self._folder.name)
        inputs, outputs = folder / "inputs.npz", folder / "outputs.npz"
        np.savez(inputs, history=np.asarray(histories, dtype=np.float64))
        request = json.dumps([str(directory), str(inputs), str(outputs)]) + "\n"
        try:
            _, stderr = self._process.communicate(request, timeout=self.timeout)
        except subprocess.TimeoutExpired as error:
            raise ExportVerificationError(
                f"loading {directory} with plain TensorFlow took over {self.timeout} s; "
                "refusing to register or push it"
            ) from error
        if self._process.returncode != 0:
            tail = "\n".join(stderr.strip().splitlines()[-5:])
            raise ExportVerificationError(
                f"a fresh TensorFlow process could not serve {directory} "
                f"(exit {self._process.returncode}): {tail}; refusing to register or push it"
            )
        with np.load(outputs) as loaded:
            return {name: loaded[name] for name in loaded.files}

    def close(self) -> None:
        """Stop the process if it is still running and remove its folder."""
        if self._process.poll() is None:
            self._process.kill()
            self._process.communicate()
        self._folder.cleanup()


class LoadedTensorFlow:
    """Serves a SavedModel loaded into this process with plain ``tf.saved_model.load``.

    The cheap check (no second interpreter importing TensorFlow): it proves the serving graph
    reproduces the pipeline, but not that the SavedModel stands alone outside this process,
    which only :class:`FreshTensorFlow` shows.
    """

    def serve(self, directory: Path, histories: np.ndarray) -> dict[str, np.ndarray]:
        """Every output of the SavedModel's serving signature for raw ``histories``."""
        return load_serving(directory)(histories)


def verify_export(
    directory: Path,
    model: keras.Model,
    transform: SeriesTransform,
    values: np.ndarray,
    tolerance: float = 1e-6,
    count: int = 64,
    fresh: FreshTensorFlow | LoadedTensorFlow | None = None,
    intervals: ConformalIntervals | None = None,
) -> ExportCheck:
    """Serve sample histories from the export in a fresh process and compare with the pipeline.

    The pipeline's own forecast is :func:`path_forecasts` with the Keras model and the fitted
    transform in NumPy, with the intervals around it; every output of the export must match
    within ``tolerance`` relative to the series' scale:
    |served - pipeline| <= tolerance * (|pipeline| + transform.scale).

    Args:
        directory: The SavedModel directory.
        model: The trained Keras model.
        transform: The fitted transform.
        values: The series, (n,) or (n, 1 + k); the last ``count`` forecastable steps are used.
        tolerance: Relative tolerance; float32 inside the network keeps honest exports ~1e-9.
        count: Number of sample histories.
        fresh: A process started ahead (it imports TensorFlow while the export is written);
            None starts one now; a :class:`LoadedTensorFlow` serves it in this process.
        intervals: The widths the export was written with, if any.

    Returns:
        The sizes of the differences.

    Raises:
        ExportVerificationError: when any forecast is off or the export cannot be served.
    """
    histories, origins = sample_histories(transform, values, count)
    path = path_forecasts(functools.partial(predict_windows, model), transform, values)[origins]
    expected = {FORECAST_OUTPUT: path}
    if intervals is not None:
        for level, (lower, upper) in intervals.bounds(path).items():
            expected.update(zip(interval_outputs(level), (lower, upper), strict=True))
    if fresh is None:
        with FreshTensorFlow() as process:
            served = process.serve(directory, histories)
    else:
        served = fresh.serve(directory, histories)
    worst_abs, worst_rel = compare_outputs(
        directory, expected, served, transform.scale, tolerance, [f"origin {o}" for o in origins]
    )
    return ExportCheck(len(origins), worst_abs, worst_rel, tolerance)


def compare_outputs(
    directory: Path,
    expected: dict[str, np.ndarray],
    served: dict[str, np.ndarray],
    scale: float,
    tolerance: float,
    rows: list[str],
) -> tuple[float, float]:
    """Check every served output against the pipeline's: same names, shapes and values.

    Args:
        directory: The SavedModel, for messages.
        expected: The pipeline's outputs, each (count, h).
        served: What the SavedModel returned.
        scale: Added to |expected| in the relative difference (the series' scale).
        tolerance: Largest relative difference accepted.
        rows: What each row is, for messages ('origin 412', 'history 3').

    Returns:
        The largest absolute and relative differences.

    Raises:
        ExportVerificationError: an output is missing, has another shape or differs.
    """
    if set(served) != set(expected):
        raise ExportVerificationError(
            f"the SavedModel in {directory} returns {sorted(served)}, expected "
            f"{sorted(expected)}; refusing to register or push it"
        )
    worst_abs, worst_rel = 0.0, 0.0
    for name, wanted in expected.items():
        got = served[name]
        if got.shape != wanted.shape:
            raise ExportVerificationError(
                f"the SavedModel in {directory} returned {name} of shape {got.shape} for "
                f"{wanted.shape}; refusing to register or push it"
            )
        difference = np.abs(got - wanted)
        relative = difference / (np.abs(wanted) + scale)
        worst_abs = max(worst_abs, float(np.max(difference)))
        worst_rel = max(worst_rel, float(np.max(relative)))
        if not np.all(relative <= tolerance):
            finite = np.isfinite(relative).any()
            row = int(np.nanargmax(relative)) // wanted.shape[1] if finite else 0
            raise ExportVerificationError(
                f"the SavedModel in {directory} does not reproduce the pipeline's {name}: "
                f"max difference {float(np.max(difference)):.3g} (relative "
                f"{float(np.max(relative)):.3g} > {tolerance}) over {len(rows)} sample "
                f"histories, worst from {rows[row]}; refusing to register or push it"
            )
    return worst_abs, worst_rel


def describe_signature(transform: SeriesTransform) -> str:
    """A one-line description of the serving signature, for logs and the README."""
    return json.dumps(
        {
            "signature": SERVING_SIGNATURE,
            "input": {HISTORY_INPUT: ["batch", transform.warmup, transform.n_features]},
            "columns": list(transform.columns),
            "output": {FORECAST_OUTPUT: ["batch"]},
        }
    )
