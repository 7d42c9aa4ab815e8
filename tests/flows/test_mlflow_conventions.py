"""What a retrain leaves in MLflow, read back through a real ``mlflow server``'s REST API:
the experiment kind, the run name and description, grouped metric keys, the dataset input,
the model version's description and the native Keras model beside the SavedModel."""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from pathlib import Path

import keras
import mlflow
import pytest
from conftest import make_series
from mlflow.models import Model

from flows.retrain import retrain

MODEL = "rest-model"


def _get(base: str, path: str, **params: str) -> dict:
    query = urllib.parse.urlencode(params)
    with urllib.request.urlopen(f"{base}/api/2.0/mlflow/{path}?{query}", timeout=30) as answer:
        return json.load(answer)


@pytest.fixture(scope="module")
def run(mlflow_server, prefect_harness, tmp_path_factory, tiny_config_module):
    root = tmp_path_factory.mktemp("rest-run")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
        patch.chdir(root)
        make_series(120).to_csv(root / "sales.csv", index=False)
        config = tiny_config_module.with_overrides(registry__model_name=MODEL)
        result = retrain(str(root / "sales.csv"), config)
    return _get(mlflow_server, "runs/get", run_id=result.run_id)["run"], result


@pytest.fixture(scope="module")
def tiny_config_module():
    from lstm_model.config import PipelineConfig

    return PipelineConfig().with_overrides(
        analysis__max_lookback=12,
        analysis__candidate_folds=1,
        analysis__candidate_epochs=3,
        tuning__max_trials=1,
        tuning__epochs=2,
        tuning__units=(8,),
        training__epochs=3,
    )


def test_experiment_opens_on_model_training(mlflow_server, run):
    experiment = _get(mlflow_server, "experiments/get-by-name", experiment_name="lstm-pipeline")
    tags = {t["key"]: t["value"] for t in experiment["experiment"]["tags"]}
    assert tags["mlflow.experimentKind"] == "custom_model_development"


def test_run_name_says_model_data_and_time_and_the_description_the_outcome(run):
    data, result = run
    assert re.fullmatch(rf"{MODEL}-sales-\d{{8}}-\d{{6}}", data["info"]["run_name"])
    tags = {t["key"]: t["value"] for t in data["data"]["tags"]}
    note = tags["mlflow.note.content"]
    assert f"{MODEL} v{result.version}" in note and "test RMSE" in note and "sales.csv" in note


def test_metric_keys_are_grouped_and_the_two_ljung_box_tests_kept_apart(run):
    keys = {m["key"] for m in run[0]["data"]["metrics"]}
    assert {"test/rmse", "test/mase", "baseline/naive/rmse", "baseline/ets/mse"} <= keys
    assert {"analysis/series_ljung_box_pvalue", "diagnostics/residual_ljung_box_pvalue"} <= keys
    assert {"trial/best_val_loss", "train/final_val_loss", "export/max_abs_difference"} <= keys
    assert "ljung_box_pvalue" not in keys and "model_rmse" not in keys
    # Every run-level metric sits in a group.
    assert all("/" in key for key in keys), sorted(k for k in keys if "/" not in k)


def test_training_data_is_logged_as_a_dataset(run):
    inputs = run[0]["inputs"]["dataset_inputs"]
    (training,) = [
        i for i in inputs if {"key": "mlflow.data.context", "value": "training"} in i["tags"]
    ]
    dataset = training["dataset"]
    assert dataset["name"] == "sales.csv" and dataset["digest"]
    assert "sales.csv" in dataset["source"]


def test_version_has_a_description_and_the_keras_model_beside_the_saved_model(mlflow_server, run):
    _, result = run
    version = _get(mlflow_server, "model-versions/get", name=MODEL, version=result.version)
    assert "test RMSE" in version["model_version"]["description"]
    tags = {t["key"]: t["value"] for t in version["model_version"]["tags"]}
    assert len(tags["data_sha256"]) == 64 and len(tags["config_sha256"]) == 64
    mlflow.set_tracking_uri(mlflow_server)
    local = Path(mlflow.artifacts.download_artifacts(f"models:/{MODEL}/{result.version}"))
    artifacts = Model.load(str(local)).flavors["python_function"]["artifacts"]
    keras_file = local / artifacts["keras_model"]["path"]
    assert keras_file.suffix == ".keras" and keras_file.is_file()
    assert (local / artifacts["saved_model"]["path"] / "saved_model.pb").is_file()
    # The native model loads with plain Keras, for inspection or fine-tuning.
    model = keras.saving.load_model(keras_file)
    assert model.input_shape[1] >= 1  # (batch, lookback, features)
