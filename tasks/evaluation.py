"""Prefect tasks: test-part leaderboard against baselines, diagnostics, statistical comparison."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import keras
import mlflow
import numpy as np
import pandas as pd
from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from lstm_model.analysis.decisions import SeriesAnalysis
from lstm_model.config import PipelineConfig
from lstm_model.delivery.pyfunc import OUTPUT_COLUMN, history_frame
from lstm_model.delivery.registry import champion_version
from lstm_model.evaluation.baselines import baseline_forecasts
from lstm_model.evaluation.comparison import Comparison, compare_forecasts
from lstm_model.evaluation.diagnostics import (
    perturbation_sensitivity,
    plot_residuals,
    plot_sensitivity,
    residual_diagnostics,
)
from lstm_model.evaluation.metrics import TestEvaluation, evaluate_on_test, plot_forecast
from lstm_model.modeling.forecast import one_step_forecasts
from lstm_model.modeling.transform import PreparedData


def _predictor(model: keras.Model):
    return lambda windows: model.predict(windows, batch_size=1024, verbose=0)


def _target(values: np.ndarray) -> np.ndarray:
    """The target column of a (n,) or (n, 1 + k) series."""
    values = np.asarray(values, dtype=float)
    return values[:, 0] if values.ndim == 2 else values


@task(name="evaluate", cache_policy=NO_CACHE)
def evaluate(
    model: keras.Model,
    data: PreparedData,
    analysis: SeriesAnalysis,
    timestamps: pd.Series,
    work_dir: Path,
    config: PipelineConfig | None = None,
) -> TestEvaluation:
    """One-step forecasts on the test part in original units, with every baseline on the same
    points; the leaderboard goes to MLflow (table + metrics) and to a Prefect table artifact."""
    config = config or PipelineConfig()
    forecasts = one_step_forecasts(_predictor(model), data.transform, data.values)[:-1]
    targets = np.arange(*data.bounds.test)
    target = _target(data.values)
    baselines = baseline_forecasts(
        target,
        targets,
        data.bounds.train[1],
        analysis.season,
        analysis.differencing,
        config.evaluation,
    )
    evaluation = evaluate_on_test(
        target,
        data.bounds.test,
        forecasts,
        data.bounds.train[1],
        analysis.season,
        baselines.forecasts,
        baselines.notes,
    )
    mlflow.log_metrics(evaluation.flat_metrics())
    leaderboard = evaluation.leaderboard()
    mlflow.log_table(pd.DataFrame(leaderboard), "evaluation/leaderboard.json")
    mlflow.log_dict(baselines.notes, "evaluation/baseline_notes.json")
    if "arima" in baselines.notes:
        mlflow.set_tag("arima_order", baselines.notes["arima"])
    plot = plot_forecast(
        np.asarray(timestamps)[evaluation.targets],
        evaluation.actual,
        {"LSTM" if k == "model" else k: v for k, v in evaluation.forecasts.items()},
        work_dir / "plots" / "predicted_vs_actual.png",
    )
    mlflow.log_artifact(str(plot), "plots")
    table = [
        {key: round(value, 6) if isinstance(value, float) else value for key, value in row.items()}
        for row in leaderboard
    ]
    create_table_artifact(
        table,
        key="leaderboard",
        description="Test-part one-step forecasts in original units, best MSE first. "
        + "; ".join(f"{k}: {v}" for k, v in baselines.notes.items()),
    )
    get_run_logger().info("leaderboard: %s", [(r["model"], round(r["rmse"], 4)) for r in table])
    return evaluation


@task(name="diagnose", cache_policy=NO_CACHE)
def diagnose(
    model: keras.Model,
    data: PreparedData,
    evaluation: TestEvaluation,
    config: PipelineConfig,
    work_dir: Path,
) -> None:
    """Residual tests and plots, and the perturbation sensitivity of every lookback step."""
    residuals = evaluation.errors()
    diagnostics = residual_diagnostics(residuals, config.evaluation.ljung_box_lags)
    mlflow.log_metrics(diagnostics.metrics())
    mlflow.log_dict(diagnostics.to_dict(), "diagnostics/residuals.json")
    plot = plot_residuals(
        residuals,
        evaluation.forecasts["model"],
        diagnostics,
        work_dir / "plots" / "residuals.png",
    )
    mlflow.log_artifact(str(plot), "plots")

    sensitivity = perturbation_sensitivity(
        _predictor(model), data.x_test, data.transform.scale, config.evaluation.sensitivity_delta
    )
    mlflow.log_table(pd.DataFrame(sensitivity.rows()), "diagnostics/sensitivity.json")
    plot = plot_sensitivity(sensitivity, work_dir / "plots" / "sensitivity.png")
    mlflow.log_artifact(str(plot), "plots")
    create_table_artifact(
        [
            {k: round(v, 6) if isinstance(v, float) else v for k, v in r.items()}
            for r in sensitivity.rows()
        ],
        key="sensitivity",
        description=f"Mean change of the forecast when one lookback step is shifted by "
        f"{sensitivity.delta:g} training sd",
    )
    get_run_logger().info(
        "residuals: Ljung-Box p=%.3g, Shapiro-Wilk p=%.3g; most sensitive lag %d",
        diagnostics.ljung_box_pvalue,
        diagnostics.normality_pvalue,
        sensitivity.lags[int(np.argmax(sensitivity.mean_abs_change))],
    )


@dataclass(frozen=True)
class Comparisons:
    """The challenger against the best baseline, and against the champion when there is one."""

    best_baseline: Comparison
    champion: Comparison | None
    champion_version: str | None


@task(name="compare", cache_policy=NO_CACHE)
def compare(evaluation: TestEvaluation, data: PreparedData, config: PipelineConfig) -> Comparisons:
    """Paired t-test and Diebold–Mariano (HLN), squared and absolute errors, one-sided: the
    challenger against the best baseline and against the current champion, same test points."""
    logger = get_run_logger()
    best = evaluation.best_baseline()
    vs_baseline = compare_forecasts(evaluation.errors(), evaluation.errors(best), best)
    mlflow.log_metrics(vs_baseline.metrics("baseline"))
    mlflow.set_tag("best_baseline", best)
    mlflow.log_dict(vs_baseline.to_dict(), "comparison/best_baseline.json")

    champion = champion_version(config.registry.model_name)
    if champion is None:
        logger.info("no champion for %r yet: nothing to compare", config.registry.model_name)
        mlflow.set_tag("comparison", "no champion")
        return Comparisons(vs_baseline, None, None)
    champion_model = mlflow.pyfunc.load_model(
        f"models:/{config.registry.model_name}/{champion.version}"
    )
    history = history_frame(data.values, getattr(data.transform, "columns", None))
    champion_forecasts = champion_model.predict(history)[OUTPUT_COLUMN]
    # A champion with a longer window may lack forecasts for the first test points (NaN):
    # compare_forecasts keeps the points both have.
    champion_errors = evaluation.actual - champion_forecasts.to_numpy()[evaluation.targets]
    vs_champion = compare_forecasts(
        evaluation.errors(), champion_errors, f"champion v{champion.version}"
    )
    statistic, p_value = vs_champion.tests[("paired_t", "squared")]
    mlflow.log_metrics(
        {
            **vs_champion.metrics("champion"),
            "ttest_statistic": statistic,
            "ttest_pvalue": p_value,
            "ttest_points": vs_champion.n_points,
        }
    )
    mlflow.set_tags({"compared_champion_version": champion.version, "comparison": "compared"})
    mlflow.log_dict(vs_champion.to_dict(), "comparison/champion.json")
    logger.info(
        "vs champion v%s: MSE %.4g vs %.4g, DM p=%.3g",
        champion.version,
        vs_champion.challenger_mse,
        vs_champion.opponent_mse,
        vs_champion.p_value("diebold_mariano", "squared"),
    )
    return Comparisons(vs_baseline, vs_champion, champion.version)
