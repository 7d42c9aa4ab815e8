"""The exported SavedModel: its serving signature takes raw history and returns forecasts in
original units, verified in a fresh TensorFlow process before anything ships."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import make_series

from lstm_model.delivery.export import (
    ExportVerificationError,
    FreshTensorFlow,
    export_saved_model,
    load_history_predictor,
    verify_export,
)
from lstm_model.evaluation.intervals import ConformalIntervals
from lstm_model.modeling.network import Architecture, build_lstm
from lstm_model.modeling.preparation import prepare


def test_seasonal_and_exogenous_export_matches_the_pipeline_in_a_fresh_process(tmp_path):
    rng = np.random.default_rng(0)
    target = make_series(150)["value"].to_numpy()
    values = np.column_stack([target, rng.normal(20, 5, 150), rng.normal(size=150)])
    data = prepare(values, 1, 6, 0.15, 0.15, seasonal_differencing=1, season=12)
    model = build_lstm(6, 3, Architecture(units=4))
    directory = export_saved_model(model, data.transform, tmp_path / "export")
    check = verify_export(directory, model, data.transform, values, count=40)
    assert check.samples == 40 and check.max_rel_difference <= 1e-6
    histories = data.transform.histories(values)
    assert histories.shape[1:] == (6 + 1 + 12, 3)


def test_box_cox_and_seasonal_difference_round_trip_inside_the_saved_model(tmp_path):
    """The serving graph's Box-Cox, seasonal difference and their inverses match NumPy's, in a
    fresh TensorFlow process."""
    rng = np.random.default_rng(4)
    t = np.arange(150)
    values = np.exp(3 + 0.01 * t + 0.3 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 0.05, 150))
    for lam in (0.0, 0.5):
        data = prepare(values, 1, 6, 0.15, 0.15, 1, 12, box_cox_lambda=lam)
        assert data.transform.box_cox_lambda == lam
        model = build_lstm(6, 1, Architecture(units=4, linear_skip=True))
        directory = export_saved_model(model, data.transform, tmp_path / f"export-{lam}")
        check = verify_export(directory, model, data.transform, values, count=40)
        assert check.max_rel_difference <= 1e-6
        # Forecasts come back in original units: positive, on the series' level.
        served = load_history_predictor(directory)(data.transform.histories(values)[-10:])[:, 0]
        assert np.all(served > 0) and np.all(np.abs(np.log(served / values[-10:])) < 2)


def test_path_and_intervals_come_out_of_the_saved_model_in_a_fresh_process(tmp_path):
    """h steps at once: Box-Cox, seasonal and regular differences are undone along the whole
    path inside the graph, and the conformal widths are added around it."""
    rng = np.random.default_rng(5)
    t = np.arange(160)
    values = np.exp(3 + 0.01 * t + 0.3 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 0.05, 160))
    data = prepare(values, 1, 6, 0.15, 0.15, 1, 12, box_cox_lambda=0.5, horizon=6)
    model = build_lstm(6, 1, Architecture(units=4, linear_skip=True), seed=0, horizon=6)
    errors = rng.normal(0, 1, (60, 6)) * np.sqrt(np.arange(1, 7))
    intervals = ConformalIntervals.calibrate(errors, (80, 97.5))
    directory = export_saved_model(model, data.transform, tmp_path / "export", intervals)
    check = verify_export(directory, model, data.transform, values, count=30, intervals=intervals)
    assert check.samples == 30 and check.max_rel_difference <= 1e-6
    with FreshTensorFlow() as fresh:
        served = fresh.serve(directory, data.transform.histories(values)[-3:])
    assert set(served) == {"forecast", "lower_80", "upper_80", "lower_97_5", "upper_97_5"}
    assert served["forecast"].shape == (3, 6)
    widths = served["upper_97_5"] - served["lower_97_5"]
    assert np.all(widths > served["upper_80"] - served["lower_80"])
    np.testing.assert_allclose(widths[0], 2 * np.asarray(intervals.half_widths[1]))

    # Widths calibrated on the Box-Cox scale come back asymmetric, as intervals.bounds says.
    on_scale = ConformalIntervals.calibrate(errors * 0.05, (80,), box_cox_lambda=0.5)
    directory = export_saved_model(model, data.transform, tmp_path / "scaled", on_scale)
    verify_export(directory, model, data.transform, values, count=30, intervals=on_scale)
    with FreshTensorFlow() as fresh:
        served = fresh.serve(directory, data.transform.histories(values)[-3:])
    lower, upper = on_scale.bounds(served["forecast"])[80]
    np.testing.assert_allclose(served["lower_80"], lower, rtol=1e-9)
    above, below = upper - served["forecast"], served["forecast"] - lower
    assert np.all(above > below)


def test_verification_refuses_an_export_whose_preprocessing_differs(trained, tmp_path):
    model, data, _ = trained
    shifted = dataclasses.replace(data.transform, mean=data.transform.mean + 0.1)
    directory = export_saved_model(model, shifted, tmp_path / "export")
    with pytest.raises(ExportVerificationError, match="refusing to register or push"):
        verify_export(directory, model, data.transform, data.values, count=16)
