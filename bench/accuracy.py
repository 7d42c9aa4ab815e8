"""Accuracy benchmark: the pipeline's LSTM against statistical baselines on many series.

Protocol, for each series of ``bench/series.py`` (nothing is downloaded): split at 80 %;
``lstm-pipeline retrain`` on the first part (default settings, or ``--config``); then one-step-
ahead forecasts over the rest with ``lstm-pipeline predict`` and the version this retrain
registered (``models:/<name>@challenger``), each forecast using only earlier true values.
Naive, seasonal naive, AutoETS, AutoARIMA and AutoTheta (statsforecast, the pipeline's own
``lstm_model/evaluation/baselines.py``) are fitted on the same first part and forecast the same
points one step ahead without refitting.
The same registered model is also scored at its horizon h (the default by cadence, or the
config's): from every origin of the last 20 % with a whole path, the h-step path and its
interval bounds from the SavedModel's signature, against every baseline's paths from the same
origins (``lstm_model/evaluation/backtest.py``), with the empirical coverage of each level.
MASE is scaled by the in-sample seasonal-naive MAE of the training part.

Pass criterion (reported, not enforced): the LSTM beats seasonal naive on every series, is at or
below the best of AutoETS / AutoARIMA / Theta on at least two thirds of them, and is never above
1.10 x that best.

Run from the repository root:

    .venv/bin/python bench/accuracy.py --list                      # the catalogue
    .venv/bin/python bench/accuracy.py --baselines-only            # ~3 min on 2 cores
    .venv/bin/python bench/accuracy.py [--series airline nile] [--jobs 2] [--config cfg.json]

One LSTM retrain takes ~100 s on 2 cores. Prints a Markdown table and writes
bench/results/accuracy.json (bench/results/accuracy_baselines.json with --baselines-only).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, machine, run_cli  # noqa: E402
from bench.series import Series, load_catalogue  # noqa: E402
from lstm_model.evaluation.backtest import baseline_paths, path_targets  # noqa: E402
from lstm_model.evaluation.baselines import STATISTICAL, one_step_baselines  # noqa: E402
from lstm_model.evaluation.intervals import bounds_by_level  # noqa: E402

# The benchmark's columns: the reference methods (drift is a pipeline baseline, not one of them).
METHODS = ("naive", "seasonal_naive", *STATISTICAL)

TRAIN_FRACTION = 0.8
MAX_RATIO = 1.10
COLUMNS = {
    "lstm": "LSTM",
    "naive": "naive",
    "seasonal_naive": "seasonal naive",
    "ets": "AutoETS",
    "arima": "AutoARIMA",
    "theta": "Theta",
}


@lru_cache(maxsize=1)
def _catalogue() -> dict[str, Series]:
    """The catalogue, loaded once per process."""
    return load_catalogue()


def scores(actual: np.ndarray, predicted: np.ndarray, train: np.ndarray, season: int) -> dict:
    """Forecast errors of ``predicted`` against ``actual``.

    Args:
        actual: True values of the test part.
        predicted: One-step forecasts of the same points.
        train: The training part (for the MASE scale).
        season: Lag of the seasonal-naive scale (1: naive).

    Returns:
        MAE, RMSE, sMAPE (%) and MASE scaled by the in-sample seasonal-naive MAE of ``train``.
    """
    errors = actual - predicted
    lag = season if 1 < season < len(train) else 1
    scale = np.mean(np.abs(train[lag:] - train[:-lag]))
    denominator = np.abs(actual) + np.abs(predicted)
    ratios = np.divide(
        2 * np.abs(errors), denominator, out=np.zeros_like(errors), where=denominator > 0
    )
    return {
        "mae": float(np.mean(np.abs(errors))),
        "rmse": float(np.sqrt(np.mean(errors**2))),
        "smape": float(100 * np.mean(ratios)),
        "mase": float(np.mean(np.abs(errors)) / scale),
    }


def run_lstm(series: Series, n_train: int, work: Path, config: Path | None) -> dict[str, Any]:
    """Retrain with the CLI on the first ``n_train`` rows, predict the rest one step ahead.

    Args:
        series: The benchmark series.
        n_train: Rows of the training part.
        work: An empty folder for the run (MLflow store, CSV files).
        config: Optional PipelineConfig JSON passed to ``retrain --config``.

    Returns:
        ``forecasts`` (array over the test part), ``retrain_seconds``, ``blessed``.
    """
    frame = series.frame
    frame.iloc[:n_train].to_csv(work / "train.csv", index=False, date_format="%Y-%m-%d")
    frame.to_csv(work / "full.csv", index=False, date_format="%Y-%m-%d")
    start = frame["timestamp"].iloc[n_train].strftime("%Y-%m-%d")
    options = ["--config", str(config.resolve())] if config else []
    retrain = run_cli(["retrain", "train.csv", "--model-name", series.name, *options], work)
    # The version this retrain registered: scored whether or not the blessing gate passed it.
    uri = f"models:/{series.name}@challenger"
    run_cli(
        ["predict", "full.csv", "--model-uri", uri, "--start", start, "--output", "out.csv"], work
    )
    forecasts = pd.read_csv(work / "out.csv")["prediction"].to_numpy(dtype=float)
    if len(forecasts) != len(frame) - n_train:
        raise RuntimeError(f"{series.name}: {len(forecasts)} forecasts for {len(frame) - n_train}")
    return {
        "forecasts": forecasts,
        "paths": registered_paths(work, series.name, frame["value"].to_numpy(dtype=float), n_train),
        "retrain_seconds": retrain.seconds,
        "blessed": "blessed:        yes" in retrain.stdout,
    }


def registered_paths(work: Path, name: str, values: np.ndarray, n_train: int) -> dict[str, Any]:
    """The registered challenger's h-step paths and bounds from every test origin.

    Args:
        work: The retrain's folder (its default sqlite store and artifacts).
        name: The registered model name.
        values: The whole series.
        n_train: Rows the retrain saw; origins start there.

    Returns:
        ``origins``, ``outputs`` (the serving signature's arrays: ``forecast`` (count, h),
        ``lower_80``...) and ``horizon``.
    """
    # A fresh interpreter in the run's folder reads the registry exactly as the CLI does; MLflow's
    # process-wide tracking state would otherwise carry over from the previous series.
    np.save(work / "values.npy", values)
    subprocess.run(
        [sys.executable, "-c", _PATHS_SCRIPT, name, str(n_train)],
        cwd=work,
        check=True,
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    with np.load(work / "paths.npz") as saved:
        outputs = {key: saved[key] for key in saved.files}
    origins, horizon = outputs.pop("origins"), int(outputs.pop("horizon"))
    return {"origins": origins, "horizon": horizon, "outputs": outputs}


_PATHS_SCRIPT = """
import sys
import mlflow
import numpy as np
from lstm_model.tracking import configure_tracking
name, n_train = sys.argv[1], int(sys.argv[2])
configure_tracking(None, "lstm-pipeline")
forecaster = mlflow.pyfunc.load_model(f"models:/{name}@challenger").unwrap_python_model()
values = np.load("values.npy")
h, warmup = forecaster.horizon, forecaster.warmup
origins = np.arange(max(n_train, warmup), len(values) - h + 1)
histories = values[origins[:, None] - warmup + np.arange(warmup)][:, :, None]
np.savez("paths.npz", origins=origins, horizon=h, **forecaster.serve_histories(histories))
"""


def path_record(
    values: np.ndarray, n_train: int, season: int, paths: dict[str, Any]
) -> dict[str, Any]:
    """MASE over every step of every path for the LSTM and each baseline, and the coverage.

    Returns:
        ``horizon``, ``paths`` (count), ``scores`` (method -> MASE), ``coverage`` (level ->
        share of the true values inside the bounds).
    """
    origins, horizon, outputs = paths["origins"], paths["horizon"], paths["outputs"]
    baselines, _ = baseline_paths(values, n_train, season, origins, horizon, METHODS)
    actual = path_targets(values, origins, horizon)
    train = values[:n_train]
    flat = actual.reshape(-1)
    forecasts = {"lstm": outputs["forecast"], **baselines}
    coverage = {
        name.replace("_", "."): float(np.mean((lower <= actual) & (actual <= upper)))
        for name, (lower, upper) in bounds_by_level(outputs).items()
    }
    return {
        "horizon": int(horizon),
        "paths": len(origins),
        "scores": {
            m: scores(flat, f.reshape(-1), train, season)["mase"] for m, f in forecasts.items()
        },
        "coverage": coverage,
    }


def evaluate(name: str, with_lstm: bool, config: Path | None = None) -> dict[str, Any]:
    """Score the baselines (and the LSTM unless ``with_lstm`` is False) on one series.

    Args:
        name: A catalogue name.
        with_lstm: Run the CLI retrain and predict too.
        config: Optional PipelineConfig JSON for the retrain.

    Returns:
        The series' JSON record: description, sizes, per-method scores, fitted models, timings.
    """
    series = _catalogue()[name]
    values = series.frame["value"].to_numpy(dtype=float)
    n_train = int(len(values) * TRAIN_FRACTION)
    actual, train = values[n_train:], values[:n_train]
    started = time.perf_counter()
    run = one_step_baselines(values, n_train, series.season, METHODS)
    record: dict[str, Any] = {
        "frequency": series.frequency,
        "season": series.season,
        "description": series.description,
        "points": len(values),
        "test_points": len(actual),
        "baseline_seconds": time.perf_counter() - started,
        "baseline_method_seconds": run.seconds,
        "models": run.models,
        "notes": run.notes,
        "scores": {m: scores(actual, f, train, series.season) for m, f in run.forecasts.items()},
    }
    if with_lstm:
        try:
            with tempfile.TemporaryDirectory() as tmp:
                lstm = run_lstm(series, n_train, Path(tmp), config)
            record["horizon"] = path_record(values, n_train, series.season, lstm["paths"])
        except Exception as error:  # noqa: BLE001  # one failed series must not lose the others
            record["error"] = f"{type(error).__name__}: {str(error)[-2000:]}"
            return record
        record["scores"]["lstm"] = scores(actual, lstm["forecasts"], train, series.season)
        record["retrain_seconds"] = lstm["retrain_seconds"]
        record["blessed"] = lstm["blessed"]
        record.update(criterion(record["scores"]))
    return record


def criterion(method_scores: dict[str, dict[str, float]]) -> dict[str, Any]:
    """The LSTM's ratios to the baselines on one series.

    Args:
        method_scores: method -> scores, including 'lstm', 'seasonal_naive' and STATISTICAL.

    Returns:
        ``best_statistical`` (method), ``ratio_best`` (LSTM MASE / best of ETS, ARIMA, Theta),
        ``ratio_seasonal_naive``, ``beats_seasonal_naive``, ``at_or_below_best``.
    """
    lstm = method_scores["lstm"]["mase"]
    best = min(STATISTICAL, key=lambda m: method_scores[m]["mase"])
    ratio_best = lstm / method_scores[best]["mase"]
    ratio_snaive = lstm / method_scores["seasonal_naive"]["mase"]
    return {
        "best_statistical": best,
        "ratio_best": ratio_best,
        "ratio_seasonal_naive": ratio_snaive,
        "beats_seasonal_naive": ratio_snaive < 1.0,
        "at_or_below_best": ratio_best <= 1.0,
    }


def summary(records: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The three pass-criterion counts over the series that have an LSTM score.

    Args:
        records: name -> record from ``evaluate``.

    Returns:
        Counts, the worst ratio (and its series), failures, and whether the criterion passes.
    """
    total = len(records)
    scored = {n: r for n, r in records.items() if "ratio_best" in r}
    beats = sum(r["beats_seasonal_naive"] for r in scored.values())
    at_best = sum(r["at_or_below_best"] for r in scored.values())
    worst = max(scored, key=lambda n: scored[n]["ratio_best"]) if scored else None
    worst_ratio = scored[worst]["ratio_best"] if worst else math.nan
    return {
        "series": total,
        "failed": sorted(set(records) - set(scored)),
        "beats_seasonal_naive": beats,
        "at_or_below_best_statistical": at_best,
        "worst_ratio_best": worst_ratio,
        "worst_series": worst,
        "passed": bool(
            scored
            and len(scored) == total
            and beats == total
            and at_best >= math.ceil(2 * total / 3)
            and worst_ratio <= MAX_RATIO
        ),
    }


def _cell(record: dict[str, Any], method: str) -> str:
    """A MASE cell, bold for the best statistical baseline."""
    if method not in record["scores"]:
        return "–"
    text = f"{record['scores'][method]['mase']:.3f}"
    stats = {m: record["scores"][m]["mase"] for m in STATISTICAL}
    return f"**{text}**" if method in stats and stats[method] == min(stats.values()) else text


def table(records: dict[str, dict[str, Any]], with_lstm: bool) -> str:
    """The Markdown MASE table (one row per series) and its footnotes.

    Args:
        records: name -> record from ``evaluate``.
        with_lstm: Include the LSTM columns (ratios, blessed, retrain seconds).

    Returns:
        The table as Markdown text.
    """
    methods = list(COLUMNS) if with_lstm else [m for m in COLUMNS if m != "lstm"]
    header = ["series", "freq (m)", "points (test)", *[COLUMNS[m] for m in methods]]
    if with_lstm:
        header += ["LSTM / best stat", "LSTM / seasonal naive", "blessed", "retrain s"]
    else:
        header += ["baselines s"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    notes: dict[str, list[str]] = {}
    for name, r in records.items():
        cells = [
            name,
            f"{r['frequency']} ({r['season']})",
            f"{r['points']} ({r['test_points']})",
            *[_cell(r, m) for m in methods],
        ]
        if with_lstm and "ratio_best" in r:
            cells += [
                f"{r['ratio_best']:.3f}",
                f"{r['ratio_seasonal_naive']:.3f}",
                "yes" if r["blessed"] else "no",
                f"{r['retrain_seconds']:.0f}",
            ]
        elif with_lstm:
            cells += ["failed", "–", "–", "–"]
        else:
            cells.append(f"{r['baseline_seconds']:.1f}")
        lines.append("| " + " | ".join(cells) + " |")
        for note in r["notes"]:
            notes.setdefault(note, []).append(name)
    lines.append("")
    lines.append("MASE, one step ahead over the last 20 %; bold: best of AutoETS/AutoARIMA/Theta.")
    lines += [f"- {note}: {', '.join(names)}" for note, names in notes.items()]
    return "\n".join(lines)


def models_table(records: dict[str, dict[str, Any]]) -> str:
    """Markdown: the model each automatic baseline chose on each series' training part."""
    lines = ["| series | AutoETS | AutoARIMA | Theta |", "|---|---|---|---|"]
    for name, r in records.items():
        lines.append(f"| {name} | " + " | ".join(r["models"][m] for m in STATISTICAL) + " |")
    return "\n".join(lines)


def catalogue_table(names: list[str]) -> str:
    """Markdown: name, frequency, season, length and description of each catalogue series."""
    lines = ["| series | frequency (m) | points | description (source) |", "|---|---|---|---|"]
    for name in names:
        s = _catalogue()[name]
        lines.append(f"| {name} | {s.frequency} ({s.season}) | {len(s.frame)} | {s.description} |")
    return "\n".join(lines)


def horizon_table(records: dict[str, dict[str, Any]]) -> str:
    """Markdown: MASE over the h-step paths per method, the ratio and the interval coverage."""
    methods = ["lstm", "seasonal_naive", *STATISTICAL]
    header = ["series", "h", "paths", *[COLUMNS[m] for m in methods]]
    header += ["LSTM / best stat", "coverage 80 %", "coverage 95 %"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, r in records.items():
        if "horizon" not in r:
            continue
        path = r["horizon"]
        got = path["scores"]
        best = min(got.get(m, math.inf) for m in STATISTICAL)
        cells = [name, str(path["horizon"]), str(path["paths"])]
        cells += [f"{got[m]:.3f}" if m in got else "–" for m in methods]
        cells.append(f"{got['lstm'] / best:.3f}")
        cells += [f"{100 * path['coverage'].get(level, math.nan):.0f}" for level in ("80", "95")]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("MASE over every step of every path from the last 20 %; coverage: % of the true")
    lines.append("values inside the model's conformal interval (nominal 80 and 95).")
    return "\n".join(lines)


def horizon_summary(records: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Issue 11's counts at the horizon: beats seasonal naive, within 10 % of the best
    statistical model, coverage within 7 points of nominal at both levels."""
    scored = {n: r["horizon"] for n, r in records.items() if "horizon" in r}
    beats = within = covered = 0
    for path in scored.values():
        got = path["scores"]
        best = min(got.get(m, math.inf) for m in STATISTICAL)
        beats += got["lstm"] <= got["seasonal_naive"]
        within += got["lstm"] <= MAX_RATIO * best
        covered += all(
            abs(100 * path["coverage"].get(level, math.nan) - float(level)) <= 7
            for level in ("80", "95")
        )
    return {
        "series": len(scored),
        "beats_seasonal_naive": beats,
        "within_10_percent_of_best": within,
        "coverage_within_7_points": covered,
    }


def summary_line(result: dict[str, Any]) -> str:
    """One line with the three pass-criterion counts."""
    n = result["series"]
    failed = f"; LSTM failed on {', '.join(result['failed'])}" if result["failed"] else ""
    return (
        f"LSTM beats seasonal naive on {result['beats_seasonal_naive']}/{n}; "
        f"<= best statistical on {result['at_or_below_best_statistical']}/{n} "
        f"(needs >= {math.ceil(2 * n / 3)}); worst LSTM / best statistical "
        f"{result['worst_ratio_best']:.2f} ({result['worst_series']}; needs <= {MAX_RATIO:.2f})"
        f"{failed} -> {'PASS' if result['passed'] else 'FAIL'}"
    )


def main(argv: list[str] | None = None) -> None:
    """Command line: see the module docstring.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--series", nargs="*", help="subset of series names")
    parser.add_argument("--config", type=Path, help="PipelineConfig JSON (default: the defaults)")
    parser.add_argument("--jobs", type=int, default=1, help="series run concurrently (processes)")
    parser.add_argument("--baselines-only", action="store_true", help="skip the LSTM")
    parser.add_argument("--list", action="store_true", help="print the catalogue and exit")
    args = parser.parse_args(argv)
    names = args.series or list(_catalogue())
    unknown = sorted(set(names) - set(_catalogue()))
    if unknown:
        parser.error(f"unknown series: {', '.join(unknown)}")
    if args.list:
        print(catalogue_table(names))
        return
    with_lstm = not args.baselines_only
    started = time.perf_counter()
    records: dict[str, dict[str, Any]] = {}
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=max(1, args.jobs), mp_context=context) as pool:
        futures = {n: pool.submit(evaluate, n, with_lstm, args.config) for n in names}
        for name, future in futures.items():
            records[name] = future.result()
            seconds = records[name].get("retrain_seconds", records[name]["baseline_seconds"])
            print(f"{name}: done ({seconds:.0f} s)", file=sys.stderr)
    result: dict[str, Any] = {
        "machine": machine(),
        "methods": ["lstm", *METHODS] if with_lstm else list(METHODS),
        "train_fraction": TRAIN_FRACTION,
        "jobs": args.jobs,
        "wall_seconds": time.perf_counter() - started,
        "series": records,
    }
    if with_lstm:
        result["summary"] = summary(records)
        result["horizon_summary"] = horizon_summary(records)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    filename = "accuracy.json" if with_lstm else "accuracy_baselines.json"
    (out / filename).write_text(json.dumps(result, indent=2))
    print(f"Machine: {result['machine']}; wall time {result['wall_seconds']:.0f} s\n")
    print(table(records, with_lstm))
    print("\nModels chosen on the training part:\n")
    print(models_table(records))
    if with_lstm:
        print("\n" + summary_line(result["summary"]))
        print("\nAt the model's horizon:\n")
        print(horizon_table(records))
        print("\n" + json.dumps(result["horizon_summary"]))


if __name__ == "__main__":
    main()
