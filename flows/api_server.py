"""Prefect's API for a one-off command: the configured server, else a temporary one started in
the background while the command imports TensorFlow and MLflow.

A flow needs a Prefect API. Without ``PREFECT_API_URL`` Prefect starts a temporary server
itself when the first flow run asks for a client: a uvicorn subprocess that takes about 11 s
on 2 cores to answer, on the critical path after every import, and its module costs the
command another ~5 s of imports. :func:`prefect_api` instead launches the same server process
(the command Prefect's ``SubprocessASGIServer`` runs) right away, so it boots while the command
imports TensorFlow, Keras and MLflow (~7 s), and points the flow at it with
``temporary_settings``; the command never imports Prefect's server code. At the end the queued
run logs and events are sent and the process is terminated (it exits in well under a second).
With ``PREFECT_API_URL`` set nothing is started: the flow runs against that server.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

STARTUP_TIMEOUT_ENV = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"


class TemporaryServer:
    """A Prefect API server subprocess on 127.0.0.1, serving one command."""

    def __init__(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        # Where Prefect is installed, without importing it (that alone takes seconds).
        spec = importlib.util.find_spec("prefect")
        assert spec is not None and spec.submodule_search_locations
        app_dir = Path(next(iter(spec.submodule_search_locations))).parent

        # Prefect's own temporary-server command: no UI, only the services an ephemeral
        # server runs (PREFECT__SERVER_EPHEMERAL), settings passed through the environment.
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--app-dir",
                str(app_dir),
                "--factory",
                "prefect.server.api.server:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "error",
                "--lifespan",
                "on",
            ],
            env={
                **os.environ,
                "PREFECT_UI_ENABLED": "0",
                "PREFECT__SERVER_EPHEMERAL": "1",
                "PREFECT__SERVER_FINAL": "1",
            },
        )  # output inherited: the command's log file in a normal run

    def wait(self) -> None:
        """Block until ``/api/health`` answers.

        Raises:
            RuntimeError: The process exited, or it did not answer within
                ``PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS`` (default 120).
        """
        deadline = time.monotonic() + float(os.environ.get(STARTUP_TIMEOUT_ENV) or 120)
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"Prefect's temporary server exited with code {self.process.returncode}"
                )
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"Prefect's temporary server did not answer on {self.api_url}")

    def stop(self) -> None:
        """Send the queued run logs and events, then terminate the server."""
        if self.process.poll() is None:
            from prefect.events.worker import EventsWorker
            from prefect.logging.handlers import APILogHandler

            APILogHandler().flush()
            EventsWorker.drain_all()
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def prefect_api() -> Iterator[TemporaryServer | None]:
    """The Prefect API for one command.

    Yields:
        The temporary server being started (call ``wait()`` right before the first flow
        run), or None when ``PREFECT_API_URL`` already names one.
    """
    if os.environ.get("PREFECT_API_URL"):
        yield None
        return
    # Started before Prefect is imported: the settings import alone takes seconds.
    server = TemporaryServer()
    try:
        from prefect.settings import PREFECT_API_URL, temporary_settings

        if PREFECT_API_URL.value():  # set in a Prefect profile (or by a test harness)
            server.process.terminate()
            server.process.wait()  # so stop() below finds nothing to drain
            yield None
            return
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            yield server
    finally:
        server.stop()
