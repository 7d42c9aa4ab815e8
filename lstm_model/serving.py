"""The registered model: an MLflow pyfunc that forecasts from raw history in original units.

Input: a DataFrame with a ``value`` column, the series in time order. Output: a DataFrame with
one ``prediction`` per row, each forecast from the values *before* that row only (NaN where the
history is shorter than the model's window). Append a row with a missing value to get the
forecast of the next, unseen step.
"""

from __future__ import annotations

import mlflow.pyfunc
import numpy as np
import pandas as pd

from lstm_model.forecast import one_step_forecasts

INPUT_COLUMN = "value"
OUTPUT_COLUMN = "prediction"


class LSTMForecaster(mlflow.pyfunc.PythonModel):
    """Wraps the exported SavedModel and its transform; needs no Keras to serve."""

    def load_context(self, context) -> None:
        from lstm_model.export import load_window_predictor

        self._predict_windows, self.transform = load_window_predictor(
            context.artifacts["saved_model"]
        )

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        values = pd.DataFrame(model_input)[INPUT_COLUMN].to_numpy(dtype=float)
        forecasts = one_step_forecasts(self._predict_windows, self.transform, values)[:-1]
        return pd.DataFrame({OUTPUT_COLUMN: forecasts})


def history_frame(values: np.ndarray) -> pd.DataFrame:
    """The model's input form for a series of values."""
    return pd.DataFrame({INPUT_COLUMN: np.asarray(values, dtype=float)})
