"""Prefect tasks of the evaluation stage: conformal intervals calibrated on validation, the
rolling-origin backtest against baselines, diagnostics, statistical comparison with the best
baseline and the champion, and the blessing gate."""

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
from lstm_model.delivery.pyfunc import champion_paths
from lstm_model.evaluation.backtest import Backtest, baseline_paths, rolling_origins, score_paths
from lstm_model.evaluation.baselines import STATISTICAL
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
from lstm_model.evaluation.intervals import (
    ConformalIntervals,
    calibrate_on_validation,
    level_name,
)
from lstm_model.evaluation.metrics import plot_fan_chart, plot_mase_by_step
from lstm_model.modeling.fitting import predict_windows
from lstm_model.modeling.forecast import one_step_forecasts, path_forecasts
from lstm_model.modeling.preparation import PreparedData
from lstm_model.modeling.transform import SeriesTransform
from lstm_model.progress import stage


def interval_metrics(intervals: ConformalIntervals, backtest: Backtest) -> dict[str, float]:
    """``test/coverage_80`` (share of backtest targets inside) and ``test/width_80`` (mean full
    width) per level: calibrated on validation, checked on the test part."""
    coverage = intervals.coverage(backtest.actual, backtest.forecasts["model"])
    widths = intervals.mean_widths(backtest.forecasts["model"])
    metrics = {}
    for level in intervals.levels:
        metrics[f"test/coverage_{level_name(level)}"] = coverage[level]
        metrics[f"test/width_{level_name(level)}"] = widths[level]
    return metrics


@task(name="calibrate intervals", cache_policy=NO_CACHE)
def calibrate(model: keras.Model, data: PreparedData, config: PipelineConfig) -> ConformalIntervals:
    """Conformal interval widths per step from the model's errors on the validation part (paths
    whose step-k target is a validation row, the test part untouched)."""
    stage("calibrate")
    paths = path_forecasts(functools.partial(predict_windows, model), data.transform, data.values)
    intervals = calibrate_on_validation(paths, data, config.forecast.levels)
    mlflow.log_dict(intervals.to_dict(), "evaluation/intervals.json")
    if intervals.undersized:
        get_run_logger().warning(
            "only %d validation errors per step: the %s %% intervals use the largest error "
            "and may cover less than nominal",
            min(intervals.calibration_sizes),
            ", ".join(f"{level:g}" for level in intervals.undersized),
        )
    return intervals


@task(name="evaluate", cache_policy=NO_CACHE)
def evaluate(
    model: keras.Model,
    data: PreparedData,
    analysis: SeriesAnalysis,
    intervals: ConformalIntervals,
    config: PipelineConfig,
    work_dir: Path,
) -> Backtest:
    """Rolling-origin backtest on the test part: the LSTM's h-step paths and every baseline's
    from the same origins, in original units, scored overall and per step, with the interval
    coverage; the leaderboard goes to MLflow (table, metrics, plot) and to a Prefect table."""
    stage("evaluate")
    horizon = data.transform.horizon
    origins = rolling_origins(data.bounds.test, horizon, config.evaluation.backtest_stride)
    paths = path_forecasts(functools.partial(predict_windows, model), data.transform, data.values)
    train_stop = data.bounds.train[1]
    baselines, notes = baseline_paths(
        data.target, train_stop, analysis.season, origins, horizon, config.evaluation.baselines
    )
    backtest = score_paths(
        data.target,
        origins,
        {"model": paths[origins], **baselines},
        train_stop,
        analysis.season,
        notes,
    )
    mlflow.log_metrics(
        {
            **backtest.flat_metrics(),
            **interval_metrics(intervals, backtest),
            "test/paths": len(origins),
        }
    )
    for key, values in backtest.step_metrics("mase").items():
        for step, value in enumerate(values, 1):
            mlflow.log_metric(key, value, step=step)
    leaderboard = backtest.leaderboard()
    mlflow.log_table(pd.DataFrame(leaderboard), "evaluation/leaderboard.json")
    mlflow.log_dict(notes, "evaluation/baseline_notes.json")
    for name in STATISTICAL:
        if name in baselines:
            mlflow.set_tag(f"baseline_{name}", notes[name][:250])
    plot = plot_mase_by_step(
        {name: steps["mase"] for name, steps in backtest.by_step.items()},
        work_dir / "plots" / "mase_by_step.png",
    )
    mlflow.log_artifact(str(plot), "plots")
    table = [
        {key: round(value, 6) if isinstance(value, float) else value for key, value in row.items()}
        for row in leaderboard
    ]
    create_table_artifact(
        table,
        key="leaderboard",
        description=f"Backtest on the test part: {len(origins)} paths of {horizon} steps in "
        "original units, best MSE first. " + "; ".join(f"{k}: {v}" for k, v in notes.items()),
    )
    get_run_logger().info(
        "backtest, %d paths of %d steps: %s",
        len(origins),
        horizon,
        [(r["model"], round(r["rmse"], 4)) for r in table],
    )
    return backtest


@task(name="chart forecast", cache_policy=NO_CACHE)
def chart_forecast(
    model: keras.Model,
    transform: SeriesTransform,
    series: TimeSeries,
    backtest: Backtest,
    intervals: ConformalIntervals,
    work_dir: Path,
) -> None:
    """The fan chart of the shipped model: history, the backtest's one-step forecasts and the
    next h steps with their interval bands (what the SavedModel answers for the data's end)."""
    # The last ``warmup`` rows are the whole history of the path after the data.
    history = series.values[-transform.warmup :]
    path = path_forecasts(functools.partial(predict_windows, model), transform, history)[-1]
    timestamps = np.asarray(series.timestamps)
    shown = slice(max(0, len(timestamps) - max(8 * transform.horizon, 120)), None)
    plot = plot_fan_chart(
        (timestamps[shown], series.target[shown]),
        (timestamps[backtest.origins], backtest.forecasts["model"][:, 0]),
        (np.asarray(series.future_timestamps(transform.horizon)), path),
        intervals.bounds(path),
        work_dir / "plots" / "forecast.png",
    )
    mlflow.log_artifact(str(plot), "plots")


@task(name="diagnose", cache_policy=NO_CACHE)
def diagnose(
    model: keras.Model,
    data: PreparedData,
    config: PipelineConfig,
    work_dir: Path,
) -> None:
    """One-step residual tests and plots, and the sensitivity of every lookback step."""
    stage("diagnose")
    # One-step errors at every test row (not only the backtest's whole-path origins): the
    # residuals a well-specified model leaves uncorrelated.
    predict = functools.partial(predict_windows, model)
    targets = np.arange(*data.bounds.test)
    one_step = one_step_forecasts(predict, data.transform, data.values)[targets]
    residuals = data.target[targets] - one_step
    diagnostics = residual_diagnostics(residuals, config.evaluation.ljung_box_lags)
    mlflow.log_metrics(diagnostics.metrics())
    mlflow.log_dict(diagnostics.to_dict(), "diagnostics/residuals.json")
    plot = plot_residuals(
        residuals,
        one_step,
        diagnostics,
        work_dir / "plots" / "residuals.png",
    )
    mlflow.log_artifact(str(plot), "plots")

    sensitivity = perturbation_sensitivity(
        predict,
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
def compare(evaluation: Backtest, data: PreparedData, config: PipelineConfig) -> Comparisons:
    """Paired t-test and Diebold–Mariano (HLN), squared and absolute errors, one-sided: the
    challenger against the best baseline and against the current champion, same test points."""
    stage("compare")
    logger = get_run_logger()
    vs_baseline = compare_with_best_baseline(evaluation)
    mlflow.log_metrics(vs_baseline.metrics("compare/best_baseline"))
    mlflow.set_tag("best_baseline", vs_baseline.opponent)
    mlflow.log_dict(vs_baseline.to_dict(), "comparison/best_baseline.json")

    name = config.registry.model_name
    champion = champion_paths(name, data.values, data.transform.columns)
    if champion is None:
        logger.info("no champion for %r yet: nothing to compare", name)
        mlflow.set_tag("comparison", "no champion")
        return Comparisons(vs_baseline, None, None)
    vs_champion = compare_with_champion(evaluation, champion.paths, champion.version)
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
    evaluation: Backtest, comparisons: Comparisons, config: PipelineConfig
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
    mlflow.set_tags(decision.run_tags())
    mlflow.log_dict(decision.to_dict(), "comparison/blessing.json")
    create_markdown_artifact(
        key="blessing",
        markdown=_blessing_markdown(evaluation, comparisons, decision),
        description="Test-part comparison and the blessing decision, check by check",
    )
    get_run_logger().info(decision.reason)
    return decision


def _blessing_markdown(
    evaluation: Backtest, comparisons: Comparisons, decision: BlessingDecision
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
