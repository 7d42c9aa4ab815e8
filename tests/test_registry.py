"""The register and promote tasks: versions, aliases, signature, a pyfunc that forecasts."""

from __future__ import annotations

import mlflow
import numpy as np
import pytest
from conftest import make_series
from mlflow import MlflowClient

from lstm_model.delivery.export import export_saved_model
from lstm_model.delivery.pyfunc import history_frame
from lstm_model.delivery.registry import champion_version
from lstm_model.modeling.forecast import one_step_forecasts
from lstm_model.modeling.network import Architecture, build_lstm
from lstm_model.modeling.transform import prepare
from tasks.delivery import promote_to_champion, register


def test_register_then_promote(prefect_harness, active_run, trained, tmp_path):
    model, data, _ = trained
    saved = export_saved_model(model, data.transform, tmp_path / "export")
    assert champion_version("registry-test") is None

    version = register(saved, "registry-test", data)
    client = MlflowClient()
    aliases = client.get_registered_model("registry-test").aliases
    assert aliases == {"challenger": version.version}
    assert champion_version("registry-test") is None

    promote_to_champion("registry-test", version.version, "first version")
    assert champion_version("registry-test").version == version.version
    assert client.get_model_version("registry-test", version.version).tags["promotion_reason"]

    loaded = mlflow.pyfunc.load_model("models:/registry-test@champion")
    assert [c.name for c in loaded.metadata.get_input_schema().inputs] == ["value"]
    assert loaded.metadata.saved_input_example_info is not None
    predictions = loaded.predict(history_frame(data.values))["prediction"].to_numpy()
    expected = one_step_forecasts(
        lambda w: model.predict(w, verbose=0), data.transform, data.values
    )[:-1]
    np.testing.assert_allclose(predictions, expected, rtol=1e-5, equal_nan=True)


def test_pyfunc_takes_value_and_exogenous_columns_and_serves_the_saved_model_signature(
    prefect_harness, active_run, tmp_path
):
    rng = np.random.default_rng(2)
    values = np.column_stack([make_series(120)["value"].to_numpy(), rng.normal(5, 2, 120)])
    data = prepare(values, 0, 6, 0.15, 0.15, 1, 12, columns=("value", "rain"))
    model = build_lstm(6, 2, Architecture(units=4))
    saved = export_saved_model(model, data.transform, tmp_path / "export")
    version = register(saved, "registry-exogenous", data)

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


def test_second_version_keeps_champion_until_promoted(
    prefect_harness, active_run, trained, tmp_path
):
    model, data, _ = trained
    saved = export_saved_model(model, data.transform, tmp_path / "export")
    first = register(saved, "registry-two", data)
    promote_to_champion("registry-two", first.version, "first")
    second = register(saved, "registry-two", data)
    aliases = MlflowClient().get_registered_model("registry-two").aliases
    assert aliases == {"champion": first.version, "challenger": second.version}
