"""Prefect tasks of the evaluation stage: test-part leaderboard against baselines, diagnostics,
statistical comparison with the best baseline and the champion, and the blessing gate."""

from __future__ import annotations

import functools
from pathlib import Path

import keras
import mlflow
import numpy as np
import pandas as pd
from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from lstm_model.analysis.decisions import SeriesAnalysis
from lstm_model.config import PipelineConfig
from lstm_model.data.values import TimeSeries
from lstm_model.delivery.pyfunc import champion_forecasts
from lstm_model.evaluation.baselines import STATISTICAL, baseline_forecasts
from lstm_model.evaluation.blessing import BlessingDecision, bless
from lstm_model.evaluation.comparison import (
    Comparisons,
    compare_with_best_baseline,
    compare_with_champion,
)
from lstm_model.evaluation.diagnostics import (
    perturbation_sensitivity,
    plot_residuals,
    plot_sensitivity,
    residual_diagnostics,
)
from lstm_model.evaluation.metrics import TestEvaluation, evaluate_on_test, plot_forecast
from lstm_model.modeling.fitting import predict_windows
from lstm_model.modeling.forecast import one_step_forecasts
from lstm_model.modeling.preparation import PreparedData
from lstm_model.progress import stage


def _target(values: np.ndarray) -> np.ndarray:
    """The target column of a (n,) or (n, 1 + k) series."""
    values = np.asarray(values, dtype=float)
    return values[:, 0] if values.ndim == 2 else values


@task(name="evaluate", cache_policy=NO_CACHE)
def evaluate(
    model: keras.Model,
    data: PreparedData,
    analysis: SeriesAnalysis,
    series: TimeSeries,
    config: PipelineConfig,
    work_dir: Path,
) -> TestEvaluation:
    """One-step forecasts on the test part in original units, with every baseline on the same
    points; the leaderboard goes to MLflow (table + metrics) and to a Prefect table artifact."""
    stage("evaluate")
    predict = functools.partial(predict_windows, model)
    forecasts = one_step_forecasts(predict, data.transform, data.values)[:-1]
    targets = np.arange(*data.bounds.test)
    target = _target(data.values)
    baselines = baseline_forecasts(
        target,
        targets,
        data.bounds.train[1],
        analysis.season,
        config.evaluation.baselines,
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
    for name in STATISTICAL:
        if name in baselines.forecasts:
            mlflow.set_tag(f"baseline_{name}", baselines.notes[name][:250])
    plot = plot_forecast(
        np.asarray(series.timestamps)[evaluation.targets],
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
    stage("diagnose")
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
        functools.partial(predict_windows, model),
        data.x_test,
        data.transform.scale,
        config.evaluation.sensitivity_delta,
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


@task(name="compare", cache_policy=NO_CACHE)
def compare(evaluation: TestEvaluation, data: PreparedData, config: PipelineConfig) -> Comparisons:
    """Paired t-test and Diebold–Mariano (HLN), squared and absolute errors, one-sided: the
    challenger against the best baseline and against the current champion, same test points."""
    stage("compare")
    logger = get_run_logger()
    vs_baseline = compare_with_best_baseline(evaluation)
    mlflow.log_metrics(vs_baseline.metrics("compare/best_baseline"))
    mlflow.set_tag("best_baseline", vs_baseline.opponent)
    mlflow.log_dict(vs_baseline.to_dict(), "comparison/best_baseline.json")

    name = config.registry.model_name
    champion = champion_forecasts(name, data.values, data.transform.columns)
    if champion is None:
        logger.info("no champion for %r yet: nothing to compare", name)
        mlflow.set_tag("comparison", "no champion")
        return Comparisons(vs_baseline, None, None)
    vs_champion = compare_with_champion(evaluation, champion.forecasts, champion.version)
    mlflow.log_metrics(vs_champion.metrics("compare/champion"))
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


@task(name="bless", cache_policy=NO_CACHE)
def bless_challenger(
    evaluation: TestEvaluation, comparisons: Comparisons, config: PipelineConfig
) -> BlessingDecision:
    """Apply the blessing policy; the decision and its reason in words become run tags."""
    stage("bless")
    decision = bless(
        evaluation.metrics["model"]["mse"],
        evaluation.metrics["seasonal_naive"]["mse"],
        comparisons.best_baseline,
        comparisons.champion,
        config.blessing,
    )
    mlflow.set_tags(
        {
            "blessed": str(decision.blessed).lower(),
            "blessing_reason": decision.reason[:5000],
            **{f"blessing_check_{k}": str(v).lower() for k, v in decision.checks.items()},
        }
    )
    mlflow.log_dict(decision.to_dict(), "comparison/blessing.json")
    create_markdown_artifact(
        key="blessing",
        markdown=_blessing_markdown(evaluation, comparisons, decision),
        description="Test-part comparison and the blessing decision, check by check",
    )
    get_run_logger().info(decision.reason)
    return decision


def _blessing_markdown(
    evaluation: TestEvaluation, comparisons: Comparisons, decision: BlessingDecision
) -> str:
    """The comparison table (best test MSE first) and each blessing check, in order."""
    rows = [
        f"| {rank} | {'**LSTM**' if row['model'] == 'model' else row['model']} "
        f"| {row['mse']:.4g} | {row['rmse']:.4g} |"
        for rank, row in enumerate(evaluation.leaderboard(), 1)
    ]
    checks = [
        f"{i}. {'pass' if passed else '**FAIL**'} `{name}`: {why}"
        for i, ((name, passed), why) in enumerate(
            zip(decision.checks.items(), decision.reasons, strict=True), 1
        )
    ]
    champion = comparisons.champion_version
    return "\n".join(
        [
            f"## {'Blessed' if decision.blessed else 'Not blessed'}",
            "",
            f"Champion at the time: {f'v{champion}' if champion else 'none'}; best baseline: "
            f"{comparisons.best_baseline.opponent}.",
            "",
            "| # | forecaster | test MSE | test RMSE |",
            "|---|---|---|---|",
            *rows,
            "",
            "Checks, in order (the first failure decides):",
            "",
            *checks,
        ]
    )
