"""Baseline forecasters, scored on the same test points as the LSTM.

Every baseline forecasts one step ahead from the true values before each target, with any
parameter fitted on the training part only: ETS and ARIMA are fitted once on the training rows
and then *applied* to the longer series with those parameters fixed (statsmodels
``results.apply(..., refit=False)``), so their in-sample predictions at the test indices are
one-step-ahead filtered forecasts that never refit on validation or test data.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lstm_model.config import EvaluationConfig


def naive_forecast(values: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """The last observed value."""
    forecasts: np.ndarray = np.asarray(values, dtype=float)[np.asarray(targets) - 1]
    return forecasts


def seasonal_naive_forecast(values: np.ndarray, targets: np.ndarray, season: int) -> np.ndarray:
    """The value one season ago (the naive forecast when there is no season)."""
    forecasts: np.ndarray = np.asarray(values, dtype=float)[np.asarray(targets) - max(season, 1)]
    return forecasts


def drift_forecast(values: np.ndarray, targets: np.ndarray, train_stop: int) -> np.ndarray:
    """The last value plus the average step of the training part (Hyndman's drift method)."""
    values = np.asarray(values, dtype=float)
    slope = (values[train_stop - 1] - values[0]) / (train_stop - 1)
    forecasts: np.ndarray = values[np.asarray(targets) - 1] + slope
    return forecasts


def _one_step(results: Any, values: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """One-step-ahead predictions at ``targets`` with the fitted parameters held fixed."""
    applied = results.apply(values[: int(targets[-1]) + 1], refit=False)
    return np.asarray(applied.predict(start=int(targets[0]), end=int(targets[-1])), dtype=float)


def ets_forecast(
    values: np.ndarray, targets: np.ndarray, train_stop: int, season: int, trend: bool
) -> np.ndarray:
    """Additive exponential smoothing (statsmodels' state-space ETS), fitted on train only.

    Args:
        values: The whole series.
        targets: Consecutive indices to forecast, all after the training part.
        train_stop: End of the training part.
        season: Seasonal period (seasonal component only when > 1).
        trend: Whether to include a (damped-free) additive trend.
    """
    from statsmodels.tsa.statespace.exponential_smoothing import ExponentialSmoothing

    values = np.asarray(values, dtype=float)
    model = ExponentialSmoothing(
        values[:train_stop], trend=trend, seasonal=season if season > 1 else None
    )
    return _one_step(model.fit(disp=False), values, np.asarray(targets))


def arima_forecast(
    values: np.ndarray,
    targets: np.ndarray,
    train_stop: int,
    differencing: int,
    season: int,
    config: EvaluationConfig,
) -> tuple[np.ndarray, str]:
    """ARIMA(p, d, q)[(P, 0, 0, s)] with the order chosen by AIC on the training part.

    The search is deliberately small: p in 0..max_p, q in 0..max_q, a seasonal AR(1) term
    tried or not, d from the analysis (so the baseline differences like the LSTM does).

    Returns:
        The forecasts at ``targets`` and the chosen order, e.g. ``"(2,0,1)(1,0,0,12)"``.
    """
    from statsmodels.tsa.arima.model import ARIMA

    values = np.asarray(values, dtype=float)
    trend = {0: "c", 1: "t"}.get(differencing, "n")  # a constant in the differences is drift
    seasonal_terms = [0, 1] if config.arima_seasonal and season > 1 else [0]
    best, best_order = None, ""
    for p, q, big_p in itertools.product(
        range(config.arima_max_p + 1), range(config.arima_max_q + 1), seasonal_terms
    ):
        seasonal_order = (big_p, 0, 0, season) if big_p else (0, 0, 0, 0)
        try:
            fitted = ARIMA(
                values[:train_stop],
                order=(p, differencing, q),
                seasonal_order=seasonal_order,
                trend=trend,
            ).fit()
        except (ValueError, np.linalg.LinAlgError):
            continue
        if np.isfinite(fitted.aic) and (best is None or fitted.aic < best.aic):
            best = fitted
            best_order = f"({p},{differencing},{q})" + (f"(1,0,0,{season})" if big_p else "")
    if best is None:
        raise ValueError("no ARIMA order could be fitted on the training part")
    return _one_step(best, values, np.asarray(targets)), best_order


@dataclass(frozen=True)
class BaselineForecasts:
    """Each baseline's forecasts at the test targets, and notes (chosen orders, skips)."""

    forecasts: dict[str, np.ndarray]
    notes: dict[str, str] = field(default_factory=dict)


def baseline_forecasts(
    values: np.ndarray,
    targets: np.ndarray,
    train_stop: int,
    season: int,
    differencing: int,
    config: EvaluationConfig,
) -> BaselineForecasts:
    """Run every configured baseline on the same targets.

    ETS or ARIMA that cannot be fitted on the training part is left out with a note rather than
    stopping the run; naive, seasonal naive and drift always exist.

    Args:
        values: The whole series in original units.
        targets: Consecutive indices to forecast (the test part).
        train_stop: End of the training part; every parameter is fitted before it.
        season: Seasonal period (1 for none).
        differencing: Differencing order from the analysis.
        config: Which baselines, and the ARIMA search.
    """
    values = np.asarray(values, dtype=float)
    targets = np.asarray(targets)
    forecasts: dict[str, np.ndarray] = {}
    notes: dict[str, str] = {}
    for name in config.baselines:
        try:
            with warnings.catch_warnings():
                # Convergence chatter from statsmodels' optimisers; a failed fit raises instead.
                warnings.simplefilter("ignore")
                if name == "naive":
                    forecasts[name] = naive_forecast(values, targets)
                elif name == "seasonal_naive":
                    forecasts[name] = seasonal_naive_forecast(values, targets, season)
                elif name == "drift":
                    forecasts[name] = drift_forecast(values, targets, train_stop)
                elif name == "ets":
                    forecasts[name] = ets_forecast(
                        values, targets, train_stop, season, trend=differencing > 0
                    )
                    notes[name] = f"additive ETS, trend={differencing > 0}, season={season}"
                elif name == "arima":
                    forecasts[name], notes[name] = arima_forecast(
                        values, targets, train_stop, differencing, season, config
                    )
        except (ValueError, np.linalg.LinAlgError) as error:
            notes[name] = f"skipped: {error}"
            continue
        if not np.isfinite(forecasts[name]).all():
            del forecasts[name]
            notes[name] = "skipped: non-finite forecasts"
    return BaselineForecasts(forecasts, notes)
