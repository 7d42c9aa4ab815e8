"""End to end: the retrain flow on real Prefect, MLflow, GX, TensorFlow and an S3 over HTTP."""

from __future__ import annotations

import io
import tarfile

import boto3
import mlflow
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from conftest import make_series
from mlflow import MlflowClient

from flows.retrain import retrain
from lstm_model.delivery.pyfunc import history_frame
from lstm_model.errors import DataValidationError, PipelineInputError

MODEL = "flow-test"


def _aliases() -> dict[str, str]:
    return {k: str(v) for k, v in MlflowClient().get_registered_model(MODEL).aliases.items()}


@pytest.fixture(scope="module")
def flow_env(tmp_path_factory, moto_endpoint, prefect_harness):
    """A tracking store, a bucket and a CSV shared by the module's runs."""
    root = tmp_path_factory.mktemp("flow")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
        patch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
        patch.chdir(root)
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="flow-models")
        csv = root / "series.csv"
        make_series(120).to_csv(csv, index=False)
        yield {"root": root, "csv": csv, "s3": s3}


@pytest.fixture(scope="module")
def first_run(flow_env, tiny_config_module):
    config = tiny_config_module.with_overrides(
        registry__model_name=MODEL, push__push_uri="s3://flow-models/prod"
    )
    return retrain(str(flow_env["csv"]), config)


@pytest.fixture(scope="module")
def tiny_config_module():
    from lstm_model.config import PipelineConfig

    return PipelineConfig().with_overrides(
        analysis__max_lookback=12,
        analysis__candidate_folds=1,
        analysis__candidate_epochs=3,
        tuning__max_trials=2,
        tuning__epochs=3,
        tuning__units=(8,),
        training__epochs=4,
    )


def test_first_run_registers_a_champion(first_run):
    assert first_run.champion and first_run.version == "1"
    assert _aliases() == {"champion": "1", "challenger": "1"}


def test_run_logs_config_data_hash_metrics_and_one_nested_run_per_trial(first_run, flow_env):
    run = mlflow.get_run(first_run.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["tuning.max_trials"] == "2"
    assert {"differencing", "season", "lookback", "best_units", "best_layers"} <= set(
        run.data.params
    )
    assert len(run.data.tags["data_sha256"]) == 64
    for prefix in ("test", "baseline/naive", "baseline/seasonal_naive"):
        for metric in ("mse", "rmse", "mae", "r2", "mase"):
            assert np.isfinite(run.data.metrics[f"{prefix}/{metric}"])
    children = mlflow.search_runs(
        filter_string=f"tags.mlflow.parentRunId = '{first_run.run_id}'", output_format="list"
    )
    assert len(children) == 2
    plots = {a.path for a in MlflowClient().list_artifacts(first_run.run_id, "plots")}
    assert {"plots/loss.png", "plots/mase_by_step.png", "plots/forecast.png"} <= plots


def test_monthly_data_forecasts_a_year_ahead_with_intervals_from_the_registry(
    first_run, flow_env, tmp_path
):
    from flows.predict import write_future_forecast

    run = mlflow.get_run(first_run.run_id)
    # The cadence's default horizon: 12 steps for monthly data.
    assert first_run.horizon == 12 and run.data.params["horizon"] == "12"
    assert set(first_run.coverage) == {80.0, 95.0}
    for level in ("80", "95"):
        assert 0 <= run.data.metrics[f"test/coverage_{level}"] <= 1
    output = tmp_path / "future.csv"
    rows = write_future_forecast(
        str(flow_env["csv"]), f"models:/{MODEL}@champion", output, steps=None
    )
    future = pd.read_csv(output, parse_dates=["timestamp"])
    assert rows == 12 and list(future.columns) == [
        "timestamp",
        "prediction",
        "lo-80",
        "hi-80",
        "lo-95",
        "hi-95",
    ]
    last = pd.read_csv(flow_env["csv"], parse_dates=["timestamp"])["timestamp"].iloc[-1]
    assert list(future["timestamp"]) == list(pd.date_range(last, periods=13, freq="MS")[1:])
    assert (future["lo-95"] <= future["lo-80"]).all() and (
        future["lo-80"] <= future["prediction"]
    ).all()
    assert (future["prediction"] <= future["hi-80"]).all() and (
        future["hi-80"] <= future["hi-95"]
    ).all()


def test_package_in_s3_reloads_and_predicts_like_the_registered_model(
    first_run, flow_env, tmp_path
):
    key = f"prod/{MODEL}/1/model.tar.gz"
    assert first_run.pushed_to == f"s3://flow-models/{key}"
    body = flow_env["s3"].get_object(Bucket="flow-models", Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as archive:
        names = archive.getnames()
        archive.extractall(tmp_path, filter="data")
    assert f"{MODEL}/1/saved_model.pb" in names
    assert any(n.startswith(f"{MODEL}/1/variables/") for n in names)

    from lstm_model.delivery.export import load_window_predictor
    from lstm_model.modeling.forecast import one_step_forecasts

    predict, transform = load_window_predictor(tmp_path / MODEL / "1")
    assert isinstance(tf.saved_model.load(str(tmp_path / MODEL / "1")), object)
    values = make_series(120)["value"].to_numpy()
    from_package = one_step_forecasts(predict, transform, values)[:-1]
    registered = mlflow.pyfunc.load_model(f"models:/{MODEL}@champion")
    from_registry = registered.predict(history_frame(values))["prediction"].to_numpy()
    np.testing.assert_allclose(from_package, from_registry, rtol=1e-6, equal_nan=True)
    assert np.isfinite(from_package[transform.warmup :]).all()


def test_shipped_model_is_the_refit_on_every_row_while_evaluation_used_the_train_fit(
    first_run, flow_env, tmp_path
):
    from lstm_model.delivery.export import load_transform
    from lstm_model.modeling.transform import SeriesTransform

    run = mlflow.get_run(first_run.run_id)
    assert run.data.tags["shipped_model"] == "refit on the full history"
    assert run.data.params["refit_rows"] == "120"
    evaluated = SeriesTransform.from_json(
        mlflow.artifacts.load_text(f"runs:/{first_run.run_id}/preprocessing/preprocessing.json")
    )
    refitted = SeriesTransform.from_json(
        mlflow.artifacts.load_text(
            f"runs:/{first_run.run_id}/preprocessing/refit_preprocessing.json"
        )
    )
    # Same procedure (lambda, differencing, lookback), scalers fitted on different rows.
    assert (refitted.differencing, refitted.lookback) == (
        evaluated.differencing,
        evaluated.lookback,
    )
    assert refitted.box_cox_lambda == evaluated.box_cox_lambda
    assert refitted.mean != evaluated.mean
    body = flow_env["s3"].get_object(Bucket="flow-models", Key=f"prod/{MODEL}/1/model.tar.gz")
    with tarfile.open(fileobj=io.BytesIO(body["Body"].read())) as archive:
        archive.extractall(tmp_path, filter="data")
    assert load_transform(tmp_path / MODEL / "1") == refitted
    # The test metrics come from the evaluated (train-only) model: the refit saw the test rows.
    assert run.data.params["train_rows"] == str(120 - 18 - 18)


def test_second_run_compares_with_the_champion(first_run, flow_env, tiny_config_module):
    config = tiny_config_module.with_overrides(
        registry__model_name=MODEL, push__push_uri="s3://flow-models/prod", seed=7
    )
    second = retrain(str(flow_env["csv"]), config)
    assert second.version == "2"
    run = mlflow.get_run(second.run_id)
    assert 0.0 <= run.data.metrics["compare/champion/ttest_squared_p"] <= 1.0
    assert "compare/champion/ttest_squared_stat" in run.data.metrics
    assert run.data.tags["compared_champion_version"] == "1"
    aliases = _aliases()
    assert aliases["challenger"] == "2"
    listed = flow_env["s3"].list_objects_v2(Bucket="flow-models", Prefix=f"prod/{MODEL}/2/")
    if second.champion:
        assert aliases["champion"] == "2" and listed["KeyCount"] == 1
    else:
        assert aliases["champion"] == "1" and listed["KeyCount"] == 0
        assert second.pushed_to is None


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["2000-01-01,1.0", "2000-02-01,n/a"], "numbers"),
        (["2000-01-01,1.0", "2000-01-01,2.0"], "unique"),
    ],
)
def test_bad_input_stops_before_anything_is_registered_or_pushed(
    flow_env, tiny_config_module, rows, message
):
    good = make_series(60)
    lines = [f"{t:%Y-%m-%d},{v}" for t, v in zip(good["timestamp"], good["value"], strict=True)]
    path = flow_env["root"] / "bad.csv"
    path.write_text("timestamp,value\n" + "\n".join(lines[2:] + rows) + "\n")
    config = tiny_config_module.with_overrides(
        registry__model_name="never-registered", push__push_uri="s3://flow-models/bad"
    )
    with pytest.raises(DataValidationError, match=message):
        retrain(str(path), config)
    assert MlflowClient().search_model_versions("name = 'never-registered'") == []
    assert flow_env["s3"].list_objects_v2(Bucket="flow-models", Prefix="bad/")["KeyCount"] == 0


def test_malformed_push_uri_fails_before_training(flow_env, tiny_config_module):
    config = tiny_config_module.with_overrides(push__push_uri="s3:/nobucket")
    with pytest.raises(PipelineInputError, match="s3"):
        retrain(str(flow_env["csv"]), config)
