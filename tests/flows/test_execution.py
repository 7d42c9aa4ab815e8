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

from flows.execution import dask_workers, search
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


def test_a_local_cluster_starts_with_its_block_serves_the_search_and_stops_after_it(
    trained, mlflow_tracking, prefect_harness, tmp_path
):
    _, data, _ = trained
    configure_tracking(None, "tests")
    local, remote = _config(), _config(execution__runner="dask", execution__dask_address="x:1")
    for config in (local, remote):  # nothing to start
        with dask_workers(config) as unchanged:
            assert unchanged is config
    config = _config(execution__runner="dask", execution__dask_workers=1, tuning__max_trials=2)
    started = time.monotonic()
    with dask_workers(config) as on_cluster:
        # The block opens before the worker has imported TensorFlow; the search waits for it.
        assert time.monotonic() - started < 10
        address = on_cluster.execution.dask_address
        assert address is not None and address.startswith("tcp://127.0.0.1:")
        # Only the address changed.
        address_only = {"execution": {"dask_address"}}
        assert on_cluster.model_dump(exclude=address_only) == config.model_dump(
            exclude=address_only
        )
        run_id, architecture, _ = _search_in_run(data, on_cluster, tmp_path)
    assert len(_trial_runs(run_id)) == 2 and architecture.units in (4, 8)
    with pytest.raises(OSError):
        Client(address, timeout=3)


def _panel_csv(path, series=2, points=120):
    """A long-format panel of ``series`` generated monthly series of different levels."""
    import pandas as pd
    from conftest import make_series

    frames = []
    for i in range(series):
        frame = make_series(points, seed=20 + i)
        frame["value"] *= 1 + i
        frame.insert(0, "series_id", f"s{i}")
        frames.append(frame)
    pd.concat(frames).to_csv(path, index=False)
    return path


def _local_panel_config(name: str, **overrides) -> PipelineConfig:
    from conftest import local_config

    return local_config(compare_candidates=False).with_overrides(
        data__series_column="series_id",
        panel__strategy="local",
        registry__model_name=name,
        **overrides,
    )


def test_a_local_panel_on_two_workers_matches_the_local_runner(
    tmp_path, mlflow_tracking, prefect_harness, dask_cluster
):
    from flows.predict import write_future_forecast
    from flows.retrain import retrain

    address, _ = dask_cluster
    csv = _panel_csv(tmp_path / "panel.csv")
    local = retrain(str(csv), _local_panel_config("local-runner"))
    remote = retrain(
        str(csv),
        _local_panel_config(
            "dask-runner", execution__runner="dask", execution__dask_address=address
        ),
    )
    assert remote.series == local.series == 2
    for key in ("model/mean_mase", "seasonal_naive/mean_mase"):
        assert remote.summary[key] == pytest.approx(local.summary[key], rel=1e-5)
    assert remote.coverage == pytest.approx(local.coverage)
    run = mlflow.get_run(remote.run_id)
    assert run.data.tags["registered_version"] == "1"
    assert run.data.metrics["panel/fit_seconds"] > 0
    children = mlflow.search_runs(
        filter_string=f"tags.mlflow.parentRunId = '{remote.run_id}'", output_format="list"
    )
    assert sorted(child.data.tags["series_id"] for child in children) == ["s0", "s1"]
    version = mlflow.MlflowClient().get_model_version("dask-runner", "1")
    assert version.tags["panel_strategy"] == "local"
    # One version serves every series' next h steps with bounds.
    output = tmp_path / "future.csv"
    rows = write_future_forecast(str(csv), "models:/dask-runner/1", output)
    assert rows == 2 * remote.horizon


def test_a_series_that_cannot_be_fitted_stops_the_run_or_is_left_out(prefect_harness):
    import pandas as pd
    from prefect import flow

    from flows.execution import _without_failed
    from lstm_model.data.panel import Panel
    from lstm_model.errors import PipelineInputError
    from lstm_model.modeling.panel_preparation import prepare_panel

    values = np.concatenate([np.sin(np.arange(100) / 3) + 5 + i for i in range(3)])
    panel = Panel(
        np.array(["a", "b", "c"]),
        values,
        np.array([0, 100, 200, 300]),
        np.tile(pd.date_range("2000-01-01", periods=100, freq="MS").to_numpy(), 3),
        "MS",
        {},
    )
    config = PipelineConfig().with_overrides(data__series_column="series_id")
    prepared = prepare_panel(panel, config)
    failed = {"b": PipelineInputError("too short"), "c": RuntimeError("worker lost")}
    with pytest.raises(RuntimeError, match=r"2 series could not be fitted \(b: too short; c"):
        _without_failed(prepared, failed, config)
    with pytest.raises(PipelineInputError, match="set data.bad_series to skip"):
        _without_failed(prepared, {"b": failed["b"]}, config)

    @flow
    def skipping():
        skip = config.with_overrides(data__bad_series="skip")
        return _without_failed(prepared, failed, skip)

    kept = skipping()
    assert list(kept.panel.ids) == ["a"] and set(kept.panel.excluded) == {"b", "c"}
    # The series kept keeps its parts and decisions.
    for part in ("train", "validation", "test"):
        assert [int(b[0]) for b in kept.split.part(part)] == [
            int(b[0]) for b in prepared.split.part(part)
        ]
    assert kept.analysis.lookback == prepared.analysis.lookback
