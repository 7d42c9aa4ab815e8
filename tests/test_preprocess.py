"""The preprocess task: chronological split, train-only scaler, windows cut after the split."""

from __future__ import annotations

import mlflow
import numpy as np
import pytest
from conftest import make_series

from lstm_model.analysis import SeriesAnalysis
from lstm_model.config import PipelineConfig
from lstm_model.errors import PipelineInputError
from lstm_model.preprocess import SeriesTransform, chronological_split, prepare
from tasks.preprocess import preprocess

VALUES = make_series(150)["value"].to_numpy()


def test_split_is_chronological_and_covers_the_series():
    bounds = chronological_split(100, 0.15, 0.15)
    assert bounds.train == (0, 70) and bounds.validation == (70, 85) and bounds.test == (85, 100)


@pytest.mark.parametrize("differencing", [0, 1, 2])
def test_scaler_is_fitted_on_the_training_part_only(differencing):
    data = prepare(VALUES, differencing, 6, 0.15, 0.15)
    train = np.diff(VALUES[: data.bounds.train[1]], n=differencing)
    assert data.transform.mean == pytest.approx(train.mean())
    assert data.transform.scale == pytest.approx(train.std())
    changed = VALUES.copy()
    changed[data.bounds.train[1] :] *= 100  # validation and test only
    assert prepare(changed, differencing, 6, 0.15, 0.15).transform == data.transform


@pytest.mark.parametrize("differencing", [0, 1, 2])
def test_windows_match_a_plain_loop_and_targets_stay_in_their_split(differencing):
    lookback = 5
    data = prepare(VALUES, differencing, lookback, 0.2, 0.2)
    z = data.transform.scaled(VALUES)
    for (start, stop), x, y in [
        (data.bounds.train, data.x_train, data.y_train),
        (data.bounds.validation, data.x_validation, data.y_validation),
        (data.bounds.test, data.x_test, data.y_test),
    ]:
        targets = range(max(start, lookback + differencing), stop)
        assert len(y) == len(targets)
        for row, t in enumerate(targets):
            j = t - differencing  # index of the target in the differenced series
            np.testing.assert_allclose(x[row, :, 0], z[j - lookback : j], rtol=1e-6)
            assert y[row] == pytest.approx(z[j], rel=1e-6)


@pytest.mark.parametrize("differencing", [0, 1, 2])
def test_inverse_recovers_the_original_values(differencing):
    data = prepare(VALUES, differencing, 4, 0.15, 0.15)
    targets = np.arange(*data.bounds.test)
    np.testing.assert_allclose(
        data.transform.inverse(data.y_test, VALUES, targets), VALUES[targets], rtol=1e-5
    )


def test_transform_round_trips_through_json():
    transform = SeriesTransform.fit(VALUES[:100], 1, 12)
    assert SeriesTransform.from_json(transform.to_json()) == transform


def test_forecast_windows_end_with_the_window_for_the_next_step():
    transform = SeriesTransform.fit(VALUES[:100], 1, 6)
    windows = transform.forecast_windows(VALUES)
    assert len(windows) == len(VALUES) - transform.warmup + 1
    np.testing.assert_allclose(windows[-1, :, 0], transform.scaled(VALUES)[-6:], rtol=1e-6)


def test_too_short_series_is_rejected_with_a_fix():
    with pytest.raises(PipelineInputError, match="too short for lookback 24.*longer series"):
        prepare(VALUES[:50], 1, 24, 0.15, 0.15)


def test_task_logs_split_sizes_and_scaler(prefect_harness, active_run):
    analysis = SeriesAnalysis(1, 12, 12, "MS", [], [], [], 0.1)
    data = preprocess(VALUES, analysis, PipelineConfig())
    params = mlflow.get_run(active_run.info.run_id).data.params
    assert params["train_rows"] == str(data.bounds.train[1])
    assert float(params["scaler_mean"]) == pytest.approx(data.transform.mean)
    assert data.x_train.shape[1:] == (12, 1)
