"""What a panel's series have in common: the season, the lookback and the horizon of one
global model.

One network reads every series, so the panel needs one season and one lookback. The calendar
proposes the season (12 for monthly data); each series votes with the autocorrelation of its
first differences at that lag over its training rows (Bartlett's white-noise bound), computed
for all series at once with ``np.bincount``. The season is kept when most series show it, and
the lookback is a multiple of it (of the horizon without one). Every decision comes with a
sentence saying why, and the per-series votes are kept for the run's report.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstm_model.analysis.decisions import calendar_season
from lstm_model.config import PipelineConfig
from lstm_model.data.cadence import default_horizon
from lstm_model.data.panel import Panel

# Share of series that must show the calendar season for the panel to use it.
SEASON_MAJORITY = 0.5


@dataclass(frozen=True)
class PanelAnalysis:
    """The panel-wide decisions and the evidence behind them.

    Attributes:
        season: Seasonal period of the panel (1: none).
        lookback: Input steps of the global model.
        horizon: Steps forecast at once.
        seasonal_acf: (S,) each series' autocorrelation of first differences at the calendar
            season's lag over its training rows (NaN without a calendar season).
        seasonal: (S,) whether that autocorrelation clears Bartlett's bound.
        reasons: One sentence per decision.
    """

    season: int
    lookback: int
    horizon: int
    seasonal_acf: np.ndarray
    seasonal: np.ndarray
    reasons: tuple[str, ...]


def analyse_panel(
    panel: Panel, training_ends: np.ndarray, room: int, config: PipelineConfig
) -> PanelAnalysis:
    """Decide the panel's season, lookback and horizon from its series' training rows.

    Args:
        panel: The series.
        training_ends: (S,) first row after each series' training part (nothing later is read).
        room: Rows of the smaller of the common validation and test parts: a default horizon
            is shortened to fit them (a horizon the user set is kept, and refused later).
        config: ``forecast.horizon``, ``panel.lookback_seasons`` and the lookback bounds.

    Returns:
        The decisions with their reasons.
    """
    default = default_horizon(panel.frequency)
    if config.forecast.horizon:
        horizon, horizon_reason = config.forecast.horizon, "set by forecast.horizon"
    elif default <= room:
        horizon, horizon_reason = default, f"the default for {panel.frequency}"
    else:
        horizon = max(1, room)
        horizon_reason = (
            f"the default {default} for {panel.frequency} shortened to the {room} rows of the "
            "smaller of the validation and test parts"
        )
    horizon_reason = f"horizon {horizon}: {horizon_reason}"
    calendar = calendar_season(panel.frequency) or 1
    count = len(panel.ids)
    acf = np.full(count, np.nan)
    seasonal = np.zeros(count, dtype=bool)
    if calendar > 1:
        acf, bound = seasonal_autocorrelation(panel, training_ends, calendar)
        seasonal = acf > bound
        share = float(seasonal.mean())
        season = calendar if share >= SEASON_MAJORITY else 1
        season_reason = (
            f"season {season}: {share:.0%} of series show the calendar season {calendar} "
            f"(autocorrelation of first differences at lag {calendar} above Bartlett's bound; "
            f"needed {SEASON_MAJORITY:.0%})"
        )
    else:
        season, season_reason = 1, f"season 1: no calendar season for {panel.frequency}"
    analysis = config.analysis
    basis = season if season > 1 else horizon
    wanted = int(round(config.panel.lookback_seasons * basis))
    lookback = int(np.clip(wanted, analysis.min_lookback, analysis.max_lookback))
    lookback_reason = (
        f"lookback {lookback}: {config.panel.lookback_seasons:g} x the "
        f"{'season' if season > 1 else 'horizon'} ({basis})"
        + (
            f", clipped to analysis.min_lookback..max_lookback ({analysis.min_lookback}.."
            f"{analysis.max_lookback})"
            if lookback != wanted
            else ""
        )
    )
    return PanelAnalysis(
        season,
        lookback,
        horizon,
        acf,
        seasonal,
        (horizon_reason, season_reason, lookback_reason),
    )


def seasonal_autocorrelation(
    panel: Panel, training_ends: np.ndarray, lag: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each series' lag-``lag`` autocorrelation of first differences over its training rows.

    Returns:
        (S,) autocorrelations (NaN for a series too short) and (S,) Bartlett bounds
        ``1.96 / sqrt(n)``.
    """
    values = panel.values
    series = panel.series_of_row
    rows = np.arange(len(values))
    count = len(panel.ids)
    # A difference at row t needs t - 1 in the same series; all rows before the training end.
    usable = (rows - 1 >= panel.starts[series]) & (rows < training_ends[series])
    differences = np.zeros(len(values))
    differences[usable] = values[usable] - values[rows[usable] - 1]
    n = np.bincount(series[usable], minlength=count)
    mean = np.bincount(series[usable], weights=differences[usable], minlength=count)
    mean = np.divide(mean, n, out=np.zeros(count), where=n > 0)
    centred = np.where(usable, differences - mean[series], 0.0)
    paired = (
        usable & (rows - lag >= panel.starts[series]) & np.r_[np.zeros(lag, bool), usable[:-lag]]
    )
    lagged = np.zeros(len(values))
    lagged[paired] = centred[paired] * centred[rows[paired] - lag]
    numerator = np.bincount(series, weights=lagged, minlength=count)
    denominator = np.bincount(series, weights=centred**2, minlength=count)
    enough = (n > lag + 2) & (denominator > 0)
    acf = np.divide(numerator, denominator, out=np.full(count, np.nan), where=enough)
    bound = 1.96 / np.sqrt(np.maximum(n, 1))
    return acf, bound
