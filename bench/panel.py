"""Panel benchmark: the shipped ``retrain --series-column`` on real and generated panels.

Each panel is written as a long CSV and retrained by the command line with the default
configuration in a fresh working directory (its own sqlite MLflow store), exactly as a user
would run it; wall time and peak memory are the command's, accuracy is read back from the
run's MLflow metrics (per-series MASE of the global LSTM and of every baseline over every
path of h steps from every test origin, h by cadence).

Panels, nothing downloaded:

- ``macro``: the bundled ``data/us_macro_quarterly_panel.csv``, the 12 quarterly US macro
  series of statsmodels' ``macrodata`` (1959-2009, 203 points each; BEA, BLS, Federal Reserve).
- ``fertility``: statsmodels' ``fertility``, World Bank fertility rates of every country with
  no missing year (yearly, 1960-2011, 52 points each).
- ``generated``: ``--series`` monthly series (default 150) of ``--points`` steps (default 360)
  from a documented generator (seed 0): level 10**U(0, 3), linear or damped trend, a season of
  period 12 whose amplitude is 5-30 % of the level and grows with it in half of the series
  (multiplicative), AR(1) noise with coefficient U(0, 0.8) and 2-8 % of the level. At the
  defaults this is also the speed criterion's panel (150 x 360 monthly).

    .venv/bin/python bench/panel.py [--panel macro fertility generated] [--series 150 --points 360]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, machine, run_cli  # noqa: E402

STATISTICAL = ("ets", "arima", "theta")
NAMES = {
    "model": "global LSTM",
    "seasonal_naive": "seasonal naive",
    "naive": "naive",
    "ets": "AutoETS",
    "arima": "AutoARIMA",
    "theta": "Theta",
}


def macro_panel() -> pd.DataFrame:
    """The bundled quarterly US macro panel."""
    return pd.read_csv(ROOT / "data" / "us_macro_quarterly_panel.csv")


def fertility_panel() -> pd.DataFrame:
    """World Bank fertility rates, countries with every year present, as a long frame."""
    import statsmodels.api as sm

    wide = sm.datasets.fertility.load_pandas().data
    # 2012 and 2013 are empty for every country in this release.
    years = [c for c in wide.columns if str(c).isdigit() and wide[c].notna().any()]
    complete = wide.dropna(subset=years)
    long = complete.melt(id_vars="Country Code", value_vars=years, var_name="year")
    return pd.DataFrame(
        {
            "series_id": long["Country Code"],
            "timestamp": pd.to_datetime(long["year"].astype(str) + "-01-01"),
            "value": long["value"].astype(float),
        }
    )


def generated_panel(count: int, points: int, seed: int = 0) -> pd.DataFrame:
    """The documented generator of the module docstring, all series at once."""
    rng = np.random.default_rng(seed)
    t = np.arange(points)[np.newaxis]
    level = 10 ** rng.uniform(0, 3, (count, 1))
    slope = rng.uniform(-0.002, 0.006, (count, 1))
    damped = rng.random((count, 1)) < 0.5
    trend = np.where(damped, 1 + slope * 60 * (1 - np.exp(-t / 60)), 1 + slope * t)
    amplitude = rng.uniform(0.05, 0.3, (count, 1))
    phase = rng.uniform(0, 2 * np.pi, (count, 1))
    season = amplitude * np.sin(2 * np.pi * t / 12 + phase)
    multiplicative = rng.random((count, 1)) < 0.5
    phi = rng.uniform(0, 0.8, (count, 1))
    shocks = rng.normal(0, 1, (count, points)) * rng.uniform(0.02, 0.08, (count, 1))
    # AR(1) noise: one step of time at a time (the recursion), every series at once.
    noise = shocks.copy()
    for step in range(1, points):
        noise[:, step] += phi[:, 0] * noise[:, step - 1]
    base = level * trend
    values = np.where(multiplicative, base * (1 + season), base + level * season) + level * noise
    stamps = pd.date_range("2000-01-01", periods=points, freq="MS")
    return pd.DataFrame(
        {
            "series_id": np.repeat([f"g{i:03d}" for i in range(count)], points),
            "timestamp": np.tile(stamps, count),
            "value": values.reshape(-1),
        }
    )


def run(name: str, frame: pd.DataFrame) -> dict[str, Any]:
    """Retrain the panel with the CLI's defaults; time, memory and the run's metrics."""
    import mlflow

    with tempfile.TemporaryDirectory(prefix=f"panel-{name}-") as tmp:
        folder = Path(tmp)
        frame.to_csv(folder / "panel.csv", index=False)
        uri = f"sqlite:///{folder / 'mlflow.db'}"
        done = run_cli(
            ["retrain", "panel.csv", "--series-column", "series_id", "-q"],
            folder,
            env={"MLFLOW_TRACKING_URI": uri},
        )
        mlflow.set_tracking_uri(uri)
        (run_info,) = mlflow.search_runs(
            experiment_names=["lstm-pipeline"], output_format="list", max_results=1
        )
        table = (
            mlflow.MlflowClient()
            .load_table(
                run_info.info.experiment_id,
                "evaluation/per_series.json",
                run_ids=[run_info.info.run_id],
            )
            .drop(columns=["run_id"], errors="ignore")
        )
    metrics, params = run_info.data.metrics, run_info.data.params
    summary = {k.removeprefix("panel/"): v for k, v in metrics.items() if k.startswith("panel/")}
    best = min(
        (m for m in STATISTICAL if f"{m}/mean_mase" in summary),
        key=lambda m: summary[f"{m}/mean_mase"],
    )
    return {
        "series": int(params["panel.series_used"]),
        "points": int(frame.groupby("series_id").size().median()),
        "horizon": int(params["forecast.horizon_used"]),
        "season": int(params["panel.season"]),
        "lookback": int(params["panel.lookback"]),
        "seconds": done.seconds,
        "peak_rss_mb": done.peak_rss_mb,
        "summary": summary,
        "best_statistical": best,
        "lstm_mean_over_best_statistical_mean": summary["model/mean_mase"]
        / summary[f"{best}/mean_mase"],
        "coverage": {k: v for k, v in metrics.items() if k.startswith("test/coverage_")},
        "blessed": run_info.data.tags.get("blessed"),
        "per_series": table.to_dict("records"),
    }


def table(results: dict[str, dict[str, Any]]) -> str:
    """Markdown: mean (median) MASE per method and panel, win shares, coverage, time, memory."""
    methods = ["model", "seasonal_naive", "ets", "arima", "theta"]
    header = [
        "panel",
        "series x points",
        "h",
        *[NAMES[m] for m in methods],
        "LSTM / best stat (means)",
        "LSTM beats seasonal naive",
        "LSTM beats best stat",
        "coverage 80 / 95",
        "wall time",
        "peak memory",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for panel, r in results.items():
        s, best = r["summary"], r["best_statistical"]
        cells = [panel, f"{r['series']} x {r['points']}", str(r["horizon"])]
        cells += [
            f"{s[f'{m}/mean_mase']:.3f} ({s[f'{m}/median_mase']:.3f})"
            if f"{m}/mean_mase" in s
            else "-"
            for m in methods
        ]
        coverage = r["coverage"]
        cells += [
            f"{r['lstm_mean_over_best_statistical_mean']:.3f}",
            f"{100 * s['lstm_beats/seasonal_naive']:.0f} %",
            f"{100 * s[f'lstm_beats/{best}']:.0f} % ({NAMES[best]})",
            f"{100 * coverage.get('test/coverage_80', float('nan')):.0f} / "
            f"{100 * coverage.get('test/coverage_95', float('nan')):.0f} %",
            f"{r['seconds'] / 60:.1f} min",
            f"{r['peak_rss_mb'] / 1024:.2f} GB",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--panel", nargs="*", default=["macro", "fertility", "generated"])
    parser.add_argument("--series", type=int, default=150)
    parser.add_argument("--points", type=int, default=360)
    args = parser.parse_args(argv)
    makers = {
        "macro": macro_panel,
        "fertility": fertility_panel,
        "generated": lambda: generated_panel(args.series, args.points),
    }
    results = {}
    for name in args.panel:
        results[name] = run(name, makers[name]())
        print(f"{name}: {results[name]['seconds']:.0f} s", file=sys.stderr)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "panel.json").write_text(
        json.dumps({"machine": machine(), "panels": results}, indent=2, default=str)
    )
    print(f"Machine: {machine()}\n")
    print(table(results))


if __name__ == "__main__":
    main()
