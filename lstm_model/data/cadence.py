"""The cadence of a series: its frequency, and where each timestamp sits on the regular grid.

``pd.infer_freq`` names a frequency only when every step is exactly one period, so a single
missing month or duplicated day makes it give up. A ``Cadence`` is inferred from the typical
spacing instead and then checked: every timestamp must sit on the grid (same time of day,
same day in the month...). Steps between rows, counted in grid units, then show gaps (> 1)
and duplicates (0) precisely, and the grid can be rebuilt to fill gaps.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

# Typical spacing -> (pandas alias, period code for calendar units or None for fixed ones).
# Tolerances cover month and year lengths; anything else is not a cadence we recognise.
_CANDIDATES = (
    (pd.Timedelta(seconds=1), (0.99, 1.01), "s", None),
    (pd.Timedelta(minutes=1), (0.99, 1.01), "min", None),
    (pd.Timedelta(hours=1), (0.99, 1.01), "h", None),
    (pd.Timedelta(days=1), (0.99, 1.01), "D", None),
    (pd.Timedelta(days=7), (0.99, 1.01), "W", None),
    (pd.Timedelta(days=30.44), (0.90, 1.03), "M", "M"),
    (pd.Timedelta(days=91.31), (0.96, 1.02), "Q", "Q"),
    (pd.Timedelta(days=365.25), (0.99, 1.01), "Y", "Y"),
)


@dataclass(frozen=True)
class Cadence:
    """A regular frequency and how the series' timestamps are anchored on it.

    Attributes:
        alias: The pandas alias of the series ('MS', 'QS-OCT', 'YS-JAN', 'D', 'h', 'W-SUN').
        months: Months per step for calendar cadences (1, 3, 12), None for fixed ones.
        step: The fixed step for 'D', 'h', 'W'...; None for calendar cadences.
    """

    alias: str
    months: int | None = None
    step: pd.Timedelta | None = None

    def positions(self, timestamps: pd.Series) -> np.ndarray:
        """Grid position of each timestamp, counted from the first one (int64).

        Args:
            timestamps: Sorted, non-null datetime64 values on this cadence.

        Returns:
            ``positions[i]`` = number of steps from ``timestamps[0]``; gaps show as jumps > 1.
        """
        stamps = pd.DatetimeIndex(timestamps)
        if self.months is not None:
            ordinals = stamps.tz_localize(None).to_period("M").asi8
            # Aligned months divide exactly; a stray one is floored and shows as a 0 step.
            steps: np.ndarray = ((ordinals - ordinals[0]) // self.months).astype(np.int64)
            return steps
        fixed: np.ndarray = ((stamps - stamps[0]) // self.step).to_numpy().astype(np.int64)
        return fixed

    def grid(self, start: pd.Timestamp, count: int) -> pd.DatetimeIndex:
        """``count`` regular timestamps from ``start`` (which must lie on the cadence)."""
        return pd.date_range(start, periods=count, freq=self.alias)


def infer_cadence(timestamps: pd.Series) -> Cadence | None:
    """The cadence of timestamps that may have gaps or duplicates, or None when irregular.

    Args:
        timestamps: datetime64 values, sorted, missing values ignored.

    Returns:
        A Cadence when the typical spacing is a known frequency and every timestamp lies on
        its grid (same anchor: time of day, day of month...); None otherwise.
    """
    stamps = pd.DatetimeIndex(timestamps.dropna()).unique().sort_values()
    if len(stamps) < 3:
        return None
    spacing = pd.Series(stamps[1:] - stamps[:-1]).median()
    for unit, (low, high), code, period in _CANDIDATES:
        if not low * unit <= spacing <= high * unit:
            continue
        if period is None:
            step = unit
            aligned = ((stamps - stamps[0]) % step == pd.Timedelta(0)).all()
            alias = code if code != "W" else f"W-{stamps[0].day_name()[:3].upper()}"
            return _named(Cadence(alias, None, step), stamps[0]) if aligned else None
        cadence = _calendar_cadence(stamps, period)
        return _named(cadence, stamps[0]) if cadence else None
    if pd.Timedelta(0) < spacing < pd.Timedelta(days=28) and spacing % pd.Timedelta(
        seconds=1
    ) == pd.Timedelta(0):
        # Any other whole-second step (15 min, 6 h, 2 days...) is a fixed cadence too.
        aligned = ((stamps - stamps[0]) % spacing == pd.Timedelta(0)).all()
        if not aligned:
            return None
        return _named(Cadence(to_offset(spacing).freqstr, None, spacing), stamps[0])
    return None


# Steps ahead a planner asks for by cadence: a year of months, two years of quarters, four years,
# a quarter of weeks, two weeks of days, a day of hours.
_HORIZONS = {"M": 12, "Q": 8, "Y": 4, "A": 4, "W": 13, "D": 14, "B": 10, "h": 24, "H": 24}
FALLBACK_HORIZON = 10


def default_horizon(frequency: str | None) -> int:
    """The forecast horizon for a pandas frequency alias ('MS' -> 12, 'QS-OCT' -> 8), else 10."""
    prefix = (frequency or "").split("-")[0].lstrip("0123456789")
    for key in (prefix, prefix[:1]):
        if key in _HORIZONS:
            return _HORIZONS[key]
    return FALLBACK_HORIZON


def infer_frequency(timestamps: pd.Series) -> str | None:
    """The pandas frequency alias of regular timestamps ('MS', 'QS-OCT', 'YS-JAN', 'D', 'h').

    Args:
        timestamps: datetime64 values, in any order; missing values are ignored.

    Returns:
        The alias, or None when the spacing is irregular or there are fewer than 3 timestamps.
    """
    index = pd.DatetimeIndex(timestamps.dropna()).sort_values()
    if len(index) < 3 or not index.is_unique:
        return None
    # pandas 3 warns that infer_freq will return an offset; ask for it and take its alias.
    with pd.option_context("future.infer_freq_returns_offset", True):
        try:
            offset = pd.infer_freq(index)
        except (TypeError, ValueError):
            return None
    return offset.freqstr if offset is not None else None


def _named(cadence: Cadence, start: pd.Timestamp) -> Cadence:
    """The cadence under the alias pandas itself gives its grid, so one frequency has one
    spelling everywhere ('QE-DEC', not 'QE-MAR'; '2D', not '48h')."""
    alias = infer_frequency(pd.Series(cadence.grid(start, 5)))
    return replace(cadence, alias=alias) if alias else cadence


def _calendar_cadence(stamps: pd.DatetimeIndex, period: str) -> Cadence | None:
    """Month/quarter/year cadence anchored at month starts or month ends, else None."""
    naive = stamps.tz_localize(None)
    months = naive.to_period("M")
    if (naive == months.to_timestamp(how="start")).all():
        anchor = "S"
    elif (naive == months.to_timestamp(how="end").normalize()).all():
        anchor = "E"
    else:
        return None  # e.g. the 15th of some months and the 1st of others
    every = {"M": 1, "Q": 3, "Y": 12}[period]
    if ((months.asi8 - months.asi8[0]) % every != 0).any():
        return None  # quarters that do not all start in the same months
    if period == "M":
        return Cadence(f"M{anchor}", every)
    # Quarters and years: name the month they start (end) in, as pandas does ('QS-OCT').
    return Cadence(f"{period}{anchor}-{stamps[0].strftime('%b').upper()}", every)
