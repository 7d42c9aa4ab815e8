"""Speed benchmark: retrain time, orchestration overhead, windowing, SavedModel inference, memory.

Run from the repository root (takes ~10 minutes on 2 cores):

    .venv/bin/python bench/speed.py [--repeats 3]

Prints a Markdown table and writes bench/results/speed.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, machine, run_cli  # noqa: E402

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    results = {"machine": machine()}
    results |= bench_windowing()
    results |= bench_inference()
    results |= bench_overhead(args.repeats)
    results |= bench_retrain(args.repeats)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "speed.json").write_text(json.dumps(results, indent=2))
    rows = [
        (
            "Full default retrain, 500-point monthly series, 10 trials (median)",
            f"{results['retrain_seconds']:.1f} s",
            "≤ 120 s",
        ),
        (
            "Orchestration + tracking overhead on the final fit",
            f"{results['overhead_percent']:.1f} % ({results['bare_train_seconds']:.2f} s bare, "
            f"{results['flow_train_seconds']:.2f} s in the flow)",
            "≤ 10 %",
        ),
        ("Windowing 1 M points (lookback 24)", f"{results['windowing_seconds']:.3f} s", "< 1 s"),
        (
            "SavedModel serving signature, batch of 1,000 windows (2×64 LSTM)",
            f"{results['batch_1000_ms']:.1f} ms",
            "< 50 ms",
        ),
        (
            "SavedModel, single window p50 / p99",
            f"{results['single_p50_ms']:.2f} / {results['single_p99_ms']:.2f} ms",
            "",
        ),
        (
            "Peak memory of a full retrain (main process RSS)",
            f"{results['peak_rss_mb']:.0f} MB",
            "",
        ),
    ]
    print(f"Machine: {results['machine']}\n")
    print("| measurement | result | goal |\n|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
