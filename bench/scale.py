"""Scale benchmark: the parallel work on 1 vs 2 Dask workers, through the shipped command line.

Two workloads, each retrained by ``lstm-pipeline retrain`` in a fresh working directory (its own
sqlite MLflow store and temporary Prefect server), once with ``--runner dask --dask-workers 1``
and once with ``--dask-workers 2`` (each worker process runs TensorFlow on one thread,
``execution.threads_per_worker``), and for reference once with the default local runner:

- ``search``: a 16-trial random search on the 500-point monthly series of ``bench/speed.py``
  (default space, epochs and early stopping); the time is the search's own
  (``trial/search_seconds``), and the whole retrain's wall time is reported beside it.
- ``panel``: a local-strategy panel (one LSTM per series) of 32 monthly series of 120 points
  from ``bench/panel.py``'s documented generator, each series with a small search
  (``tuning.max_trials`` 2, the analysis' preprocessing without scoring alternatives); the time
  is the fan-out's (``panel/fit_seconds``). The local runner is not run for this one (it takes
  as long as one worker with two TensorFlow threads).

From the measured per-task time and the scheduler's overhead per task, a paper estimate of the
same work on N machines of this kind: ``T(N) = ceil(tasks / (2 N)) * task + overhead``.

Beside them, the machine's own ceiling for 2 processes against 1 (``parallel_ceiling``): a
fixed CPU-bound loop run alone and then twice at once; on virtual CPUs that share physical
cores, or on a busy host, two processes do not run at full speed each, and no scheduler can
scale past that.

    .venv/bin/python bench/scale.py [--only search panel] [--trials 16] [--series 32]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, machine, run_cli  # noqa: E402
from bench.panel import generated_panel  # noqa: E402
from bench.speed import monthly_series  # noqa: E402

RUNNERS = {
    "local runner": [],
    "dask, 1 worker": ["--runner", "dask", "--dask-workers", "1"],
    "dask, 2 workers": ["--runner", "dask", "--dask-workers", "2"],
}


def _retrain(
    args: list[str], files: dict[str, Any], config: dict[str, Any]
) -> tuple[float, dict[str, float], dict[str, str]]:
    """One retrain in a fresh folder: wall seconds and the run's metrics and params."""
    import mlflow

    with tempfile.TemporaryDirectory(prefix="scale-") as tmp:
        folder = Path(tmp)
        for name, frame in files.items():
            frame.to_csv(folder / name, index=False)
        (folder / "config.json").write_text(json.dumps(config))
        uri = f"sqlite:///{folder / 'mlflow.db'}"
        done = run_cli(
            ["retrain", *args, "--config", "config.json", "-q"],
            folder,
            env={"MLFLOW_TRACKING_URI": uri},
        )
        mlflow.set_tracking_uri(uri)
        (run,) = mlflow.search_runs(
            experiment_names=["lstm-pipeline"],
            filter_string="tags.mlflow.parentRunId IS NULL",
            output_format="list",
            max_results=1,
        )
    return done.seconds, run.data.metrics, run.data.params


def bench_search(trials: int, runners: list[str]) -> dict[str, Any]:
    """A ``trials``-trial search on each runner."""
    frame = monthly_series(500)
    config = {"tuning": {"max_trials": trials}}
    results = {}
    for name, flags in RUNNERS.items():
        if name not in runners:
            continue
        seconds, metrics, _ = _retrain(["series.csv", *flags], {"series.csv": frame}, config)
        results[name] = {
            "work_seconds": metrics["trial/search_seconds"],
            "retrain_seconds": seconds,
            "tasks": int(metrics["trial/count"]),
        }
        print(f"search, {name}: {results[name]}", file=sys.stderr)
    return results


def bench_panel(series: int) -> dict[str, Any]:
    """A local-strategy panel of ``series`` series on each runner."""
    frame = generated_panel(series, 120)
    config = {
        "panel": {"strategy": "local"},
        "tuning": {"max_trials": 2},
        "analysis": {"compare_candidates": False},
    }
    results = {}
    for name, flags in RUNNERS.items():
        if name == "local runner":
            continue
        args = ["panel.csv", "--series-column", "series_id", *flags]
        seconds, metrics, _ = _retrain(args, {"panel.csv": frame}, config)
        results[name] = {
            "work_seconds": metrics["panel/fit_seconds"],
            "retrain_seconds": seconds,
            "tasks": series,
        }
        print(f"panel, {name}: {results[name]}", file=sys.stderr)
    return results


_BURN = (
    "import time\nstarted = time.perf_counter()\ntotal = 0\n"
    "for i in range(30_000_000):\n    total += i\nprint(time.perf_counter() - started)"
)


def parallel_ceiling(repeats: int = 5) -> dict[str, float]:
    """The best 2-process over 1-process time ratio this machine allows for CPU-bound work.

    Two units of work take ``2 * alone`` seconds in one process and ``together`` seconds in
    two processes started at once (the slower one's time); medians over ``repeats``.

    Returns:
        ``alone_seconds``, ``together_seconds`` and ``ratio`` (0.5 on two full cores).
    """
    alone, together = [], []
    for _ in range(repeats):
        alone.append(_burn(1))
        together.append(_burn(2))
    one, two = statistics.median(alone), statistics.median(together)
    return {"alone_seconds": one, "together_seconds": two, "ratio": two / (2 * one)}


def _burn(processes: int) -> float:
    """Seconds of the slowest of ``processes`` CPU-bound loops started at once."""
    started = [
        subprocess.Popen([sys.executable, "-c", _BURN], stdout=subprocess.PIPE, text=True)
        for _ in range(processes)
    ]
    return max(float(process.communicate()[0]) for process in started)


def estimate(result: dict[str, Any], machines: tuple[int, ...] = (1, 2, 4, 8)) -> dict[int, float]:
    """Paper estimate of the work's seconds on N two-worker machines.

    The per-task time is the 1-worker run's work time over its tasks; the overhead is what the
    2-worker run took beyond its ideal (half the tasks' time), so it holds the scheduler's and
    the workers' start-up costs.
    """
    one, two = result["dask, 1 worker"], result["dask, 2 workers"]
    task = one["work_seconds"] / one["tasks"]
    overhead = max(0.0, two["work_seconds"] - math.ceil(two["tasks"] / 2) * task)
    return {n: math.ceil(one["tasks"] / (2 * n)) * task + overhead for n in machines}


def table(results: dict[str, dict[str, Any]]) -> str:
    """Markdown: work time per runner, speed-up of 2 workers over 1, the N-machine estimate."""
    lines = [
        "| workload | runner | parallel work | whole retrain | vs 1 worker |",
        "|---|---|---|---|---|",
    ]
    for workload, runs in results.items():
        base = runs["dask, 1 worker"]["work_seconds"]
        for runner, r in runs.items():
            lines.append(
                f"| {workload} ({r['tasks']} tasks) | {runner} | {r['work_seconds']:.0f} s | "
                f"{r['retrain_seconds']:.0f} s | {r['work_seconds'] / base:.2f}x |"
            )
    lines += ["", "| workload | " + " | ".join(f"{n} machine(s)" for n in (1, 2, 4, 8)) + " |"]
    lines.append("|---|" + "---|" * 4)
    for workload, runs in results.items():
        cells = [f"{seconds:.0f} s" for seconds in estimate(runs).values()]
        lines.append(f"| {workload} (estimate) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", nargs="*", default=["search", "panel"])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--series", type=int, default=32)
    parser.add_argument("--runners", nargs="*", default=list(RUNNERS), choices=list(RUNNERS))
    args = parser.parse_args(argv)
    results: dict[str, dict[str, Any]] = {}
    ceiling = parallel_ceiling()
    print(f"parallel ceiling: {ceiling}", file=sys.stderr)
    if "search" in args.only:
        results["search"] = bench_search(args.trials, args.runners)
    if "panel" in args.only:
        results["panel"] = bench_panel(args.series)
    out = ROOT / "bench" / "results" / "scale.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    # A workload not run this time keeps its last results.
    kept = json.loads(out.read_text())["results"] if out.exists() else {}
    results = {**kept, **results}
    record = {"machine": machine(), "ceiling": ceiling, "results": results}
    out.write_text(json.dumps(record, indent=2, default=str))
    print(f"Machine: {machine()}\n")
    print(table(results))
    print(
        f"\nThis machine's ceiling for 2 processes vs 1 (CPU-bound loop, median of 5): "
        f"{ceiling['ratio']:.2f}x ({ceiling['alone_seconds']:.2f} s alone, "
        f"{ceiling['together_seconds']:.2f} s two at once)"
    )


if __name__ == "__main__":
    main()
