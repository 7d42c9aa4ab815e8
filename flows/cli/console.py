"""Where the command's output goes: the result to the terminal, everything else to a log file.

Quiet by default: TensorFlow's C++ start-up lines are written by absl straight to file
descriptor 2 before any log level applies (``TF_CPP_MIN_LOG_LEVEL`` does not hide them), Keras
Tuner prints to descriptor 1, and child processes (Prefect's temporary server, the export
check) inherit both. So in a normal run descriptors 1 and 2 point at a log file for the whole
command, and the command's own output (the summary, ``error:`` lines, the progress display)
goes to copies of the original descriptors. ``--verbose`` leaves the descriptors alone, lets
third-party logs through and prints tracebacks.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

LOG_DIR_ENV = "LSTM_PIPELINE_LOG_DIR"
DEFAULT_LOG_DIR = Path(".lstm-pipeline") / "logs"


@dataclass(frozen=True)
class Terminal:
    """The streams the command writes its own output to, and where everything else went.

    ``log_path`` is None with ``--verbose`` (everything is on the terminal then).
    """

    out: TextIO
    err: TextIO
    log_path: Path | None
    verbose: bool
    progress: bool

    def error(self, message: str) -> None:
        """One ``error:`` message on stderr (the only spelling the CLI uses)."""
        print(f"error: {message}", file=self.err, flush=True)


def log_path_for(command: str) -> Path:
    """A new log file for one command: ``$LSTM_PIPELINE_LOG_DIR`` or ``./.lstm-pipeline/logs``.

    Args:
        command: The subcommand, part of the file name.

    Returns:
        ``<dir>/<command>-<UTC time>-<pid>.log`` (the folder is created).
    """
    folder = Path(os.environ.get(LOG_DIR_ENV) or DEFAULT_LOG_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return folder / f"{command}-{stamp}-{os.getpid()}.log"


def _is_process_stream(stream: TextIO, fd: int) -> bool:
    """True when ``stream`` writes to descriptor ``fd`` (not when a test captured it)."""
    try:
        return stream.fileno() == fd
    except (AttributeError, OSError, io.UnsupportedOperation):
        return False


@contextlib.contextmanager
def session(
    command: str, *, verbose: bool, quiet: bool, capture: bool = True
) -> Iterator[Terminal]:
    """Route output for one command.

    Args:
        command: The subcommand (names the log file).
        verbose: Everything on the terminal: third-party logs, Python INFO logs, tracebacks.
        quiet: No progress display (the summary and errors are still printed).
        capture: Point descriptors 1 and 2 at the log file; False for ``serve``, whose JSON
            request log on stderr is its output.

    Yields:
        The terminal streams for the command's own output.
    """
    if verbose:
        # Set before TensorFlow is imported: its C++ INFO lines come back.
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"
        logging.basicConfig(level=logging.INFO, stream=sys.stderr, force=True)
        logging.getLogger().handlers[0].setLevel(logging.INFO)
        yield Terminal(sys.stdout, sys.stderr, None, True, not quiet and sys.stderr.isatty())
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    log_path = log_path_for(command)
    with contextlib.ExitStack() as stack:
        log = stack.enter_context(open(log_path, "a", encoding="utf-8", buffering=1))
        handler = logging.StreamHandler(log)
        handler.setLevel(logging.INFO)  # not the per-epoch progress records
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        level = root.level
        root.setLevel(logging.INFO)  # library INFO lines: in the log only
        stack.callback(root.setLevel, level)
        stack.callback(root.removeHandler, handler)
        logging.captureWarnings(True)
        stack.callback(logging.captureWarnings, False)
        out, err = sys.stdout, sys.stderr
        if capture and _is_process_stream(sys.stdout, 1) and _is_process_stream(sys.stderr, 2):
            out, err = stack.enter_context(_descriptors_to(log))
        progress = not quiet and err.isatty()
        yield Terminal(out, err, log_path, False, progress)


@contextlib.contextmanager
def _descriptors_to(log: TextIO) -> Iterator[tuple[TextIO, TextIO]]:
    """Point descriptors 1 and 2 at ``log``; yield streams on copies of the originals."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    out = os.fdopen(os.dup(saved[0]), "w", buffering=1, encoding="utf-8", errors="replace")
    err = os.fdopen(os.dup(saved[1]), "w", buffering=1, encoding="utf-8", errors="replace")
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    try:
        yield out, err
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)
        out.close()
        err.close()
