"""Statistics that decide how a series is modelled: differencing, season and lookback.

Everything here is fitted on the training part only: the caller passes train values.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

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
class StationarityCheck:
    """ADF and KPSS on the series differenced ``order`` times."""

    order: int
    adf_pvalue: float
    kpss_pvalue: float
    stationary: bool


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

    def to_dict(self) -> dict:
        return asdict(self)


def calendar_season(frequency: str | None) -> int | None:
    """The season implied by a pandas frequency alias ('MS' -> 12), or None."""
    if not frequency:
        return None
    prefix = frequency.split("-")[0].lstrip("0123456789")
    return _CALENDAR_SEASONS.get(prefix)


def check_stationarity(values: np.ndarray, order: int, alpha: float) -> StationarityCheck:
    """ADF (null: unit root) and KPSS (null: level-stationary) on ``values``.

    Stationary only when both agree: ADF rejects a unit root and KPSS does not reject
    stationarity. Any disagreement counts as non-stationary, because an LSTM whose scaler
    was fitted on the training range extrapolates a trend badly; differencing is the safe side.
    """
    from statsmodels.tools.sm_exceptions import InterpolationWarning
    from statsmodels.tsa.stattools import adfuller, kpss

    if np.ptp(values) == 0:
        return StationarityCheck(order, 0.0, 1.0, True)
    adf = adfuller(values, autolag="AIC", result_object=True)
    with warnings.catch_warnings():
        # KPSS p-values are tabulated on [0.01, 0.1]; outside, it warns and clips: fine for a test.
        warnings.simplefilter("ignore", InterpolationWarning)
        kpss_result = kpss(values, regression="c", nlags="auto", result_object=True)
    stationary = adf.pvalue < alpha and kpss_result.pvalue >= alpha
    return StationarityCheck(order, float(adf.pvalue), float(kpss_result.pvalue), stationary)


def choose_differencing(
    values: np.ndarray, alpha: float, max_order: int
) -> tuple[int, list[StationarityCheck]]:
    """Smallest differencing order whose result ADF and KPSS both call stationary."""
    checks = []
    for order in range(max_order + 1):
        series = np.diff(values, n=order)
        if len(series) < 12:
            break
        check = check_stationarity(series, order, alpha)
        checks.append(check)
        if check.stationary:
            return order, checks
    # Never stationary by both tests: take the most-differenced order that was tested.
    return (checks[-1].order if checks else 0), checks


def detect_season(
    acf_values: np.ndarray, bound: float, frequency: str | None, n_obs: int
) -> tuple[int, str]:
    """Seasonal period from ACF peaks, cross-checked with the calendar of the data.

    A calendar season (12 for monthly data) needs a significant local ACF peak at that lag.
    Without one (e.g. yearly data) the first local peak that clears Bartlett's bound — which
    widens with the autocorrelation already seen — counts as a cycle (e.g. ~11 for sunspots);
    the plain white-noise bound would take chance wiggles of an AR process for cycles.

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
        if value > bound and is_peak(expected):
            return expected, f"ACF peak at the calendar season {expected} (r={value:.2f})"
        return 1, f"no significant ACF peak at the calendar season {expected}"
    z = bound * np.sqrt(n_obs)
    bartlett = z * np.sqrt((1 + 2 * np.r_[0.0, np.cumsum(acf_values[1:] ** 2)]) / n_obs)
    for lag in range(2, min(max_lag, n_obs // 3)):
        value = acf_values[lag]
        if value > bartlett[lag - 1] and is_peak(lag):
            return lag, f"ACF peak at lag {lag} (r={value:.2f}) suggests a cycle"
    return 1, "no seasonal ACF peak"


def choose_lookback(
    pacf_values: np.ndarray, bound: float, season: int, config: AnalysisConfig, n_train: int
) -> int:
    """Lookback covering the PACF cut-off and at least one full season.

    The cut-off is the last significant PACF lag before ``_PACF_GAP`` insignificant lags in a
    row (Box-Jenkins AR order identification). Isolated significant lags far out are what a
    5 % test produces by chance, so they do not stretch the window.
    Bounded above so that the training part still yields enough windows.
    """
    cutoff, quiet = 0, 0
    for lag in range(1, len(pacf_values)):
        if abs(pacf_values[lag]) > bound:
            cutoff, quiet = lag, 0
        else:
            quiet += 1
            if quiet >= _PACF_GAP:
                break
    upper = max(config.min_lookback, min(config.max_lookback, n_train // 4))
    lookback = max(config.min_lookback, cutoff, season if season > 1 else 0)
    return int(min(lookback, upper))


def analyze_series(
    train_values: np.ndarray, frequency: str | None, config: AnalysisConfig
) -> SeriesAnalysis:
    """Decide differencing, season and lookback from the training part of a series.

    Args:
        train_values: The target over the training part, in time order.
        frequency: The inferred pandas frequency alias, or None.
        config: Significance level and lookback bounds.

    Returns:
        The decisions with the test statistics behind them.
    """
    from statsmodels.tsa.stattools import acf, pacf

    values = np.asarray(train_values, dtype=float)
    differencing, checks = choose_differencing(values, config.alpha, config.max_differencing)
    stationary = np.diff(values, n=differencing)
    n_obs = len(stationary)
    nlags = max(2, min(config.max_lags, n_obs // 2 - 1))
    notes = []
    if np.ptp(stationary) == 0:
        acf_values = np.r_[1.0, np.zeros(nlags)]
        pacf_values = acf_values.copy()
        notes.append("the (differenced) training series is constant")
    else:
        acf_values = acf(stationary, nlags=nlags, fft=True)
        pacf_values = pacf(stationary, nlags=nlags, method="ywadjusted")
    # Two-sided normal bound for a white-noise autocorrelation at level alpha.
    from scipy.stats import norm

    bound = float(norm.ppf(1 - config.alpha / 2) / np.sqrt(n_obs))
    season, reason = detect_season(acf_values, bound, frequency, n_obs)
    notes.append(reason)
    lookback = choose_lookback(pacf_values, bound, season, config, len(values))
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
    )


def plot_correlograms(analysis: SeriesAnalysis, out_dir: Path) -> list[Path]:
    """Save ACF and PACF bar plots with their significance bounds; returns the file paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
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
        ax.set_title(f"{name.upper()} of the training part (differenced {analysis.differencing}x)")
        ax.set_xlabel("lag")
        ax.legend(loc="upper right", fontsize=8)
        fig.tight_layout()
        path = out_dir / f"{name}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths.append(path)
    return paths
