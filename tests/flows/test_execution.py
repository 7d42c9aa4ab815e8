"""Work on a Dask cluster: a real scheduler and worker processes on 127.0.0.1, real Prefect,
real MLflow, real TensorFlow."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import mlflow
import numpy as np
import pytest
from distributed import Client

from flows.execution import search
from lstm_model.config import PipelineConfig
from lstm_model.tracking import configure_tracking

TINY_SEARCH = {
    "tuning__max_trials": 3,
    "tuning__epochs": 3,
    "tuning__patience": 2,
    "tuning__units": (4, 8),
    "tuning__max_layers": 1,
}


@pytest.fixture
def dask_cluster(tmp_path):
    """``dask scheduler`` and two ``dask worker`` processes (no nanny: a killed worker stays
    dead); yields the address and the worker processes by name."""
    scheduler_file = tmp_path / "scheduler.json"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_NUM_INTRAOP_THREADS": "1"}
    common = ["--no-dashboard", "--host", "127.0.0.1", "--scheduler-file", str(scheduler_file)]
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--port", "0", *common],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    workers = {
        name: subprocess.Popen(
            [
                sys.executable,
                "-m",
                "distributed.cli.dask_worker",
                "--nthreads",
                "1",
                "--no-nanny",
                "--name",
                name,
                *common,
            ],
            env=env,
            stderr=subprocess.DEVNULL,
        )
        for name in ("w0", "w1")
    }
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        with Client(scheduler_file=str(scheduler_file), timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
            address = client.scheduler.address
        yield address, workers
    finally:
        for process in [*workers.values(), scheduler]:
            process.kill()
            process.wait()


def _config(**overrides) -> PipelineConfig:
    return PipelineConfig().with_overrides(seed=3, **{**TINY_SEARCH, **overrides})


def _trial_runs(parent: str) -> dict[str, mlflow.entities.Run]:
    runs = mlflow.search_runs(
        filter_string=f"tags.mlflow.parentRunId = '{parent}'", output_format="list"
    )
    return {run.data.tags["trial_id"]: run for run in runs}


def _search_in_run(data, config, directory):
    with mlflow.start_run() as run:
        architecture, windowed = search(data, config, directory)
    return run.info.run_id, architecture, windowed


def test_a_search_on_two_workers_matches_the_local_search_and_tracks_every_trial(
    trained, mlflow_tracking, prefect_harness, dask_cluster, tmp_path
):
    _, data, _ = trained
    address, _ = dask_cluster
    configure_tracking(None, "tests")
    local_run, local, _ = _search_in_run(data, _config(), tmp_path / "local")
    dask = _config(execution__runner="dask", execution__dask_address=address)
    dask_run, remote, windowed = _search_in_run(data, dask, tmp_path / "dask")
    assert remote == local
    assert windowed.transform.lookback == remote.lookback
    local_trials, remote_trials = _trial_runs(local_run), _trial_runs(dask_run)
    assert set(remote_trials) == set(local_trials) and len(remote_trials) == 3
    for trial_id, run in remote_trials.items():
        expected = local_trials[trial_id]
        assert run.data.params == expected.data.params
        assert run.data.tags["trial_status"] == "COMPLETED"
        np.testing.assert_allclose(
            run.data.metrics["val_loss"], expected.data.metrics["val_loss"], rtol=1e-5
        )
        # The per-epoch curve came back from the worker, as the local search logs it.
        history = mlflow.MlflowClient().get_metric_history
        remote_curve = [m.value for m in history(run.info.run_id, "val_loss")]
        local_curve = [m.value for m in history(expected.info.run_id, "val_loss")]
        assert len(remote_curve) > int(run.data.metrics["epochs"])
        np.testing.assert_allclose(sorted(remote_curve), sorted(local_curve), rtol=1e-5)
    parent = mlflow.get_run(dask_run).data
    assert parent.params["best_units"] == str(remote.units)
    assert parent.metrics["trial/count"] == 3


def test_a_worker_killed_mid_trial_is_retried_elsewhere_and_the_search_completes(
    trained, mlflow_tracking, prefect_harness, dask_cluster, tmp_path
):
    _, data, _ = trained
    address, workers = dask_cluster
    configure_tracking(None, "tests")
    # Long enough trials that the kill lands in the middle of one.
    config = _config(
        execution__runner="dask",
        execution__dask_address=address,
        tuning__max_trials=2,
        tuning__epochs=60,
        tuning__patience=60,
    )
    killed: list[str] = []

    def kill_a_busy_worker() -> None:
        with Client(address, timeout=30) as client:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                busy = [w for w, tasks in client.processing().items() if tasks]
                if busy:
                    time.sleep(3)  # TensorFlow started, the fit is under way
                    name = client.scheduler_info()["workers"][busy[0]]["name"]
                    workers[name].kill()
                    killed.append(name)
                    return
                time.sleep(0.2)

    killer = threading.Thread(target=kill_a_busy_worker)
    killer.start()
    run_id, architecture, _ = _search_in_run(data, config, tmp_path)
    killer.join()
    assert killed, "no worker was busy to kill"
    trials = _trial_runs(run_id)
    assert len(trials) == 2
    assert {run.data.tags["trial_status"] for run in trials.values()} == {"COMPLETED"}
    assert architecture.units in (4, 8)
