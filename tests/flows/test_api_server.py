"""The temporary Prefect server a one-off command starts in the background."""

from __future__ import annotations

import subprocess
import sys

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
