"""``lstm-pipeline doctor`` after crashes: dead RUNNING runs are marked FAILED (live ones are
left alone); untagged versions, aliases to missing or unblessed versions and champion-history
entries of deleted versions are reported."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time

import mlflow
import pytest
from mlflow import MlflowClient

from flows.cli.main import main
from lstm_model.delivery.doctor import HOST_TAG, PID_TAG

MODEL = "doctored"


class _Identity(mlflow.pyfunc.PythonModel):
    """The registry only stores it."""

    def predict(self, context, model_input, params=None):
        return model_input


@pytest.fixture
def store(mlflow_tracking):
    from lstm_model.tracking import configure_tracking

    configure_tracking(None, "lstm-pipeline")
    return MlflowClient()


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_dead_running_runs_are_marked_failed_and_live_ones_kept(store, capsys):
    experiment = store.get_experiment_by_name("lstm-pipeline").experiment_id
    host = socket.gethostname()
    killed = store.create_run(
        experiment, run_name="retrain-a", tags={PID_TAG: str(_dead_pid()), HOST_TAG: host}
    )
    trial = store.create_run(
        experiment, run_name="trial-1", tags={"mlflow.parentRunId": killed.info.run_id}
    )
    live = store.create_run(
        experiment, run_name="retrain-b", tags={PID_TAG: str(os.getpid()), HOST_TAG: host}
    )
    two_days_ago = int((time.time() - 48 * 3600) * 1000)
    old = store.create_run(experiment, run_name="retrain-old", start_time=two_days_ago)
    recent = store.create_run(experiment, run_name="retrain-elsewhere")

    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    status = {
        run.info.run_name: store.get_run(run.info.run_id).info.status
        for run in (killed, trial, live, old, recent)
    }
    assert status == {
        "retrain-a": "FAILED",
        "trial-1": "FAILED",
        "retrain-b": "RUNNING",
        "retrain-old": "FAILED",
        "retrain-elsewhere": "RUNNING",
    }
    assert "no longer exists" in out and "3 finding(s), 3 fixed" in out
    assert main(["doctor"]) == 0  # nothing left to repair
    assert "0 finding(s)" in capsys.readouterr().out


def test_registry_problems_are_reported_and_left_for_a_person(store, tiny_export, capsys):
    for _ in range(3):
        with mlflow.start_run():
            mlflow.pyfunc.log_model(
                name="model",
                python_model=_Identity(),
                artifacts={"saved_model": str(tiny_export[0])},
                pip_requirements=["mlflow"],
                registered_model_name=MODEL,
            )
    store.set_model_version_tag(MODEL, "1", "blessed", "true")
    store.set_model_version_tag(MODEL, "2", "blessed", "true")
    store.set_registered_model_tag(MODEL, "champion_history", json.dumps(["1", "2"]))
    store.set_registered_model_alias(MODEL, "champion", "3")  # moved by hand to an untagged one
    store.delete_model_version(MODEL, "1")

    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "untagged version: doctored v3" in out
    assert "unblessed champion: doctored@champion points at v3" in out
    assert "dangling history: doctored champion_history lists deleted version(s) v1" in out
    assert "3 finding(s), 0 fixed" in out
    aliases = store.get_registered_model(MODEL).aliases
    assert {k: str(v) for k, v in aliases.items()} == {"champion": "3"}  # reported, not changed
