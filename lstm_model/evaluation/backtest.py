"""The rolling-origin backtest: h-step paths from many origins of the test part, for the model
and every baseline on exactly the same origins and targets, scored per step and overall.

Every origin's forecasts use only values before it; the baselines' parameters come from the
training part and are applied to each origin's past without refitting (as in
:mod:`lstm_model.evaluation.baselines`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lstm_model.evaluation.baselines import FIT_ERRORS, METHODS, ThetaFit, fit_arima, fit_ets
from lstm_model.evaluation.metrics import forecast_metrics


def rolling_origins(bounds: tuple[int, int], horizon: int, stride: int = 1) -> np.ndarray:
    """Origins in [start, stop) whose whole h-step path lies before ``stop``, every ``stride``.

    The last origin is always kept, so the newest path is scored whatever the stride.
    """
    start, stop = bounds
    origins = np.arange(start, stop - horizon + 1)
    if len(origins) == 0:
        return origins
    return np.unique(np.r_[origins[::stride], origins[-1]])


def path_targets(values: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """The true values of every path: row r holds ``values[origins[r] + k]`` for k < h."""
    target: np.ndarray = np.asarray(values, dtype=float)[
        np.asarray(origins)[:, np.newaxis] + np.arange(horizon)
    ]
    return target


def _paths(
    method: str, values: np.ndarray, n_train: int, season: int, origins: np.ndarray, h: int
) -> tuple[np.ndarray, str]:
    """(count, h) paths of one baseline and a description of its fitted model."""
    steps = np.arange(h)
    last = values[origins - 1][:, np.newaxis]
    if method == "naive":
        return np.repeat(last, h, axis=1), "Naive"
    if method == "seasonal_naive":
        m = max(season, 1)
        lags = origins[:, np.newaxis] + steps - m * (steps // m + 1)
        return values[lags], f"SeasonalNaive(m={m})"
    if method == "drift":
        slope = (values[n_train - 1] - values[0]) / (n_train - 1)
        return last + slope * (steps + 1), f"Drift(slope={slope:.4g} per step)"
    if method in ("ets", "arima"):
        fit = fit_ets if method == "ets" else fit_arima
        model, description = fit(values[:n_train], season)
        # forward() reruns the fitted model on each origin's past without re-estimating it.
        paths = [model.forward(values[:origin], h=h)["mean"] for origin in origins]
        return np.asarray(paths, dtype=float), description
    if method == "theta":
        theta = ThetaFit.fit(values[:n_train], season)
        adjusted = theta.adjusted(values)
        paths = [theta.path(adjusted[:origin], h) for origin in origins]
        return np.asarray(paths, dtype=float), theta.description
    raise ValueError(f"unknown baseline {method!r}: choose from {', '.join(METHODS)}")


def baseline_paths(
    values: np.ndarray,
    n_train: int,
    season: int,
    origins: np.ndarray,
    horizon: int,
    methods: tuple[str, ...] = METHODS,
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Every baseline's h-step paths from ``origins``, fitted on ``values[:n_train]`` only.

    A model that cannot be fitted, or gives non-finite paths, is left out with a note.

    Args:
        values: The whole target series in original units.
        n_train: End of the training part; every parameter is fitted before it.
        season: Seasonal period (1 for none).
        origins: First forecast index of each path, all at or after ``n_train``.
        horizon: Steps per path.
        methods: Which of ``METHODS`` to run.

    Returns:
        ``method -> (count, h) paths`` and ``method -> fitted model or skip reason``.
    """
    values = np.asarray(values, dtype=np.float64)
    origins = np.asarray(origins)
    paths: dict[str, np.ndarray] = {}
    notes: dict[str, str] = {}
    for method in methods:
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.filterwarnings("ignore", "possible convergence problem", UserWarning)
                warnings.filterwarnings("ignore", category=RuntimeWarning)
                forecast, notes[method] = _paths(method, values, n_train, season, origins, horizon)
        except FIT_ERRORS as error:
            notes[method] = f"skipped: {error}"
            continue
        if not np.isfinite(forecast).all():
            notes[method] = "skipped: non-finite forecasts"
            continue
        paths[method] = forecast
    return paths, notes


@dataclass(frozen=True)
class Backtest:
    """Paths of the model and its baselines from the same origins, with their scores.

    Attributes:
        origins: First forecast index of each path.
        actual: (count, h) true values.
        forecasts: name -> (count, h) paths; the LSTM is ``model``.
        metrics: name -> metric -> value over every step of every path.
        by_step: name -> metric -> one value per horizon step.
        notes: name -> what the baseline was, or why it is missing.
    """

    origins: np.ndarray
    actual: np.ndarray
    forecasts: dict[str, np.ndarray]
    metrics: dict[str, dict[str, float]]
    by_step: dict[str, dict[str, list[float]]]
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def horizon(self) -> int:
        """Steps per path (h)."""
        return int(self.actual.shape[1])

    @property
    def targets(self) -> np.ndarray:
        """Every (origin, step) target index, (count, h)."""
        indices: np.ndarray = self.origins[:, np.newaxis] + np.arange(self.horizon)
        return indices

    @property
    def baselines(self) -> list[str]:
        return [name for name in self.forecasts if name != "model"]

    def errors(self, name: str = "model") -> np.ndarray:
        """(count, h) errors, actual - forecast."""
        errors: np.ndarray = self.actual - self.forecasts[name]
        return errors

    def best_baseline(self) -> str:
        """The baseline with the lowest MSE over every step of every path."""
        return min(self.baselines, key=lambda name: self.metrics[name]["mse"])

    def flat_metrics(self) -> dict[str, float]:
        """``test/rmse`` (the LSTM), ``baseline/naive/rmse``, ... for ``mlflow.log_metrics``:
        the prefixes group them in the MLflow UI. Per-step values: :meth:`step_metrics`."""
        return {
            f"{_prefix(name)}/{key}": value
            for name, m in self.metrics.items()
            for key, value in m.items()
        }

    def step_metrics(self, key: str = "mase") -> dict[str, list[float]]:
        """``test/<key>_by_step`` -> one value per step, to log with MLflow's ``step``."""
        return {
            f"{_prefix(name)}/{key}_by_step": steps[key] for name, steps in self.by_step.items()
        }

    def leaderboard(self) -> list[dict[str, Any]]:
        """One row per forecaster, best MSE first: model, MSE, RMSE, MAE, R², sMAPE, MASE."""
        rows = [{"model": name, **metrics} for name, metrics in self.metrics.items()]
        return sorted(rows, key=lambda row: row["mse"])


def _prefix(name: str) -> str:
    return "test" if name == "model" else f"baseline/{name}"


def score_paths(
    values: np.ndarray,
    origins: np.ndarray,
    forecasts: dict[str, np.ndarray],
    train_stop: int,
    season: int,
    notes: dict[str, str] | None = None,
) -> Backtest:
    """Score every forecaster's paths against the truth, overall and per step.

    MASE is scaled by the training part's in-sample seasonal-naive MAE, the same scale for every
    step, so a MASE that grows with the step shows how the error grows with the horizon.
    """
    values = np.asarray(values, dtype=float)
    horizon = next(iter(forecasts.values())).shape[1]
    actual = path_targets(values, origins, horizon)
    train = values[:train_stop]
    metrics, by_step = {}, {}
    for name, paths in forecasts.items():
        metrics[name] = forecast_metrics(actual.reshape(-1), paths.reshape(-1), train, season)
        steps = [forecast_metrics(actual[:, k], paths[:, k], train, season) for k in range(horizon)]
        by_step[name] = {key: [step[key] for step in steps] for key in steps[0]}
    return Backtest(origins, actual, forecasts, metrics, by_step, dict(notes or {}))
