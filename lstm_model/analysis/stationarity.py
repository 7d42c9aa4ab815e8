"""Stationarity: ADF/KPSS checks and the differencing decisions they drive.

Seasonal differencing D is decided first from the STL seasonal strength (as ``nsdiffs``), then
the regular order d by KPSS on the seasonally differenced values (as ``ndiffs``), with ADF and
the trend variants logged beside it and guarding a second difference.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from lstm_model.config import AnalysisConfig


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


def check_stationarity(
    values: np.ndarray, order: int, alpha: float, seasonal_differencing: int = 0
) -> StationarityCheck:
    """ADF (null: unit root) and KPSS (null: level-stationary) on ``values``, with a verdict.

    Both agree on stationary -> ``stationary``. Otherwise (both reject it, or they conflict)
    the trend variants (``regression='ct'``) tell a deterministic from a stochastic trend:
    ADF-ct rejecting the unit root while KPSS-ct accepts trend-stationarity means
    ``trend-stationary``; ADF-ct keeping the unit root while KPSS-ct rejects means
    ``difference-stationary``; anything else is ``inconclusive``.

    The verdict is evidence for the log; :func:`choose_differencing` decides d from KPSS (with
    ADF guarding d = 2). A trend-stationary series is differenced too (KPSS rejects a level): the
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


# KPSS p-values are tabulated down to 0.01: a second difference needs the test at that floor.
OVERWHELMING = 0.01


def choose_differencing(
    values: np.ndarray, alpha: float, max_order: int, seasonal_differencing: int = 0
) -> tuple[int, list[StationarityCheck]]:
    """KPSS-led differencing order, as auto.arima's ``ndiffs``: the smallest d at which KPSS
    keeps level-stationarity at ``alpha``.

    ADF is run and logged beside it (with the trend variants' verdict), and guards the second
    difference: d = 2 only on overwhelming evidence, when KPSS still rejects at its 1 % floor
    after one difference *and* ADF cannot reject a unit root there. Over-differencing costs a
    window model little, but a second difference turns a growing season or a trend change
    into noise the forecast then integrates twice.

    Args:
        values: The (possibly Box-Cox transformed and seasonally differenced) training values.
        alpha: Significance level of both tests.
        max_order: Highest d tried.
        seasonal_differencing: Recorded on the checks: D already applied to ``values``.

    Returns:
        d and the checks behind it, one per order tried.
    """
    checks: list[StationarityCheck] = []
    for order in range(max_order + 1):
        series = np.diff(values, n=order)
        if len(series) < 12:
            break
        check = check_stationarity(series, order, alpha, seasonal_differencing)
        checks.append(check)
        if check.kpss_pvalue >= alpha:
            return order, checks
        overwhelming = check.kpss_pvalue <= OVERWHELMING and check.adf_pvalue >= alpha
        if order >= 1 and not overwhelming:
            return order, checks
    return (checks[-1].order if checks else 0), checks


@dataclass(frozen=True)
class DifferencingDecision:
    """D then d for one (possibly Box-Cox transformed) series, with the evidence."""

    seasonal_differencing: int
    differencing: int
    checks: list[StationarityCheck]
    notes: list[str]
    stationary: np.ndarray


def decide_differencing(
    stabilised: np.ndarray,
    season: int,
    strength: float | None,
    config: AnalysisConfig,
    max_seasonal_differencing: int,
) -> DifferencingDecision:
    """Seasonal difference first (STL strength above the threshold), then KPSS-led d on the
    seasonally differenced values.

    Args:
        stabilised: Training values on the modelling scale (Box-Cox applied when chosen).
        season: Seasonal period (1: none).
        strength: STL seasonal strength at ``season`` (None: not measured).
        config: Thresholds and bounds.
        max_seasonal_differencing: 0 forbids the seasonal difference (an alternative to
            compare), 1 lets the strength decide.

    Returns:
        D, d, the checks of d's choice, notes in words and the stationary series.
    """
    notes: list[str] = []
    seasonal_differencing = 0
    if strength is not None:
        wanted = strength > config.seasonal_strength_threshold
        # One seasonal difference costs a season of history per window: keep enough windows.
        affordable = len(stabilised) >= 4 * season + config.min_lookback
        said = f"STL seasonal strength F_s={strength:.2f}"
        if wanted and affordable and max_seasonal_differencing > 0:
            seasonal_differencing = 1
            notes.append(
                f"{said} > {config.seasonal_strength_threshold}: one seasonal difference at "
                f"lag {season}"
            )
        elif wanted and max_seasonal_differencing > 0:
            notes.append(
                f"{said} calls for a seasonal difference, but {len(stabilised)} training rows "
                f"are too few for one at lag {season}"
            )
        elif wanted:
            notes.append(f"{said}: no seasonal difference here, the window covers the season")
        else:
            notes.append(f"{said} <= {config.seasonal_strength_threshold}: no seasonal difference")
    series = stabilised[season:] - stabilised[:-season] if seasonal_differencing else stabilised
    differencing, checks = choose_differencing(
        series, config.alpha, config.max_differencing, seasonal_differencing
    )
    notes.append(_verdict_note(checks, differencing))
    return DifferencingDecision(
        seasonal_differencing, differencing, checks, notes, np.diff(series, n=differencing)
    )


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
