"""Panel benchmark: one global LSTM against per-series statistical baselines (issue 12).

Two panels, nothing downloaded:

- ``macro``: the 12 quarterly US macro series of statsmodels' ``macrodata`` (1959-2009, 203
  points each: real GDP, consumption, investment, government spending, disposable income, CPI,
  M1, T-bill rate, unemployment, population, inflation, real interest rate; BEA, BLS, Federal
  Reserve). Levels from 0.1 to 13,000.
- ``generated``: ``--series`` monthly series (default 60) of ``--points`` steps (default 240)
  from a documented generator (seed 0): level 10**U(0, 3), linear or damped trend, a season of
  period 12 whose amplitude is 5-30 % of the level and grows with it in half of the series
  (multiplicative), AR(1) noise with coefficient U(0, 0.8) and 2-8 % of the level.

Protocol: every series ends with the same test and validation rows (15 % of the median
length each); the global model (default architecture, window-normalised, lookback 3 seasons)
is fitted on the training windows of all series and early-stopped on their validation windows;
AutoETS, AutoARIMA and AutoTheta are fitted per series on the rows before the test part and
moved forward to each origin without refitting (statsforecast ``cross_validation``,
``refit=False``); seasonal naive and naive from the values before each origin. Scored: MASE per
series over every path of h steps from every test origin (h = 8 quarterly, 12 monthly).

    .venv/bin/python bench/panel.py [--panel macro generated] [--series 60 --points 240]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, machine  # noqa: E402
from lstm_model.analysis.decisions import calendar_season  # noqa: E402
from lstm_model.data.cadence import default_horizon  # noqa: E402
from lstm_model.data.panel import Panel, panel_from_frame  # noqa: E402
from lstm_model.evaluation.panel_backtest import (  # noqa: E402
    backtest_origins,
    naive_paths,
    score_panel,
    statistical_paths,
)
from lstm_model.modeling.global_model import fit_global, global_paths  # noqa: E402
from lstm_model.modeling.network import Architecture  # noqa: E402
from lstm_model.modeling.panel_windows import split_panel  # noqa: E402


def macro_panel() -> pd.DataFrame:
    """statsmodels' macrodata as a long frame (quarters as timestamps)."""
    import statsmodels.api as sm

    data = sm.datasets.macrodata.load_pandas().data
    stamps = pd.PeriodIndex.from_fields(
        year=data["year"].astype(int), quarter=data["quarter"].astype(int), freq="Q"
    ).to_timestamp()
    columns = [c for c in data.columns if c not in ("year", "quarter")]
    frames = [
        pd.DataFrame({"id": c, "timestamp": stamps, "value": data[c].to_numpy(float)})
        for c in columns
    ]
    return pd.concat(frames, ignore_index=True)


def generated_panel(count: int, points: int, seed: int = 0) -> pd.DataFrame:
    """The documented generator of the module docstring, all series at once (no loop)."""
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
    # AR(1) noise: one step of time at a time, every series at once.
    noise = shocks.copy()
    for step in range(1, points):
        noise[:, step] += phi[:, 0] * noise[:, step - 1]
    base = level * trend
    values = np.where(multiplicative, base * (1 + season), base + level * season) + level * noise
    stamps = pd.date_range("2000-01-01", periods=points, freq="MS")
    return pd.DataFrame(
        {
            "id": np.repeat([f"g{i:03d}" for i in range(count)], points),
            "timestamp": np.tile(stamps, count),
            "value": values.reshape(-1),
        }
    )


def run(panel: Panel, season: int, horizon: int) -> dict[str, Any]:
    """Fit the global model, backtest it and the baselines, return per-panel figures."""
    split = split_panel(panel, 0.15, 0.15)
    lookback = 3 * season
    started = time.perf_counter()
    fit = fit_global(
        panel,
        split,
        Architecture(units=32, linear_skip=True),
        lookback=lookback,
        horizon=horizon,
        epochs=100,
        patience=10,
        batch_size=64,
        seed=42,
    )
    fit_seconds = time.perf_counter() - started
    origins = backtest_origins(split, lookback, horizon)
    started = time.perf_counter()
    stats = statistical_paths(panel, split, horizon, season)
    stat_seconds = time.perf_counter() - started
    forecasts = {
        "model": global_paths(fit, panel.values, origins),
        **naive_paths(panel.values, origins, horizon, season),
        **stats,
    }
    scored = score_panel(panel, split, origins, forecasts, season)
    summary = scored.summary()
    best_mean = min(summary[f"{m}/mean_mase"] for m in ("ets", "arima", "theta"))
    return {
        "series": len(panel.ids),
        "points": int(np.median(panel.lengths)),
        "horizon": horizon,
        "best_epoch": fit.best_epoch,
        "fit_seconds": fit_seconds,
        "statistical_seconds": stat_seconds,
        "summary": summary,
        "lstm_mean_over_best_statistical_mean": summary["model/mean_mase"] / best_mean,
        "worst_vs_seasonal_naive": scored.worst("seasonal_naive", 5),
        "per_series": {
            str(i): {k: float(v[n]) for k, v in scored.mase.items()}
            for n, i in enumerate(scored.ids)
        },
    }


def table(results: dict[str, dict[str, Any]]) -> str:
    """Markdown: mean (median) MASE per method and panel, and the LSTM's win shares."""
    methods = ["model", "seasonal_naive", "naive", "ets", "arima", "theta"]
    names = {
        "model": "global LSTM",
        "seasonal_naive": "seasonal naive",
        "ets": "AutoETS",
        "arima": "AutoARIMA",
        "theta": "Theta",
        "naive": "naive",
    }
    header = [
        "panel",
        "series x points",
        "h",
        *[names[m] for m in methods],
        "LSTM / best stat (means)",
        "LSTM beats seasonal naive",
        "LSTM beats best stat",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for panel, r in results.items():
        s = r["summary"]
        best = min(("ets", "arima", "theta"), key=lambda m: s[f"{m}/mean_mase"])
        cells = [panel, f"{r['series']} x {r['points']}", str(r["horizon"])]
        cells += [f"{s[f'{m}/mean_mase']:.3f} ({s[f'{m}/median_mase']:.3f})" for m in methods]
        cells += [
            f"{r['lstm_mean_over_best_statistical_mean']:.3f}",
            f"{100 * s['lstm_beats/seasonal_naive']:.0f} %",
            f"{100 * s[f'lstm_beats/{best}']:.0f} % ({best})",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--panel", nargs="*", default=["macro", "generated"])
    parser.add_argument("--series", type=int, default=60)
    parser.add_argument("--points", type=int, default=240)
    args = parser.parse_args(argv)
    results = {}
    for name in args.panel:
        frame = macro_panel() if name == "macro" else generated_panel(args.series, args.points)
        panel = panel_from_frame(frame, "id")
        season = calendar_season(panel.frequency) or 1
        horizon = default_horizon(panel.frequency)
        results[name] = run(panel, season, horizon)
        print(f"{name}: done", file=sys.stderr)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "panel.json").write_text(json.dumps({"machine": machine(), "panels": results}, indent=2))
    print(f"Machine: {machine()}\n")
    print(table(results))


if __name__ == "__main__":
    main()
