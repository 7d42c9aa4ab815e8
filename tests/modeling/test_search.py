"""Architecture search: every tuner, the time budget, walk-forward folds, lookback, seeds."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_model.config import TuningConfig
from lstm_model.modeling.search import search_architecture
from lstm_model.modeling.training import with_lookback

TINY = {"epochs": 2, "patience": 1, "units": (4,), "max_layers": 1}


@pytest.mark.parametrize("tuner", ["bayesian", "hyperband"])
def test_tuners_search_the_space(trained, tmp_path, tuner):
    _, data, _ = trained
    space = TuningConfig(tuner=tuner, max_trials=2, optimizers=("adam", "rmsprop", "sgd"), **TINY)
    result = search_architecture(data, space, tmp_path, seed=3)
    assert len(result.trials) == 2  # Hyperband is capped by max_trials too
    assert result.architecture.optimizer in {"adam", "rmsprop", "sgd"}
    assert result.architecture.lookback == data.transform.lookback
    assert result.architecture.batch_size in space.batch_sizes


def test_wall_clock_budget_stops_launching_trials(trained, tmp_path):
    _, data, _ = trained
    space = TuningConfig(max_trials=5, max_search_seconds=0.01, **TINY)
    result = search_architecture(data, space, tmp_path, seed=3)
    assert len(result.trials) == 1 and result.budget_exhausted


def test_same_seed_same_search(trained, tmp_path):
    _, data, _ = trained
    space = TuningConfig(max_trials=2, **TINY)
    first = search_architecture(data, space, tmp_path / "a", seed=5)
    second = search_architecture(data, space, tmp_path / "b", seed=5)
    assert [t.hyperparameters for t in first.trials] == [t.hyperparameters for t in second.trials]
    np.testing.assert_allclose(
        [t.val_loss for t in first.trials], [t.val_loss for t in second.trials], rtol=1e-4
    )


def test_lookback_search_and_cv_objective(trained, tmp_path):
    _, data, _ = trained
    space = TuningConfig(max_trials=3, lookback_multipliers=(0.5,), cv_folds=2, **TINY)
    result = search_architecture(data, space, tmp_path, seed=1)
    assert {t.hyperparameters["lookback"] for t in result.trials} <= {6, 12}
    rewindowed = with_lookback(data, 6)
    assert rewindowed.x_train.shape[1] == 6 and rewindowed.transform.scale == data.transform.scale
    assert len(rewindowed.y_test) == len(data.y_test)  # test targets are the same points
