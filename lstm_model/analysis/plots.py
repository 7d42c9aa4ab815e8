"""Plots of the series analysis: ACF and PACF with their bounds, and the STL decomposition."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lstm_model.analysis.decisions import SeriesAnalysis
from lstm_model.plotting import pyplot, save_figure


def plot_correlograms(analysis: SeriesAnalysis, out_dir: Path) -> list[Path]:
    """Save ACF and PACF bar plots with their significance bounds; returns the file paths."""
    plt = pyplot()
    out_dir.mkdir(parents=True, exist_ok=True)
    seasonal = (
        f", seasonally differenced at lag {analysis.season}"
        if analysis.seasonal_differencing
        else ""
    )
    paths = []
    for name, values in (("acf", analysis.acf), ("pacf", analysis.pacf)):
        fig, ax = plt.subplots(figsize=(8, 3.5))
        lags = np.arange(len(values))
        ax.bar(lags, values, width=0.4, color="tab:blue")
        ax.axhspan(
            -analysis.confidence_bound,
            analysis.confidence_bound,
            color="tab:gray",
            alpha=0.25,
            label="significance bound",
        )
        if analysis.season > 1:
            ax.axvline(analysis.season, color="tab:red", ls="--", label=f"season {analysis.season}")
        ax.axvline(
            analysis.lookback, color="tab:green", ls=":", label=f"lookback {analysis.lookback}"
        )
        ax.set_title(
            f"{name.upper()} of the training part (differenced {analysis.differencing}x{seasonal})"
        )
        ax.set_xlabel("lag")
        ax.legend(loc="upper right", fontsize=8)
        paths.append(save_figure(fig, out_dir / f"{name}.png"))
    return paths


def plot_decomposition(train_values: np.ndarray, season: int, out_dir: Path) -> Path:
    """STL decomposition of the training part (observed, trend, seasonal, remainder).

    Without a season STL runs with the shortest period (2), so the plot still separates the
    trend from the remainder.
    """
    from statsmodels.tsa.seasonal import STL

    pyplot()  # selects the headless backend before STL draws its own figure
    period = season if season > 1 else 2
    result = STL(np.asarray(train_values, dtype=float), period=period, robust=True).fit()
    fig = result.plot()
    fig.set_size_inches(9, 6)
    fig.suptitle(f"STL decomposition of the training part (period {period})", fontsize=10)
    return save_figure(fig, out_dir / "stl.png")
