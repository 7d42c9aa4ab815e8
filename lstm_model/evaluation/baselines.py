"""Baselines, fitted on the training part only and scored one step ahead on the same points as
the LSTM: naive, seasonal naive and drift, and statsforecast's AutoETS, AutoARIMA and AutoTheta
(the automatic ETS/ARIMA of R's forecast package and the M3 winner, the methods releases are
judged against).

Every model is fitted on ``values[:n_train]`` only. The forecast for each later index ``t`` is
the one-step prediction made from the true values ``values[:t]`` with the training-part
parameters (states are updated with the new values; parameters are not re-estimated):

- Naive, SeasonalNaive: parameter-free; ``values[t - 1]`` and ``values[t - m]``.
- Drift: ``values[t - 1]`` plus the training part's average step (Hyndman's drift method).
- AutoETS: ``model.fit(train)`` then ``model.forward(values, h=1, fitted=True)["fitted"]``:
  ``forward`` reruns the ETS state recursion (``pegelsresid_C``) with the fitted smoothing
  parameters and initial states; each fitted value is the one-step prediction from the values
  before it (y - e, or y / (1 + e) for multiplicative errors: exactly the prediction).
- AutoARIMA: ``model.fit(train)``, then for every test index t ``model.forward(values[:t],
  h=1)["mean"]``: ``forward`` reruns the Kalman filter with every coefficient fixed
  (``Arima(..., fixed=coef)``) on the past only. The single-pass ``forward(values,
  fitted=True)["fitted"]`` is *not* used: it is ``x - residuals`` with R's standardised
  innovations (divided by sqrt(gain)), so it depends slightly on x[t] itself until the filter
  reaches steady state (measured: 1.3e-4 on nile at the 8th test point).
- AutoTheta: ``AutoTheta.forward`` is *not* used either: it re-runs the seasonality test and the
  centred-moving-average decomposition on the whole series it is given (future values would
  leak into the seasonal indices), and the one-step fits of the non-dynamic models (STM, OTM)
  use the trend line A_n, B_n of the whole series. Instead the training part's seasonal indices
  (the same ``seasonal_decompose`` the fit ran) are extended periodically, the series is
  deseasonalised with them, and at every test index t the fitted theta model (type, alpha,
  theta, initial level fixed) is applied to ``adjusted[:t]`` with
  ``statsforecast.theta.forward_theta`` at ``m = 1`` (no decomposition, no optimisation) and
  ``forecast_theta(h=1)``; the forecast is reseasonalised with the training index of t.

``tests/evaluation/test_baselines.py`` checks the no-leakage property by perturbation.

Season handling: AutoETS 2.0.1 fits seasonal models for m = 52 too (its "m > 24" limit is only
in ``etssimulate``, used for simulated prediction intervals, which are not asked for here).
For m > 24 (weekly, m = 52) AutoARIMA keeps m = 52 but (see ``ARIMA_NOTE``) searches with
``approximation=True`` (conditional sums of squares during the stepwise search, the chosen model
re-fitted by exact ML; R's auto.arima default whenever m > 12 or n > 150, statsforecast's
default is off) and seasonal orders ``max_P = max_Q = 1``. Measured on co2_weekly (800 training
weeks, 2 cores): defaults with P, Q <= 1 took 158 s (test MAE 0.352); approximation with the
default P, Q <= 2 took 51 s (0.319); approximation with P, Q <= 1 takes 4.5 s (0.351).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

METHODS = ("naive", "seasonal_naive", "drift", "ets", "arima", "theta")
STATISTICAL = ("ets", "arima", "theta")
LONG_SEASON = 24
ARIMA_NOTE = "m > 24: AutoARIMA with approximation=True and seasonal P, Q <= 1"


@dataclass
class BaselineRun:
    """One-step forecasts of the statistical baselines over ``values[n_train:]``.

    Attributes:
        forecasts: method -> forecasts, ``forecasts[i]`` predicts ``values[n_train + i]``.
        models: method -> a short description of the fitted model (e.g. 'ETS(M,A,M)').
        seconds: method -> wall time of fit plus one-step pass.
        notes: Caveats that apply to this series (e.g. the AutoARIMA cap for m > 24).
    """

    forecasts: dict[str, np.ndarray] = field(default_factory=dict)
    models: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# Each runner fits on values[:n_train] and returns (one-step fits for every index of values,
# NaN where undefined such as the first m; a description of the fitted model). Only the fits
# from n_train on are forecasts; the earlier ones are in-sample and serve the tests.


def _naive(values: np.ndarray, n_train: int, season: int) -> tuple[np.ndarray, str]:
    """values[t - 1] for every index t >= 1."""
    from statsforecast.models import Naive

    fitted = Naive().forecast(values, h=1, fitted=True)["fitted"]
    return fitted, "Naive"


def _seasonal_naive(values: np.ndarray, n_train: int, season: int) -> tuple[np.ndarray, str]:
    """values[t - season] for every index t >= season (naive when season is 1)."""
    from statsforecast.models import SeasonalNaive

    fitted = SeasonalNaive(season_length=season).forecast(values, h=1, fitted=True)["fitted"]
    return fitted, f"SeasonalNaive(m={season})"


def _drift(values: np.ndarray, n_train: int, season: int) -> tuple[np.ndarray, str]:
    """values[t - 1] plus the training part's average step, for every index t >= 1."""
    slope = (values[n_train - 1] - values[0]) / (n_train - 1)
    fitted = np.concatenate([[np.nan], values[:-1] + slope])
    return fitted, f"Drift(slope={slope:.4g} per step)"


def fit_ets(train: np.ndarray, season: int) -> tuple[Any, str]:
    """AutoETS fitted on ``train`` and its model, e.g. ``ETS(M,A,M)``."""
    from statsforecast.models import AutoETS

    model = AutoETS(season_length=season).fit(train)
    return model, str(model.model_["method"])


def fit_arima(train: np.ndarray, season: int) -> tuple[Any, str]:
    """AutoARIMA fitted on ``train`` (capped for long seasons, see ``ARIMA_NOTE``) and its
    model, e.g. ``ARIMA(0,1,1)(0,1,1)[12]``."""
    from statsforecast.arima import arima_string
    from statsforecast.models import AutoARIMA

    cap = {"max_P": 1, "max_Q": 1, "approximation": True} if season > LONG_SEASON else {}
    model = AutoARIMA(season_length=season, **cap).fit(train)
    return model, arima_string(model.model_).strip()


def _ets(values: np.ndarray, n_train: int, season: int) -> tuple[np.ndarray, str]:
    """AutoETS fitted on the training part, applied to the whole series with ``forward``."""
    model, description = fit_ets(values[:n_train], season)
    return model.forward(values, h=1, fitted=True)["fitted"], description


def _arima(values: np.ndarray, n_train: int, season: int) -> tuple[np.ndarray, str]:
    """AutoARIMA fitted on the training part; at each test origin ``forward`` on the past."""
    model, description = fit_arima(values[:n_train], season)
    fits = np.full(len(values), np.nan)
    fits[:n_train] = model.predict_in_sample()["fitted"]
    for t in range(n_train, len(values)):
        fits[t] = model.forward(values[:t], h=1)["mean"][0]
    return fits, description


@dataclass(frozen=True)
class ThetaFit:
    """AutoTheta fitted on a training part, ready to be applied to any past.

    Attributes:
        fixed: The fitted theta model (type, alpha, theta, initial level) with ``m = 1``: no
            seasonality test or decomposition, no optimisation when applied.
        seasonal: One season of the training part's seasonal indices (index t has
            ``seasonal[t % m]``), or None when the fit did not decompose.
        multiplicative: Whether the indices divide (else subtract).
        description: e.g. ``Theta OTM (season: multiplicative)``.
    """

    fixed: dict[str, Any]
    seasonal: np.ndarray | None
    multiplicative: bool
    description: str

    @classmethod
    def fit(cls, train: np.ndarray, season: int) -> ThetaFit:
        """AutoTheta on ``train``, with the decomposition it ran kept as indices."""
        from statsforecast.models import AutoTheta
        from statsmodels.tsa.seasonal import seasonal_decompose

        fit = AutoTheta(season_length=season).fit(train).model_
        kind = fit["decomposition_type"] if fit.get("decompose", False) else "none"
        seasonal = None
        if kind != "none":
            # The same decomposition auto_theta ran; its seasonal component is periodic from
            # index 0, so its first season serves every later index.
            seasonal = seasonal_decompose(train, model=kind, period=season).seasonal[:season]
        description = f"Theta {fit['modeltype']} (season: {kind})"
        return cls({**fit, "m": 1}, seasonal, kind != "additive", description)

    def factors(self, indices: np.ndarray) -> np.ndarray:
        """Seasonal factors at ``indices`` (ones when there is no season)."""
        if self.seasonal is None:
            return np.ones(len(indices))
        seasonal: np.ndarray = self.seasonal[np.asarray(indices) % len(self.seasonal)]
        return seasonal

    def adjusted(self, values: np.ndarray) -> np.ndarray:
        """``values`` with the training seasonal indices taken out."""
        factors = self.factors(np.arange(len(values)))
        adjusted: np.ndarray = values / factors if self.multiplicative else values - factors
        return adjusted

    def path(self, adjusted_past: np.ndarray, horizon: int) -> np.ndarray:
        """The next ``horizon`` values after ``adjusted_past``, seasonality put back."""
        from statsforecast.theta import forecast_theta, forward_theta

        mean = forecast_theta(forward_theta(self.fixed, adjusted_past), h=horizon)["mean"]
        factors = self.factors(len(adjusted_past) + np.arange(horizon))
        path: np.ndarray = mean * factors if self.multiplicative else mean + factors
        return path


def _theta(values: np.ndarray, n_train: int, season: int) -> tuple[np.ndarray, str]:
    """AutoTheta fitted on the training part; at each test origin, applied to the past."""
    from statsforecast.theta import forward_theta

    theta = ThetaFit.fit(values[:n_train], season)
    adjusted = theta.adjusted(values)
    in_sample = forward_theta(theta.fixed, adjusted[:n_train])
    fits = np.full(len(values), np.nan)
    factors = theta.factors(np.arange(n_train))
    fitted = adjusted[:n_train] - in_sample["residuals"]
    fits[:n_train] = fitted * factors if theta.multiplicative else fitted + factors
    for t in range(n_train, len(values)):
        fits[t] = theta.path(adjusted[:t], 1)[0]
    return fits, theta.description


_RUNNERS = {
    "naive": _naive,
    "seasonal_naive": _seasonal_naive,
    "drift": _drift,
    "ets": _ets,
    "arima": _arima,
    "theta": _theta,
}


def one_step_baselines(
    values: np.ndarray, n_train: int, season: int, methods: tuple[str, ...] = METHODS
) -> BaselineRun:
    """Fit each baseline on ``values[:n_train]`` and forecast every later point one step ahead.

    Args:
        values: The whole series (finite floats).
        n_train: Rows of the training part; the models never see later values while fitting.
        season: The calendar season (1 for none).
        methods: Which of ``METHODS`` to run.

    Returns:
        A BaselineRun whose arrays have ``len(values) - n_train`` forecasts each; the forecast
        for index ``t`` depends only on ``values[:t]`` and the training-part parameters.
    """
    values = np.asarray(values, dtype=np.float64)
    run = BaselineRun()
    if season > LONG_SEASON and "arima" in methods:
        run.notes.append(ARIMA_NOTE)
    for method in methods:
        started = time.perf_counter()
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            # AutoARIMA's search reports "possible convergence problem" and divides by zero
            # degrees of freedom for candidate models it then rejects.
            warnings.filterwarnings("ignore", "possible convergence problem", UserWarning)
            warnings.filterwarnings("ignore", category=RuntimeWarning)
            fitted, description = _RUNNERS[method](values, n_train, season)
        run.seconds[method] = time.perf_counter() - started
        run.forecasts[method] = np.asarray(fitted[n_train:], dtype=np.float64)
        run.models[method] = description
    return run


@dataclass(frozen=True)
class BaselineForecasts:
    """Each baseline's forecasts at the test targets, and what each one was (or why it is
    missing): the fitted model, e.g. ``ETS(M,A,M)``, or ``skipped: <reason>``."""

    forecasts: dict[str, np.ndarray]
    notes: dict[str, str] = field(default_factory=dict)


# What a statsforecast fit raises on a series it cannot model (too short for the season, a
# singular system); anything else is a bug and propagates.
FIT_ERRORS = (
    ValueError,
    NotImplementedError,  # AutoETS: "tiny datasets"
    ZeroDivisionError,
    FloatingPointError,
    np.linalg.LinAlgError,
)


def baseline_forecasts(
    values: np.ndarray,
    targets: np.ndarray,
    train_stop: int,
    season: int,
    methods: tuple[str, ...] = METHODS,
) -> BaselineForecasts:
    """Every baseline in ``methods`` on the same targets, for the pipeline's evaluation.

    A model that cannot be fitted on the training part (or gives non-finite forecasts) is left
    out with a note rather than stopping the run; naive, seasonal naive and drift always exist.

    Args:
        values: The whole target series in original units.
        targets: Indices to forecast, all at or after ``train_stop`` (the test part).
        train_stop: End of the training part; every parameter is fitted before it.
        season: Seasonal period (1 for none).
        methods: Which of ``METHODS`` to run.

    Returns:
        The forecasts at ``targets`` per method and a note per method.
    """
    values = np.asarray(values, dtype=np.float64)
    offsets = np.asarray(targets) - train_stop
    forecasts: dict[str, np.ndarray] = {}
    notes: dict[str, str] = {}
    for method in methods:
        try:
            run = one_step_baselines(values, train_stop, season, (method,))
        except FIT_ERRORS as error:
            notes[method] = f"skipped: {error}"
            continue
        forecast = run.forecasts[method][offsets]
        if not np.isfinite(forecast).all():
            notes[method] = "skipped: non-finite forecasts"
            continue
        forecasts[method] = forecast
        notes[method] = "; ".join([run.models[method], *run.notes])
    return BaselineForecasts(forecasts, notes)
