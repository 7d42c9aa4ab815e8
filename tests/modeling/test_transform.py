"""The transform: chronological split, train-only scaler, windows cut after the split."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_series

from lstm_model.modeling.preparation import prepare
from lstm_model.modeling.transform import SeriesTransform

VALUES = make_series(150)["value"].to_numpy()


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


def test_seasonal_differencing_and_exogenous_windows_match_a_plain_loop():
    rng = np.random.default_rng(3)
    exogenous = rng.normal(10, 4, (len(VALUES), 2))
    values = np.column_stack([VALUES, exogenous])
    data = prepare(values, 1, 5, 0.15, 0.15, seasonal_differencing=1, season=12)
    transform = data.transform
    assert transform.warmup == 5 + 1 + 12 and data.x_train.shape[1:] == (5, 3)
    # (1 - B)(1 - B^12) y_t = y_t - y_{t-1} - y_{t-12} + y_{t-13}, scaled with train statistics.
    t = np.arange(13, len(VALUES))
    differenced = VALUES[t] - VALUES[t - 1] - VALUES[t - 12] + VALUES[t - 13]
    train_differenced = differenced[: data.bounds.train[1] - 13]
    assert transform.mean == pytest.approx(train_differenced.mean())
    z = (differenced - transform.mean) / transform.scale
    train_exogenous = exogenous[: data.bounds.train[1]]
    np.testing.assert_allclose(transform.feature_means, train_exogenous.mean(axis=0))
    features = (exogenous - train_exogenous.mean(axis=0)) / train_exogenous.std(axis=0)
    start, stop = data.bounds.test
    for row, target in enumerate(range(start, stop)):
        inputs = range(target - 5, target)  # original indices of the window's steps
        np.testing.assert_allclose(data.x_test[row, :, 0], z[np.array(inputs) - 13], rtol=1e-5)
        np.testing.assert_allclose(data.x_test[row, :, 1:], features[inputs], rtol=1e-5)
        assert data.y_test[row] == pytest.approx(z[target - 13], rel=1e-5)
    targets = np.arange(start, stop)
    np.testing.assert_allclose(
        transform.inverse(data.y_test, values, targets), VALUES[targets], rtol=1e-5
    )


def test_transform_refuses_other_columns_and_seasonal_difference_without_season():
    transform = SeriesTransform.fit(np.column_stack([VALUES, VALUES]), 0, 3)
    assert transform.columns == ("value", "x1")
    with pytest.raises(ValueError, match="2 value column"):
        transform.windows(VALUES, 0, 100)
    with pytest.raises(ValueError, match="season > 1"):
        SeriesTransform.fit(VALUES, 0, 3, seasonal_differencing=1, season=1)
