"""The panel's shared decisions: a season most series show, a lookback from it, a horizon
that fits, all from training rows only."""

from __future__ import annotations

import numpy as np
import pandas as pd
from conftest import make_panel
from hypothesis import given, settings
from hypothesis import strategies as st

from lstm_model.analysis.panel import analyse_panel
from lstm_model.config import PipelineConfig
from lstm_model.data.panel import panel_from_frame
from lstm_model.modeling.panel_windows import split_panel

CONFIG = PipelineConfig()


def _noise_panel(count: int = 6, points: int = 96, seed: int = 0):
    rng = np.random.default_rng(seed)
    frame = make_panel(count, points)
    frame["value"] = 100 + np.cumsum(rng.normal(0, 1, len(frame)))
    return panel_from_frame(frame, "series_id")


def test_a_season_most_series_show_is_kept_and_sets_the_lookback():
    panel = panel_from_frame(make_panel(6, 96), "series_id")
    split = split_panel(panel, 0.15, 0.15)
    analysis = analyse_panel(panel, split.validation, 15, CONFIG)
    assert analysis.season == 12 and analysis.seasonal.all()
    assert analysis.lookback == 36  # 3 seasons
    assert analysis.horizon == 12 and "the default for MS" in analysis.reasons[0]


def test_without_a_season_the_lookback_follows_the_horizon():
    panel = _noise_panel()
    split = split_panel(panel, 0.15, 0.15)
    analysis = analyse_panel(panel, split.validation, 15, CONFIG)
    assert analysis.season == 1 and "needed 50%" in analysis.reasons[1]
    assert analysis.lookback == 36  # 3 x the horizon 12, within the bounds


def test_a_default_horizon_is_shortened_to_fit_and_a_set_one_is_kept():
    panel = panel_from_frame(make_panel(3, 60), "series_id")
    split = split_panel(panel, 0.15, 0.15)
    short = analyse_panel(panel, split.validation, 9, CONFIG)
    assert short.horizon == 9 and "shortened to the 9 rows" in short.reasons[0]
    kept = analyse_panel(panel, split.validation, 9, CONFIG.with_overrides(forecast__horizon=11))
    assert kept.horizon == 11 and "set by forecast.horizon" in kept.reasons[0]


@settings(max_examples=20, deadline=None)
@given(shift=st.floats(-1e3, 1e3), scale=st.floats(0.1, 10), seed=st.integers(0, 50))
def test_nothing_after_a_series_training_part_moves_the_decisions(shift, scale, seed):
    panel = panel_from_frame(make_panel(5, 80, seed=seed), "series_id")
    split = split_panel(panel, 0.15, 0.15)
    before = analyse_panel(panel, split.validation, 12, CONFIG)
    rows = np.arange(len(panel.values))
    later = rows >= split.validation[panel.series_of_row]
    changed = panel.values.copy()
    changed[later] = changed[later] * scale + shift
    after = analyse_panel(
        type(panel)(panel.ids, changed, panel.starts, panel.timestamps, panel.frequency, {}),
        split.validation,
        12,
        CONFIG,
    )
    np.testing.assert_array_equal(after.seasonal_acf, before.seasonal_acf)
    assert (after.season, after.lookback, after.horizon) == (
        before.season,
        before.lookback,
        before.horizon,
    )


def test_the_season_vote_reads_each_series_alone():
    seasonal = make_panel(3, 96)
    noise = np.random.default_rng(1).normal(0, 1, len(seasonal))
    month = seasonal["timestamp"].dt.month.to_numpy()
    seasonal["value"] = 50 + 10 * np.sin(2 * np.pi * month / 12) + noise
    flat = seasonal.assign(series_id=seasonal["series_id"] + "-noise", value=50 + noise)
    panel = panel_from_frame(pd.concat([seasonal, flat]), "series_id")
    split = split_panel(panel, 0.15, 0.15)
    analysis = analyse_panel(panel, split.validation, 15, CONFIG)
    votes = dict(zip(panel.ids, analysis.seasonal, strict=True))
    assert votes == {"s0": True, "s1": True, "s2": True, "s0-noise": False, "s1-noise": False,
                     "s2-noise": False}  # fmt: skip
