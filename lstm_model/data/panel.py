"""Many series in one run: a long-format frame (series id, time, value) as flat arrays.

A panel is stored the way the global model reads it: every series' values one after the other
in time order, with the offset of each series, so that windows from all series are cut with
index arithmetic on one array (no Python loop over series) and each window's normalisation
sees only its own series' past.

Checks name the series id and the timestamp: a missing id, a missing or non-numeric value,
duplicate timestamps or gaps within a series, series on different frequencies, and series too
short for the model. Under ``bad_series="skip"`` a failing series is left out and reported;
under ``"fail"`` (the default) the first problems stop the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from lstm_model.data.cadence import Cadence, infer_cadence
from lstm_model.errors import PipelineInputError

BadSeriesPolicy = Literal["fail", "skip"]
# Problems listed in one error message before "... and N more".
MAX_LISTED = 10


@dataclass(frozen=True)
class Panel:
    """Series of one frequency, concatenated.

    Attributes:
        ids: (S,) series ids as strings, sorted.
        values: (N,) float64 targets, series after series, each in time order.
        starts: (S + 1,) offsets: series i is ``values[starts[i]:starts[i + 1]]``.
        timestamps: (N,) datetime64 timestamps aligned with ``values``.
        frequency: The shared pandas frequency alias ('MS', 'QS-JAN', 'D'...).
        excluded: series id -> why it was left out (``bad_series="skip"``).
    """

    ids: np.ndarray
    values: np.ndarray
    starts: np.ndarray
    timestamps: np.ndarray
    frequency: str
    excluded: dict[str, str]

    @property
    def lengths(self) -> np.ndarray:
        """(S,) rows of each series."""
        lengths: np.ndarray = np.diff(self.starts)
        return lengths

    @property
    def series_of_row(self) -> np.ndarray:
        """(N,) index of the series each row belongs to."""
        rows: np.ndarray = np.repeat(np.arange(len(self.ids)), self.lengths)
        return rows

    def series(self, series_id: str) -> np.ndarray:
        """The values of one series, in time order."""
        i = int(np.searchsorted(self.ids, series_id))
        if i >= len(self.ids) or self.ids[i] != series_id:
            raise KeyError(series_id)
        series: np.ndarray = self.values[self.starts[i] : self.starts[i + 1]]
        return series

    def future_timestamps(self, steps: int) -> np.ndarray:
        """(S * steps,) the ``steps`` timestamps after each series' last one, series after
        series, on the panel's frequency."""
        offset = pd.tseries.frequencies.to_offset(self.frequency)
        last = pd.DatetimeIndex(self.timestamps[self.starts[1:] - 1])
        # One vectorised shift per step (h is small; the series are not looped over).
        ahead = np.stack([(last + k * offset).to_numpy() for k in range(1, steps + 1)], axis=1)
        stamps: np.ndarray = ahead.reshape(-1)
        return stamps

    def without(self, problems: dict[str, str]) -> Panel:
        """The panel minus the series in ``problems`` (id -> why), which join ``excluded``."""
        keep = ~np.isin(self.ids, list(problems))
        rows = np.repeat(keep, self.lengths)
        lengths = self.lengths[keep]
        return Panel(
            self.ids[keep],
            self.values[rows],
            np.r_[0, np.cumsum(lengths)],
            self.timestamps[rows],
            self.frequency,
            {**self.excluded, **problems},
        )


def apply_policy(panel: Panel, problems: dict[str, str], bad_series: BadSeriesPolicy) -> Panel:
    """Stop on ``problems`` (series id -> why) under ``fail``; leave them out under ``skip``.

    Raises:
        PipelineInputError: under ``fail`` when there is a problem, or when no series is left.
    """
    if not problems:
        return panel
    if bad_series == "fail" or len(problems) == len(panel.ids):
        raise _failed_series(problems, bad_series)
    return panel.without(problems)


def _failed_series(problems: dict[str, str], bad_series: BadSeriesPolicy) -> PipelineInputError:
    """One message listing the first problems by series id, and what to do."""
    listed = [f"series {sid!r}: {why}" for sid, why in list(problems.items())[:MAX_LISTED]]
    more = len(problems) - len(listed)
    advice = (
        "Fix them, or set data.bad_series = skip to leave them out (they are reported)."
        if bad_series == "fail"
        else "Every series failed, so nothing is left to train on: fix them."
    )
    return PipelineInputError(
        f"{len(problems)} series failed the panel checks:\n  "
        + "\n  ".join(listed)
        + (f"\n  ... and {more} more" if more > 0 else "")
        + "\n"
        + advice
    )


def panel_from_frame(
    frame: pd.DataFrame,
    series_column: str,
    time_column: str = "timestamp",
    target: str = "value",
    min_rows: int = 1,
    bad_series: BadSeriesPolicy = "fail",
) -> Panel:
    """Check a long-format frame and turn it into a :class:`Panel`.

    Args:
        frame: One row per (series, timestamp), any order; timestamps already parsed.
        series_column: The series id column.
        time_column: The timestamp column.
        target: The value column.
        min_rows: Fewest rows a series needs.
        bad_series: ``fail`` stops at the problems; ``skip`` leaves the failing series out.

    Returns:
        The panel, series sorted by id, rows by time.

    Raises:
        PipelineInputError: a column is missing, ids are missing, no series is left, or any
            series fails under ``bad_series="fail"``; each problem names the series id.
    """
    missing = [c for c in (series_column, time_column, target) if c not in frame.columns]
    if missing:
        raise PipelineInputError(
            f"the panel needs columns {missing}; it has {list(frame.columns)}. Name the series "
            "id column with --series-column (data.series_column)."
        )
    if frame[series_column].isna().any():
        line = int(np.flatnonzero(frame[series_column].isna().to_numpy())[0]) + 2
        raise PipelineInputError(
            f"line {line}: the series id column {series_column!r} is empty; every row needs "
            "the id of its series"
        )
    ordered = frame.assign(_id=frame[series_column].astype(str)).sort_values(
        ["_id", time_column], kind="stable"
    )
    ids = ordered["_id"].to_numpy()
    values = pd.to_numeric(ordered[target], errors="coerce").to_numpy(dtype=float)
    stamps = pd.DatetimeIndex(ordered[time_column])
    problems = _problems(ids, values, stamps, ordered[target], min_rows)
    cadence = _shared_cadence(ids, stamps, problems)
    problems.update(_off_grid(ids, stamps, cadence, problems))
    if problems and bad_series == "fail":
        raise _failed_series(problems, bad_series)
    keep = ~np.isin(ids, list(problems))
    if not keep.any():
        raise PipelineInputError("every series failed the panel checks; nothing left to train on")
    ids, values, stamps = ids[keep], values[keep], stamps[keep]
    unique, first = np.unique(ids, return_index=True)
    return Panel(unique, values, np.r_[first, len(ids)], stamps.to_numpy(), cadence.alias, problems)


def _problems(
    ids: np.ndarray, values: np.ndarray, stamps: pd.DatetimeIndex, raw: pd.Series, min_rows: int
) -> dict[str, str]:
    """series id -> the first problem found in it (vectorised over all rows)."""
    problems: dict[str, str] = {}

    def flag(mask: np.ndarray, why: str) -> None:
        for position in np.flatnonzero(mask):
            sid = str(ids[position])
            if sid not in problems:
                problems[sid] = why.format(time=stamps[position], value=raw.iloc[position])

    flag(np.isnat(stamps.to_numpy()), "a timestamp is missing or unparseable")
    flag(~np.isfinite(values), "value {value!r} at {time} is not a number")
    same_series = ids[1:] == ids[:-1]
    repeated = np.r_[False, same_series & (stamps[1:] == stamps[:-1])]
    flag(repeated, "timestamp {time} appears twice; keep one row per timestamp")
    unique, counts = np.unique(ids, return_counts=True)
    for sid, count in zip(unique[counts < min_rows], counts[counts < min_rows], strict=True):
        problems.setdefault(str(sid), f"{count} rows; the model needs at least {min_rows}")
    return problems


def _shared_cadence(ids: np.ndarray, stamps: pd.DatetimeIndex, problems: dict[str, str]) -> Cadence:
    """The cadence of the longest series without problems, which every series must share.

    Raises:
        PipelineInputError: that series has no regular frequency.
    """
    healthy = ~np.isin(ids, list(problems))
    unique, first, lengths = np.unique(ids[healthy], return_index=True, return_counts=True)
    if len(unique) == 0:
        raise PipelineInputError("every series failed the panel checks; nothing left to train on")
    longest = int(np.argmax(lengths))
    rows = stamps[healthy][first[longest] : first[longest] + lengths[longest]]
    cadence = infer_cadence(pd.Series(rows))
    if cadence is None:
        raise PipelineInputError(
            f"series {unique[longest]!r} has no regular frequency; the panel's series must "
            "share one (daily, weekly, monthly...)"
        )
    return cadence


def _off_grid(
    ids: np.ndarray, stamps: pd.DatetimeIndex, cadence: Cadence, problems: dict[str, str]
) -> dict[str, str]:
    """series id -> its first gap or step off the shared cadence (vectorised over all rows)."""
    # Grid positions of every row from one origin: within a series, each step is 1.
    steps = np.diff(cadence.positions(pd.Series(stamps)))
    wrong = np.flatnonzero((ids[1:] == ids[:-1]) & (steps != 1)) + 1
    found: dict[str, str] = {}
    for row in wrong:
        sid = str(ids[row])
        if sid not in problems and sid not in found:
            found[sid] = (
                f"after {stamps[row - 1]} comes {stamps[row]}, not the next {cadence.alias} "
                "step; the panel's series must share one frequency without gaps"
            )
    return found
