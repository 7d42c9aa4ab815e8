"""Global-model windows: inside one series and one part, normalised by their own inputs only;
the streamed tf.data batches equal the NumPy windows (hypothesis for the invariants)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from lstm_model.data.panel import panel_from_frame
from lstm_model.modeling.panel_windows import (
    denormalise,
    normalised_windows,
    split_panel,
    window_dataset,
    window_origins,
)

LOOKBACK, HORIZON = 6, 3


def _panel(lengths: list[int], seed: int = 0):
    rng = np.random.default_rng(seed)
    frames = [
        pd.DataFrame(
            {
                "id": f"s{i}",
                "timestamp": pd.date_range("2000-01-01", periods=n, freq="D"),
                "value": 10.0 ** (i % 4) * (5 + rng.normal(size=n).cumsum()),
            }
        )
        for i, n in enumerate(lengths)
    ]
    return panel_from_frame(pd.concat(frames, ignore_index=True), "id")


def _plain_origins(panel, split, part):
    """The same origins with a loop over series and rows (the reference)."""
    first, end = split.part(part)
    found = []
    for i in range(len(panel.ids)):
        for origin in range(first[i], end[i] - HORIZON + 1):
            if origin - LOOKBACK >= panel.starts[i]:
                found.append(origin)
    return np.array(found, dtype=int)


lengths_strategy = st.lists(st.integers(5, 60), min_size=1, max_size=6)


@settings(max_examples=40, deadline=None)
@given(lengths=lengths_strategy)
def test_origins_match_a_plain_loop_and_stay_in_their_series_and_part(lengths):
    panel = _panel(lengths)
    split = split_panel(panel, 0.15, 0.15)
    series = panel.series_of_row
    for part in ("train", "validation", "test"):
        first, end = split.part(part)
        origins = window_origins(split.starts, first, end, LOOKBACK, HORIZON)
        np.testing.assert_array_equal(origins, _plain_origins(panel, split, part))
        if len(origins):
            owner = series[origins]
            assert np.all(series[origins - LOOKBACK] == owner)
            assert np.all(origins >= first[owner]) and np.all(origins + HORIZON <= end[owner])


@settings(max_examples=30, deadline=None)
@given(lengths=st.lists(st.integers(12, 40), min_size=2, max_size=5), seed=st.integers(0, 99))
def test_a_window_sees_neither_other_series_nor_its_own_future(lengths, seed):
    panel = _panel(lengths, seed)
    origins = window_origins(
        panel.starts[:-1], panel.starts[:-1], panel.starts[1:], LOOKBACK, HORIZON
    )
    x, y, location, scale = normalised_windows(panel.values, origins, LOOKBACK, HORIZON)
    # Changing every value at or after a window's origin, and every other series, changes
    # neither its inputs nor its normalisation.
    k = len(origins) // 2
    origin, owner = origins[k], panel.series_of_row[origins[k]]
    changed = panel.values.copy()
    changed[origin:] += 1e3
    changed[panel.series_of_row != owner] *= -7
    x2, _, location2, scale2 = normalised_windows(changed, origins[k : k + 1], LOOKBACK, HORIZON)
    np.testing.assert_array_equal(x2[0], x[k])
    assert (location2[0], scale2[0]) == (location[k], scale[k])
    # Each window is standardised, and undoing it recovers the true targets (to float32's
    # precision on the window's own scale: targets far from the window are large numbers).
    np.testing.assert_allclose(x[:, :, 0].mean(axis=1), 0, atol=1e-4)
    truth = panel.values[origins[:, np.newaxis] + np.arange(HORIZON)]
    error = (denormalise(y, location, scale) - truth) / scale[:, np.newaxis]
    np.testing.assert_allclose(error, 0, atol=1e-5 * max(1.0, float(np.abs(y).max())))


def test_streamed_batches_equal_the_numpy_windows():
    panel = _panel([30, 45, 25])
    origins = window_origins(
        panel.starts[:-1], panel.starts[:-1], panel.starts[1:], LOOKBACK, HORIZON
    )
    x, y, _, _ = normalised_windows(panel.values, origins, LOOKBACK, HORIZON)
    batches = list(window_dataset(panel.values, origins, LOOKBACK, HORIZON, batch_size=16))
    streamed_x = np.concatenate([b[0].numpy() for b in batches])
    streamed_y = np.concatenate([b[1].numpy() for b in batches])
    np.testing.assert_allclose(streamed_x, x, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(streamed_y, y, rtol=1e-4, atol=1e-4)
    shuffled = window_dataset(panel.values, origins, LOOKBACK, HORIZON, 16, shuffle_seed=1)
    assert sum(len(b[0]) for b in shuffled) == len(origins)


def test_a_flat_window_keeps_a_finite_scale():
    values = np.r_[np.full(10, 5.0), np.arange(5.0)]
    x, y, location, scale = normalised_windows(values, np.array([8]), LOOKBACK, HORIZON)
    assert np.all(np.isfinite(x)) and np.all(np.isfinite(y))
    assert location[0] == 5.0 and scale[0] > 0
