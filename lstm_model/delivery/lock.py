"""A per-model registry lock, so that compare -> push -> promote is never interleaved.

MLflow has no compare-and-set for aliases or tags, so two retrains of the same model could
both read "champion v3", both push, and both move ``champion`` (and rewrite the champion
history from the same stale copy). Every change of ``champion`` and of the history therefore
happens while holding this lock, and the retrain re-checks under it that the champion is still
the one it compared with.

The lock is an exclusive ``flock`` on a file next to the sqlite store (``<db>.locks/``), or,
for other stores, in a per-store folder under the temporary directory. The kernel releases
it when its holder dies, even by ``kill -9``, so a crash never leaves it stuck. It serialises
processes on one machine (or sharing the sqlite file's folder): with a remote tracking server
and retrains on several machines, run them from one scheduler (the Prefect deployment allows
one run per model).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

# Locks this process holds, by file: promote() inside the flow's locked section must not
# wait for itself (flock treats a second open file of the same process as another owner).
_held: dict[str, int] = {}
_held_guard = threading.Lock()
_POLL_SECONDS = 0.2


class RegistryLockTimeout(RuntimeError):
    """Another process held the model's lock longer than the timeout."""


def lock_path(tracking_uri: str, model_name: str) -> Path:
    """The lock file of ``model_name`` in the store at ``tracking_uri``.

    Args:
        tracking_uri: The registry URI, e.g. ``sqlite:///mlflow.db``.
        model_name: Registered model name (already checked safe as a file name).

    Returns:
        The path; its folder is created on first use.
    """
    if tracking_uri.startswith("sqlite:///"):
        database = Path(tracking_uri.removeprefix("sqlite:///")).absolute()
        return database.with_name(database.name + ".locks") / f"{model_name}.lock"
    store = hashlib.sha256(tracking_uri.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / "lstm-pipeline-locks" / store / f"{model_name}.lock"


@contextlib.contextmanager
def model_lock(
    tracking_uri: str,
    model_name: str,
    timeout: float,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Hold the model's registry lock for the block; re-entrant within one process.

    Args:
        tracking_uri: The registry URI.
        model_name: Registered model name.
        timeout: Seconds to wait for another holder before giving up.
        on_wait: Called once with a message (who holds it) when the lock is busy.

    Raises:
        RegistryLockTimeout: Still held by another process after ``timeout`` seconds.
    """
    path = lock_path(tracking_uri, model_name)
    key = str(path)
    with _held_guard:
        if key in _held:
            _held[key] += 1
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield
        finally:
            with _held_guard:
                _held[key] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(handle, path, model_name, timeout, on_wait)
        holder = f"pid {os.getpid()} on {socket.gethostname()} since {_now()}\n"
        os.ftruncate(handle, 0)
        os.pwrite(handle, holder.encode(), 0)
        with _held_guard:
            _held[key] = 1
        try:
            yield
        finally:
            with _held_guard:
                del _held[key]
            os.ftruncate(handle, 0)
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        os.close(handle)


def _acquire(
    handle: int,
    path: Path,
    model_name: str,
    timeout: float,
    on_wait: Callable[[str], None] | None,
) -> None:
    deadline = time.monotonic() + timeout
    told = False
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            holder = path.read_text().strip() or "another process"
            if time.monotonic() >= deadline:
                raise RegistryLockTimeout(
                    f"The registry lock of {model_name} ({path}) is still held by {holder} "
                    f"after {timeout:g} s: another retrain or promotion of {model_name} is "
                    "running. Wait for it, or raise registry.lock_timeout."
                ) from None
            if on_wait is not None and not told:
                on_wait(f"waiting for the registry lock of {model_name}, held by {holder}")
                told = True
            time.sleep(_POLL_SECONDS)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
