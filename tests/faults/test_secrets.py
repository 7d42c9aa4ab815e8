"""No secret reaches stdout, stderr or Prefect's database: a password in AWS_ENDPOINT_URL, the
AWS secret key and the API key, through the CLI's pre-flight and through a failed push whose
botocore error (which names the endpoint URL in full) is chained with ``raise ... from``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import free_port, make_series

from flows.cli.main import main

PASSWORD = "pw-7Hq2xV9mKzT4"
SECRETS = {
    "AWS_SECRET_ACCESS_KEY": "sk-3NfR8pLq0WcY6tBv",
    "LSTM_PIPELINE_API_KEY": "api-9XjD2mQs5LkP1vRz",
}


@pytest.fixture
def secret_env(monkeypatch, tmp_path):
    """Secret-looking values in every place the environment offers; S3 endpoint down."""
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://ops:{PASSWORD}@127.0.0.1:{free_port()}")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return [PASSWORD, *SECRETS.values()]


def _assert_clean(text: str, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret not in text


def test_an_unreachable_endpoint_with_a_password_is_reported_without_it(
    secret_env, tmp_path, capsys
):
    make_series(120).to_csv(tmp_path / "series.csv", index=False)
    code = main(["retrain", "series.csv", "--push-uri", "s3://models/prod"])
    out, err = capsys.readouterr()
    assert code == 1  # not the user's input: the store is down
    assert "Cannot reach the S3 endpoint http://***@127.0.0.1" in err
    _assert_clean(out + err, secret_env)
    assert not (tmp_path / "mlflow.db").exists()  # refused before training


def test_a_push_failing_inside_a_flow_logs_no_secret(
    prefect_harness, secret_env, package, tmp_path
):
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    from lstm_model.delivery.push import DeliveryError
    from lstm_model.redact import install_log_redaction
    from tasks.delivery import push_model

    install_log_redaction()  # as the CLI and the retrain flow do

    @flow(name="push-with-secrets")
    def push_flow() -> None:
        # No retries: the first failure is logged with its chained botocore traceback.
        push_model.with_options(retries=0)(
            package, "lstm-forecaster", 3, "s3://models/prod", tmp_path, {"run-id": "r"}
        )

    state = push_flow(return_state=True)
    assert state.is_failed()
    with pytest.raises(DeliveryError, match=r"Cannot reach the S3 endpoint http://\*\*\*@"):
        state.result()
    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(state.state_details.flow_run_id)
        logs = client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run.id]))
        )
        states = client.read_flow_run_states(flow_run.id)
    stored = json.dumps([log.message for log in logs] + [s.message or "" for s in states])
    assert "EndpointConnectionError" in stored  # the traceback was stored, redacted
    _assert_clean(stored, secret_env)


@pytest.mark.parametrize(
    "uri",
    [f"http://ops:{PASSWORD}@mlflow.internal:5000", f"https://mlflow.internal/?token={PASSWORD}"],
    ids=["userinfo", "token"],
)
def test_a_config_leaves_the_process_without_the_tracking_credentials(uri):
    from lstm_model.config import PipelineConfig

    config = PipelineConfig().with_overrides(registry__tracking_uri=uri)

    assert config.with_overrides(seed=1).registry.tracking_uri == uri  # in memory: usable
    assert "mlflow.internal" in config.model_dump_json()
    for text in (config.model_dump_json(), json.dumps(config.flat())):
        assert PASSWORD not in text


def test_credentials_in_the_tracking_uri_are_used_but_stored_nowhere(
    prefect_harness, mlflow_server, tmp_path, monkeypatch
):
    """A retrain against a tracking server whose URI carries a password: Prefect's flow-run
    parameters, name, logs and artifacts, and the MLflow run's params, tags and config.json,
    hold the server's address but never the password."""
    import mlflow
    from mlflow import MlflowClient
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        LogFilter,
        LogFilterFlowRunId,
    )

    from flows.retrain import retrain
    from lstm_model.config import PipelineConfig
    from lstm_model.errors import DataValidationError

    monkeypatch.chdir(tmp_path)
    secret_uri = mlflow_server.replace("http://", f"http://ops:{PASSWORD}@")
    series = make_series(120).astype({"value": object})
    series.loc[100, "value"] = "n/a"  # stops the flow at validate-data, after the run began
    series.to_csv(tmp_path / "series.csv", index=False)
    config = PipelineConfig().with_overrides(
        registry__tracking_uri=secret_uri, registry__experiment="secret-uri"
    )

    try:
        state = retrain(str(tmp_path / "series.csv"), config, return_state=True)
        used = mlflow.get_tracking_uri()
    finally:
        mlflow.set_tracking_uri(None)
        mlflow.set_registry_uri(None)
    with pytest.raises(DataValidationError, match="line 102: 'n/a'"):
        state.result()
    assert used == secret_uri  # the flow logged in with the real URI

    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(state.state_details.flow_run_id)
        logs = client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run.id]))
        )
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run.id]))
        )
    parameters = flow_run.parameters["config"]["registry"]
    assert parameters["tracking_uri"] == mlflow_server.replace("http://", "http://***@")
    (link,) = [a for a in artifacts if a.key == "mlflow-run"]
    assert f"]({mlflow_server}/#/experiments/" in str(link.data)  # a link without the login
    prefect_text = json.dumps(
        [flow_run.parameters, flow_run.name, [log.message for log in logs]]
        + [[a.key, str(a.data), a.description] for a in artifacts],
        default=str,
    )
    assert PASSWORD not in prefect_text

    mlflow_client = MlflowClient(tracking_uri=mlflow_server)
    experiment = mlflow_client.get_experiment_by_name("secret-uri")
    (run,) = mlflow_client.search_runs([experiment.experiment_id])
    assert run.data.params["registry.tracking_uri"] == parameters["tracking_uri"]
    logged_config = mlflow_client.download_artifacts(run.info.run_id, "config.json", str(tmp_path))
    mlflow_text = json.dumps([run.data.params, run.data.tags, run.info.run_name])
    mlflow_text += Path(logged_config).read_text()
    assert mlflow_server.removeprefix("http://") in mlflow_text
    assert PASSWORD not in mlflow_text
