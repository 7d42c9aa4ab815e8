"""Statistics that decide how a series is modelled: differencing, season and lookback.

ADF + KPSS choose the regular differencing d (with an explicit verdict when they disagree), ACF
peaks cross-checked with the periodogram and the calendar give the season m, STL's seasonal
strength decides seasonal differencing D, the PACF/ACF cut-off and the season give the lookback,
and Ljung-Box says whether anything is left to learn. Everything here is fitted on the training
part only: the caller passes train values. Plots live in :mod:`lstm_model.analysis.plots`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from lstm_model.analysis.seasonality import (
    ljung_box,
    periodogram_period,
    same_period,
    seasonal_strength,
)
from lstm_model.analysis.stationarity import (
    StationarityCheck,
    choose_differencing,
    decide_differencing,
)
from lstm_model.analysis.variance import box_cox, guerrero_lambda
from lstm_model.config import AnalysisConfig

# Calendar seasons by pandas frequency prefix; yearly data has none.
_CALENDAR_SEASONS = {
    "MS": 12,
    "ME": 12,
    "M": 12,
    "QS": 4,
    "QE": 4,
    "Q": 4,
    "W": 52,
    "D": 7,
    "B": 5,
    "h": 24,
    "H": 24,
}
# Insignificant PACF lags in a row that mark the end of the autoregressive order.
_PACF_GAP = 3


@dataclass(frozen=True)
class Preprocessing:
    """One way to turn the series into what the network sees.

    Attributes:
        box_cox_lambda: Box-Cox lambda (None: original scale).
        seasonal_differencing: D, seasonal differences at the analysis' season.
        differencing: d, regular differences after the seasonal one.
        lookback: Window length in differenced steps.
    """

    box_cox_lambda: float | None
    seasonal_differencing: int
    differencing: int
    lookback: int

    def describe(self) -> str:
        """E.g. ``log, D=1, d=0, lookback 12``."""
        if self.box_cox_lambda is None:
            scale = "original scale"
        elif self.box_cox_lambda == 0:
            scale = "log"
        else:
            scale = f"Box-Cox {self.box_cox_lambda:.2f}"
        return (
            f"{scale}, D={self.seasonal_differencing}, d={self.differencing}, "
            f"lookback {self.lookback}"
        )


@dataclass(frozen=True)
class SeriesAnalysis:
    """What the statistics decided, and the evidence behind it."""

    differencing: int
    season: int
    lookback: int
    frequency: str | None
    checks: list[StationarityCheck]
    acf: list[float]
    pacf: list[float]
    confidence_bound: float
    notes: list[str] = field(default_factory=list)
    seasonal_differencing: int = 0
    seasonal_strength: float | None = None
    periodogram_period: float | None = None
    ljung_box_pvalue: float | None = None
    white_noise: bool = False
    box_cox_lambda: float | None = None
    guerrero_lambda: float | None = None

    @property
    def warnings(self) -> list[str]:
        """Notes that should reach the user as warnings (logs and an MLflow tag)."""
        return [note for note in self.notes if note.startswith("warning:")]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def preprocessing(self) -> Preprocessing:
        """The preprocessing this analysis decided."""
        return Preprocessing(
            self.box_cox_lambda, self.seasonal_differencing, self.differencing, self.lookback
        )

    def with_preprocessing(self, chosen: Preprocessing, reason: str) -> SeriesAnalysis:
        """This analysis with the preprocessing validation chose, and why, in its notes."""
        return replace(
            self,
            box_cox_lambda=chosen.box_cox_lambda,
            seasonal_differencing=chosen.seasonal_differencing,
            differencing=chosen.differencing,
            lookback=chosen.lookback,
            notes=[*self.notes, reason],
        )


def calendar_season(frequency: str | None) -> int | None:
    """The season implied by a pandas frequency alias ('MS' -> 12), or None."""
    if not frequency:
        return None
    prefix = frequency.split("-")[0].lstrip("0123456789")
    return _CALENDAR_SEASONS.get(prefix)


def detect_season(
    acf_values: np.ndarray,
    bound: float,
    frequency: str | None,
    n_obs: int,
    periodogram_period: float | None = None,
) -> tuple[int, str]:
    """Seasonal period from ACF peaks, cross-checked with the calendar of the data.

    A calendar season (12 for monthly data) needs a significant local ACF peak at that lag.
    Without one (e.g. yearly data) the first local peak that clears Bartlett's bound — which
    widens with the autocorrelation already seen — counts as a cycle (e.g. ~11 for sunspots)
    when the periodogram's strongest period agrees (within 10 %); the plain white-noise bound
    would take chance wiggles of an AR process for cycles. The periodogram also confirms a
    calendar season whose ACF peak clears the bound but is not a local maximum.

    Returns:
        The period (1 when there is none) and a sentence saying why.
    """
    acf_values = np.asarray(acf_values, dtype=float)
    expected = calendar_season(frequency)
    max_lag = len(acf_values) - 1

    def is_peak(lag: int) -> bool:
        right = acf_values[lag + 1] if lag < max_lag else -np.inf
        return bool(acf_values[lag] >= acf_values[lag - 1] and acf_values[lag] >= right)

    if expected and expected <= max_lag and expected * 2 <= n_obs:
        value = acf_values[expected]
        agrees = periodogram_period is not None and same_period(periodogram_period, expected)
        evidence = f"periodogram peak at {periodogram_period:.1f}" if periodogram_period else ""
        if value > bound and is_peak(expected):
            suffix = f", confirmed by the {evidence}" if agrees else ""
            return expected, f"ACF peak at the calendar season {expected} (r={value:.2f}){suffix}"
        if agrees and value > bound:
            return expected, f"{evidence} at the calendar season {expected} (ACF r={value:.2f})"
        return 1, f"no significant ACF peak at the calendar season {expected}"
    z = bound * np.sqrt(n_obs)
    bartlett = z * np.sqrt((1 + 2 * np.r_[0.0, np.cumsum(acf_values[1:] ** 2)]) / n_obs)
    for lag in range(2, min(max_lag, n_obs // 3)):
        value = acf_values[lag]
        if value > bartlett[lag - 1] and is_peak(lag):
            if periodogram_period is None or same_period(periodogram_period, lag):
                return lag, f"ACF peak at lag {lag} (r={value:.2f}) suggests a cycle"
            # Without a calendar to confirm it, a cycle needs the periodogram's agreement.
            return 1, (
                f"ACF peak at lag {lag} (r={value:.2f}) not confirmed by the periodogram "
                f"(strongest period {periodogram_period:.1f}): no season"
            )
    return 1, "no seasonal ACF peak"


def significant_cutoff(values: np.ndarray, bound: float) -> int:
    """Last significant lag before ``_PACF_GAP`` insignificant lags in a row (0 for none)."""
    cutoff, quiet = 0, 0
    for lag in range(1, len(values)):
        if abs(values[lag]) > bound:
            cutoff, quiet = lag, 0
        else:
            quiet += 1
            if quiet >= _PACF_GAP:
                break
    return cutoff


def choose_lookback(
    pacf_values: np.ndarray,
    bound: float,
    season: int,
    config: AnalysisConfig,
    n_train: int,
    acf_values: np.ndarray | None = None,
) -> int:
    """Lookback covering the PACF cut-off and at least one full season.

    The cut-off is the last significant PACF lag before ``_PACF_GAP`` insignificant lags in a
    row (Box-Jenkins AR order identification). Isolated significant lags far out are what a
    5 % test produces by chance, so they do not stretch the window. When the PACF has no
    cut-off, the ACF's (an MA order) is used. Bounded above so that the training part still
    yields enough windows.
    """
    cutoff = significant_cutoff(pacf_values, bound)
    if cutoff == 0 and acf_values is not None:
        cutoff = significant_cutoff(acf_values, bound)
    upper = max(config.min_lookback, min(config.max_lookback, n_train // 4))
    lookback = max(config.min_lookback, cutoff, season if season > 1 else 0)
    return int(min(lookback, upper))


def statistics_window(train_values: np.ndarray, config: AnalysisConfig) -> np.ndarray:
    """The most recent ``config.max_statistics_points`` training values, which the tests read.

    ADF's AIC lag search regresses on a lag matrix that grows with the series (a 1.4-million
    point training part took 15 GB); the decisions only need the recent dynamics.
    """
    return np.asarray(train_values, dtype=float)[-config.max_statistics_points :]


def analyze_series(
    train_values: np.ndarray, frequency: str | None, config: AnalysisConfig
) -> SeriesAnalysis:
    """Decide Box-Cox, differencing, season and lookback from the training part of a series.

    Order of decisions (as R's forecast package makes them): Box-Cox lambda by Guerrero's
    method when the series is positive and its spread grows with its level; the season from
    the ACF of the (KPSS-)stationary series, cross-checked with the periodogram and the
    calendar; D from the STL seasonal strength (``nsdiffs``) *before* d, which KPSS then picks
    on the seasonally differenced values (``ndiffs``). Lookback and Ljung-Box use the final
    series. The unit-root tests are fragile on short series, so the flow checks these
    decisions against their alternatives on validation data (:mod:`lstm_model.analysis.candidates`).

    Args:
        train_values: The target over the training part, in time order.
        frequency: The inferred pandas frequency alias, or None.
        config: Significance level, bounds, Box-Cox and seasonal-strength thresholds.

    Returns:
        The decisions with the test statistics behind them.
    """
    values = statistics_window(train_values, config)
    guerrero = (
        guerrero_lambda(values, calendar_season(frequency) or 1)
        if config.box_cox == "auto"
        else None
    )
    box_cox_lambda = (
        guerrero if guerrero is not None and guerrero < config.box_cox_threshold else None
    )
    notes = [_box_cox_note(guerrero, box_cox_lambda, config)]
    if len(values) < len(train_values):
        notes.append(
            f"the tests read the last {len(values):,} of {len(train_values):,} training points "
            "(analysis.max_statistics_points)"
        )
    stabilised = values if box_cox_lambda is None else box_cox(values, box_cox_lambda)

    differencing, checks = choose_differencing(stabilised, config.alpha, config.max_differencing)
    stationary = np.diff(stabilised, n=differencing)
    acf_values, _, bound = correlations(stationary, config)
    period = periodogram_period(stationary)
    season, reason = detect_season(acf_values, bound, frequency, len(stationary), period)
    notes.append(reason)
    strength = (
        seasonal_strength(stabilised, season)
        if season > 1 and len(values) >= 2 * season + 1
        else None
    )
    decision = decide_differencing(
        stabilised, season, strength, config, config.max_seasonal_differencing
    )
    notes.extend(decision.notes)
    stationary = decision.stationary
    acf_values, pacf_values, bound = correlations(stationary, config)
    if np.ptp(stationary) == 0:
        notes.append("warning: the (differenced) training series is constant")
    lookback = choose_lookback(pacf_values, bound, season, config, len(values), acf_values)
    lb_pvalue, lb_lags = ljung_box(stationary, season)
    white_noise = lb_pvalue >= config.alpha
    if white_noise:
        notes.append(
            f"warning: Ljung-Box p={lb_pvalue:.3f} at lag {lb_lags}: the differenced training "
            "series is indistinguishable from white noise; an LSTM has little to learn beyond "
            "the naive forecast"
        )
    return SeriesAnalysis(
        differencing=decision.differencing,
        season=season,
        lookback=lookback,
        frequency=frequency,
        checks=checks + decision.checks,
        acf=[float(v) for v in acf_values],
        pacf=[float(v) for v in pacf_values],
        confidence_bound=bound,
        notes=notes,
        seasonal_differencing=decision.seasonal_differencing,
        seasonal_strength=strength,
        periodogram_period=period,
        ljung_box_pvalue=lb_pvalue,
        white_noise=white_noise,
        box_cox_lambda=box_cox_lambda,
        guerrero_lambda=guerrero,
    )


def _box_cox_note(guerrero: float | None, chosen: float | None, config: AnalysisConfig) -> str:
    if config.box_cox == "off":
        return "Box-Cox off (analysis.box_cox): original scale"
    if guerrero is None:
        return "Box-Cox not applicable (values not all positive): original scale"
    if chosen is None:
        return (
            f"Guerrero lambda {guerrero:.2f} >= {config.box_cox_threshold}: the spread does not "
            "grow with the level, original scale"
        )
    return (
        f"Guerrero lambda {guerrero:.2f} < {config.box_cox_threshold}: the spread grows with "
        "the level, Box-Cox " + ("(log)" if chosen == 0 else f"lambda {chosen:.2f}")
    )


def correlations(
    stationary: np.ndarray, config: AnalysisConfig
) -> tuple[np.ndarray, np.ndarray, float]:
    """ACF, PACF and the two-sided white-noise bound at level alpha."""
    from scipy.stats import norm
    from statsmodels.tsa.stattools import acf, pacf

    n_obs = len(stationary)
    nlags = max(2, min(config.max_lags, n_obs // 2 - 1))
    if np.ptp(stationary) == 0:
        acf_values = np.r_[1.0, np.zeros(nlags)]
        pacf_values = acf_values.copy()
    else:
        acf_values = acf(stationary, nlags=nlags, fft=True)
        pacf_values = pacf(stationary, nlags=nlags, method="ywadjusted")
    bound = float(norm.ppf(1 - config.alpha / 2) / np.sqrt(n_obs))
    return acf_values, pacf_values, bound
