"""Shared helpers of the benchmarks: machine description, isolated runs of the CLI."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The process's own peak RSS in KB: VmHWM, the high-water mark of its memory map (Linux).
# Not ru_maxrss: a child started by a big parent reports the parent's peak, because Linux
# carries the larger of both across exec (a bench process holding TensorFlow showed ~1 GB).
PEAK_RSS_KB = (
    "next(int(line.split()[1]) for line in open('/proc/self/status') if line.startswith('VmHWM'))"
)
# Runs the CLI in-process and reports the process's own peak RSS on exit.
CLI = [
    sys.executable,
    "-c",
    "import atexit, sys; atexit.register(lambda: print('PEAK_RSS_KB=%d' % "
    f"{PEAK_RSS_KB}, file=sys.stderr)); "
    "from flows.cli.main import main; sys.exit(main())",
]


def machine() -> str:
    """One line: CPU count, model, memory, Python and TensorFlow versions."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    from importlib.metadata import version

    return (
        f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB, no GPU, Python "
        f"{platform.python_version()}, tensorflow-cpu {version('tensorflow-cpu')}"
    )


@dataclass(frozen=True)
class CommandRun:
    seconds: float
    peak_rss_mb: float
    stdout: str
    stderr: str
    returncode: int


def run_cli(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> CommandRun:
    """Run ``lstm-pipeline ARGS`` in ``cwd`` as a user would; wall time and peak RSS of the child.

    Raises:
        RuntimeError: when the command fails, with its stderr tail.
    """
    started = time.perf_counter()
    result = subprocess.run(
        [*CLI, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"lstm-pipeline {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    peak_kb = [line for line in result.stderr.splitlines() if line.startswith("PEAK_RSS_KB=")]
    peak_mb = int(peak_kb[-1].split("=")[1]) / 1024 if peak_kb else float("nan")
    return CommandRun(seconds, peak_mb, result.stdout, result.stderr, result.returncode)
