"""Search (every tuner, budget, walk-forward folds, lookback), nested runs, final fit, ensemble."""

from __future__ import annotations

import mlflow
import numpy as np
import pytest

from lstm_model.config import TrainingConfig, TuningConfig
from lstm_model.errors import PipelineInputError
from lstm_model.modeling.network import INPUT_NAME, Architecture, build_lstm, lookback_choices
from lstm_model.modeling.search import search_architecture, walk_forward_folds
from lstm_model.modeling.training import train_ensemble, with_lookback
from tasks.modeling import train, tune

TINY = {"epochs": 2, "patience": 1, "units": (4,), "max_layers": 1}


def test_model_every_knob_and_named_input():
    architecture = Architecture(
        layers=3, units=4, activation="relu", dropout=0.1, recurrent_dropout=0.1, optimizer="sgd"
    )
    model = build_lstm(7, 1, architecture)
    assert model.inputs[0].name == INPUT_NAME
    assert model.output.shape == (None, 1)
    lstms = [layer for layer in model.layers if layer.__class__.__name__ == "LSTM"]
    assert [layer.return_sequences for layer in lstms] == [True, True, False]
    assert {layer.activation.__name__ for layer in lstms} == {"relu"}
    assert lstms[0].recurrent_dropout == pytest.approx(0.1)
    assert model.optimizer.__class__.__name__ == "SGD"
    assert float(model.optimizer.momentum) == pytest.approx(0.9)
    assert lookback_choices(12, (0.5, 1.0, 2.0)) == [6, 12, 24]


@pytest.mark.parametrize("tuner", ["bayesian", "hyperband"])
def test_tuners_search_the_space(trained, tmp_path, tuner):
    _, data, _ = trained
    space = TuningConfig(tuner=tuner, max_trials=2, optimizers=("adam", "rmsprop", "sgd"), **TINY)
    result = search_architecture(data, space, tmp_path, seed=3)
    assert len(result.trials) == 2  # Hyperband is capped by max_trials too
    assert result.architecture.optimizer in {"adam", "rmsprop", "sgd"}
    assert result.architecture.lookback == data.transform.lookback
    assert result.architecture.batch_size in space.batch_sizes


def test_wall_clock_budget_stops_launching_trials(trained, tmp_path):
    _, data, _ = trained
    space = TuningConfig(max_trials=5, max_search_seconds=0.01, **TINY)
    result = search_architecture(data, space, tmp_path, seed=3)
    assert len(result.trials) == 1 and result.budget_exhausted


def test_same_seed_same_search(trained, tmp_path):
    _, data, _ = trained
    space = TuningConfig(max_trials=2, **TINY)
    first = search_architecture(data, space, tmp_path / "a", seed=5)
    second = search_architecture(data, space, tmp_path / "b", seed=5)
    assert [t.hyperparameters for t in first.trials] == [t.hyperparameters for t in second.trials]
    np.testing.assert_allclose(
        [t.val_loss for t in first.trials], [t.val_loss for t in second.trials], rtol=1e-4
    )


def test_walk_forward_folds_expand_and_fit_their_own_scaler(trained):
    _, data, _ = trained
    folds = walk_forward_folds(data, data.transform.lookback, k=3)
    val_start, val_stop = data.bounds.validation
    length = val_stop - val_start
    assert [f.validation for f in folds] == [
        (val_start - 2 * length, val_start - length),
        (val_start - length, val_start),
        (val_start, val_stop),
    ]
    assert folds[-1].x_train is data.x_train  # the last fold is the plain split
    assert all(len(f.y_validation) == length for f in folds)
    # Fold 1's scaler saw only its own training rows: its scaled training targets are
    # standardised (mean 0 over the differenced training part), not the full split's.
    first = folds[0]
    assert len(first.y_train) == first.train_stop - data.transform.warmup
    assert abs(first.y_train.mean()) < 0.2 and not np.allclose(
        first.y_train[:10], data.y_train[:10]
    )
    with pytest.raises(PipelineInputError, match="cv_folds"):
        walk_forward_folds(data, data.transform.lookback, k=10)


def test_lookback_search_and_cv_objective(trained, tmp_path):
    _, data, _ = trained
    space = TuningConfig(max_trials=3, lookback_multipliers=(0.5,), cv_folds=2, **TINY)
    result = search_architecture(data, space, tmp_path, seed=1)
    assert {t.hyperparameters["lookback"] for t in result.trials} <= {6, 12}
    rewindowed = with_lookback(data, 6)
    assert rewindowed.x_train.shape[1] == 6 and rewindowed.transform.scale == data.transform.scale
    assert len(rewindowed.y_test) == len(data.y_test)  # test targets are the same points


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
    assert parent.metrics["best_trial_val_loss"] == pytest.approx(
        min(c.data.metrics["val_loss"] for c in children)
    )


def test_train_restores_the_best_weights(
    prefect_harness, active_run, trained, tiny_config, tmp_path
):
    _, data, _ = trained
    model = train(data, Architecture(units=8), tiny_config, tmp_path).model
    run = mlflow.get_run(active_run.info.run_id).data
    val_loss = model.evaluate(data.x_validation, data.y_validation, verbose=0)
    assert val_loss == pytest.approx(run.metrics["final_val_loss"], rel=1e-4)
    curve = mlflow.MlflowClient().get_metric_history(active_run.info.run_id, "train_val_loss")
    assert min(m.value for m in curve) == pytest.approx(val_loss, rel=1e-4)


def test_seed_ensemble_is_one_exportable_model(trained, tmp_path):
    from lstm_model.delivery.export import export_saved_model, load_window_predictor

    _, data, _ = trained
    config = TrainingConfig(epochs=2, patience=1, ensemble_size=2)
    final = train_ensemble(data, Architecture(units=4), config, seed=1)
    assert final.seeds == [1, 2] and len(final.member_val_losses) == 2
    model = final.model
    assert model.inputs[0].name == INPUT_NAME
    members = [layer for layer in model.layers if layer.name.startswith("member_")]
    expected = np.mean([m.predict(data.x_test, verbose=0) for m in members], axis=0)
    np.testing.assert_allclose(model.predict(data.x_test, verbose=0), expected, rtol=1e-5)
    predict, _ = load_window_predictor(export_saved_model(model, data.transform, tmp_path / "e"))
    np.testing.assert_allclose(predict(data.x_test), expected.reshape(-1), rtol=1e-4, atol=1e-6)
