"""SIGTERM during a retrain: the MLflow run ends KILLED, temporary folders are removed and no
child process (Prefect's temporary server) is left behind; nothing is registered."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import make_series
from mlflow import MlflowClient

from flows.cli.main import main

TINY = {
    "analysis": {"max_lookback": 12, "compare_candidates": False},
    "tuning": {"max_trials": 4, "epochs": 30, "units": [8]},
    "training": {"epochs": 3},
}


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid``, read from /proc."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            found |= {child} | _descendants(child)
    return found


def _running_run(store: Path) -> str | None:
    """The id of a RUNNING retrain run in the child's store, once there is one.

    Read with sqlite3, not MLflow: an MLflow client would try to create the tables the
    child is creating at that moment.
    """
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as connection:
            row = connection.execute(
                "SELECT run_uuid FROM runs WHERE status = 'RUNNING' AND name LIKE 'terminated-%'"
            ).fetchone()
    except sqlite3.Error:  # not created yet, or being created
        return None
    return row[0] if row else None


def test_sigterm_marks_the_run_killed_and_leaves_no_process_or_folder(tmp_path):
    make_series(120).to_csv(tmp_path / "series.csv", index=False)
    (tmp_path / "tiny.json").write_text(json.dumps(TINY))
    child_tmp = tmp_path / "tmp"
    child_tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(child_tmp), "PREFECT_HOME": str(tmp_path / "prefect")}
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("PREFECT_API_URL", None)  # its own temporary Prefect server, as a user's run has
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from flows.cli.main import main; raise SystemExit(main())",
            "retrain",
            "series.csv",
            "--model-name",
            "terminated",
            "--config",
            "tiny.json",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    store = tmp_path / "mlflow.db"
    # Wait for the event, not for a time: the run exists once training has started.
    while (run_id := _running_run(store)) is None:
        assert child.poll() is None, child.communicate()[1][-3000:]
        time.sleep(0.5)
    processes = _descendants(child.pid)
    assert processes, "Prefect's temporary server runs as a child process"

    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=300)

    assert child.returncode == 130, err[-3000:]
    assert "interrupted" in err and "Traceback" not in err.splitlines()[-1]
    # Both URIs: a registry URI set earlier in this process would otherwise win.
    uri = f"sqlite:///{store}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    status = client.get_run(run_id).info.status
    if status == "RUNNING":
        # The signal cut a store write short and the store stayed locked for the KILLED
        # write: doctor, the repair the message names, ends it.
        with pytest.MonkeyPatch.context() as patch:
            patch.chdir(tmp_path)
            patch.setenv("MLFLOW_TRACKING_URI", uri)
            assert main(["doctor"]) == 0
        status = client.get_run(run_id).info.status
        assert status == "FAILED"
    else:
        assert status == "KILLED"
    assert client.search_registered_models() == []
    assert not list(child_tmp.glob("lstm-pipeline-*"))
    alive = {pid for pid in processes if Path(f"/proc/{pid}").exists()}
    assert not alive, f"left behind: {alive}"
