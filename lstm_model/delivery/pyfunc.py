"""The registered model: an MLflow pyfunc that forecasts from raw history in original units.

It serves from the exported SavedModel's ``serving_default`` signature, the very graph that
goes to TensorFlow Serving, so the registry, the SageMaker package and the pipeline agree.

Input: a DataFrame with a ``value`` column (plus the exogenous columns the model was trained
with), the series in time order. The ``output`` parameter picks the answer:

- ``backtest`` (default): one ``prediction`` per row, each forecast from the rows *before* it
  only (NaN where the history is shorter than the model's ``warmup``); append a row with a
  missing value to get the forecast of the next, unseen step.
- ``paths``: one row per input row with ``step_1`` ... ``step_h``: the path forecast from that
  row's origin (that row and the h - 1 after it) from the rows before it.
- ``forecast``: the ``steps`` (default h) values after the last row: ``step``, ``prediction``
  and ``lo-<level>`` / ``hi-<level>`` for each interval level.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.models import infer_signature
from mlflow.pyfunc import PythonModel

from lstm_model.delivery.registry import CHALLENGER, champion_version
from lstm_model.evaluation.intervals import bounds_by_level
from lstm_model.modeling.transform import TARGET_COLUMN

INPUT_COLUMN = TARGET_COLUMN
OUTPUT_COLUMN = "prediction"
OUTPUTS = ("backtest", "paths", "forecast")
# Pinned so MLflow does not spend seconds inferring them (and get tensorflow vs -cpu wrong).
SERVING_REQUIREMENTS = [
    "tensorflow-cpu==2.21.0",
    "mlflow==3.17.2",
    "numpy==2.4.6",
    "pandas==3.1.1",
    "scipy==1.17.1",
    "scikit-learn==1.9.1",
    "lstm-pipeline",
]


class LSTMForecaster(PythonModel):
    """Wraps the exported SavedModel's serving signature; needs no Keras to serve."""

    def load_context(self, context: Any) -> None:
        from lstm_model.delivery.export import load_serving, load_transform

        directory = context.artifacts["saved_model"]
        self.serve_histories = load_serving(directory)
        transform = load_transform(directory)
        self.columns = list(transform.columns)
        self.warmup = transform.warmup
        self.horizon = transform.horizon

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        frame = pd.DataFrame(model_input)
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise ValueError(
                f"the model needs columns {self.columns}; missing {missing} in the input"
            )
        params = params or {}
        output = params.get("output") or "backtest"
        values = frame[self.columns].to_numpy(float)
        if output == "backtest":
            return pd.DataFrame({OUTPUT_COLUMN: self.paths(values)[:, 0]})
        if output == "paths":
            paths = self.paths(values)
            return pd.DataFrame(paths, columns=[f"step_{k}" for k in range(1, self.horizon + 1)])
        if output == "forecast":
            return self.forecast(values, int(params.get("steps") or self.horizon))
        raise ValueError(f"output must be one of {', '.join(OUTPUTS)}, got {output!r}")

    def paths(self, values: np.ndarray) -> np.ndarray:
        """Row t: the path from origin t, from the rows before it (NaN while history is short)."""
        paths = np.full((len(values), self.horizon), np.nan)
        if len(values) <= self.warmup:
            return paths
        # Row i of the view holds rows [i, i + warmup): the history of row i + warmup. The last
        # row's own value is never an input, so it may be missing.
        histories = np.lib.stride_tricks.sliding_window_view(
            values[:-1], self.warmup, axis=0
        ).transpose(0, 2, 1)
        paths[self.warmup :] = self.serve_histories(np.ascontiguousarray(histories))["forecast"]
        return paths

    def forecast(self, values: np.ndarray, steps: int) -> pd.DataFrame:
        """The ``steps`` values after the last row, with the exported interval bounds."""
        check_steps(steps, self.horizon)
        if len(values) < self.warmup:
            raise ValueError(f"the model needs the last {self.warmup} rows, got {len(values)}")
        outputs = self.serve_histories(np.ascontiguousarray(values[np.newaxis, -self.warmup :]))
        return pd.DataFrame({"step": np.arange(1, steps + 1), **forecast_columns(outputs, steps)})


PANEL_OUTPUTS = ("forecast", "paths")


@dataclass(frozen=True)
class PanelInput:
    """A panel pyfunc's input rows grouped by series (time order kept within each).

    ``values[starts[i]:stops[i]]`` are series ``ids[i]``'s rows; ``order`` maps them back:
    grouped row j is input row ``order[j]``.
    """

    ids: np.ndarray
    values: np.ndarray
    starts: np.ndarray
    stops: np.ndarray
    order: np.ndarray
    output: str
    steps: int | None


def panel_input(
    model_input: pd.DataFrame, series_column: str, params: dict[str, Any] | None
) -> PanelInput:
    """Check and group the long input of a panel's pyfunc (global or local models).

    Raises:
        ValueError: a column is missing, the output is unknown or there are no rows.
    """
    frame = pd.DataFrame(model_input)
    missing = [c for c in (series_column, INPUT_COLUMN) if c not in frame.columns]
    if missing:
        raise ValueError(
            f"the model needs columns {[series_column, INPUT_COLUMN]}; missing {missing} in "
            "the input"
        )
    params = params or {}
    output = params.get("output") or "forecast"
    if output not in PANEL_OUTPUTS:
        raise ValueError(f"output must be one of {', '.join(PANEL_OUTPUTS)}, got {output!r}")
    if frame.empty:
        raise ValueError("the input has no rows")
    ids = frame[series_column].astype(str).to_numpy()
    values = frame[INPUT_COLUMN].to_numpy(dtype=float)
    # Stable: each series' rows keep their time order.
    order = np.argsort(ids, kind="stable")
    unique, starts = np.unique(ids[order], return_index=True)
    stops = np.r_[starts[1:], len(ids)]
    steps = params.get("steps")
    return PanelInput(
        unique, values[order], starts, stops, order, output, None if steps is None else int(steps)
    )


def check_steps(steps: int, horizon: int) -> None:
    """Refuse a request for fewer than 1 or more than ``horizon`` steps."""
    if not 1 <= steps <= horizon:
        raise ValueError(f"steps must be between 1 and the model's horizon {horizon}")


def forecast_columns(outputs: dict[str, np.ndarray], steps: int) -> dict[str, np.ndarray]:
    """The first ``steps`` steps of every served path as table columns, path after path:
    ``prediction`` and ``lo-<level>`` / ``hi-<level>`` for each exported interval level."""
    columns = {OUTPUT_COLUMN: outputs["forecast"][:, :steps].reshape(-1)}
    for name, (lower, upper) in bounds_by_level(outputs).items():
        level = name.replace("_", ".")
        columns[f"lo-{level}"] = lower[:, :steps].reshape(-1)
        columns[f"hi-{level}"] = upper[:, :steps].reshape(-1)
    return columns


def history_frame(values: np.ndarray, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The model's input form for a series of values, (n,) or (n, 1 + k) with the target first.

    Args:
        values: The series in time order.
        columns: Column names, target first; default ``value`` for a 1-D series.
    """
    matrix = np.asarray(values, dtype=float)
    if matrix.ndim == 1:
        matrix = matrix[:, np.newaxis]
    names = list(columns) if columns is not None else [INPUT_COLUMN]
    if len(names) != matrix.shape[1]:
        raise ValueError(f"{len(names)} column names for {matrix.shape[1]} value columns")
    return pd.DataFrame(matrix, columns=names)


def log_forecaster(
    saved_model_dir: Path,
    model_name: str,
    example_values: np.ndarray,
    tags: dict[str, str],
    keras_model: Path | None = None,
    description: str | None = None,
) -> ModelVersion:
    """Log the pyfunc forecaster to the active run and register it as a new version.

    The version is created with its ``tags`` in one registry call (one database transaction
    on a SQL store), so a crash can never leave a version without its ``blessed`` tag. It
    then takes the ``challenger`` alias; ``champion`` moves only through
    :func:`lstm_model.delivery.registry.promote`.

    Args:
        saved_model_dir: The verified SavedModel (what serves).
        model_name: Registered model name.
        example_values: Rows of the series for the input example and signature.
        tags: Version tags, ``blessed`` and ``blessing_reason`` among them.
        keras_model: The native ``.keras`` file, kept beside the SavedModel (artifact
            ``keras_model``) for inspection and fine-tuning; serving never loads it.
        description: The version's description in the registry.

    Returns:
        The registered model version.
    """
    # Deferred: export imports Keras, which serving the pyfunc never needs.
    from lstm_model.delivery.export import load_transform

    # The value column plus any exogenous columns, as the SavedModel was trained with them.
    example = history_frame(example_values, load_transform(saved_model_dir).columns)
    return register_pyfunc(
        Path(__file__).with_name("forecaster_model.py"),
        saved_model_dir,
        model_name,
        example,
        "backtest",
        tags,
        keras_model,
        description,
    )


def register_pyfunc(
    code: Path,
    saved_model_dir: Path,
    model_name: str,
    example: pd.DataFrame,
    default_output: str,
    tags: dict[str, str],
    keras_model: Path | None = None,
    description: str | None = None,
) -> ModelVersion:
    """Log a pyfunc defined in ``code`` (MLflow's models from code) over a SavedModel and
    register it with its ``tags`` in one registry call, then alias it ``challenger``.

    Args:
        code: The file that calls ``mlflow.models.set_model`` on the forecaster.
        saved_model_dir: The verified SavedModel (what serves).
        model_name: Registered model name.
        example: The input example (its dtypes make the signature).
        default_output: The ``output`` parameter's default in the signature.
        tags: Version tags, ``blessed`` and ``blessing_reason`` among them.
        keras_model: The native ``.keras`` file, kept as artifact ``keras_model``.
        description: The version's description in the registry.

    Returns:
        The registered model version.
    """
    # Only the dtypes matter for the signature; the forecasts themselves are not needed here.
    # The params (with their defaults) make ``output`` and ``steps`` part of the signature.
    signature = infer_signature(
        example,
        pd.DataFrame({OUTPUT_COLUMN: np.zeros(len(example))}),
        params={"output": default_output, "steps": 0},
    )
    info = mlflow.pyfunc.log_model(
        name="model",
        # Models from code: the class is imported when loading, never unpickled.
        python_model=str(code),
        artifacts={
            "saved_model": str(saved_model_dir),
            **({"keras_model": str(keras_model)} if keras_model is not None else {}),
        },
        signature=signature,
        input_example=example,
        pip_requirements=SERVING_REQUIREMENTS,
    )
    # Not log_model(registered_model_name=...): that creates the version first and leaves
    # the tags to later calls, which a crash in between would skip.
    version = mlflow.register_model(info.model_uri, model_name, tags=tags)
    client = MlflowClient()
    if description:
        version = client.update_model_version(model_name, version.version, description)
    client.set_registered_model_alias(model_name, CHALLENGER, version.version)
    return version


@dataclass(frozen=True)
class ChampionPaths:
    """The current champion's path forecasts from every origin of a series."""

    version: str
    paths: np.ndarray


def champion_paths(
    model_name: str, values: np.ndarray, columns: Sequence[str] | None = None
) -> ChampionPaths | None:
    """Load the champion of ``model_name`` and forecast a path from every row of ``values``.

    Args:
        model_name: Registered model name.
        values: The series, (n,) or (n, 1 + k) with the target first.
        columns: Names of the value columns, target first (the champion picks its own).

    Returns:
        Its version and (n, h_champion) paths (NaN rows while its history is too short), or
        None when the model has no champion yet.
    """
    champion = champion_version(model_name)
    if champion is None:
        return None
    model = mlflow.pyfunc.load_model(f"models:/{model_name}/{champion.version}")
    frame = history_frame(values, columns)
    # A champion logged without the ``output`` parameter ignores it and answers its one-step
    # ``prediction`` column: a one-step path, compared on step 1.
    paths = model.predict(frame, params={"output": "paths"}).to_numpy(dtype=float)
    return ChampionPaths(str(champion.version), paths)
