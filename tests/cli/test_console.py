"""Quiet by default, loud on request: the installed command in a real process, so the
descriptor-level output of TensorFlow, Prefect and GX is what a user would see."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import good_rows, write_rows

COMMAND = [sys.executable, "-m", "flows.cli"]


def _run(cwd, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "LSTM_PIPELINE_LOG_DIR": str(cwd / "logs")}
    env.pop("PREFECT_LOGGING_LEVEL", None)  # the default INFO: the chatter a user would get
    return subprocess.run(
        [*COMMAND, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300
    )


@pytest.mark.parametrize(
    ("rows", "header", "expected"),
    [
        (good_rows()[:-1] + ["2004-12-01,n/a"], "timestamp,value", "line 61: 'n/a'"),
        (good_rows(), "timestamp,vaule", "did you mean 'vaule'"),
        (good_rows()[:30] + good_rows()[33:], "timestamp,value", "regular frequency"),
    ],
    ids=["non-numeric", "misspelled-column", "gap"],
)
def test_bad_file_prints_only_the_error_and_logs_the_rest(tmp_path, rows, header, expected):
    path = write_rows(tmp_path / "bad.csv", rows, header)
    result = _run(tmp_path, "retrain", str(path))
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and expected in result.stderr
    assert "Traceback" not in result.stderr
    # Nothing but the message: every line is ours (the message spans a few lines).
    assert len(result.stderr.splitlines()) <= 6
    assert result.stdout == ""
    # Rejected before TensorFlow or Prefect: no server was started, no flow ran.
    (log,) = (tmp_path / "logs").iterdir()
    assert "temporary server" not in log.read_text()
    assert not (tmp_path / "mlflow.db").exists()


def test_verbose_shows_the_traceback(tmp_path):
    path = write_rows(tmp_path / "bad.csv", good_rows()[:-1] + ["2004-12-01,n/a"])
    result = _run(tmp_path, "retrain", str(path), "--verbose")
    assert result.returncode == 2
    assert "Traceback" in result.stderr
    assert "error: " in result.stderr and "line 61: 'n/a'" in result.stderr
    assert not (tmp_path / "logs").exists()


def test_flags_work_before_and_after_the_command(tmp_path):
    config = tmp_path / "bad.json"
    config.write_text(json.dumps({"tuning": {"max_trials": 0}}))
    for args in (
        ["-v", "retrain", "x.csv", "--config", str(config)],
        ["retrain", "x.csv", "--config", str(config), "-q"],
    ):
        result = _run(tmp_path, *args)
        assert result.returncode == 2
        assert "error: " in result.stderr and "max_trials" in result.stderr


@pytest.mark.parametrize(
    ("flags", "code", "expected"),
    [
        (["--dask-address", "scheduler-host"], 2, "give scheme://host:port"),
        (["--runner", "dask", "--config", "HYPERBAND"], 2, "hyperband runs only with"),
        (["--dask-address", "tcp://127.0.0.1:PORT"], 1, "no Dask scheduler answered"),
    ],
    ids=["malformed-address", "hyperband-on-dask", "no-scheduler"],
)
def test_a_cluster_that_cannot_work_is_refused_before_training(tmp_path, flags, code, expected):
    from conftest import free_port

    path = write_rows(tmp_path / "series.csv", good_rows())
    hyperband = tmp_path / "hyperband.json"
    hyperband.write_text(json.dumps({"tuning": {"tuner": "hyperband"}}))
    flags = [
        f.replace("HYPERBAND", str(hyperband)).replace("PORT", str(free_port())) for f in flags
    ]
    result = _run(tmp_path, "retrain", str(path), *flags)
    assert result.returncode == code
    assert result.stderr.startswith("error: ") and expected in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) <= 6
    assert not (tmp_path / "mlflow.db").exists()
