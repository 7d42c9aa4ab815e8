"""Prefect tasks: test-part evaluation against baselines; the paired t-test against the champion."""

from __future__ import annotations

from pathlib import Path

import keras
import mlflow
import numpy as np
import pandas as pd
from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from lstm_model.analysis import SeriesAnalysis
from lstm_model.config import PipelineConfig
from lstm_model.evaluation import (
    ChampionComparison,
    TestEvaluation,
    compare_with_champion,
    evaluate_on_test,
    plot_forecast,
)
from lstm_model.forecast import one_step_forecasts
from lstm_model.preprocess import PreparedData
from lstm_model.serving import OUTPUT_COLUMN, history_frame
from lstm_model.tracking import champion_version


@task(name="evaluate", cache_policy=NO_CACHE)
def evaluate(
    model: keras.Model,
    data: PreparedData,
    analysis: SeriesAnalysis,
    timestamps: pd.Series,
    work_dir: Path,
) -> TestEvaluation:
    """One-step forecasts on the test part in original units, scored with the baselines."""
    forecasts = one_step_forecasts(
        lambda windows: model.predict(windows, batch_size=1024, verbose=0),
        data.transform,
        data.values,
    )[:-1]
    evaluation = evaluate_on_test(
        data.values, data.bounds.test, forecasts, data.bounds.train[1], analysis.season
    )
    mlflow.log_metrics(evaluation.flat_metrics())
    names = {
        "model": "LSTM",
        "naive": "naive",
        "seasonal_naive": f"seasonal naive ({analysis.season})",
    }
    plot = plot_forecast(
        np.asarray(timestamps)[evaluation.targets],
        evaluation.actual,
        {names[k]: v for k, v in evaluation.forecasts.items()},
        work_dir / "plots" / "predicted_vs_actual.png",
    )
    mlflow.log_artifact(str(plot), "plots")
    table = [
        {"forecaster": names[k], **{m: round(v, 6) for m, v in metrics.items()}}
        for k, metrics in evaluation.metrics.items()
    ]
    create_table_artifact(
        table, key="test-metrics", description="Test-part metrics, original units"
    )
    get_run_logger().info("test metrics: %s", table)
    return evaluation


@task(name="compare", cache_policy=NO_CACHE)
def compare(
    evaluation: TestEvaluation, data: PreparedData, config: PipelineConfig
) -> ChampionComparison | None:
    """Paired t-test of squared errors against the current champion on the same test points.

    Returns:
        None when the model name has no champion yet.
    """
    logger = get_run_logger()
    champion = champion_version(config.registry.model_name)
    if champion is None:
        logger.info("no champion for %r yet: nothing to compare", config.registry.model_name)
        mlflow.set_tag("comparison", "no champion")
        return None
    champion_model = mlflow.pyfunc.load_model(
        f"models:/{config.registry.model_name}/{champion.version}"
    )
    champion_forecasts = champion_model.predict(history_frame(data.values))[OUTPUT_COLUMN]
    champion_errors = evaluation.actual - champion_forecasts.to_numpy()[evaluation.targets]
    # A champion with a longer window may lack forecasts for the first test points.
    common = ~np.isnan(champion_errors)
    comparison = compare_with_champion(
        evaluation.errors()[common],
        champion_errors[common],
        champion.version,
        config.registry.significance,
    )
    mlflow.log_metrics(
        {
            "champion_mse": comparison.champion_mse,
            "ttest_statistic": comparison.statistic,
            "ttest_pvalue": comparison.p_value,
            "ttest_points": comparison.n_points,
        }
    )
    mlflow.set_tags(
        {
            "comparison": "challenger wins" if comparison.challenger_wins else "champion holds",
            "compared_champion_version": champion.version,
            "comparison_reason": comparison.reason,
        }
    )
    mlflow.log_dict(comparison.to_dict(), "comparison/ttest.json")
    logger.info("champion comparison: %s", comparison.reason)
    return comparison
