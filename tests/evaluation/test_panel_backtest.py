"""The panel backtest: every series' paths from the same origins, baselines from one
statsforecast cross-validation, MASE per series and the panel summary."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstm_model.data.panel import panel_from_frame
from lstm_model.evaluation.panel_backtest import (
    backtest_origins,
    naive_paths,
    score_panel,
    statistical_paths,
)
from lstm_model.modeling.panel_windows import split_panel

LOOKBACK, HORIZON, SEASON = 12, 4, 12


def _panel(shift: float = 0.0, after: int | None = None):
    rng = np.random.default_rng(2)
    frames = []
    for i, n in enumerate((60, 72, 66)):
        t = np.arange(n)
        values = (i + 1) * (20 + 5 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 0.5, n))
        if after is not None:
            values[after:] += shift  # the end of every series changes
        stamps = pd.date_range("2000-01-01", periods=n, freq="MS")
        frames.append(pd.DataFrame({"id": f"s{i}", "timestamp": stamps, "value": values}))
    return panel_from_frame(pd.concat(frames, ignore_index=True), "id")


@pytest.fixture(scope="module")
def panel_and_paths():
    panel = _panel()
    split = split_panel(panel, 0.15, 0.15)
    origins = backtest_origins(split, LOOKBACK, HORIZON)
    stats = statistical_paths(panel, split, HORIZON, SEASON, ("ets", "theta"))
    return panel, split, origins, stats


def test_statistical_paths_are_aligned_with_the_origins_and_fitted_before_the_test_part(
    panel_and_paths,
):
    from statsforecast.models import AutoETS

    panel, split, origins, stats = panel_and_paths
    assert stats["ets"].shape == (len(origins), HORIZON)
    # The second series' third origin, by hand: fitted on the rows before its test part.
    i = 1
    mine = np.flatnonzero(panel.series_of_row[origins] == i)
    origin = origins[mine[2]]
    start = panel.starts[i]
    model = AutoETS(season_length=SEASON).fit(panel.values[start : split.test[i]])
    expected = model.forward(panel.values[start:origin], h=HORIZON)["mean"]
    np.testing.assert_allclose(stats["ets"][mine[2]], expected, rtol=1e-6)


def test_paths_never_see_values_at_or_after_their_origin(panel_and_paths):
    panel, split, origins, stats = panel_and_paths
    # Change every value from row 62 of each series on: paths from origins up to 62 stay.
    changed = _panel(shift=50.0, after=62)
    again = statistical_paths(changed, split, HORIZON, SEASON, ("ets",))["ets"]
    local = origins - panel.starts[panel.series_of_row[origins]]
    early = local <= 62
    assert early.any() and (~early).any()
    np.testing.assert_allclose(again[early], stats["ets"][early], rtol=1e-9)
    assert not np.allclose(again[~early], stats["ets"][~early])


def test_mase_per_series_and_the_panel_summary(panel_and_paths):
    panel, split, origins, stats = panel_and_paths
    naive = naive_paths(panel.values, origins, HORIZON, SEASON)
    truth = panel.values[origins[:, np.newaxis] + np.arange(HORIZON)]
    scored = score_panel(panel, split, origins, {"model": truth, **naive, **stats}, SEASON)
    assert np.all(scored.mase["model"] == 0)
    summary = scored.summary()
    assert summary["lstm_beats/seasonal_naive"] == 1.0 and summary["model/mean_mase"] == 0
    # Seasonal naive's MASE on series 0 by hand.
    first = panel.series_of_row[origins] == 0
    train = panel.series("s0")[: split.validation[0] - panel.starts[0]]
    scale = np.mean(np.abs(train[SEASON:] - train[:-SEASON]))
    by_hand = np.mean(np.abs(truth[first] - naive["seasonal_naive"][first])) / scale
    assert scored.mase["seasonal_naive"][0] == pytest.approx(by_hand)
    assert [sid for sid, _ in scored.worst("ets", 2)] != []


def test_autoarima_searches_like_r_auto_arima_on_long_series_and_long_seasons():
    from lstm_model.evaluation.panel_backtest import arima_options

    assert arima_options(100, 12) == {}
    assert arima_options(306, 12) == {"approximation": True}
    assert arima_options(100, 52) == {"approximation": True, "max_P": 1, "max_Q": 1}
