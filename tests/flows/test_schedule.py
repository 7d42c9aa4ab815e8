"""Scheduled retraining: the deployment on a real Prefect server (schedule, parameters, one run
per model at a time) and prefect.yaml defining the same deployment for work pools."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import make_series

from flows.cli.main import main
from flows.schedule import ONE_RUN_AT_A_TIME, deployment_name, retrain_deployment
from lstm_model.config import PipelineConfig

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def csv(tmp_path) -> Path:
    path = tmp_path / "series.csv"
    make_series(60).to_csv(path, index=False)
    return path


@pytest.fixture
def applied(prefect_harness, csv):
    """The deployment of model ``sched-model`` applied to the test server, read back."""
    from prefect.client.orchestration import get_client

    config = PipelineConfig().with_overrides(
        registry__model_name="sched-model", tuning__max_trials=3
    )
    deployment_id = retrain_deployment(csv, "0 3 * * 1", config, "Europe/Berlin").apply()
    with get_client(sync_client=True) as client:
        yield client, client.read_deployment(deployment_id)


def test_deployment_has_the_schedule_and_parameters(applied, csv):
    _, deployment = applied
    assert deployment.name == deployment_name("sched-model") == "retrain-sched-model"
    (schedule,) = deployment.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone) == ("0 3 * * 1", "Europe/Berlin")
    assert schedule.active
    assert deployment.parameters["data_path"] == str(csv.resolve())
    config = PipelineConfig.model_validate(deployment.parameters["config"])
    assert (config.registry.model_name, config.tuning.max_trials) == ("sched-model", 3)
    assert deployment.entrypoint == "flows.retrain.retrain"
    assert "model:sched-model" in deployment.tags


def test_at_most_one_run_per_model_late_runs_are_cancelled(applied):
    from prefect.states import Pending

    client, deployment = applied
    assert deployment.global_concurrency_limit.limit == 1
    assert deployment.concurrency_options.collision_strategy == "CANCEL_NEW"
    first = client.create_flow_run_from_deployment(deployment.id)
    second = client.create_flow_run_from_deployment(deployment.id)
    # What a worker does when it picks a run up: propose Pending. The server decides.
    assert client.set_flow_run_state(first.id, Pending()).state.is_pending()
    refused = client.set_flow_run_state(second.id, Pending())
    assert refused.state.is_cancelled()
    assert "concurrency limit" in (refused.state.message or "")


def test_prefect_yaml_defines_the_same_deployment():
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    (deployment,) = spec["deployments"]
    assert deployment["name"] == deployment_name("lstm-forecaster")
    path, flow_name = deployment["entrypoint"].split(":")
    assert (ROOT / path).is_file() and f"def {flow_name}(" in (ROOT / path).read_text()
    assert deployment["concurrency_limit"] == ONE_RUN_AT_A_TIME
    (schedule,) = deployment["schedules"]
    assert schedule["cron"] == "0 3 * * 1"
    assert (ROOT / deployment["parameters"]["data_path"]).is_file()
    config = PipelineConfig.model_validate(deployment["parameters"]["config"])
    assert config.registry.model_name == "lstm-forecaster"
    assert deployment["work_pool"]["name"] == "lstm-pipeline"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cron", "61 * * * *"], "Invalid cron"),
        (["--cron", "0 3 * * *", "--timezone", "Mars/Base"], "Invalid timezone"),
    ],
)
def test_schedule_command_rejects_bad_cron_and_zone(csv, capsys, args, message):
    assert main(["schedule", str(csv), *args]) == 2
    assert message in capsys.readouterr().err


def test_schedule_command_rejects_a_missing_file(tmp_path, capsys):
    assert main(["schedule", str(tmp_path / "none.csv"), "--cron", "0 3 * * *"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_schedule_command_without_a_server_exits_2_with_instructions(csv, capsys):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        assert main(["schedule", str(csv), "--cron", "0 3 * * 1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: schedule needs a running Prefect server")
    assert "prefect server start" in err and "PREFECT_API_URL=" in err


def test_schedule_refuses_credentials_in_the_tracking_uri(csv, tmp_path, capsys):
    password = "pw-5Rt8sLk2Zq"
    config = tmp_path / "config.json"
    config.write_text(f'{{"registry": {{"tracking_uri": "http://ops:{password}@127.0.0.1:5000"}}}}')
    code = main(["schedule", str(csv), "--cron", "0 3 * * 1", "--config", str(config)])
    err = capsys.readouterr().err
    assert code == 2
    assert "registry.tracking_uri (http://***@127.0.0.1:5000) carries credentials" in err
    assert "MLFLOW_TRACKING_PASSWORD" in err and password not in err
