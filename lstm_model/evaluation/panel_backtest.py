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

import numpy as np
import pandas as pd

from lstm_model.data.panel import Panel
from lstm_model.modeling.panel_windows import PanelSplit, window_origins

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
) -> dict[str, np.ndarray]:
    """AutoETS / AutoARIMA / AutoTheta paths from every test origin of every series.

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
    models = [getattr(sf_models, STATISTICAL_MODELS[m])(season_length=season) for m in methods]
    forecaster = StatsForecast(models=models, freq=panel.frequency, n_jobs=1)
    result = forecaster.cross_validation(
        df=frame, h=horizon, n_windows=windows, step_size=1, refit=False
    )
    # Rows come per series (sorted ids), per cutoff (time), per step: reshape to paths.
    result = result.sort_values(["unique_id", "cutoff", "ds"], kind="stable")
    return {
        m: result[STATISTICAL_MODELS[m]].to_numpy(dtype=float).reshape(-1, horizon) for m in methods
    }


@dataclass(frozen=True)
class PanelBacktest:
    """Per-series MASE of every forecaster and the panel's summary.

    Attributes:
        ids: Series ids, in order.
        mase: forecaster -> (S,) MASE over every step of every path of each series.
    """

    ids: np.ndarray
    mase: dict[str, np.ndarray]

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

    def worst(self, baseline: str, count: int = 10) -> list[tuple[str, float]]:
        """The series where the LSTM's MASE is furthest above ``baseline``'s (ratio)."""
        ratio = self.mase["model"] / self.mase[baseline]
        order = np.argsort(-ratio)[:count]
        return [(str(self.ids[i]), float(ratio[i])) for i in order]


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
    return PanelBacktest(panel.ids, mase)


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
