"""No secret reaches stdout, stderr or Prefect's database: a password in AWS_ENDPOINT_URL, the
AWS secret key and the API key, through the CLI's pre-flight and through a failed push whose
botocore error (which names the endpoint URL in full) is chained with ``raise ... from``."""

from __future__ import annotations

import json

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
