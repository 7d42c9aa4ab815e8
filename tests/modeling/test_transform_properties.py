"""Property tests of the leakage-safe transform (hypothesis): invertible, fitted on train only,
windows never cross a split boundary with their targets."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lstm_model.modeling.transform import SeriesTransform, chronological_split, prepare

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True)


@st.composite
def series_and_transform(draw):
    """A random series (with 0-2 exogenous columns) and transform settings that fit it."""
    d = draw(st.integers(0, 2))
    seasonal = draw(st.integers(0, 1))
    season = draw(st.integers(2, 7)) if seasonal else 1
    lookback = draw(st.integers(1, 6))
    features = draw(st.integers(0, 2))
    n = draw(st.integers(90, 160))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    # Random walk plus a level far from zero: differencing and scaling both matter.
    target = 1_000 * rng.random() + np.cumsum(rng.normal(0, draw(st.floats(0.1, 50)), n))
    lam = draw(st.sampled_from([None, 0.0, 0.5]))
    if lam is not None:  # Box-Cox needs a positive series
        target = np.abs(target) + 1.0
    values = np.column_stack([target, rng.normal(5, 3, (n, features))]) if features else target
    return values, d, seasonal, season, lookback, lam


@SETTINGS
@given(series_and_transform())
def test_inverse_of_transform_is_identity(case):
    values, d, seasonal, season, lookback, lam = case
    data = prepare(values, d, lookback, 0.15, 0.15, seasonal, season, box_cox_lambda=lam)
    transform = data.transform
    for (start, stop), y in [
        (data.bounds.train, data.y_train),
        (data.bounds.validation, data.y_validation),
        (data.bounds.test, data.y_test),
    ]:
        targets = transform.window_targets(start, stop)
        # y is float32 in the model's scaled units: relative to the scale, exact to float32.
        recovered = transform.inverse(y, values, targets)
        truth = np.asarray(values, dtype=float).reshape(len(values), -1)[targets, 0]
        # On the Box-Cox scale a float32 step is stretched by dy/dz = y ** (1 - lambda).
        stretch = 1.0 if lam is None else np.max(np.abs(truth)) ** (1 - lam)
        np.testing.assert_allclose(
            recovered, truth, rtol=0, atol=1e-5 * transform.scale * 8 * stretch
        )


@SETTINGS
@given(series_and_transform(), st.floats(-1e6, 1e6), st.integers(0, 2**32 - 1))
def test_values_after_the_training_cutoff_never_change_the_fitted_transform(case, shift, seed):
    values, d, seasonal, season, lookback, lam = case
    data = prepare(values, d, lookback, 0.15, 0.15, seasonal, season, box_cox_lambda=lam)
    changed = np.array(values, dtype=float, copy=True)
    tail = changed[data.bounds.train[1] :]
    tail += shift + np.random.default_rng(seed).normal(0, 100, tail.shape)
    refitted = prepare(changed, d, lookback, 0.15, 0.15, seasonal, season, box_cox_lambda=lam)
    assert refitted.transform == data.transform


@SETTINGS
@given(series_and_transform(), st.floats(1.0, 1e4))
def test_no_window_target_lies_in_another_split(case, spike):
    values, d, seasonal, season, lookback, lam = case
    n = len(values)
    bounds = chronological_split(n, 0.15, 0.15)
    data = prepare(values, d, lookback, 0.15, 0.15, seasonal, season, box_cox_lambda=lam)
    splits = {
        "train": (bounds.train, data.y_train),
        "validation": (bounds.validation, data.y_validation),
        "test": (bounds.test, data.y_test),
    }
    for (start, stop), y in splits.values():
        targets = data.transform.window_targets(start, stop)
        assert len(y) == len(targets)
        assert len(targets) and targets.min() >= start and targets.max() < stop
        # Behaviour, not bookkeeping: a spike at a split's first target changes that split's
        # first target, and a spike just after the split changes none of its windows.
        for index, first_changed in ((targets[0], 0), (stop, None)):
            if index >= n:
                continue
            spiked = np.array(values, dtype=float, copy=True)
            spiked.reshape(n, -1)[index, 0] += spike * data.transform.scale
            y_spiked = data.transform.windows(spiked, start, stop)[1]
            changed = np.flatnonzero(~np.isclose(y_spiked, y, rtol=1e-6, atol=1e-6))
            if first_changed is None:
                assert changed.size == 0
            else:
                assert changed.size and changed[0] == first_changed


def test_transform_round_trips_json_with_features_and_season():
    rng = np.random.default_rng(0)
    values = np.column_stack([np.cumsum(rng.normal(size=100)), rng.normal(size=(100, 2))])
    transform = SeriesTransform.fit(values, 1, 5, 1, 12, columns=("value", "a", "b"))
    assert SeriesTransform.from_json(transform.to_json()) == transform
