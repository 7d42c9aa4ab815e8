"""A validated series as arrays: target first, then the exogenous features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import make_series

from lstm_model.config import DataConfig
from lstm_model.data.values import TimeSeries, model_values
from lstm_model.errors import PipelineInputError


def test_numeric_features_stacks_columns_in_order():
    from lstm_model.data.values import numeric_features

    frame = pd.DataFrame({"t": [1, 2, 3], "value": [1.5, 2.0, 3.0], "temp": [10, 20, 30]})

    matrix = numeric_features(frame, ["value", "temp"])

    assert matrix.shape == (3, 2) and matrix.dtype == "float64"
    assert matrix.tolist() == [[1.5, 10.0], [2.0, 20.0], [3.0, 30.0]]
    assert numeric_features(frame, []).shape == (3, 0)
    with pytest.raises(PipelineInputError, match="'rain'"):
        numeric_features(frame, ["value", "rain"])


def test_model_values_puts_the_target_first():
    frame = make_series(30)
    frame["rain"] = np.arange(30.0)
    np.testing.assert_array_equal(model_values(frame, "value"), frame["value"].to_numpy())
    matrix = model_values(frame, "value", ("rain",))
    assert matrix.shape == (30, 2) and (matrix[:, 1] == np.arange(30.0)).all()
    with pytest.raises(PipelineInputError, match="snow"):
        model_values(frame, "value", ("snow",))


def test_time_series_is_built_once_from_the_validated_frame():
    frame = make_series(24)
    series = TimeSeries.from_frame(frame, DataConfig(), "MS")
    assert series.values.shape == (24,) and series.exogenous == ()
    np.testing.assert_array_equal(series.target, frame["value"].to_numpy())
    assert series.frequency == "MS" and (series.timestamps == frame["timestamp"]).all()

    frame["rain"] = np.arange(24.0)
    series = TimeSeries.from_frame(frame, DataConfig(exogenous=("rain",)), "MS")
    assert series.values.shape == (24, 2) and series.exogenous == ("rain",)
    np.testing.assert_array_equal(series.target, frame["value"].to_numpy())
    with pytest.raises(PipelineInputError, match="snow"):
        TimeSeries.from_frame(frame, DataConfig(exogenous=("snow",)), "MS")
