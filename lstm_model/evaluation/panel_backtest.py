"""The rolling-origin backtest of a panel: every series, every test origin, every forecaster.

Every series has the same number of test rows (:func:`~lstm_model.modeling.panel_windows.
split_panel`), so the origins of a series are its test rows with a whole path after them, and
the statistical baselines of all series come from one ``StatsForecast.cross_validation`` call
with ``refit=False``: each model is fitted once per series on the rows before its test part,
then moved forward (``forward``) to each origin without re-estimating, which is the single-
series protocol of :mod:`lstm_model.evaluation.backtest`, vectorised by the library across
series. Naive and seasonal naive are index arithmetic on the flat values.

MASE is per series, scaled by that series' in-sample seasonal-naive MAE on its training part,
and then summarised over the panel: mean and median per forecaster, the share of series on
which the LSTM beats each baseline, and the series where it is furthest behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lstm_model.data.panel import Panel
from lstm_model.evaluation.baselines import LONG_SEASON
from lstm_model.modeling.panel_windows import PanelSplit, window_origins, window_scale
from lstm_model.plotting import pyplot, save_figure

# statsforecast's class names for the pipeline's baselines.
STATISTICAL_MODELS = {"ets": "AutoETS", "arima": "AutoARIMA", "theta": "AutoTheta"}


def backtest_origins(split: PanelSplit, lookback: int, horizon: int) -> np.ndarray:
    """Backtest origins: every test row of every series with a whole path after it."""
    return window_origins(split.starts, *split.part("test"), lookback, horizon)


def naive_paths(
    values: np.ndarray, origins: np.ndarray, horizon: int, season: int
) -> dict[str, np.ndarray]:
    """Naive and seasonal naive paths from ``origins``, each from the values before it."""
    steps = np.arange(horizon)
    m = max(season, 1)
    lags = origins[:, np.newaxis] + steps - m * (steps // m + 1)
    return {
        "naive": np.repeat(values[origins - 1][:, np.newaxis], horizon, axis=1),
        "seasonal_naive": values[lags],
    }


def statistical_paths(
    panel: Panel,
    split: PanelSplit,
    horizon: int,
    season: int,
    methods: tuple[str, ...] = tuple(STATISTICAL_MODELS),
    n_jobs: int = 1,
) -> dict[str, np.ndarray]:
    """AutoETS / AutoARIMA / AutoTheta paths from every test origin of every series.

    AutoARIMA searches with R's ``auto.arima`` default (:func:`arima_options`).

    Returns:
        method -> (k, h) paths in the order of :func:`backtest_origins` (series by id, then time).
    """
    from statsforecast import StatsForecast
    from statsforecast import models as sf_models

    test_rows = int((split.stops - split.test)[0])
    windows = test_rows - horizon + 1
    frame = pd.DataFrame(
        {"unique_id": panel.ids[panel.series_of_row], "ds": panel.timestamps, "y": panel.values}
    )
    training_rows = int(np.median(split.validation - split.starts))
    models = [
        getattr(sf_models, STATISTICAL_MODELS[m])(
            season_length=season, **(arima_options(training_rows, season) if m == "arima" else {})
        )
        for m in methods
    ]
    # One process by default: statsforecast's n_jobs > 1 forks the caller, and a fork of a
    # process with running threads (TensorFlow, Prefect's clients) hung in the test suite.
    forecaster = StatsForecast(models=models, freq=panel.frequency, n_jobs=n_jobs)
    result = forecaster.cross_validation(
        df=frame, h=horizon, n_windows=windows, step_size=1, refit=False
    )
    # Rows come per series (sorted ids), per cutoff (time), per step: reshape to paths.
    result = result.sort_values(["unique_id", "cutoff", "ds"], kind="stable")
    return {
        m: result[STATISTICAL_MODELS[m]].to_numpy(dtype=float).reshape(-1, horizon) for m in methods
    }


def arima_options(rows: int, season: int) -> dict[str, Any]:
    """AutoARIMA's search settings for series of ``rows`` training rows.

    R's ``auto.arima`` searches with conditional sums of squares (``approximation``), then
    refits the chosen model by exact likelihood, whenever n > 150 or m > 12; statsforecast's
    default is exact throughout, which on a 150 x 306-row monthly panel took 4.2 s per series
    against 1.4 s (2 cores). Seasons over 24 also cap the seasonal orders at 1, as the
    single-series baseline does (:data:`~lstm_model.evaluation.baselines.ARIMA_NOTE`).
    """
    options: dict[str, Any] = {}
    if rows > 150 or season > 12:
        options["approximation"] = True
    if season > LONG_SEASON:
        options.update(max_P=1, max_Q=1)
    return options


@dataclass(frozen=True)
class PanelBacktest:
    """Every forecaster's paths from the same origins of every series, and their MASE.

    Attributes:
        ids: (S,) series ids, in order.
        origins: (k,) origins of the paths (rows of the panel's flat arrays).
        owner: (k,) index of the series each path belongs to.
        actual: (k, h) what happened after each origin.
        forecasts: forecaster -> (k, h) paths; the LSTM is ``model``.
        scale: (S,) each series' MASE scale (in-sample seasonal-naive MAE of its training part).
        mase: forecaster -> (S,) MASE over every step of every path of each series.
    """

    ids: np.ndarray
    origins: np.ndarray
    owner: np.ndarray
    actual: np.ndarray
    forecasts: dict[str, np.ndarray]
    scale: np.ndarray
    mase: dict[str, np.ndarray]

    @property
    def horizon(self) -> int:
        return int(self.actual.shape[1])

    def scaled_errors(self, name: str = "model") -> np.ndarray:
        """(k, h) errors of one forecaster, each divided by its series' MASE scale, so that
        errors of series on different levels can be pooled (and tested) together."""
        return self.scaled_errors_of(self.forecasts[name])

    def scaled_errors_of(self, paths: np.ndarray) -> np.ndarray:
        """(k, s) scaled errors of other paths from the same origins over their first s <= h
        steps (e.g. a champion trained for a shorter horizon)."""
        steps = paths.shape[1]
        errors: np.ndarray = (self.actual[:, :steps] - paths) / self.scale[self.owner, None]
        return errors

    def summary(self) -> dict[str, float]:
        """``<name>/mean_mase``, ``<name>/median_mase`` and ``lstm_beats/<baseline>`` shares."""
        out: dict[str, float] = {}
        for name, values in self.mase.items():
            out[f"{name}/mean_mase"] = float(np.mean(values))
            out[f"{name}/median_mase"] = float(np.median(values))
        for name, values in self.mase.items():
            if name != "model":
                out[f"lstm_beats/{name}"] = float(np.mean(self.mase["model"] < values))
        return out

    def best_baseline(self, candidates: tuple[str, ...] = ("ets", "arima", "theta")) -> str:
        """The baseline with the lowest mean MASE among ``candidates`` that were run (any
        baseline when none of them was)."""
        run = [name for name in candidates if name in self.mase] or [
            name for name in self.mase if name != "model"
        ]
        return min(run, key=lambda name: float(np.mean(self.mase[name])))

    def worst(self, baseline: str, count: int = 10) -> list[tuple[str, float]]:
        """The series where the LSTM's MASE is furthest above ``baseline``'s (ratio)."""
        ratio = self.mase["model"] / self.mase[baseline]
        order = np.argsort(-ratio)[:count]
        return [(str(self.ids[i]), float(ratio[i])) for i in order]

    def table(self) -> pd.DataFrame:
        """One row per series: its MASE under every forecaster and the LSTM's ratio to each."""
        frame = pd.DataFrame({"series_id": self.ids})
        for name, values in self.mase.items():
            frame[f"mase_{name}"] = values
        for name, values in self.mase.items():
            if name != "model":
                frame[f"ratio_to_{name}"] = self.mase["model"] / values
        return frame


@dataclass(frozen=True)
class LstmPaths:
    """The LSTM's side of a panel backtest, whatever the strategy that made it.

    Attributes:
        origins: (k,) backtest origins, rows of the panel's flat arrays, series by id then time.
        paths: (k, h) forecasts in original units.
        bounds: level -> ((k, h) lower, (k, h) upper).
        lookback: Rows before each origin whose spread scales the relative interval width.
    """

    origins: np.ndarray
    paths: np.ndarray
    bounds: dict[float, tuple[np.ndarray, np.ndarray]]
    lookback: int

    def coverage(self, values: np.ndarray) -> tuple[dict[float, float], dict[float, float]]:
        """Share of actual values inside each level's bounds, and the mean width divided by
        the spread of the ``lookback`` rows before its origin (a scale-free width).

        Args:
            values: The panel's flat values.

        Returns:
            ``level -> coverage`` and ``level -> mean relative width``.
        """
        values = np.asarray(values, dtype=np.float64)
        steps = np.arange(self.paths.shape[1])
        actual = values[self.origins[:, np.newaxis] + steps]
        history = values[self.origins[:, np.newaxis] - self.lookback + np.arange(self.lookback)]
        _, spread = window_scale(history)
        coverage, widths = {}, {}
        for level, (lower, upper) in self.bounds.items():
            coverage[level] = float(np.mean((actual >= lower) & (actual <= upper)))
            widths[level] = float(np.mean((upper - lower) / spread[:, np.newaxis]))
        return coverage, widths


def score_panel(
    panel: Panel,
    split: PanelSplit,
    origins: np.ndarray,
    forecasts: dict[str, np.ndarray],
    season: int,
) -> PanelBacktest:
    """MASE per series for every forecaster's paths from the same ``origins``.

    Args:
        panel: The series.
        split: Their parts; each series' MASE scale comes from its training part.
        origins: The paths' origins (:func:`backtest_origins`).
        forecasts: name -> (k, h) paths; the LSTM is ``model``.
        season: Seasonal period for the scale (1: naive).
    """
    values = panel.values
    horizon = next(iter(forecasts.values())).shape[1]
    actual = values[origins[:, np.newaxis] + np.arange(horizon)]
    owner = panel.series_of_row[origins]
    count = len(panel.ids)
    scale = _training_scale(panel, split, season)
    paths_per_series = np.bincount(owner, minlength=count) * horizon
    mase = {}
    for name, paths in forecasts.items():
        errors = np.abs(actual - paths).sum(axis=1)
        mae = np.bincount(owner, weights=errors, minlength=count) / paths_per_series
        mase[name] = mae / scale
    return PanelBacktest(panel.ids, origins, owner, actual, dict(forecasts), scale, mase)


def _training_scale(panel: Panel, split: PanelSplit, season: int) -> np.ndarray:
    """(S,) in-sample seasonal-naive MAE of each series' training part (naive if too short)."""
    values = panel.values
    rows = np.arange(len(values))
    series = panel.series_of_row
    in_train = rows < split.validation[series]
    lag = max(season, 1)
    seasonal = (rows - lag >= panel.starts[series]) & in_train
    naive = (rows - 1 >= panel.starts[series]) & in_train
    count = len(panel.ids)
    scales = []
    for mask, step in ((seasonal, lag), (naive, 1)):
        picked = rows[mask]
        diffs = np.abs(values[picked] - values[picked - step])
        total = np.bincount(series[picked], weights=diffs, minlength=count)
        number = np.bincount(series[picked], minlength=count)
        scales.append(np.divide(total, number, out=np.full(count, np.nan), where=number > 0))
    scale: np.ndarray = np.where(np.isfinite(scales[0]) & (scales[0] > 0), scales[0], scales[1])
    return scale


def plot_mase_ratios(backtest: PanelBacktest, baselines: list[str], path: Path) -> Path:
    """Distribution over series of the LSTM's MASE divided by each baseline's (log scale;
    left of 1 the LSTM is better on that series).

    Args:
        backtest: The scored panel.
        baselines: Which baselines to draw, e.g. seasonal naive and the best statistical one.
        path: The PNG to write.
    """
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ratios = [backtest.mase["model"] / backtest.mase[name] for name in baselines]
    finite = np.concatenate([r[np.isfinite(r) & (r > 0)] for r in ratios])
    low, high = (finite.min(), finite.max()) if len(finite) else (0.5, 2.0)
    bins = np.geomspace(min(low, 0.9), max(high, 1.1), 30)
    for name, ratio in zip(baselines, ratios, strict=True):
        share = float(np.mean(ratio < 1))
        ax.hist(ratio, bins=bins, alpha=0.55, label=f"vs {name} (better on {share:.0%})")
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_xscale("log")
    ax.set_xlabel("LSTM MASE / baseline MASE, per series")
    ax.set_ylabel("series")
    ax.set_title(f"{len(backtest.ids)} series, paths of {backtest.horizon} steps")
    ax.legend()
    return save_figure(fig, path)
