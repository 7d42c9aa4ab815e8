"""The registered model: an MLflow pyfunc that forecasts from raw history in original units.

It serves from the exported SavedModel's ``serving_default`` signature, the very graph that
goes to TensorFlow Serving, so the registry, the SageMaker package and the pipeline agree.

Input: a DataFrame with a ``value`` column (plus the exogenous columns the model was trained
with), the series in time order. Output: a DataFrame with one ``prediction`` per row, each
forecast from the rows *before* it only (NaN where the history is shorter than the model's
``warmup``). Append a row with a missing value to get the forecast of the next, unseen step.
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
from lstm_model.modeling.transform import TARGET_COLUMN

INPUT_COLUMN = TARGET_COLUMN
OUTPUT_COLUMN = "prediction"
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
        from lstm_model.delivery.export import load_history_predictor, load_transform

        directory = context.artifacts["saved_model"]
        self._predict_histories = load_history_predictor(directory)
        transform = load_transform(directory)
        self.columns = list(transform.columns)
        self.warmup = transform.warmup

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        frame = pd.DataFrame(model_input)
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise ValueError(
                f"the model needs columns {self.columns}; missing {missing} in the input"
            )
        return pd.DataFrame({OUTPUT_COLUMN: self.forecast(frame[self.columns].to_numpy(float))})

    def forecast(self, values: np.ndarray) -> np.ndarray:
        """One forecast per row from the rows before it (NaN while the history is short)."""
        forecasts = np.full(len(values), np.nan)
        if len(values) <= self.warmup:
            return forecasts
        # Row i of the view holds rows [i, i + warmup): the history of row i + warmup. The last
        # row's own value is never an input, so it may be missing.
        histories = np.lib.stride_tricks.sliding_window_view(
            values[:-1], self.warmup, axis=0
        ).transpose(0, 2, 1)
        # The one-step backtest reads the first step of each forecast path.
        paths = self._predict_histories(np.ascontiguousarray(histories))
        forecasts[self.warmup :] = paths[:, 0]
        return forecasts


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
    # Only the dtypes matter for the signature; the forecasts themselves are not needed here.
    signature = infer_signature(example, pd.DataFrame({OUTPUT_COLUMN: np.zeros(len(example))}))
    info = mlflow.pyfunc.log_model(
        name="model",
        # Models from code: the class is imported when loading, never unpickled.
        python_model=str(Path(__file__).with_name("forecaster_model.py")),
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
class ChampionForecasts:
    """The current champion's one-step forecasts of a series."""

    version: str
    forecasts: np.ndarray


def champion_forecasts(
    model_name: str, values: np.ndarray, columns: Sequence[str] | None = None
) -> ChampionForecasts | None:
    """Load the champion of ``model_name`` and forecast every row of ``values`` with it.

    Args:
        model_name: Registered model name.
        values: The series, (n,) or (n, 1 + k) with the target first.
        columns: Names of the value columns, target first (the champion picks its own).

    Returns:
        Its version and one forecast per row (NaN while its history is too short), or None
        when the model has no champion yet.
    """
    champion = champion_version(model_name)
    if champion is None:
        return None
    model = mlflow.pyfunc.load_model(f"models:/{model_name}/{champion.version}")
    forecasts = model.predict(history_frame(values, columns))[OUTPUT_COLUMN].to_numpy()
    return ChampionForecasts(str(champion.version), forecasts)
