"""The evaluate and compare tasks: original-unit metrics, baselines, the paired t-test."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from lstm_model.config import PipelineConfig
from lstm_model.evaluation import (
    compare_with_champion,
    forecast_metrics,
    naive_forecast,
    seasonal_naive_forecast,
)
from lstm_model.forecast import one_step_forecasts
from lstm_model.preprocess import SeriesTransform
from lstm_model.tracking import log_forecaster, promote
from tasks.evaluation import compare, evaluate
from tasks.export import export


def test_metrics_on_known_values():
    actual = np.array([1.0, 2.0, 3.0, 4.0])
    predicted = np.array([1.0, 2.0, 2.0, 6.0])
    train = np.array([0.0, 1.0, 3.0, 6.0])  # naive in-sample MAE = (1 + 2 + 3) / 3 = 2
    m = forecast_metrics(actual, predicted, train)
    assert m["mse"] == pytest.approx(5 / 4)
    assert m["rmse"] == pytest.approx(np.sqrt(5 / 4))
    assert m["mae"] == pytest.approx(3 / 4)
    assert m["r2"] == pytest.approx(1 - 5 / 5)
    assert m["mase"] == pytest.approx((3 / 4) / 2)
    seasonal = forecast_metrics(actual, predicted, np.array([0.0, 5.0, 2.0, 9.0]), season=2)
    assert seasonal["mase"] == pytest.approx((3 / 4) / 3)


def test_baselines():
    values = np.arange(20.0)
    targets = np.array([15, 16])
    np.testing.assert_array_equal(naive_forecast(values, targets), [14, 15])
    np.testing.assert_array_equal(seasonal_naive_forecast(values, targets, 12), [3, 4])
    np.testing.assert_array_equal(seasonal_naive_forecast(values, targets, 1), [14, 15])


def test_one_step_forecasts_use_only_earlier_values():
    transform = SeriesTransform(differencing=1, lookback=3, mean=0.0, scale=1.0)
    values = np.random.default_rng(0).normal(size=30).cumsum()
    # A "model" that returns the mean of its window: any function of the past will do.
    forecasts = one_step_forecasts(lambda w: w.mean(axis=(1, 2)), transform, values)
    assert np.isnan(forecasts[:4]).all() and not np.isnan(forecasts[4:]).any()
    changed = values.copy()
    changed[20:] += 100
    np.testing.assert_allclose(
        one_step_forecasts(lambda w: w.mean(axis=(1, 2)), transform, changed)[:21], forecasts[:21]
    )
    expected_t10 = values[9] + np.diff(values)[6:9].mean()
    assert forecasts[10] == pytest.approx(expected_t10)


def test_paired_ttest_matches_scipy_and_decides():
    rng = np.random.default_rng(1)
    champion = rng.normal(0, 1.0, 60)
    challenger = champion * 0.5 + rng.normal(0, 0.05, 60)
    result = compare_with_champion(challenger, champion, "1", 0.05)
    expected = stats.ttest_rel(challenger**2, champion**2)
    assert result.statistic == pytest.approx(expected.statistic)
    assert result.p_value == pytest.approx(expected.pvalue)
    assert result.challenger_wins and result.p_value < 0.05
    worse = compare_with_champion(champion, challenger, "1", 0.05)
    assert not worse.challenger_wins and "not lower" in worse.reason
    noisy = compare_with_champion(champion + rng.normal(0, 0.01, 60), champion, "1", 1e-12)
    assert not noisy.challenger_wins
    same = compare_with_champion(champion, champion, "1", 0.05)
    assert same.p_value == 1.0 and not same.challenger_wins


def test_evaluate_task_logs_metrics_and_plot(prefect_harness, active_run, trained, tmp_path):
    model, data, analysis = trained
    timestamps = pd.Series(pd.date_range("2000-01-01", periods=len(data.values), freq="MS"))
    evaluation = evaluate(model, data, analysis, timestamps, tmp_path)
    assert set(evaluation.metrics) == {"model", "naive", "seasonal_naive"}
    np.testing.assert_array_equal(evaluation.targets, np.arange(*data.bounds.test))
    # Metrics are in original units: the naive baseline's error is the raw step size.
    raw_naive = np.mean(np.abs(np.diff(data.values)[data.bounds.test[0] - 1 :]))
    assert evaluation.metrics["naive"]["mae"] == pytest.approx(raw_naive)
    logged = mlflow.get_run(active_run.info.run_id).data.metrics
    for key in (
        "model_mse",
        "model_rmse",
        "model_mae",
        "model_r2",
        "model_mase",
        "naive_mase",
        "seasonal_naive_rmse",
    ):
        assert key in logged
    artifacts = mlflow.MlflowClient().list_artifacts(active_run.info.run_id, "plots")
    assert "plots/predicted_vs_actual.png" in {a.path for a in artifacts}


def test_compare_task_without_and_with_champion(prefect_harness, active_run, trained, tmp_path):
    model, data, analysis = trained
    timestamps = pd.Series(pd.date_range("2000-01-01", periods=len(data.values), freq="MS"))
    config = PipelineConfig().with_overrides(registry__model_name="compare-test")
    evaluation = evaluate(model, data, analysis, timestamps, tmp_path)
    assert compare(evaluation, data, config) is None

    saved = export(model, data, tmp_path / "export")
    version = log_forecaster(saved, "compare-test", data.values[:20])
    promote("compare-test", version.version, "test")
    comparison = compare(evaluation, data, config)
    # The same model as champion: identical errors, nothing to promote.
    assert comparison.n_points == len(evaluation.targets)
    assert comparison.champion_mse == pytest.approx(comparison.challenger_mse, rel=1e-5)
    assert not comparison.challenger_wins
    run = mlflow.get_run(active_run.info.run_id)
    assert "ttest_pvalue" in run.data.metrics
    assert run.data.tags["comparison"] == "champion holds"
