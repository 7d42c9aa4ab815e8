"""The calibrate, evaluate, diagnose, compare and bless tasks: intervals, the backtest's
leaderboard, the statistical tests and the blessing gate."""

from __future__ import annotations

import mlflow
import numpy as np
import pytest
from conftest import PATH_HORIZON as HORIZON
from mlflow import MlflowClient

from lstm_model.config import PipelineConfig
from lstm_model.delivery.pyfunc import log_forecaster
from lstm_model.delivery.registry import promote
from lstm_model.evaluation.baselines import METHODS
from tasks.delivery import export, register
from tasks.evaluation import bless_challenger, calibrate, compare, diagnose, evaluate

SMALL = PipelineConfig()


def test_intervals_are_calibrated_on_validation_and_checked_on_the_backtest(
    prefect_harness, active_run, trained_paths, tmp_path
):
    model, data, analysis = trained_paths
    intervals = calibrate(model, data, SMALL)
    # Step k has one error per validation row (paths from origins before the part too).
    validation_rows = data.bounds.validation[1] - data.bounds.validation[0]
    assert intervals.calibration_sizes == (validation_rows,) * HORIZON
    evaluation = evaluate(model, data, analysis, intervals, SMALL, tmp_path)
    logged = mlflow.get_run(active_run.info.run_id).data.metrics
    for level in ("80", "95"):
        assert 0 <= logged[f"test/coverage_{level}"] <= 1
        assert logged[f"test/width_{level}"] > 0
    assert logged["test/width_95"] >= logged["test/width_80"]
    history = MlflowClient().get_metric_history(active_run.info.run_id, "test/mase_by_step")
    assert [m.step for m in history] == list(range(1, HORIZON + 1))
    assert [m.value for m in history] == pytest.approx(evaluation.by_step["model"]["mase"])


def test_evaluate_and_diagnose_log_leaderboard_diagnostics_and_plots(
    prefect_harness, active_run, trained_paths, tmp_path
):
    model, data, analysis = trained_paths
    intervals = calibrate(model, data, SMALL)
    evaluation = evaluate(model, data, analysis, intervals, SMALL, tmp_path)
    assert set(evaluation.metrics) == {"model", *METHODS}
    # Every test origin with a whole path, the same origins and targets for every forecaster.
    start, stop = data.bounds.test
    np.testing.assert_array_equal(evaluation.origins, np.arange(start, stop - HORIZON + 1))
    assert all(f.shape == (len(evaluation.origins), HORIZON) for f in evaluation.forecasts.values())
    last = data.values[evaluation.origins - 1]
    raw_naive = np.mean(np.abs(evaluation.actual - last[:, np.newaxis]))
    assert evaluation.metrics["naive"]["mae"] == pytest.approx(raw_naive)
    board = evaluation.leaderboard()
    assert [row["mse"] for row in board] == sorted(row["mse"] for row in board)
    assert set(board[0]) == {"model", "mse", "rmse", "mae", "r2", "smape", "mase"}
    diagnose(model, data, SMALL, tmp_path)

    run_id = active_run.info.run_id
    logged = mlflow.get_run(run_id).data.metrics
    for name in ("model", *METHODS):
        for metric in ("mse", "rmse", "mae", "r2", "smape", "mase"):
            key = "test" if name == "model" else f"baseline/{name}"
            assert np.isfinite(logged[f"{key}/{metric}"])
    for key in ("ljung_box_pvalue", "normality_pvalue", "std"):
        assert 0 <= logged[f"diagnostics/residual_{key}"] < np.inf
    client = MlflowClient()
    plots = {a.path for a in client.list_artifacts(run_id, "plots")}
    assert {"plots/mase_by_step.png", "plots/residuals.png", "plots/sensitivity.png"} <= plots
    table = mlflow.load_table("evaluation/leaderboard.json", run_ids=[run_id])
    assert len(table) == 1 + len(METHODS)
    assert list(table["model"]) == [row["model"] for row in board]
    sensitivity = mlflow.load_table("diagnostics/sensitivity.json", run_ids=[run_id])
    assert list(sensitivity["lag"]) == list(range(data.transform.lookback, 0, -1))


def test_compare_bless_register_without_and_with_champion(
    prefect_harness, active_run, trained_paths, tmp_path
):
    model, data, analysis = trained_paths
    config = SMALL.with_overrides(registry__model_name="compare-test")
    intervals = calibrate(model, data, config)
    evaluation = evaluate(model, data, analysis, intervals, config, tmp_path)
    first = compare(evaluation, data, config)
    assert first.champion is None
    assert first.best_baseline.opponent == evaluation.best_baseline()
    decision = bless_challenger(evaluation, first, config)
    expected = evaluation.metrics["model"]["mse"] < evaluation.metrics["seasonal_naive"]["mse"]
    assert decision.blessed is expected
    run = mlflow.get_run(active_run.info.run_id).data
    assert run.tags["blessed"] == str(expected).lower() and run.tags["blessing_reason"]
    assert "compare/best_baseline/dm_squared_p" in run.metrics
    assert "compare/best_baseline/ttest_absolute_p" in run.metrics

    saved = export(model, data.transform, data.values, intervals, tmp_path / "export")
    version = log_forecaster(
        saved, "compare-test", data.values[:20], {"blessed": "true", "blessing_reason": "test"}
    )
    promote("compare-test", version.version, "test")
    comparison = compare(evaluation, data, config)
    # The same model as champion: identical paths, so not significantly better.
    vs = comparison.champion
    assert vs.n_points == len(evaluation.origins)
    assert vs.opponent_mse == pytest.approx(vs.challenger_mse, rel=1e-4)
    decision = bless_challenger(evaluation, comparison, config)
    assert not decision.blessed and not decision.checks["champion"]
    run = mlflow.get_run(active_run.info.run_id).data
    assert run.tags["compared_champion_version"] == str(version.version)
    for key in ("dm_squared_p", "dm_absolute_stat", "ttest_squared_p", "opponent_mse"):
        assert f"compare/champion/{key}" in run.metrics
    assert run.tags["blessed"] == "false" and "champion v" in run.tags["blessing_reason"]

    registered = register(saved, "compare-test", data, decision)
    tags = MlflowClient().get_model_version("compare-test", registered.version).tags
    assert tags["blessed"] == "false" and tags["blessing_reason"] == decision.reason
    aliases = MlflowClient().get_registered_model("compare-test").aliases
    assert str(aliases["champion"]) == str(version.version)  # not blessed: champion stays
