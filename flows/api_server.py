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

A command killed with SIGKILL cannot stop its server, so on Linux the server asks the kernel
to send it SIGTERM when the command dies (``prctl(PR_SET_PDEATHSIG)``, set before uvicorn is
exec'd). Each server also leaves a record (pid, port, the command's pid) under
:func:`records_folder` while it runs; ``lstm-pipeline doctor`` stops a server whose command
is gone (:func:`stop_stale_servers`), for platforms without that signal.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

STARTUP_TIMEOUT_ENV = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"
# What the server's command line holds: how doctor recognises it behind a recorded pid.
SERVER_APP = "prefect.server.api.server:create_app"
# Runs first in the server's process: die with the command (argv[1] = its pid), then become
# uvicorn (argv[2:]). Only the thread that started the server counts as its parent: the CLI's
# main thread. If the command is already gone, the server is not started at all.
_DIE_WITH_PARENT = """
import ctypes, os, signal, sys
if sys.platform == "linux":
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() != int(sys.argv[1]):
        sys.exit(0)
os.execv(sys.executable, [sys.executable, *sys.argv[2:]])
"""


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
                "-c",
                _DIE_WITH_PARENT,
                str(os.getpid()),
                "-m",
                "uvicorn",
                "--app-dir",
                str(app_dir),
                "--factory",
                SERVER_APP,
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
        self.record = record_server(self.process.pid, self.port, os.getpid())

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
        self.record.unlink(missing_ok=True)


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


def records_folder() -> Path:
    """Where running temporary servers are recorded: one folder per user and machine.

    Named apart from the runs' ``lstm-pipeline-*`` temporary folders: it outlives every run.
    """
    folder = Path(tempfile.gettempdir()) / f"lstm-pipeline.prefect-servers.{os.getuid()}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def record_server(pid: int, port: int, parent: int) -> Path:
    """Note a running temporary server for ``doctor``; the server removes it when it stops.

    Args:
        pid: The server's process.
        port: Its port on 127.0.0.1.
        parent: The command that started it (the server is stale once that is gone).

    Returns:
        The record file.
    """
    record = records_folder() / f"{pid}.json"
    record.write_text(json.dumps({"pid": pid, "port": port, "parent": parent}))
    return record


def stop_stale_servers() -> list[Any]:
    """Stop the temporary servers whose command died without stopping them.

    A record whose command is alive is left alone; one whose server is gone is removed.

    Returns:
        ``lstm_model.delivery.doctor.Finding`` per server stopped, or left running because
        its command line could not be checked.
    """
    from lstm_model.delivery.doctor import Finding, process_alive

    findings = []
    for record in sorted(records_folder().glob("*.json")):
        try:
            entry = json.loads(record.read_text())
            pid, port, parent = int(entry["pid"]), int(entry["port"]), int(entry["parent"])
        except (OSError, ValueError, KeyError, TypeError):
            record.unlink(missing_ok=True)  # half-written by a command killed at that moment
            continue
        if process_alive(parent):
            continue
        subject = f"pid {pid} (port {port})"
        command = _command_line(pid)
        if command is None:
            detail = f"may still run: its command {parent} is gone (check it with `ps {pid}`)"
            findings.append(Finding("stale Prefect server", subject, detail))
            continue
        if SERVER_APP.encode() in command and str(port).encode() in command:
            _end(pid)
            detail = f"outlived its command {parent}; stopped"
            findings.append(Finding("stale Prefect server", subject, detail, fixed=True))
        record.unlink(missing_ok=True)  # gone, or the pid now belongs to another process
    return findings


def _command_line(pid: int) -> list[bytes] | None:
    """The process's arguments; [] when it is gone, None when this system has no /proc."""
    if not Path("/proc/self").exists():
        return None
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except FileNotFoundError:
        return []


def _end(pid: int) -> None:
    """SIGTERM, then SIGKILL after 5 s; it is not our child, so poll instead of wait."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while _running(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _running(pid):
            os.kill(pid, signal.SIGKILL)


def _running(pid: int) -> bool:
    """Alive and not a zombie (an exited process its parent has not reaped yet)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"
