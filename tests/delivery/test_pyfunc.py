"""The registered pyfunc: value and exogenous columns in, the SavedModel's forecasts out."""

from __future__ import annotations

import mlflow
import numpy as np
import pytest
from conftest import make_series

from lstm_model.delivery.export import export_saved_model
from lstm_model.delivery.pyfunc import history_frame
from lstm_model.evaluation.blessing import BlessingDecision
from lstm_model.modeling.forecast import one_step_forecasts
from lstm_model.modeling.network import Architecture, build_lstm
from lstm_model.modeling.preparation import prepare
from tasks.delivery import register


def test_pyfunc_takes_value_and_exogenous_columns_and_serves_the_saved_model_signature(
    prefect_harness, active_run, tmp_path
):
    rng = np.random.default_rng(2)
    values = np.column_stack([make_series(120)["value"].to_numpy(), rng.normal(5, 2, 120)])
    data = prepare(values, 0, 6, 0.15, 0.15, 1, 12, columns=("value", "rain"))
    model = build_lstm(6, 2, Architecture(units=4))
    saved = export_saved_model(model, data.transform, tmp_path / "export")
    blessed = BlessingDecision(True, {"seasonal_naive": True}, ["beats seasonal naive"])
    version = register(saved, "registry-exogenous", data, blessed)

    loaded = mlflow.pyfunc.load_model(f"models:/registry-exogenous/{version.version}")
    assert [c.name for c in loaded.metadata.get_input_schema().inputs] == ["value", "rain"]
    frame = history_frame(values, ["value", "rain"])
    predictions = loaded.predict(frame)["prediction"].to_numpy()
    expected = one_step_forecasts(lambda w: model.predict(w, verbose=0), data.transform, values)
    np.testing.assert_allclose(predictions, expected[:-1], rtol=1e-6, equal_nan=True)
    assert np.isnan(predictions[: data.transform.warmup]).all()
    # The next step: a row whose own values are unknown yet.
    frame.loc[len(frame)] = [np.nan, np.nan]
    next_step = loaded.predict(frame)["prediction"].iloc[-1]
    assert next_step == pytest.approx(expected[-1], rel=1e-6)
