"""The local strategy's per-series fit: the single-series procedure as one pure, picklable,
reproducible call that never learns from the test part."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from conftest import LOCAL_BOUNDS, LOCAL_ORIGINS, fit_local, make_series

from lstm_model.delivery.export import load_serving, load_transform
from lstm_model.delivery.local_strategy import fit_series
from lstm_model.delivery.package import extract_archive
from lstm_model.errors import PipelineInputError
from lstm_model.modeling.folds import refit_transform
from lstm_model.modeling.preparation import SplitBounds, prepare


def test_paths_and_interval_bounds_at_every_origin_in_original_units(local_fits, tmp_path):
    values, fit = local_fits["s1"]
    assert fit.series_id == "s1"
    assert fit.paths.shape == (len(LOCAL_ORIGINS), 6) and np.isfinite(fit.paths).all()
    assert set(fit.lower) == set(fit.upper) == {80.0, 95.0}
    for level in (80.0, 95.0):
        assert fit.lower[level].shape == fit.upper[level].shape == fit.paths.shape
        assert np.isfinite(fit.lower[level]).all() and np.isfinite(fit.upper[level]).all()
        assert np.all(fit.lower[level] <= fit.paths) and np.all(fit.paths <= fit.upper[level])
    assert np.all(fit.upper[95.0] - fit.lower[95.0] >= fit.upper[80.0] - fit.lower[80.0])
    # Original units: the paths follow the series' level (50 + 0.3 t), not a scaled one.
    assert abs(np.mean(fit.paths) - np.mean(values[LOCAL_ORIGINS[0] :])) < 10
    assert fit.architecture["units"] == 4 and fit.trials == 1
    assert np.isfinite(fit.val_loss) and fit.seconds > 0
    assert {"differencing", "seasonal_differencing", "season", "lookback", "box_cox_lambda"} <= set(
        fit.analysis
    )
    assert fit.analysis["reasons"] and fit.analysis["refitted"] is False
    assert fit.export_max_abs_difference < 1e-5
    # Plain data: it crosses a process boundary (a Dask worker) as pickled bytes.
    again = pickle.loads(pickle.dumps(fit))
    np.testing.assert_array_equal(again.paths, fit.paths)
    # The shipped SavedModel is the evaluated model: it serves the same path from the first
    # origin, and it carries the intervals.
    folder = extract_archive(fit.saved_model, tmp_path / "s1")
    warmup = load_transform(folder).warmup
    history = values[LOCAL_ORIGINS[0] - warmup : LOCAL_ORIGINS[0]][np.newaxis, :, np.newaxis]
    served = load_serving(folder)(history)
    np.testing.assert_allclose(served["forecast"][0], fit.paths[0], rtol=1e-6)
    np.testing.assert_allclose(served["lower_80"][0], fit.lower[80.0][0], rtol=1e-6)


def test_the_same_call_gives_the_same_model(local_fits):
    values, fit = local_fits["s1"]
    twin = fit_local("s1", values)
    np.testing.assert_array_equal(twin.paths, fit.paths)
    for level in fit.lower:
        np.testing.assert_array_equal(twin.lower[level], fit.lower[level])
        np.testing.assert_array_equal(twin.upper[level], fit.upper[level])
    assert twin.architecture == fit.architecture and twin.val_loss == fit.val_loss


def test_nothing_after_the_validation_part_reaches_what_was_fitted(local_fits):
    values, fit = local_fits["s1"]
    changed = values.copy()
    test_start = LOCAL_BOUNDS[1][1]
    changed[test_start:] = changed[test_start:] * 3 + 100
    other = fit_local("s1", changed)
    # The first origin's path reads only rows before the test part: same analysis, transform,
    # search, weights and calibration give the same path and bounds.
    np.testing.assert_array_equal(other.paths[0], fit.paths[0])
    np.testing.assert_array_equal(other.lower[95.0][0], fit.lower[95.0][0])
    assert other.analysis["reasons"] == fit.analysis["reasons"]
    # Later origins read the changed rows: the change itself did reach the backtest.
    assert not np.allclose(other.paths[1:], fit.paths[1:])


def test_a_refit_series_ships_a_model_trained_on_every_row(local_fits, tmp_path):
    values, fit = local_fits["s2"]
    assert fit.analysis["refitted"] is True and fit.export_max_abs_difference < 1e-5
    assert np.isfinite(fit.paths).all()
    shipped = load_transform(extract_archive(fit.saved_model, tmp_path / "s2"))
    decided = fit.analysis
    evaluated = prepare(
        values,
        decided["differencing"],
        fit.architecture["lookback"],
        0.15,
        0.15,
        seasonal_differencing=decided["seasonal_differencing"],
        season=decided["season"],
        box_cox_lambda=decided["box_cox_lambda"],
        horizon=fit.paths.shape[1],
        bounds=SplitBounds(*LOCAL_BOUNDS),
    ).transform
    # The backtest's transform was fitted on the 84 training rows, the shipped one on all 120.
    refitted = refit_transform(evaluated, values, evaluated.lookback)
    assert shipped.mean == pytest.approx(refitted.mean) and shipped.mean != evaluated.mean
    assert shipped.warmup == evaluated.warmup and shipped.horizon == evaluated.horizon


def test_a_series_too_short_for_the_procedure_is_refused_by_id():
    values = make_series(40)["value"].to_numpy()
    with pytest.raises(PipelineInputError, match="series 'tiny-7'.*training part has 20 rows"):
        fit_local_short("tiny-7", values, SplitBounds((0, 20), (20, 30), (30, 40)))
    # Long enough for the statistics, too short for the lookback they pick (prepare refuses).
    with pytest.raises(PipelineInputError, match="series 'tiny-8'.*too short for lookback"):
        fit_local_short("tiny-8", values, SplitBounds((0, 24), (24, 32), (32, 40)))


def test_origins_outside_the_test_part_are_a_caller_error(local_fits):
    values, _ = local_fits["s1"]
    with pytest.raises(ValueError, match="origins must lie in the test part"):
        fit_local_short("s1", values, SplitBounds(*LOCAL_BOUNDS), origins=np.array([90, 102]))


def fit_local_short(series_id, values, bounds, origins=None):
    from conftest import local_config

    origins = np.array([bounds.test[0]]) if origins is None else origins
    return fit_series(series_id, values, bounds, origins, 6, "MS", local_config(), seed=0)
