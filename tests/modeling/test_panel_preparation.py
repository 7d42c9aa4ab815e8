"""Preparing a panel: series too short for the model's window are named, and stop the run or
are left out by policy; the parts are cut again on the series kept."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import make_panel

from lstm_model.config import PipelineConfig
from lstm_model.data.panel import panel_from_frame
from lstm_model.errors import PipelineInputError
from lstm_model.modeling.panel_preparation import prepare_panel


def _panel_with_a_short_series():
    frame = make_panel(4, 96)
    short = frame[frame["series_id"] == "s0"].iloc[-50:].assign(series_id="short")
    return panel_from_frame(pd.concat([frame, short]), "series_id")


def test_a_series_too_short_for_one_window_stops_the_run_by_default():
    with pytest.raises(PipelineInputError, match="series 'short': 50 rows leave 20 for training"):
        prepare_panel(_panel_with_a_short_series(), PipelineConfig())


def test_under_skip_it_is_left_out_and_the_parts_are_cut_again():
    config = PipelineConfig().with_overrides(data__bad_series="skip")
    prepared = prepare_panel(_panel_with_a_short_series(), config)
    assert list(prepared.panel.ids) == ["s0", "s1", "s2", "s3"]
    assert "lookback 36 + horizon 12" in prepared.panel.excluded["short"]
    # 15 % of the kept series' median length (96), the same for every series.
    assert list(prepared.split.stops - prepared.split.test) == [15] * 4


def test_a_horizon_longer_than_the_common_test_part_is_refused_with_the_fix():
    config = PipelineConfig().with_overrides(forecast__horizon=20)
    with pytest.raises(PipelineInputError, match="lower --horizon"):
        prepare_panel(panel_from_frame(make_panel(3, 96), "series_id"), config)
