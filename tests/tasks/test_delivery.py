"""The delivery tasks: export, register, promote, package, push (with retries) and deploy."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import boto3
import mlflow
import numpy as np
import pytest
import tensorflow as tf
from conftest import sha256_of
from mlflow import MlflowClient

from lstm_model.config import DeployConfig
from lstm_model.delivery.export import (
    PREPROCESSING_FILE,
    SERVING_SIGNATURE,
    export_saved_model,
    load_history_predictor,
    load_window_predictor,
)
from lstm_model.delivery.push import DeliveryError, push_package
from lstm_model.delivery.pyfunc import history_frame
from lstm_model.delivery.registry import champion_version
from lstm_model.errors import PipelineInputError
from lstm_model.evaluation.blessing import BlessingDecision
from lstm_model.evaluation.intervals import ConformalIntervals
from lstm_model.modeling.forecast import one_step_forecasts
from tasks.delivery import export, promote_to_champion, register

BLESSED = BlessingDecision(True, {"seasonal_naive": True}, ["beats seasonal naive"])


def _pipeline(model, transform, values):
    return one_step_forecasts(lambda w: model.predict(w, verbose=0), transform, values)


def _intervals():
    return ConformalIntervals.calibrate(np.array([[1.0], [2.0], [3.0], [4.0]]), (80.0,))


def test_export_serves_raw_history_in_original_units(
    prefect_harness, active_run, trained, tmp_path
):
    model, data, _ = trained
    directory = export(model, data.transform, data.values, _intervals(), tmp_path)
    # TF Serving (SageMaker) layout: the SavedModel at the top of the folder.
    assert (directory / "saved_model.pb").exists() and (directory / "variables").is_dir()
    assert (directory / PREPROCESSING_FILE).exists()
    metrics = mlflow.get_run(active_run.info.run_id).data.metrics
    assert metrics["export/max_rel_difference"] <= 1e-6

    signature = tf.saved_model.load(str(directory)).signatures[SERVING_SIGNATURE]
    spec = signature.structured_input_signature[1]["history"]
    assert spec.shape.as_list() == [None, data.transform.warmup, 1]
    assert spec.dtype == tf.float64

    # A batch of raw histories in, forecasts in original units out: nothing else needed.
    histories = data.transform.histories(data.values)
    served = load_history_predictor(directory)(histories)[:, 0]
    expected = _pipeline(model, data.transform, data.values)[data.transform.warmup :]
    np.testing.assert_allclose(served, expected, rtol=1e-6)

    predict, transform = load_window_predictor(directory)
    assert transform == data.transform
    np.testing.assert_allclose(
        predict(data.x_test), model.predict(data.x_test, verbose=0), atol=1e-5
    )


def test_register_then_promote(prefect_harness, active_run, trained, tmp_path):
    model, data, _ = trained
    saved = export_saved_model(model, data.transform, tmp_path / "export")
    assert champion_version("registry-test") is None

    version = register(saved, "registry-test", data, BLESSED)
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
    first = register(saved, "registry-two", data, BLESSED)
    promote_to_champion("registry-two", first.version, "first")
    second = register(saved, "registry-two", data, BLESSED)
    aliases = MlflowClient().get_registered_model("registry-two").aliases
    assert aliases == {"champion": first.version, "challenger": second.version}


MODEL = "lstm-forecaster"


def test_prefect_tasks_package_push_and_record_artifact(
    prefect_harness, saved_model, s3_bucket, tmp_path
):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from tasks.delivery import package_model_task, push_model

    name = f"m-{uuid.uuid4().hex[:8]}"
    pkg = package_model_task(saved_model[0], name, 2, tmp_path)
    result = push_model(pkg, name, 2, f"s3://{s3_bucket}/models", tmp_path, {"run-id": "r"})
    assert result.uri == f"s3://{s3_bucket}/models/{name}/2/model.tar.gz"

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[f"model-package-{name}"]))
        )
    assert len(artifacts) == 1
    assert result.uri in artifacts[0].data and result.sha256 in artifacts[0].data


def _counting(monkeypatch, behaviour):
    """Replace the task's push_package with ``behaviour`` and count the attempts."""
    import tasks.delivery

    calls: list[float] = []

    def fake(*args, **kwargs):
        calls.append(time.monotonic())
        return behaviour(len(calls), *args, **kwargs)

    monkeypatch.setattr(tasks.delivery, "push_package", fake)
    return calls


# Outside a flow run Prefect warns that it cannot ship the failure's log lines to the API.
NO_FLOW_LOG_WARNING = "ignore:Logger 'prefect.task_runs' attempted:UserWarning"


@pytest.mark.filterwarnings(NO_FLOW_LOG_WARNING)
def test_prefect_push_fails_fast_on_input_error(prefect_harness, package, monkeypatch):
    from tasks.delivery import push_model

    calls = _counting(monkeypatch, lambda n, *a, **k: push_package(*a, **k))
    started = time.monotonic()
    state = push_model(package, MODEL, 3, "s3:/typo", Path("x"), return_state=True)
    assert state.is_failed()
    assert isinstance(state.result(raise_on_failure=False), PipelineInputError)
    # One attempt, and no 2 s backoff: retry_condition_fn refused to retry.
    assert len(calls) == 1 and time.monotonic() - started < 2


def test_prefect_push_retries_transient_errors(prefect_harness, package, tmp_path, monkeypatch):
    from tasks.delivery import push_model

    def flaky(n, *args, **kwargs):
        if n < 3:
            raise DeliveryError("S3 throttled", retryable=True)
        return push_package(*args, **kwargs)

    calls = _counting(monkeypatch, flaky)
    fast = push_model.with_options(retry_delay_seconds=0)  # keeps retries and the condition
    result = fast(package, MODEL, 3, None, tmp_path)
    assert len(calls) == 3 and result.sha256 == sha256_of(package)


@pytest.mark.filterwarnings(NO_FLOW_LOG_WARNING)
def test_prefect_push_does_not_retry_refused_access(prefect_harness, package, monkeypatch):
    from tasks.delivery import push_model

    def refused(n, *args, **kwargs):
        raise DeliveryError("Access denied", retryable=False)

    calls = _counting(monkeypatch, refused)
    state = push_model.with_options(retry_delay_seconds=0)(
        package, MODEL, 3, None, Path("x"), return_state=True
    )
    assert state.is_failed() and len(calls) == 1


ROLE = "arn:aws:iam::123456789012:role/lstm-sagemaker-execution"


def test_deploy_task_creates_endpoint_and_artifact(prefect_harness, package_url, monkeypatch):
    from tasks.delivery import deploy_to_sagemaker

    endpoint = f"task-{uuid.uuid4().hex[:8]}"
    deploy = DeployConfig(enabled=True, endpoint_name=endpoint, role_arn=ROLE, wait_timeout=5)
    result = deploy_to_sagemaker(deploy, "lstm-forecaster", "3", package_url)
    assert result.action == "create" and result.status == "InService"
    described = boto3.client("sagemaker").describe_endpoint(EndpointName=endpoint)
    assert described["EndpointStatus"] == "InService"
