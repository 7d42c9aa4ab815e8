"""Statistics that decide how a series is modelled: differencing, season and lookback.

ADF + KPSS choose the regular differencing d (with an explicit verdict when they disagree), ACF
peaks cross-checked with the periodogram and the calendar give the season m, STL's seasonal
strength decides seasonal differencing D, the PACF/ACF cut-off and the season give the lookback,
and Ljung-Box says whether anything is left to learn. Everything here is fitted on the training
part only: the caller passes train values. Plots live in :mod:`lstm_model.analysis_plots`.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field

import numpy as np

from lstm_model.config import AnalysisConfig
from lstm_model.seasonality import (
    ljung_box,
    periodogram_period,
    same_period,
    seasonal_strength,
)

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
class StationarityCheck:
    """ADF and KPSS on the series differenced ``order`` times."""

    order: int
    adf_pvalue: float
    kpss_pvalue: float
    stationary: bool
    verdict: str = "stationary"
    kpss_trend_pvalue: float | None = None
    adf_trend_pvalue: float | None = None
    seasonal_differencing: int = 0


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

    @property
    def warnings(self) -> list[str]:
        """Notes that should reach the user as warnings (logs and an MLflow tag)."""
        return [note for note in self.notes if note.startswith("warning:")]

    def to_dict(self) -> dict:
        return asdict(self)


def calendar_season(frequency: str | None) -> int | None:
    """The season implied by a pandas frequency alias ('MS' -> 12), or None."""
    if not frequency:
        return None
    prefix = frequency.split("-")[0].lstrip("0123456789")
    return _CALENDAR_SEASONS.get(prefix)


def check_stationarity(
    values: np.ndarray, order: int, alpha: float, seasonal_differencing: int = 0
) -> StationarityCheck:
    """ADF (null: unit root) and KPSS (null: level-stationary) on ``values``, with a verdict.

    Both agree on stationary -> ``stationary``. Otherwise (both reject it, or they conflict)
    the trend variants (``regression='ct'``) tell a deterministic from a stochastic trend:
    ADF-ct rejecting the unit root while KPSS-ct accepts trend-stationarity means
    ``trend-stationary``; ADF-ct keeping the unit root while KPSS-ct rejects means
    ``difference-stationary``; anything else is ``inconclusive``.

    Only ``stationary`` counts as stationary. A trend-stationary series is differenced too: the
    model's scaler is fitted on the training range, and a trend carries the test and serving
    values out of that range, where an LSTM's saturating units cannot follow; detrending instead
    would extrapolate a fitted line forever inside the serving graph. Differencing turns the
    trend into a constant drift the scaler captures; the price, an over-differenced (MA unit
    root) noise, is harmless to a window model.
    """
    from statsmodels.tools.sm_exceptions import InterpolationWarning
    from statsmodels.tsa.stattools import adfuller, kpss

    if np.ptp(values) == 0:
        return StationarityCheck(
            order, 0.0, 1.0, True, "constant", None, None, seasonal_differencing
        )

    def adf_pvalue(regression: str) -> float:
        return float(
            adfuller(values, regression=regression, autolag="AIC", result_object=True).pvalue
        )

    def kpss_pvalue(regression: str) -> float:
        with warnings.catch_warnings():
            # KPSS p-values are tabulated on [0.01, 0.1]; outside, it warns and clips: fine.
            warnings.simplefilter("ignore", InterpolationWarning)
            result = kpss(values, regression=regression, nlags="auto", result_object=True)
            return float(result.pvalue)

    adf_p, kpss_p = adf_pvalue("c"), kpss_pvalue("c")
    adf_trend = kpss_trend = None
    if adf_p < alpha and kpss_p >= alpha:
        verdict = "stationary"
    else:
        adf_trend, kpss_trend = adf_pvalue("ct"), kpss_pvalue("ct")
        if adf_trend < alpha and kpss_trend >= alpha:
            verdict = "trend-stationary"
        elif adf_trend >= alpha and kpss_trend < alpha:
            verdict = "difference-stationary"
        else:
            verdict = "inconclusive"
    return StationarityCheck(
        order,
        adf_p,
        kpss_p,
        verdict == "stationary",
        verdict,
        kpss_trend,
        adf_trend,
        seasonal_differencing,
    )


def choose_differencing(
    values: np.ndarray, alpha: float, max_order: int, seasonal_differencing: int = 0
) -> tuple[int, list[StationarityCheck]]:
    """Smallest differencing order whose result ADF and KPSS both call stationary.

    Args:
        values: The (possibly seasonally differenced) training values.
        alpha: Significance level of both tests.
        max_order: Highest d tried.
        seasonal_differencing: Recorded on the checks: D already applied to ``values``.

    Returns:
        d and the checks behind it, one per order tried.
    """
    checks = []
    for order in range(max_order + 1):
        series = np.diff(values, n=order)
        if len(series) < 12:
            break
        check = check_stationarity(series, order, alpha, seasonal_differencing)
        checks.append(check)
        if check.stationary:
            return order, checks
    # Never stationary by both tests: take the most-differenced order that was tested.
    return (checks[-1].order if checks else 0), checks


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
        return acf_values[lag] >= acf_values[lag - 1] and acf_values[lag] >= right

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


def analyze_series(
    train_values: np.ndarray, frequency: str | None, config: AnalysisConfig
) -> SeriesAnalysis:
    """Decide differencing, season and lookback from the training part of a series.

    Order of decisions (as in Hyndman's auto.arima): d from ADF/KPSS on the raw values, the
    season from the ACF of that stationary series (cross-checked with the periodogram and the
    calendar), D from the STL seasonal strength; after a seasonal difference d is chosen again
    on the seasonally differenced values. Lookback and Ljung-Box use the final series.

    Args:
        train_values: The target over the training part, in time order.
        frequency: The inferred pandas frequency alias, or None.
        config: Significance level, bounds and the seasonal-strength threshold.

    Returns:
        The decisions with the test statistics behind them.
    """
    values = np.asarray(train_values, dtype=float)
    differencing, checks = choose_differencing(values, config.alpha, config.max_differencing)
    notes = [_verdict_note(checks, differencing)]
    stationary = np.diff(values, n=differencing)
    acf_values, pacf_values, bound = _correlations(stationary, config)
    period = periodogram_period(stationary)
    season, reason = detect_season(acf_values, bound, frequency, len(stationary), period)
    notes.append(reason)

    seasonal_differencing, strength = 0, None
    if season > 1 and len(values) >= 2 * season + 1:
        strength = seasonal_strength(values, season)
        wanted = strength > config.seasonal_strength_threshold
        # One seasonal difference costs a season of history per window: keep enough windows.
        affordable = len(values) >= 4 * season + config.min_lookback
        if wanted and affordable and config.max_seasonal_differencing > 0:
            seasonal_differencing = 1
            seasonal = values[season:] - values[:-season]
            differencing, seasonal_checks = choose_differencing(
                seasonal, config.alpha, config.max_differencing, seasonal_differencing=1
            )
            checks = checks + seasonal_checks
            notes.append(
                f"STL seasonal strength F_s={strength:.2f} > "
                f"{config.seasonal_strength_threshold}: one seasonal difference at lag {season}"
            )
            notes.append(_verdict_note(seasonal_checks, differencing))
            stationary = np.diff(seasonal, n=differencing)
            acf_values, pacf_values, bound = _correlations(stationary, config)
        elif wanted and config.max_seasonal_differencing > 0:
            notes.append(
                f"STL seasonal strength F_s={strength:.2f} calls for a seasonal difference, but "
                f"{len(values)} training rows are too few for one at lag {season}"
            )
        elif wanted:
            notes.append(
                f"STL seasonal strength F_s={strength:.2f} > "
                f"{config.seasonal_strength_threshold}, but seasonal differencing is off "
                "(analysis.max_seasonal_differencing=0): the window covers the season instead"
            )
        else:
            notes.append(
                f"STL seasonal strength F_s={strength:.2f} <= "
                f"{config.seasonal_strength_threshold}: no seasonal difference"
            )
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
        differencing=differencing,
        season=season,
        lookback=lookback,
        frequency=frequency,
        checks=checks,
        acf=[float(v) for v in acf_values],
        pacf=[float(v) for v in pacf_values],
        confidence_bound=bound,
        notes=notes,
        seasonal_differencing=seasonal_differencing,
        seasonal_strength=strength,
        periodogram_period=period,
        ljung_box_pvalue=lb_pvalue,
        white_noise=white_noise,
    )


def _correlations(
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


def _verdict_note(checks: list[StationarityCheck], differencing: int) -> str:
    if not checks:
        return "series too short for ADF/KPSS: not differenced"
    first = checks[0]
    seasonal = " after the seasonal difference" if first.seasonal_differencing else ""
    tested = ", ".join(
        f"d={c.order}: {c.verdict} (ADF p={c.adf_pvalue:.3f}, KPSS p={c.kpss_pvalue:.3f})"
        for c in checks
    )
    return f"differencing d={differencing}{seasonal}; {tested}"
