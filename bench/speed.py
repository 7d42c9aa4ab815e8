"""Speed benchmark: retrain time, orchestration overhead, windowing, SavedModel inference, memory.

Run from the repository root (takes ~10 minutes on 2 cores):

    .venv/bin/python bench/speed.py [--repeats 3] [--only memory ...]

Prints a Markdown table and writes bench/results/speed.json (``--only`` updates its parts).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import CLI, PEAK_RSS_KB, ROOT, machine, run_cli  # noqa: E402

GOALS = {
    "retrain_seconds": 120.0,
    "overhead_percent": 10.0,
    "windowing_seconds": 1.0,
    "batch_1000_ms": 50.0,
}


def monthly_series(n: int = 500, seed: int = 0):
    """A ~500-point monthly series with trend, season and noise."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    t = np.arange(n)
    values = 100 + 0.2 * t + 10 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 2, n)
    return pd.DataFrame(
        {"timestamp": pd.date_range("1980-01-01", periods=n, freq="MS"), "value": values}
    )


def bench_retrain(repeats: int) -> dict:
    """Full default retrain with 10 trials, each run in a fresh working directory."""
    seconds, memory = [], []
    for repeat in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            monthly_series(seed=repeat).to_csv(Path(tmp) / "series.csv", index=False)
            run = run_cli(["retrain", "series.csv", "--max-trials", "10"], Path(tmp))
            seconds.append(run.seconds)
            memory.append(run.peak_rss_mb)
    return {
        "retrain_seconds": statistics.median(seconds),
        "retrain_runs": seconds,
        "peak_rss_mb": max(memory),
    }


def bench_overhead(repeats: int) -> dict:
    """The same final training bare (Keras only) and as the flow's task (Prefect + MLflow)."""
    os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp())
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow
    from prefect import flow

    from lstm_model.config import PipelineConfig
    from lstm_model.modeling.network import Architecture
    from lstm_model.modeling.preparation import prepare
    from lstm_model.modeling.training import train_final
    from lstm_model.tracking import configure_tracking
    from tasks.modeling import train

    config = PipelineConfig()
    data = prepare(monthly_series()["value"].to_numpy(), 1, 12, 0.15, 0.15)
    architecture = Architecture(layers=1, units=32)
    work = Path(tempfile.mkdtemp())
    configure_tracking(f"sqlite:///{work / 'mlflow.db'}", "bench")

    @flow
    def orchestrated():
        with mlflow.start_run():
            started = time.perf_counter()
            train(data, architecture, config, work)
            return time.perf_counter() - started

    orchestrated()  # warm-up: starts the temporary Prefect server
    bare, wrapped = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        train_final(data, architecture, config.training, config.seed)
        bare.append(time.perf_counter() - started)
        wrapped.append(orchestrated())
    bare_s, wrapped_s = statistics.median(bare), statistics.median(wrapped)
    return {
        "bare_train_seconds": bare_s,
        "flow_train_seconds": wrapped_s,
        "overhead_percent": 100 * (wrapped_s - bare_s) / bare_s,
    }


# In a fresh interpreter: read and check a file as the CLI does before training (ingestion
# policies, the early pandas pass, then GX), then report seconds and the process's peak RSS.
# Without a file argument: only the imports (pandas, the pipeline's data code, GX).
_CHECK = """
import sys, time
started = time.perf_counter()
from lstm_model.config import PipelineConfig
from lstm_model.data.check import check_series
from lstm_model.data.suites import gx_module
gx_module()
rows = len(check_series(sys.argv[1], PipelineConfig()).frame) if sys.argv[1:] else 0
print(time.perf_counter() - started, {PEAK_RSS_KB}, rows)
"""


def _hourly_csv(path: Path, rows: int) -> Path:
    """A clean hourly series (daily and weekly cycles, noise) of ``rows`` rows."""
    import pandas as pd

    t = np.arange(rows)
    noise = np.random.default_rng(rows).normal(0, 1, rows)
    values = 50 + 10 * np.sin(2 * np.pi * t / 24) + 5 * np.sin(2 * np.pi * t / 168) + noise
    stamps = pd.date_range("1900-01-01", periods=rows, freq="h")
    pd.DataFrame({"timestamp": stamps, "value": values.round(3)}).to_csv(path, index=False)
    return path


def bench_memory() -> dict:
    """Peak RSS and seconds of load + validate at 10k, 100k and data.max_rows rows (each in a
    fresh process), and how fast and lean a 2-million-row file is refused by ``retrain``."""
    from lstm_model.config import PipelineConfig

    max_rows = PipelineConfig().data.max_rows
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    results: dict = {"load_validate": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for rows in sorted({0, 10_000, 100_000, max_rows}):
            path = [str(_hourly_csv(Path(tmp) / f"series-{rows}.csv", rows))] if rows else []
            done = subprocess.run(
                [sys.executable, "-c", _CHECK.format(PEAK_RSS_KB=PEAK_RSS_KB), *path],
                capture_output=True,
                text=True,
                env=env,
                check=True,
            )
            seconds, peak_kb, kept = done.stdout.split()
            results["load_validate"][rows] = {
                "seconds": float(seconds),
                "peak_rss_mb": int(peak_kb) / 1024,
                "rows_kept": int(kept),
            }
        big = _hourly_csv(Path(tmp) / "big.csv", 2_000_000)
        started = time.perf_counter()
        refused = subprocess.run(
            [*CLI, "retrain", big.name], cwd=tmp, capture_output=True, text=True, env=env
        )
        seconds = time.perf_counter() - started
    if refused.returncode != 2 or "data.max_rows" not in refused.stderr:
        raise RuntimeError(f"2M rows not refused:\n{refused.stderr[-2000:]}")
    peak = [line for line in refused.stderr.splitlines() if line.startswith("PEAK_RSS_KB=")]
    results["refuse_2m"] = {
        "seconds": seconds,
        "peak_rss_mb": int(peak[-1].split("=")[1]) / 1024,
        "max_rows": max_rows,
    }
    return results


def bench_windowing() -> dict:
    """Cut 1 M points into lookback-24 windows (difference, scale, window)."""
    from lstm_model.modeling.transform import SeriesTransform

    values = np.cumsum(np.random.default_rng(0).normal(size=1_000_000))
    transform = SeriesTransform.fit(values[:700_000], 1, 24)
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        x, y = transform.windows(values, 0, len(values))
        np.ascontiguousarray(x)  # materialise: the model copies the windows anyway
        timings.append(time.perf_counter() - started)
    return {"windowing_seconds": statistics.median(timings), "windows": len(y)}


def bench_inference() -> dict:
    """Exported SavedModel's serving signature (raw history in, original units out): a batch
    of 1,000 windows, and single-window latency."""
    from lstm_model.delivery.export import export_saved_model, load_history_predictor
    from lstm_model.modeling.network import Architecture, build_lstm
    from lstm_model.modeling.transform import SeriesTransform

    transform = SeriesTransform.fit(np.arange(100.0), 1, 24)
    model = build_lstm(24, 1, Architecture(layers=2, units=64), seed=0)
    directory = export_saved_model(model, transform, Path(tempfile.mkdtemp()) / "model")
    predict = load_history_predictor(directory)
    rng = np.random.default_rng(0)
    batch = rng.normal(size=(1000, transform.warmup, 1)).cumsum(axis=1)
    single = batch[:1]
    for _ in range(5):
        predict(batch), predict(single)  # trace and warm up
    batch_ms = []
    for _ in range(20):
        started = time.perf_counter()
        predict(batch)
        batch_ms.append(1000 * (time.perf_counter() - started))
    single_ms = []
    for _ in range(500):
        started = time.perf_counter()
        predict(single)
        single_ms.append(1000 * (time.perf_counter() - started))
    return {
        "batch_1000_ms": statistics.median(batch_ms),
        "single_p50_ms": float(np.percentile(single_ms, 50)),
        "single_p99_ms": float(np.percentile(single_ms, 99)),
    }


PARTS = {
    "windowing": lambda repeats: bench_windowing(),
    "inference": lambda repeats: bench_inference(),
    "overhead": bench_overhead,
    "retrain": bench_retrain,
    "memory": lambda repeats: bench_memory(),
}


def _rows(results: dict) -> list[tuple[str, str, str]]:
    """The table rows of the measurements in ``results``."""
    rows = []
    if "retrain_seconds" in results:
        rows.append(
            (
                "Full default retrain, 500-point monthly series, 10 trials (median)",
                f"{results['retrain_seconds']:.1f} s",
                "≤ 120 s",
            )
        )
    if "overhead_percent" in results:
        rows.append(
            (
                "Orchestration + tracking overhead on the final fit",
                f"{results['overhead_percent']:.1f} % ({results['bare_train_seconds']:.2f} s "
                f"bare, {results['flow_train_seconds']:.2f} s in the flow)",
                "≤ 10 %",
            )
        )
    if "windowing_seconds" in results:
        rows.append(
            ("Windowing 1 M points (lookback 24)", f"{results['windowing_seconds']:.3f} s", "< 1 s")
        )
    if "batch_1000_ms" in results:
        rows.append(
            (
                "SavedModel serving signature, batch of 1,000 windows (2×64 LSTM)",
                f"{results['batch_1000_ms']:.1f} ms",
                "< 50 ms",
            )
        )
        rows.append(
            (
                "SavedModel, single window p50 / p99",
                f"{results['single_p50_ms']:.2f} / {results['single_p99_ms']:.2f} ms",
                "",
            )
        )
    if "peak_rss_mb" in results:
        rows.append(
            (
                "Peak memory of a full retrain (main process RSS)",
                f"{results['peak_rss_mb']:.0f} MB",
                "",
            )
        )
    for rows_in, row in results.get("load_validate", {}).items():
        what = (
            f"Load + validate {int(rows_in):,} hourly rows (fresh process, imports included)"
            if int(rows_in)
            else "Imports of load + validate only (pandas, the data code, GX), no file"
        )
        rows.append(
            (
                what,
                f"{row['seconds']:.1f} s, peak RSS {row['peak_rss_mb']:.0f} MB",
                "",
            )
        )
    if "refuse_2m" in results:
        row = results["refuse_2m"]
        rows.append(
            (
                f"`retrain` of 2,000,000 rows refused (data.max_rows {row['max_rows']:,}), exit 2",
                f"{row['seconds']:.1f} s, peak RSS {row['peak_rss_mb']:.0f} MB",
                "≤ 10 s or ≤ 4 GB",
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--only", action="append", choices=sorted(PARTS), help="measure only these parts"
    )
    args = parser.parse_args()
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    saved = out / "speed.json"
    # --only updates the saved results instead of replacing them.
    results = json.loads(saved.read_text()) if args.only and saved.exists() else {}
    results["machine"] = machine()
    for name in args.only or ["windowing", "inference", "overhead", "retrain", "memory"]:
        results |= PARTS[name](args.repeats)
    saved.write_text(json.dumps(results, indent=2))
    print(f"Machine: {results['machine']}; load average {os.getloadavg()[0]:.2f} at the end\n")
    print("| measurement | result | goal |\n|---|---|---|")
    for row in _rows(results):
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
