"""Seasonality and residual-structure statistics used by the series analysis.

The periodogram's strongest period (cross-check of the ACF season), STL's seasonal strength
(Hyndman's F_s, which decides seasonal differencing) and Ljung-Box (is anything left to learn).
"""

from __future__ import annotations

import numpy as np


def same_period(period: float, lag: int) -> bool:
    """Periodogram periods sit on the grid n / k: allow 10 % either way."""
    return abs(period - lag) <= 0.1 * lag


def periodogram_period(values: np.ndarray) -> float | None:
    """The period (in steps) of the strongest periodogram frequency, or None for a flat one."""
    from scipy.signal import periodogram

    if len(values) < 8 or np.ptp(values) == 0:
        return None
    frequencies, power = periodogram(values, detrend="linear")
    frequencies, power = frequencies[1:], power[1:]  # drop the zero frequency
    if not len(power) or power.max() <= 0:
        return None
    return float(1.0 / frequencies[int(np.argmax(power))])


def seasonal_strength(values: np.ndarray, season: int) -> float:
    """Hyndman's F_s = max(0, 1 - Var(R) / Var(S + R)) from a robust STL decomposition.

    Near 1: the season dominates the remainder; Hyndman & Athanasopoulos take F_s > 0.64 as
    the point where one seasonal difference pays off (``nsdiffs`` in R's forecast package).
    """
    from statsmodels.tsa.seasonal import STL

    result = STL(np.asarray(values, dtype=float), period=season, robust=True).fit()
    total = np.var(result.seasonal + result.resid)
    if total == 0:
        return 0.0
    return float(max(0.0, 1.0 - np.var(result.resid) / total))


def ljung_box(values: np.ndarray, season: int) -> tuple[float, int]:
    """Ljung-Box p-value of the stationary series at Hyndman's lag: min(2m or 10, n/5).

    Returns:
        The p-value (high: indistinguishable from white noise) and the lag used.
    """
    from statsmodels.stats.diagnostic import acorr_ljungbox

    lags = max(1, min(2 * season if season > 1 else 10, len(values) // 5))
    if np.ptp(values) == 0:
        return 1.0, lags
    table = acorr_ljungbox(values, lags=[lags], return_df=True)
    return float(table["lb_pvalue"].iloc[-1]), lags
