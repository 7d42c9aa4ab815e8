"""The registered model of a panel: an MLflow pyfunc over the global model's SavedModel.

Input: a long DataFrame with the series id column the model was trained with (e.g.
``series_id``) and ``value``, each series' rows in time order; series may be interleaved, and
ids the model never saw are forecast from their history alone (cold start). The ``output``
parameter picks the answer:

- ``forecast`` (default): for every series, the ``steps`` (default h) values after its last
  row: ``<series column>``, ``step``, ``prediction`` and ``lo-<level>`` / ``hi-<level>``.
- ``paths``: one row per input row (in the input's order) with ``step_1`` ... ``step_h``: the
  path from that row's origin, from the ``lookback`` rows of its series before it (NaN while
  its history is shorter).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow.entities.model_registry import ModelVersion
from mlflow.pyfunc import PythonModel

from lstm_model.delivery.pyfunc import (
    check_steps,
    forecast_columns,
    panel_input,
    register_pyfunc,
)


class GlobalForecaster(PythonModel):
    """Serves the exported signature for any mix of series; needs no Keras."""

    def load_context(self, context: Any) -> None:
        from lstm_model.delivery.export import PREPROCESSING_FILE, load_serving

        directory = Path(context.artifacts["saved_model"])
        self.serve_histories = load_serving(directory)
        description = json.loads((directory / PREPROCESSING_FILE).read_text())
        self.lookback = int(description["lookback"])
        self.horizon = int(description["horizon"])
        self.series_column = str(description["series_column"])

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        rows = panel_input(model_input, self.series_column, params)
        if rows.output == "forecast":
            steps = rows.steps or self.horizon
            return self.forecast(rows.ids, rows.values, rows.starts, rows.stops, steps)
        paths = np.full((len(rows.values), self.horizon), np.nan)
        paths[rows.order] = self.paths(rows.values, rows.starts, rows.stops)
        return pd.DataFrame(paths, columns=[f"step_{k}" for k in range(1, self.horizon + 1)])

    def paths(self, values: np.ndarray, starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
        """Row t (grouped order): the path from origin t, from its series' rows before it."""
        paths = np.full((len(values), self.horizon), np.nan)
        series = np.repeat(np.arange(len(starts)), stops - starts)
        origins = np.flatnonzero(np.arange(len(values)) - starts[series] >= self.lookback)
        if len(origins):
            histories = values[origins[:, np.newaxis] - self.lookback + np.arange(self.lookback)]
            paths[origins] = self.serve_histories(histories[:, :, np.newaxis])["forecast"]
        return paths

    def forecast(
        self,
        ids: np.ndarray,
        values: np.ndarray,
        starts: np.ndarray,
        stops: np.ndarray,
        steps: int,
    ) -> pd.DataFrame:
        """Every series' ``steps`` values after its last row, with the interval bounds."""
        check_steps(steps, self.horizon)
        short = ids[stops - starts < self.lookback]
        if len(short):
            raise ValueError(
                f"series {', '.join(map(repr, short[:10]))} have fewer rows than the "
                f"{self.lookback} the model reads"
            )
        histories = values[stops[:, np.newaxis] - self.lookback + np.arange(self.lookback)]
        outputs = self.serve_histories(histories[:, :, np.newaxis])
        return pd.DataFrame(
            {
                self.series_column: np.repeat(ids, steps),
                "step": np.tile(np.arange(1, steps + 1), len(ids)),
                **forecast_columns(outputs, steps),
            }
        )


def log_global_forecaster(
    saved_model_dir: Path,
    model_name: str,
    example: pd.DataFrame,
    tags: dict[str, str],
    keras_model: Path | None = None,
    description: str | None = None,
) -> ModelVersion:
    """Log the panel's pyfunc to the active run and register it as a new version.

    Args:
        saved_model_dir: The verified global SavedModel.
        model_name: Registered model name.
        example: A few rows of the panel: series id column and ``value``.
        tags: Version tags, ``blessed`` and ``blessing_reason`` among them.
        keras_model: The native ``.keras`` file, kept beside the SavedModel.
        description: The version's description.

    Returns:
        The registered model version (alias ``challenger``).
    """
    return register_pyfunc(
        Path(__file__).with_name("global_forecaster_model.py"),
        saved_model_dir,
        model_name,
        example,
        "forecast",
        tags,
        keras_model,
        description,
    )
