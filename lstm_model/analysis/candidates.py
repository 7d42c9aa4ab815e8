"""Candidate preprocessings: the analysis' decision and the alternatives it is checked against.

Unit-root and seasonal-strength tests decide well on long series and poorly on the 100-300
points most business series have; a wrong call (a growing season pushed into a second regular
difference, a deterministic season differenced into noise) costs more accuracy than any
architecture choice. So the statistics propose, and validation data decides: the analysis'
choice competes with the same series with and without Box-Cox and with and without the
seasonal difference, each with the differencing order and lookback the tests pick for it.
"""

from __future__ import annotations

import itertools

import numpy as np

from lstm_model.analysis.decisions import (
    Preprocessing,
    SeriesAnalysis,
    choose_lookback,
    correlations,
    statistics_window,
)
from lstm_model.analysis.stationarity import choose_differencing
from lstm_model.analysis.variance import box_cox
from lstm_model.config import AnalysisConfig

# A Guerrero lambda this close to 1 barely changes the series: no Box-Cox candidate for it.
MIN_LAMBDA_EFFECT = 0.95


def candidate_preprocessings(
    train_values: np.ndarray, analysis: SeriesAnalysis, config: AnalysisConfig
) -> list[Preprocessing]:
    """The analysis' choice first, then its alternatives (distinct, at most four in all).

    Alternatives toggle Box-Cox (when Guerrero's lambda says it could matter) and the seasonal
    difference (when there is a season and enough rows for one); each gets the d KPSS picks
    and the lookback the PACF picks on its own stationary series.

    Args:
        train_values: The target over the training part (what the analysis saw).
        analysis: The statistical decisions.
        config: Thresholds and bounds.

    Returns:
        The candidates, the analysis' own choice first.
    """
    chosen = analysis.preprocessing
    if not config.compare_candidates:
        return [chosen]
    values = statistics_window(train_values, config)
    lambdas: list[float | None] = [analysis.box_cox_lambda]
    guerrero = analysis.guerrero_lambda
    if guerrero is not None and guerrero < MIN_LAMBDA_EFFECT and config.box_cox == "auto":
        lambdas.append(None if analysis.box_cox_lambda is not None else guerrero)
    season = analysis.season
    seasonal_orders = [analysis.seasonal_differencing]
    affordable = season > 1 and len(values) >= 4 * season + config.min_lookback
    if affordable and config.max_seasonal_differencing > 0:
        seasonal_orders.append(1 - analysis.seasonal_differencing)
    candidates = [chosen]
    for lam, seasonal in itertools.product(lambdas, seasonal_orders):
        if (lam, seasonal) == (chosen.box_cox_lambda, chosen.seasonal_differencing):
            continue
        candidate = _preprocessing_for(values, season, lam, seasonal, config)
        if candidate not in candidates:
            candidates.append(candidate)
    return candidates


def _preprocessing_for(
    values: np.ndarray,
    season: int,
    box_cox_lambda: float | None,
    seasonal_differencing: int,
    config: AnalysisConfig,
) -> Preprocessing:
    """d (KPSS-led) and the lookback (PACF) for a given scale and seasonal difference."""
    series = values if box_cox_lambda is None else box_cox(values, box_cox_lambda)
    if seasonal_differencing:
        series = series[season:] - series[:-season]
    differencing, _ = choose_differencing(
        series, config.alpha, config.max_differencing, seasonal_differencing
    )
    stationary = np.diff(series, n=differencing)
    acf_values, pacf_values, bound = correlations(stationary, config)
    lookback = choose_lookback(pacf_values, bound, season, config, len(values), acf_values)
    return Preprocessing(box_cox_lambda, seasonal_differencing, differencing, lookback)
