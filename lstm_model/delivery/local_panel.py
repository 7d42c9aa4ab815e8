"""A panel under the local strategy: one job per series out, one backtest back in.

:func:`series_jobs` cuts the panel into the per-series inputs of
:func:`~lstm_model.delivery.local_strategy.fit_series` (each series' values, its parts and its
backtest origins as positions in the series); :func:`local_lstm_paths` stacks the fits back in
the panel backtest's order, so the local models are scored, compared and blessed exactly as
the global model is, on the same origins as every baseline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lstm_model.delivery.local_strategy import SeriesFit
from lstm_model.evaluation.panel_backtest import LstmPaths, backtest_origins
from lstm_model.modeling.panel_preparation import PreparedPanel
from lstm_model.modeling.preparation import SplitBounds


@dataclass(frozen=True)
class SeriesJob:
    """One series' share of the panel, positions counted from its first row."""

    series_id: str
    values: np.ndarray
    bounds: SplitBounds
    origins: np.ndarray


def local_origins(prepared: PreparedPanel) -> np.ndarray:
    """The backtest origins of a local panel: those the global model would be scored on (every
    test row with a whole path and the panel's lookback before it), so both strategies and
    every baseline meet on the same rows."""
    analysis = prepared.analysis
    return backtest_origins(prepared.split, analysis.lookback, analysis.horizon)


def series_jobs(prepared: PreparedPanel, origins: np.ndarray) -> list[SeriesJob]:
    """Each series' values, parts and origins (one job per series: the unit that fans out).

    Args:
        prepared: The panel, its parts and decisions.
        origins: Backtest origins, rows of the panel's flat arrays (:func:`local_origins`).

    Returns:
        One job per series, in the panel's order.
    """
    panel, split = prepared.panel, prepared.split
    series_of_origin = np.searchsorted(split.starts, origins, side="right") - 1
    jobs = []
    for i, series_id in enumerate(panel.ids):
        start = int(split.starts[i])
        bounds = SplitBounds(
            (0, int(split.validation[i]) - start),
            (int(split.validation[i]) - start, int(split.test[i]) - start),
            (int(split.test[i]) - start, int(split.stops[i]) - start),
        )
        jobs.append(
            SeriesJob(
                str(series_id),
                panel.values[start : int(split.stops[i])],
                bounds,
                origins[series_of_origin == i] - start,
            )
        )
    return jobs


def local_lstm_paths(
    fits: Sequence[SeriesFit], prepared: PreparedPanel, origins: np.ndarray
) -> LstmPaths:
    """The series' fits stacked in the backtest's order (series as in the panel, then time).

    Raises:
        ValueError: a series of the panel has no fit, or its paths do not match its origins.
    """
    by_id = {fit.series_id: fit for fit in fits}
    missing = [str(sid) for sid in prepared.panel.ids if str(sid) not in by_id]
    if missing:
        raise ValueError(f"no fit for series {missing[:10]}")
    ordered = [by_id[str(sid)] for sid in prepared.panel.ids]
    paths = np.concatenate([fit.paths for fit in ordered])
    if len(paths) != len(origins):
        raise ValueError(f"{len(paths)} paths for {len(origins)} backtest origins")
    bounds = {
        level: (
            np.concatenate([fit.lower[level] for fit in ordered]),
            np.concatenate([fit.upper[level] for fit in ordered]),
        )
        for level in ordered[0].lower
    }
    return LstmPaths(origins, paths, bounds, prepared.analysis.lookback)
