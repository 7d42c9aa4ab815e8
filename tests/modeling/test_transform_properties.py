"""Property tests of the leakage-safe transform (hypothesis): invertible along whole forecast
paths, fitted on train only, windows never cross a split boundary with any of their targets."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lstm_model.modeling.preparation import chronological_split, prepare
from lstm_model.modeling.transform import SeriesTransform

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
    horizon = draw(st.sampled_from([1, 1, 2, 5, 12]))
    return values, d, seasonal, season, lookback, lam, horizon


def _prepare(values, d, seasonal, season, lookback, lam, horizon):
    return prepare(
        values, d, lookback, 0.15, 0.15, seasonal, season, box_cox_lambda=lam, horizon=horizon
    )


@SETTINGS
@given(series_and_transform())
def test_inverse_of_transform_is_identity_along_every_path(case):
    values = case[0]
    lam, horizon = case[5], case[6]
    data = _prepare(*case)
    transform = data.transform
    target = np.asarray(values, dtype=float).reshape(len(values), -1)[:, 0]
    for (start, stop), y in [
        (data.bounds.train, data.y_train),
        (data.bounds.validation, data.y_validation),
        (data.bounds.test, data.y_test),
    ]:
        origins = transform.window_targets(start, stop)
        assert y.shape == (len(origins), horizon)
        # y is float32 in the model's scaled units: relative to the scale, exact to float32.
        # Undifferencing a path sums its steps, so the error grows with the step (and with d).
        recovered = transform.inverse_paths(y, values, origins)
        truth = target[origins[:, np.newaxis] + np.arange(horizon)]
        # On the Box-Cox scale a float32 step is stretched by dy/dz = y ** (1 - lambda).
        stretch = 1.0 if lam is None else np.max(np.abs(truth)) ** (1 - lam)
        growth = (1 + np.arange(horizon)) ** (1 + transform.order)
        np.testing.assert_allclose(
            recovered, truth, rtol=0, atol=1e-5 * transform.scale * 8 * stretch * growth.max()
        )
        # The one-step inverse is the first step of the paths.
        np.testing.assert_allclose(
            transform.inverse(y[:, 0], values, origins), recovered[:, 0], rtol=1e-12
        )


@SETTINGS
@given(series_and_transform(), st.floats(-1e6, 1e6), st.integers(0, 2**32 - 1))
def test_values_after_the_training_cutoff_never_change_the_fitted_transform(case, shift, seed):
    values = case[0]
    data = _prepare(*case)
    changed = np.array(values, dtype=float, copy=True)
    tail = changed[data.bounds.train[1] :]
    tail += shift + np.random.default_rng(seed).normal(0, 100, tail.shape)
    refitted = _prepare(changed, *case[1:])
    assert refitted.transform == data.transform


@SETTINGS
@given(series_and_transform(), st.floats(1.0, 1e4))
def test_no_window_target_lies_in_another_split(case, spike):
    values, horizon = case[0], case[6]
    n = len(values)
    bounds = chronological_split(n, 0.15, 0.15)
    data = _prepare(*case)
    splits = {
        "train": (bounds.train, data.y_train),
        "validation": (bounds.validation, data.y_validation),
        "test": (bounds.test, data.y_test),
    }
    for (start, stop), y in splits.values():
        targets = data.transform.window_targets(start, stop)
        assert len(y) == len(targets)
        assert len(targets) and targets.min() >= start and targets.max() + horizon <= stop
        # Behaviour, not bookkeeping: a spike at a split's first target changes that split's
        # first target, and a spike just after the split changes none of its windows.
        for index, first_changed in ((targets[0], 0), (stop, None)):
            if index >= n:
                continue
            spiked = np.array(values, dtype=float, copy=True)
            spiked.reshape(n, -1)[index, 0] += spike * data.transform.scale
            y_spiked = data.transform.windows(spiked, start, stop)[1]
            changed = np.flatnonzero(~np.isclose(y_spiked, y, rtol=1e-6, atol=1e-6).all(axis=1))
            if first_changed is None:
                assert changed.size == 0
            else:
                assert changed.size and changed[0] == first_changed


def test_transform_round_trips_json_with_features_and_season():
    rng = np.random.default_rng(0)
    values = np.column_stack([np.cumsum(rng.normal(size=100)), rng.normal(size=(100, 2))])
    transform = SeriesTransform.fit(values, 1, 5, 1, 12, columns=("value", "a", "b"))
    assert SeriesTransform.from_json(transform.to_json()) == transform
