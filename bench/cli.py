"""Fixed costs of the command line: rejecting a bad file, ``models list``, and a retrain's time
before its flow starts and after it ends.

    .venv/bin/python bench/cli.py [--repeats 3] [--command "/other/.venv/bin/lstm-pipeline"]
                                  [--only bad_files ...]

``--command`` measures another build the same way (e.g. the previous release, for a before /
after table). Prints a Markdown table and writes ``bench/results/cli.json``. Run it on a quiet
machine: every number is wall-clock time of a fresh process.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from _common import ROOT, machine

TINY = {
    "analysis": {"max_lookback": 12, "candidate_folds": 1, "candidate_epochs": 3},
    "tuning": {"max_trials": 1, "epochs": 2, "units": [8]},
    "training": {"epochs": 3},
}
# A flow's first and last log lines, in Prefect's console format or in the log file's.
STAMP = re.compile(r"(\d{2}):(\d{2}):(\d{2})[.,](\d{3})")


def _series_rows(n: int = 120) -> list[str]:
    import numpy as np
    import pandas as pd

    t = np.arange(n)
    values = (
        50 + 0.3 * t + 8 * np.sin(2 * np.pi * t / 12) + np.random.default_rng(3).normal(0, 1, n)
    )
    times = pd.date_range("2000-01-01", periods=n, freq="MS")
    return [f"{ts:%Y-%m-%d},{v:.3f}" for ts, v in zip(times, values, strict=True)]


BAD_FILES = {
    "n/a value": lambda rows: ["timestamp,value", *rows[:-1], "2009-12-01,n/a"],
    "misspelled column": lambda rows: ["timestamp,vaule", *rows],
    "gap": lambda rows: ["timestamp,value", *rows[:30], *rows[33:]],
    "too short": lambda rows: ["timestamp,value", *rows[:12]],
    "duplicate timestamp": lambda rows: ["timestamp,value", *rows, rows[40]],
    "infinity": lambda rows: ["timestamp,value", *rows[:-1], "2009-12-01,inf"],
    "constant": lambda rows: ["timestamp,value", *(row.split(",")[0] + ",5" for row in rows)],
    "unparseable timestamp": lambda rows: ["timestamp,value", *rows[:-1], "someday,1.0"],
    "header only": lambda rows: ["timestamp,value"],
}


def _run(
    command: list[str], args: list[str], cwd: Path
) -> tuple[float, subprocess.CompletedProcess]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LSTM_PIPELINE_LOG_DIR": str(cwd / "logs")}
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("PREFECT_API_URL", None)
    started = time.perf_counter()
    result = subprocess.run([*command, *args], cwd=cwd, capture_output=True, text=True, env=env)
    return time.perf_counter() - started, result


def bench_bad_files(command: list[str], repeats: int) -> dict:
    """Seconds to reject each bad file, and the stderr lines the user sees."""
    out = {}
    rows = _series_rows()
    for name, make in BAD_FILES.items():
        seconds, lines = [], []
        for _ in range(repeats):
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "bad.csv"
                path.write_text("\n".join(make(rows)) + "\n")
                elapsed, result = _run(command, ["retrain", "bad.csv"], Path(tmp))
                if result.returncode != 2:
                    raise RuntimeError(f"{name}: exit {result.returncode}\n{result.stderr[-2000:]}")
                seconds.append(elapsed)
                lines.append(len(result.stderr.splitlines()))
        out[name] = {"seconds": statistics.median(seconds), "stderr_lines": max(lines)}
    return out


def bench_models_list(command: list[str], repeats: int) -> dict:
    """``models list`` on a store with one registered model: the command's fixed cost."""
    seconds = []
    with tempfile.TemporaryDirectory() as tmp:
        setup = (
            "import mlflow; mlflow.set_tracking_uri('sqlite:///mlflow.db'); "
            "mlflow.MlflowClient().create_registered_model('bench')"
        )
        subprocess.run([sys.executable, "-c", setup], cwd=tmp, check=True, capture_output=True)
        for _ in range(repeats):
            elapsed, result = _run(command, ["models", "list", "bench"], Path(tmp))
            if result.returncode != 0:
                raise RuntimeError(result.stderr[-2000:])
            seconds.append(elapsed)
    return {"seconds": statistics.median(seconds)}


def _clock(line: str, day: datetime) -> float:
    match = STAMP.search(line)
    assert match is not None, line
    hours, minutes, seconds, millis = map(int, match.groups())
    return day.replace(
        hour=hours, minute=minutes, second=seconds, microsecond=millis * 1000
    ).timestamp()


def bench_retrain_overhead(command: list[str], repeats: int) -> dict:
    """A tiny retrain: seconds from the command's start to its flow's first line, and from the
    flow's last line to the command's exit (imports, Prefect's server, its shutdown)."""
    before, after, total = [], [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            (work / "series.csv").write_text("timestamp,value\n" + "\n".join(_series_rows()) + "\n")
            (work / "tiny.json").write_text(json.dumps(TINY))
            started = time.time()
            elapsed, result = _run(
                command, ["retrain", "series.csv", "--config", "tiny.json"], work
            )
            ended = started + elapsed
            if result.returncode != 0:
                raise RuntimeError(result.stderr[-2000:])
            text = result.stderr + "".join(p.read_text() for p in (work / "logs").glob("*.log"))
            lines = text.splitlines()
            day = datetime.fromtimestamp(started)
            first = next(line for line in lines if "Beginning flow run" in line)
            last = [line for line in lines if "Finished in state" in line and STAMP.search(line)][
                -1
            ]
            before.append(_clock(first, day) - started)
            after.append(ended - _clock(last, day))
            total.append(elapsed)
    return {
        "start_to_flow_seconds": statistics.median(before),
        "flow_end_to_exit_seconds": statistics.median(after),
        "total_seconds": statistics.median(total),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--command", help="another lstm-pipeline to measure (default: this one)")
    parts = {
        "bad_files": bench_bad_files,
        "models_list": bench_models_list,
        "retrain": bench_retrain_overhead,
    }
    parser.add_argument("--only", action="append", choices=list(parts), help="these parts only")
    args = parser.parse_args()
    command = shlex.split(args.command) if args.command else [sys.executable, "-m", "flows.cli"]
    # The machine may be shared: the load average says how far to trust the seconds.
    load_before = os.getloadavg()[0]
    results = {"machine": machine(), "command": " ".join(command)}
    for name in args.only or list(parts):
        results[name] = parts[name](command, args.repeats)
    results["load_average"] = [load_before, os.getloadavg()[0]]
    print(f"{results['machine']}; load average {load_before:.2f} before, ", end="")
    print(f"{results['load_average'][1]:.2f} after")
    print("\n| measurement | result |\n|---|---|")
    for name, row in results.get("bad_files", {}).items():
        lines = row["stderr_lines"]
        print(
            f"| bad file ({name}): rejected after | {row['seconds']:.1f} s, {lines} stderr lines |"
        )
    if "models_list" in results:
        print(f"| `models list` | {results['models_list']['seconds']:.1f} s |")
    if "retrain" in results:
        retrain = results["retrain"]
        print(f"| tiny retrain: start → flow begins | {retrain['start_to_flow_seconds']:.1f} s |")
        print(f"| tiny retrain: flow ends → exit | {retrain['flow_end_to_exit_seconds']:.1f} s |")
        print(f"| tiny retrain: total | {retrain['total_seconds']:.1f} s |")
    folder = ROOT / "bench" / "results"
    folder.mkdir(exist_ok=True)
    (folder / "cli.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
