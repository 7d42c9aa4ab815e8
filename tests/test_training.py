"""The tune and train tasks: one nested MLflow run per trial; early stopping keeps the best."""

from __future__ import annotations

import mlflow
import numpy as np
import pytest

from lstm_model.model import INPUT_NAME, Architecture, build_lstm
from tasks.training import train, tune


def test_model_shape_and_named_input():
    model = build_lstm(7, 1, Architecture(layers=2, units=4, dropout=0.1))
    assert model.inputs[0].name == INPUT_NAME
    assert model.output.shape == (None, 1)
    assert sum(layer.__class__.__name__ == "LSTM" for layer in model.layers) == 2


def test_tune_logs_a_nested_run_per_trial(
    prefect_harness, active_run, trained, tiny_config, tmp_path
):
    _, data, _ = trained
    architecture = tune(data, tiny_config, tmp_path)
    assert isinstance(architecture, Architecture)
    assert architecture.units == 8 and 1 <= architecture.layers <= 2
    children = mlflow.search_runs(
        filter_string=f"tags.mlflow.parentRunId = '{active_run.info.run_id}'", output_format="list"
    )
    assert len(children) == tiny_config.tuning.max_trials
    for child in children:
        assert {"layers", "units", "dropout", "learning_rate"} <= set(child.data.params)
        assert np.isfinite(child.data.metrics["val_loss"])
        history = mlflow.MlflowClient().get_metric_history(child.info.run_id, "val_loss")
        assert len(history) >= 2  # one point per epoch, plus the trial's best
    parent = mlflow.get_run(active_run.info.run_id).data
    assert parent.params["best_units"] == "8"
    assert parent.metrics["best_trial_val_loss"] == pytest.approx(
        min(c.data.metrics["val_loss"] for c in children)
    )


def test_train_restores_the_best_weights(
    prefect_harness, active_run, trained, tiny_config, tmp_path
):
    _, data, _ = trained
    model = train(data, Architecture(units=8), tiny_config, tmp_path)
    run = mlflow.get_run(active_run.info.run_id).data
    val_loss = model.evaluate(data.x_validation, data.y_validation, verbose=0)
    assert val_loss == pytest.approx(run.metrics["final_val_loss"], rel=1e-4)
    curve = mlflow.MlflowClient().get_metric_history(active_run.info.run_id, "train_val_loss")
    assert min(m.value for m in curve) == pytest.approx(val_loss, rel=1e-4)
    assert "plots/loss.png" in {
        a.path for a in mlflow.MlflowClient().list_artifacts(active_run.info.run_id, "plots")
    }
