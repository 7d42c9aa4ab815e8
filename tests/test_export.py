"""The export task: a SavedModel that reloads with plain TensorFlow and reproduces the model."""

from __future__ import annotations

import mlflow
import numpy as np
import pytest

from lstm_model.export import (
    PREPROCESSING_FILE,
    ExportVerificationError,
    load_window_predictor,
    verify_export,
)
from lstm_model.model import Architecture, build_lstm
from tasks.export import export


def test_export_reloads_and_matches(prefect_harness, active_run, trained, tmp_path):
    model, data, _ = trained
    directory = export(model, data, tmp_path)
    assert (directory / "saved_model.pb").exists() and (directory / "variables").is_dir()
    predict, transform = load_window_predictor(directory)
    assert transform == data.transform
    np.testing.assert_allclose(
        predict(data.x_test), model.predict(data.x_test, verbose=0).reshape(-1), atol=1e-5
    )
    assert (directory / PREPROCESSING_FILE).exists()
    assert "export_max_abs_difference" in mlflow.get_run(active_run.info.run_id).data.metrics


def test_verification_refuses_a_mismatching_export(trained, tmp_path):
    model, data, _ = trained
    from lstm_model.export import export_saved_model

    directory = export_saved_model(model, data.transform, tmp_path / "export")
    other = build_lstm(data.transform.lookback, 1, Architecture(units=8))
    with pytest.raises(ExportVerificationError, match="refusing to register or push"):
        verify_export(directory, other, data.x_test)
