"""The split and the prepared data: chronological parts, refusals with a fix, the horizon."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_series

from lstm_model.errors import PipelineInputError
from lstm_model.modeling.preparation import (
    SplitBounds,
    choose_horizon,
    chronological_split,
    prepare,
)

VALUES = make_series(150)["value"].to_numpy()


def test_split_is_chronological_and_covers_the_series():
    bounds = chronological_split(100, 0.15, 0.15)
    assert bounds.train == (0, 70) and bounds.validation == (70, 85) and bounds.test == (85, 100)


def test_too_short_series_is_rejected_with_a_fix():
    with pytest.raises(PipelineInputError, match="too short for lookback 24.*longer series"):
        prepare(VALUES[:50], 1, 24, 0.15, 0.15)


def test_horizon_longer_than_the_test_part_is_rejected_with_a_fix():
    with pytest.raises(
        PipelineInputError, match="validation part has 23 rows.*shorter forecast.horizon"
    ):
        prepare(VALUES, 1, 6, 0.15, 0.15, horizon=24)


def test_every_window_of_a_part_has_all_its_targets_in_that_part():
    data = prepare(VALUES, 1, 6, 0.15, 0.15, horizon=5)
    for (start, stop), y in (
        (data.bounds.validation, data.y_validation),
        (data.bounds.test, data.y_test),
    ):
        assert y.shape == (stop - start - 5 + 1, 5)


def test_default_horizon_is_kept_when_it_fits_and_shortened_when_not():
    assert choose_horizon(None, 12, 500, 0.15, 0.15).horizon == 12
    short = choose_horizon(None, 12, 60, 0.15, 0.15)
    assert short.horizon == 9 and "shortened" in short.reason
    # A horizon the user asked for is never changed silently.
    assert choose_horizon(24, 12, 60, 0.15, 0.15) == choose_horizon(24, 4, 60, 0.15, 0.15)


def test_explicit_bounds_cut_the_series_as_given_and_the_fractions_are_ignored():
    by_fractions = prepare(VALUES, 1, 6, 0.15, 0.15, horizon=3)
    given = prepare(VALUES, 1, 6, 0.4, 0.4, horizon=3, bounds=by_fractions.bounds)
    assert given.bounds == by_fractions.bounds
    np.testing.assert_array_equal(given.x_train, by_fractions.x_train)
    np.testing.assert_array_equal(given.y_test, by_fractions.y_test)
    # A panel's series: 20 validation and 20 test rows whatever its length.
    panel_cut = prepare(
        VALUES, 1, 6, 0.15, 0.15, horizon=3, bounds=SplitBounds((0, 110), (110, 130), (130, 150))
    )
    assert panel_cut.transform.mean != by_fractions.transform.mean  # fitted on rows 0..110 only


def test_explicit_bounds_must_tile_the_series():
    with pytest.raises(ValueError, match="do not tile"):
        prepare(VALUES, 1, 6, 0.15, 0.15, bounds=SplitBounds((0, 100), (100, 120), (120, 140)))
    with pytest.raises(ValueError, match="do not tile"):
        prepare(VALUES, 1, 6, 0.15, 0.15, bounds=SplitBounds((0, 100), (90, 120), (120, 150)))


def test_explicit_bounds_too_short_a_training_part_is_rejected_with_a_fix():
    with pytest.raises(PipelineInputError, match="training part \\(30 rows\\).*about 71 rows"):
        prepare(VALUES[:60], 1, 24, 0.15, 0.15, bounds=SplitBounds((0, 30), (30, 45), (45, 60)))
