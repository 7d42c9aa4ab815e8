"""The analysis decisions: ADF/KPSS pick differencing, ACF/PACF pick season and lookback."""

from __future__ import annotations

import numpy as np
from conftest import make_series

from lstm_model.analysis.decisions import (
    analyze_series,
    calendar_season,
)
from lstm_model.analysis.stationarity import check_stationarity, choose_differencing
from lstm_model.config import AnalysisConfig

RNG = np.random.default_rng(0)


def test_white_noise_needs_no_differencing():
    order, checks = choose_differencing(RNG.normal(size=300), alpha=0.05, max_order=2)
    assert order == 0
    assert checks[0].adf_pvalue < 0.05 and checks[0].kpss_pvalue >= 0.05


def test_random_walk_is_differenced_once():
    walk = np.cumsum(np.random.default_rng(1).normal(size=300))
    order, checks = choose_differencing(walk, alpha=0.05, max_order=2)
    assert order == 1
    assert not checks[0].stationary and checks[1].stationary


def test_integrated_twice_is_differenced_twice():
    series = np.cumsum(np.cumsum(np.random.default_rng(2).normal(size=400)))
    assert choose_differencing(series, alpha=0.05, max_order=2)[0] == 2


SEASONAL_DIFFERENCING = AnalysisConfig(max_seasonal_differencing=1)


def test_monthly_seasonal_series_is_seasonally_differenced_with_a_window_covering_a_season():
    values = make_series(240)["value"].to_numpy()
    analysis = analyze_series(values, "MS", SEASONAL_DIFFERENCING)
    assert analysis.season == 12
    assert abs(analysis.periodogram_period - 12) < 1
    # Trend + strong deterministic season: one seasonal difference removes both.
    assert analysis.seasonal_strength > 0.64
    assert analysis.seasonal_differencing == 1 and analysis.differencing == 0
    assert [c.seasonal_differencing for c in analysis.checks] == [0, 0, 1]
    assert analysis.lookback >= 12


def test_without_seasonal_differencing_a_strong_season_is_covered_by_the_window():
    values = make_series(240)["value"].to_numpy()
    analysis = analyze_series(values, "MS", AnalysisConfig(max_seasonal_differencing=0))
    assert analysis.season == 12 and analysis.seasonal_strength > 0.64
    assert analysis.seasonal_differencing == 0 and analysis.differencing == 1
    assert analysis.lookback >= 12
    assert any("the window covers the season" in note for note in analysis.notes)


def test_weak_season_is_kept_but_not_differenced():
    rng = np.random.default_rng(5)
    t = np.arange(360)
    values = np.sin(2 * np.pi * t / 12) + rng.normal(0, 1.0, 360)
    analysis = analyze_series(values, "MS", SEASONAL_DIFFERENCING)
    assert analysis.season == 12
    assert analysis.seasonal_strength < 0.64
    assert analysis.seasonal_differencing == 0
    assert analysis.lookback >= 12
    config = AnalysisConfig(seasonal_strength_threshold=0.1, max_seasonal_differencing=1)
    assert analyze_series(values, "MS", config).seasonal_differencing == 1


def test_trend_stationary_series_is_recognised_and_still_differenced():
    rng = np.random.default_rng(4)
    values = 0.05 * np.arange(300) + rng.normal(size=300)
    check = check_stationarity(values, 0, 0.05)
    assert check.verdict == "trend-stationary" and not check.stationary
    assert check.adf_trend_pvalue < 0.05 and check.kpss_trend_pvalue >= 0.05
    analysis = analyze_series(values, None, AnalysisConfig())
    assert analysis.differencing == 1
    assert any("trend-stationary" in note for note in analysis.notes)


def test_random_walk_is_difference_stationary():
    walk = np.cumsum(np.random.default_rng(1).normal(size=300))
    assert check_stationarity(walk, 0, 0.05).verdict == "difference-stationary"


def test_white_noise_is_flagged_and_structure_is_not():
    noise = analyze_series(RNG.normal(size=300), None, AnalysisConfig())
    assert noise.white_noise and noise.ljung_box_pvalue >= 0.05
    assert any("white noise" in w for w in noise.warnings)
    rng = np.random.default_rng(8)
    ar = np.zeros(300)
    for t in range(1, 300):
        ar[t] = 0.7 * ar[t - 1] + rng.normal()
    structured = analyze_series(ar, None, AnalysisConfig())
    assert not structured.white_noise and structured.ljung_box_pvalue < 1e-6
    assert structured.warnings == []


def test_ar2_lookback_follows_the_pacf_cutoff():
    rng = np.random.default_rng(3)
    x = np.zeros(600)
    for t in range(2, 600):
        x[t] = 0.6 * x[t - 1] - 0.3 * x[t - 2] + rng.normal()
    analysis = analyze_series(x, None, AnalysisConfig(min_lookback=1))
    assert analysis.differencing == 0
    assert analysis.season == 1
    assert 2 <= analysis.lookback <= 4


def test_lookback_is_bounded_by_config_and_by_data():
    values = make_series(240)["value"].to_numpy()
    analysis = analyze_series(values, "MS", AnalysisConfig(min_lookback=2, max_lookback=6))
    assert analysis.lookback == 6
    short = analyze_series(values[:40], "MS", AnalysisConfig())
    assert short.lookback <= 40 // 4


def test_calendar_seasons():
    assert calendar_season("MS") == 12
    assert calendar_season("QS-OCT") == 4
    assert calendar_season("YS-JAN") is None
    assert calendar_season(None) is None


def _growing_season(n=160, seed=9):
    """Like UK quarterly gas: a trend and a season whose amplitude grows with the level."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return np.exp(2 + 0.015 * t + 0.35 * np.sin(2 * np.pi * t / 4) + rng.normal(0, 0.04, n))


def test_growing_season_gets_box_cox_and_a_seasonal_difference_not_a_second_difference():
    analysis = analyze_series(_growing_season(), "QS", AnalysisConfig())
    assert analysis.guerrero_lambda is not None and analysis.box_cox_lambda is not None
    assert analysis.box_cox_lambda < 0.3
    assert analysis.season == 4 and analysis.seasonal_differencing == 1
    assert analysis.differencing <= 1
    assert any("Guerrero lambda" in note and "Box-Cox" in note for note in analysis.notes)
    # The seasonal decision comes first; d is then tested on the seasonally differenced series.
    assert analysis.checks[-1].seasonal_differencing == 1


def test_box_cox_off_keeps_the_original_scale():
    analysis = analyze_series(_growing_season(), "QS", AnalysisConfig(box_cox="off"))
    assert analysis.box_cox_lambda is None and analysis.guerrero_lambda is None
    assert "Box-Cox off" in analysis.notes[0]


def test_a_long_training_part_is_tested_on_its_most_recent_points_only():
    # White noise for 50,000 steps, then a random walk: only the recent window decides.
    rng = np.random.default_rng(3)
    values = np.r_[rng.normal(size=50_000), 100 + np.cumsum(rng.normal(size=400))]
    config = AnalysisConfig(max_statistics_points=400, box_cox="off")
    analysis = analyze_series(values, "D", config)
    assert analysis.differencing == 1
    assert any("last 400 of 50,400 training points" in note for note in analysis.notes)
