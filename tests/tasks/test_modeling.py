"""The preprocess, tune and train tasks: split sizes and scalers, nested trial runs, weights."""

from __future__ import annotations

import mlflow
import numpy as np
import pytest
from conftest import as_series, make_series

from lstm_model.analysis.decisions import SeriesAnalysis
from lstm_model.config import PipelineConfig
from lstm_model.modeling.network import Architecture
from tasks.modeling import preprocess, train, tune

VALUES = make_series(150)["value"].to_numpy()


def test_task_logs_split_sizes_and_scalers(prefect_harness, active_run):
    analysis = SeriesAnalysis(1, 12, 12, "MS", [], [], [], 0.1, seasonal_differencing=1)
    values = np.column_stack([VALUES, np.arange(len(VALUES), dtype=float)])
    config = PipelineConfig().with_overrides(data__exogenous=("rain",))
    data = preprocess(as_series(values, "MS", ("rain",)), analysis, config)
    params = mlflow.get_run(active_run.info.run_id).data.params
    assert params["train_rows"] == str(data.bounds.train[1])
    assert params["warmup"] == str(12 + 1 + 12)
    assert float(params["scaler_mean"]) == pytest.approx(data.transform.mean)
    assert float(params["scaler_mean_rain"]) == pytest.approx(
        np.arange(data.bounds.train[1]).mean()
    )
    assert data.transform.columns == ("value", "rain")
    assert data.x_train.shape[1:] == (12, 2)


def test_tune_logs_a_nested_run_per_trial(
    prefect_harness, active_run, trained, tiny_config, tmp_path
):
    _, data, _ = trained
    config = tiny_config.with_overrides(tuning__cv_folds=2)
    architecture, tuned = tune(data, config, tmp_path)
    assert isinstance(architecture, Architecture) and tuned.transform.lookback == 12
    assert architecture.units == 8 and 1 <= architecture.layers <= 2
    children = mlflow.search_runs(
        filter_string=f"tags.mlflow.parentRunId = '{active_run.info.run_id}'", output_format="list"
    )
    assert len(children) == config.tuning.max_trials
    client = mlflow.MlflowClient()
    for child in children:
        assert {"layers", "units", "activation", "optimizer", "batch_size", "lookback"} <= set(
            child.data.params
        )
        assert child.data.tags["trial_status"] == "COMPLETED"
        assert child.data.metrics["seconds"] > 0
        assert np.isfinite(child.data.metrics["val_loss"])
        assert {"fold1_val_loss", "fold2_val_loss"} <= set(child.data.metrics)
        assert len(client.get_metric_history(child.info.run_id, "fold1_val_loss")) >= 2
    parent = mlflow.get_run(active_run.info.run_id).data
    assert parent.params["best_units"] == "8"
    assert parent.metrics["trial/best_val_loss"] == pytest.approx(
        min(c.data.metrics["val_loss"] for c in children)
    )


def test_train_restores_the_best_weights(
    prefect_harness, active_run, trained, tiny_config, tmp_path
):
    _, data, _ = trained
    model = train(data, Architecture(units=8), tiny_config, tmp_path).model
    run = mlflow.get_run(active_run.info.run_id).data
    val_loss = model.evaluate(data.x_validation, data.y_validation, verbose=0)
    assert val_loss == pytest.approx(run.metrics["train/final_val_loss"], rel=1e-4)
    curve = mlflow.MlflowClient().get_metric_history(active_run.info.run_id, "train/val_loss")
    assert min(m.value for m in curve) == pytest.approx(val_loss, rel=1e-4)
