"""The register and promote tasks: versions, aliases, signature, a pyfunc that forecasts."""

from __future__ import annotations

import mlflow
import numpy as np
from mlflow import MlflowClient

from lstm_model.export import export_saved_model
from lstm_model.forecast import one_step_forecasts
from lstm_model.serving import history_frame
from lstm_model.tracking import champion_version
from tasks.registry import promote_to_champion, promotion_decision, register


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


def test_promotion_decision():
    assert promotion_decision(None)[0] is True
