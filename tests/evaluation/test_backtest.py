"""The rolling-origin backtest: origins, baseline paths that never look past their origin, and
scores per horizon step."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_series

from lstm_model.evaluation.backtest import (
    baseline_paths,
    path_targets,
    rolling_origins,
    score_paths,
)
from lstm_model.evaluation.baselines import METHODS, baseline_forecasts

VALUES = make_series(160)["value"].to_numpy()
TRAIN_STOP = 112


def test_rolling_origins_keep_whole_paths_and_the_newest_one():
    np.testing.assert_array_equal(rolling_origins((100, 120), 5), np.arange(100, 116))
    np.testing.assert_array_equal(rolling_origins((100, 120), 5, 4), [100, 104, 108, 112, 115])
    assert len(rolling_origins((100, 104), 5)) == 0


@pytest.mark.parametrize("method", METHODS)
def test_paths_from_an_origin_use_only_values_before_it(method):
    origins = rolling_origins((136, 160), 6)
    paths, notes = baseline_paths(VALUES, TRAIN_STOP, 12, origins, 6, (method,))
    assert paths[method].shape == (len(origins), 6)
    changed = VALUES.copy()
    changed[145:] *= 1.5
    after, after_notes = baseline_paths(changed, TRAIN_STOP, 12, origins, 6, (method,))
    assert after_notes == notes  # the same fitted model: the training part did not change
    unchanged = origins <= 145
    np.testing.assert_allclose(after[method][unchanged], paths[method][unchanged])
    assert not np.allclose(after[method][~unchanged], paths[method][~unchanged])


def test_one_step_paths_are_the_one_step_baselines():
    origins = np.arange(136, 160)
    paths, _ = baseline_paths(VALUES, TRAIN_STOP, 12, origins, 1)
    one_step = baseline_forecasts(VALUES, origins, TRAIN_STOP, 12)
    for method in METHODS:
        np.testing.assert_allclose(paths[method][:, 0], one_step.forecasts[method], rtol=1e-9)


def test_scores_per_step_and_overall():
    origins = rolling_origins((136, 160), 4)
    paths, notes = baseline_paths(VALUES, TRAIN_STOP, 12, origins, 4, ("naive", "ets"))
    backtest = score_paths(VALUES, origins, paths, TRAIN_STOP, 12, notes)
    np.testing.assert_array_equal(backtest.actual, path_targets(VALUES, origins, 4))
    for name in ("naive", "ets"):
        per_step = backtest.by_step[name]["mae"]
        assert len(per_step) == 4
        assert backtest.metrics[name]["mae"] == pytest.approx(np.mean(per_step))
    # On a trending seasonal series naive's error grows along the path; ETS stays far below it.
    assert backtest.by_step["naive"]["mae"][-1] > backtest.by_step["naive"]["mae"][0]
    assert backtest.metrics["ets"]["mase"] < 0.5 * backtest.metrics["naive"]["mase"]
    np.testing.assert_allclose(backtest.errors("ets"), backtest.actual - paths["ets"])
