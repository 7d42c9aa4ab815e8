"""Seasonality statistics: periodogram, STL seasonal strength, Ljung-Box."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_model.analysis.seasonality import (
    ljung_box,
    periodogram_period,
    same_period,
    seasonal_strength,
)


def test_seasonal_strength_and_periodogram():
    rng = np.random.default_rng(6)
    t = np.arange(240)
    season = 10 * np.sin(2 * np.pi * t / 12)
    assert seasonal_strength(season + rng.normal(0, 1, 240), 12) > 0.9
    assert seasonal_strength(rng.normal(0, 1, 240), 12) < 0.5
    assert periodogram_period(season + rng.normal(0, 1, 240)) == pytest.approx(12, abs=0.5)


def test_periodogram_periods_within_ten_percent_are_the_same():
    assert same_period(12.5, 12) and same_period(10.9, 12)
    assert not same_period(13.5, 12)


def test_periodogram_has_no_period_for_flat_or_tiny_series():
    assert periodogram_period(np.full(100, 3.0)) is None
    assert periodogram_period(np.arange(7.0)) is None


def test_ljung_box_separates_white_noise_from_structure_at_hyndmans_lag():
    rng = np.random.default_rng(3)
    noise = rng.normal(size=200)
    ar = np.zeros(200)
    for t in range(1, 200):
        ar[t] = 0.8 * ar[t - 1] + noise[t]
    p_noise, lags = ljung_box(noise, 12)
    assert p_noise > 0.05 and lags == 24  # 2m for a seasonal series
    p_ar, lags = ljung_box(ar, 1)
    assert p_ar < 0.001 and lags == 10  # 10 without a season
    assert ljung_box(noise[:30], 12)[1] == 6  # at most n / 5
    assert ljung_box(np.ones(50), 1) == (1.0, 10)  # a constant has nothing to learn
