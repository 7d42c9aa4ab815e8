"""A local panel's jobs out and backtest back in: each series' share of the flat arrays, and the
fits stacked in the panel backtest's order whatever order they finished in."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_panel

from lstm_model.config import PipelineConfig
from lstm_model.data.panel import panel_from_frame
from lstm_model.delivery.local_panel import local_lstm_paths, local_origins, series_jobs
from lstm_model.delivery.local_strategy import SeriesFit
from lstm_model.modeling.panel_preparation import prepare_panel


@pytest.fixture(scope="module")
def prepared():
    frame = make_panel(3, 96)
    # Different lengths: the series' rows start at different places of the flat arrays.
    frame = frame[~((frame["series_id"] == "s1") & (frame.index % 96 < 10))]
    return prepare_panel(panel_from_frame(frame, "series_id"), PipelineConfig())


def _fit(series_id, origins, horizon, offset):
    paths = np.full((len(origins), horizon), offset, dtype=float)
    return SeriesFit(
        series_id, paths, {80.0: paths - 1}, {80.0: paths + 1}, {}, 0.0, 1, 0.0, b"", {}
    )


def test_each_job_holds_its_series_parts_and_origins(prepared):
    origins = local_origins(prepared)
    jobs = series_jobs(prepared, origins)
    panel, split = prepared.panel, prepared.split
    assert [job.series_id for job in jobs] == list(panel.ids)
    assert sum(len(job.origins) for job in jobs) == len(origins)
    for i, job in enumerate(jobs):
        start = panel.starts[i]
        np.testing.assert_array_equal(job.values, panel.values[start : panel.starts[i + 1]])
        assert job.bounds.test == (split.test[i] - start, split.stops[i] - start)
        assert job.bounds.train[0] == 0 and job.bounds.validation[0] == job.bounds.train[1]
        # Origins in the series' own positions, in its test part, with a whole path after.
        assert job.origins.min() >= job.bounds.test[0]
        assert job.origins.max() + prepared.analysis.horizon <= job.bounds.test[1]
        mine = origins[(origins >= split.test[i]) & (origins < split.stops[i])]
        np.testing.assert_array_equal(job.origins + start, mine)


def test_fits_are_stacked_in_the_backtest_order_whatever_order_they_came_in(prepared):
    origins = local_origins(prepared)
    horizon = prepared.analysis.horizon
    jobs = series_jobs(prepared, origins)
    fits = [_fit(job.series_id, job.origins, horizon, i) for i, job in enumerate(jobs)]
    lstm = local_lstm_paths(list(reversed(fits)), prepared, origins)
    owner = np.searchsorted(prepared.split.starts, origins, side="right") - 1
    np.testing.assert_array_equal(lstm.paths[:, 0], owner.astype(float))
    assert lstm.bounds[80.0][0].shape == lstm.paths.shape
    with pytest.raises(ValueError, match="no fit for series"):
        local_lstm_paths(fits[:2], prepared, origins)


def test_coverage_counts_the_actual_values_inside_the_bounds(prepared):
    origins = local_origins(prepared)
    values = prepared.panel.values
    actual = values[origins[:, np.newaxis] + np.arange(prepared.analysis.horizon)]
    lstm_wide = local_lstm_paths(
        [
            SeriesFit(job.series_id, a, {80.0: a - 1}, {80.0: a + 1}, {}, 0.0, 1, 0.0, b"", {})
            for job, a in _split_by_series(prepared, origins, actual)
        ],
        prepared,
        origins,
    )
    coverage, widths = lstm_wide.coverage(values)
    assert coverage == {80.0: 1.0} and widths[80.0] > 0


def _split_by_series(prepared, origins, actual):
    jobs = series_jobs(prepared, origins)
    counts = np.cumsum([0, *[len(job.origins) for job in jobs]])
    return [(job, actual[counts[i] : counts[i + 1]]) for i, job in enumerate(jobs)]
