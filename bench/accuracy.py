"""Accuracy benchmark: the pipeline's champion against strong statistical baselines.

Protocol, for each real series that ships inside statsmodels (nothing is downloaded):
split at 80 %; `lstm-pipeline retrain` with default settings on the first part; then
one-step-ahead rolling forecasts over the rest with `lstm-pipeline predict`, each using only
earlier true values. Naive, seasonal naive, ETS and ARIMA are fitted on the same first part and
forecast the same points one step ahead without refitting.

Run from the repository root (about 10 minutes on 2 cores):

    .venv/bin/python bench/accuracy.py [--series elnino cpi ...]

Prints a Markdown table and writes bench/results/accuracy.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, machine, run_cli  # noqa: E402

TRAIN_FRACTION = 0.8


def _quarterly(column: str) -> pd.DataFrame:
    import statsmodels.api as sm

    macro = sm.datasets.macrodata.load_pandas().data
    quarters = pd.PeriodIndex.from_fields(
        year=macro["year"].astype(int), quarter=macro["quarter"].astype(int), freq="Q"
    )
    return pd.DataFrame({"timestamp": quarters.to_timestamp(), "value": macro[column].to_numpy()})


def _yearly(values: np.ndarray, first_year: int) -> pd.DataFrame:
    years = pd.date_range(f"{first_year}-01-01", periods=len(values), freq="YS")
    return pd.DataFrame({"timestamp": years, "value": np.asarray(values, dtype=float)})


def load_benchmark_series() -> dict[str, tuple[pd.DataFrame, int, str]]:
    """name -> (frame, season, description). Seasons are the calendar ones, for the baselines."""
    import statsmodels.api as sm

    sys.path.insert(0, str(ROOT / "data"))
    from make_samples import elnino_monthly

    co2 = sm.datasets.co2.load_pandas().data["co2"].resample("MS").mean().interpolate()
    sunspots = sm.datasets.sunspots.load_pandas().data
    nile = sm.datasets.nile.load_pandas().data
    return {
        "elnino": (elnino_monthly(), 12, "monthly, seasonal (Niño 1+2 SST)"),
        "co2": (
            pd.DataFrame({"timestamp": co2.index, "value": co2.to_numpy()}),
            12,
            "monthly, trend + season (Mauna Loa CO2)",
        ),
        "unemp": (_quarterly("unemp"), 4, "quarterly, cyclic (US unemployment)"),
        "cpi": (_quarterly("cpi"), 4, "quarterly, trending (US CPI)"),
        "sunspots": (
            _yearly(sunspots["SUNACTIVITY"], int(sunspots["YEAR"].iloc[0])),
            1,
            "yearly, cyclic (sunspots)",
        ),
        "nile": (
            _yearly(nile["volume"], int(nile["year"].iloc[0])),
            1,
            "yearly, level shift (Nile)",
        ),
    }


def scores(actual: np.ndarray, predicted: np.ndarray, train: np.ndarray, season: int) -> dict:
    """MAE, RMSE, sMAPE (%) and MASE scaled by the in-sample seasonal-naive MAE of ``train``."""
    errors = actual - predicted
    lag = season if 1 < season < len(train) else 1
    scale = np.mean(np.abs(train[lag:] - train[:-lag]))
    return {
        "mae": float(np.mean(np.abs(errors))),
        "rmse": float(np.sqrt(np.mean(errors**2))),
        "smape": float(100 * np.mean(2 * np.abs(errors) / (np.abs(actual) + np.abs(predicted)))),
        "mase": float(np.mean(np.abs(errors)) / scale),
    }


def statistical_baselines(values: np.ndarray, n_train: int, season: int) -> dict[str, np.ndarray]:
    """Naive, seasonal naive, ETS and ARIMA one step ahead over ``values[n_train:]``.

    The pipeline's own baselines (lstm_model.baselines), fitted on the first part only, with the
    differencing order ADF/KPSS choose there and the calendar season of the series.
    """
    from lstm_model.stationarity import choose_differencing
    from lstm_model.baselines import baseline_forecasts
    from lstm_model.config import AnalysisConfig, EvaluationConfig

    analysis = AnalysisConfig()
    differencing = choose_differencing(values[:n_train], analysis.alpha, analysis.max_differencing)[
        0
    ]
    config = EvaluationConfig(baselines=("naive", "seasonal_naive", "ets", "arima"))
    targets = np.arange(n_train, len(values))
    return baseline_forecasts(values, targets, n_train, season, differencing, config).forecasts


def run_series(
    name: str, frame: pd.DataFrame, season: int, work: Path, config: Path | None = None
) -> dict:
    """Retrain on the first 80 %, predict the rest one step ahead, score against baselines."""
    n_train = int(len(frame) * TRAIN_FRACTION)
    frame.iloc[:n_train].to_csv(work / "train.csv", index=False, date_format="%Y-%m-%d")
    frame.to_csv(work / "full.csv", index=False, date_format="%Y-%m-%d")
    start = frame["timestamp"].iloc[n_train].strftime("%Y-%m-%d")
    options = ["--config", str(config.resolve())] if config else []
    retrain = run_cli(["retrain", "train.csv", "--model-name", name, *options], work)
    # The version this retrain registered: scored whether or not the blessing gate passed it.
    run_cli(
        [
            "predict",
            "full.csv",
            "--model-uri",
            f"models:/{name}@challenger",
            "--start",
            start,
            "--output",
            "forecasts.csv",
        ],
        work,
    )
    forecasts = pd.read_csv(work / "forecasts.csv")
    values = frame["value"].to_numpy(dtype=float)
    actual, train = values[n_train:], values[:n_train]
    results = {"lstm": scores(actual, forecasts["prediction"].to_numpy(), train, season)}
    for baseline, predicted in statistical_baselines(values, n_train, season).items():
        results[baseline] = scores(actual, predicted, train, season)
    return {
        "points": len(frame),
        "test_points": len(actual),
        "retrain_seconds": retrain.seconds,
        "scores": results,
        "blessed": "champion:       yes" in retrain.stdout,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--series", nargs="*", help="subset of series names")
    parser.add_argument("--config", type=Path, help="PipelineConfig JSON (default: the defaults)")
    args = parser.parse_args()
    catalogue = load_benchmark_series()
    names = args.series or list(catalogue)
    results = {"machine": machine(), "series": {}}
    for name in names:
        frame, season, description = catalogue[name]
        with tempfile.TemporaryDirectory() as tmp:
            outcome = run_series(name, frame, season, Path(tmp), args.config)
        outcome["description"] = description
        results["series"][name] = outcome
        print(f"{name}: done in {outcome['retrain_seconds']:.0f} s", file=sys.stderr)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "accuracy.json").write_text(json.dumps(results, indent=2))
    print(f"Machine: {results['machine']}\n")
    print(
        "| series | points (test) | LSTM MASE | naive | seasonal naive | ETS | ARIMA "
        "| LSTM / best statistical | LSTM sMAPE % | blessed |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, outcome in results["series"].items():
        s = outcome["scores"]
        statistical = {k: v["mase"] for k, v in s.items() if k != "lstm"}
        best = min(statistical.values())
        cells = [
            f"{s[k]['mase']:.3f}" if k in s else "–"
            for k in ("naive", "seasonal_naive", "ets", "arima")
        ]
        print(
            f"| {name} — {outcome['description']} | {outcome['points']} ({outcome['test_points']}) "
            f"| {s['lstm']['mase']:.3f} | {' | '.join(cells)} | {s['lstm']['mase'] / best:.2f} "
            f"| {s['lstm']['smape']:.2f} | {'yes' if outcome['blessed'] else 'no'} |"
        )


if __name__ == "__main__":
    main()
