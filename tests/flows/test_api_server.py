"""The temporary Prefect server a one-off command starts in the background: stopped after
the command, gone with a command killed by SIGKILL, stopped by ``doctor`` if it outlived one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import make_series

from flows.api_server import SERVER_APP, record_server, records_folder
from flows.cli.main import main

SCRIPT = """
from prefect import flow
from prefect.settings import PREFECT_API_URL
from flows.api_server import prefect_api

@flow
def ping() -> str:
    return PREFECT_API_URL.value()

with prefect_api() as server:
    server.wait()
    used = ping()
    print(server.api_url, used, server.process.pid)
print(server.process.returncode)
"""


def test_a_flow_runs_against_the_background_server_which_is_stopped_after(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "true",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr
    (used, returncode) = result.stdout.strip().splitlines()
    api_url, flow_api_url, _ = used.split()
    assert api_url.startswith("http://127.0.0.1:") and flow_api_url == api_url
    assert returncode != "None"  # the server process has exited
    # Prefect did not start its own temporary server: ours was used.
    assert "Starting temporary server" not in result.stderr


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting for its (new) parent to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _servers_of(pid: int) -> list[int]:
    """The Prefect server processes started by ``pid``."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        for child in map(int, (task / "children").read_text().split()):
            with open(f"/proc/{child}/cmdline", "rb") as cmdline:
                if SERVER_APP.encode() in cmdline.read():
                    found.append(child)
    return found


def _gone_within(pids: list[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while any(_running(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is Linux's")
def test_the_server_dies_with_a_command_killed_by_sigkill(tmp_path, monkeypatch):
    make_series(120).to_csv(tmp_path / "series.csv", index=False)
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect")}
    env["LSTM_PIPELINE_LOG_DIR"] = str(tmp_path / "logs")
    env.pop("PREFECT_API_URL", None)  # its own temporary server, as a user's retrain has
    env.pop("MLFLOW_TRACKING_URI", None)
    command = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "retrain", "series.csv"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 180
        while not (servers := _servers_of(command.pid)):
            assert command.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        command.send_signal(signal.SIGKILL)  # no handler, no cleanup: what kill -9 does
        command.wait()

    assert _gone_within(servers, 10), f"left behind: {servers}"
    # Its record stays (nothing ran to remove it); doctor drops it, having nothing to stop.
    (record,) = [records_folder() / f"{pid}.json" for pid in servers]
    assert record.exists()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert main(["doctor"]) == 0
    assert not record.exists()


def test_doctor_stops_a_server_that_outlived_its_command(tmp_path, monkeypatch, capsys):
    """Where the kernel cannot stop it (another system, a server stuck on SIGTERM)."""
    dead = subprocess.Popen(["true"])
    dead.wait()

    def fake_server(port: int) -> subprocess.Popen:
        script = "import time; time.sleep(300)"
        return subprocess.Popen([sys.executable, "-c", script, SERVER_APP, "--port", str(port)])

    orphan, in_use = fake_server(41001), fake_server(41002)
    try:
        stale = record_server(orphan.pid, 41001, parent=dead.pid)
        live = record_server(in_use.pid, 41002, parent=os.getpid())
        monkeypatch.chdir(tmp_path)
        monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)

        assert main(["doctor"]) == 0

        out = capsys.readouterr().out
        assert f"fixed: stale Prefect server: pid {orphan.pid} (port 41001)" in out
        assert f"outlived its command {dead.pid}; stopped" in out
        assert orphan.wait(timeout=10) is not None and not stale.exists()
        assert in_use.poll() is None and live.exists()  # its command still runs
    finally:
        for process in (orphan, in_use):
            process.kill()
            process.wait()
        live.unlink(missing_ok=True)
