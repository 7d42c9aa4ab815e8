"""Prefect task: statistical analysis of the training part."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from lstm_model.analysis.candidates import candidate_preprocessings
from lstm_model.analysis.decisions import SeriesAnalysis, analyze_series, statistics_window
from lstm_model.analysis.plots import plot_correlograms, plot_decomposition
from lstm_model.config import PipelineConfig
from lstm_model.data.values import TimeSeries
from lstm_model.modeling.preparation import chronological_split
from lstm_model.modeling.selection import select_preprocessing
from lstm_model.progress import stage


@task(name="analyze", cache_policy=NO_CACHE)
def analyze(series: TimeSeries, config: PipelineConfig, work_dir: Path) -> SeriesAnalysis:
    """Box-Cox, ADF/KPSS, season, STL strength, ACF/PACF and Ljung-Box on the training part's
    target, then the tests' preprocessing checked against its alternatives on validation folds.

    The statistics look at the training part only, and the candidate comparison at training and
    validation rows (never the test part): the decisions are part of the model, and fitting them
    on later values would leak the future. Logs the final decisions as params, every p-value as
    a metric, ``analysis/analysis.json``, ``analysis/candidates.json`` and the ACF, PACF and STL
    plots; warnings (e.g. white noise) go to the log and to the ``analysis_warning`` tag.

    Args:
        series: The validated series: the tests read its target and frequency, the candidate
            comparison every column.
        config: The pipeline configuration (split fractions and analysis knobs).
        work_dir: Scratch folder for the plots.

    Returns:
        The analysis.
    """
    stage("analyze")
    target = series.target
    bounds = chronological_split(
        len(target), config.split.validation_fraction, config.split.test_fraction
    )
    train = target[slice(*bounds.train)]
    tested = analyze_series(train, series.frequency, config.analysis)
    selection = select_preprocessing(
        series.values,
        bounds,
        tested.season,
        candidate_preprocessings(train, tested, config.analysis),
        config.analysis.candidate_folds,
        config.seed,
        config.analysis.candidate_epochs,
        config.tuning.linear_skip,
        config.tuning.linear_start,
    )
    analysis = tested.with_preprocessing(selection.chosen, selection.reason)
    mlflow.log_params(
        {
            "box_cox_lambda": analysis.box_cox_lambda,
            "differencing": analysis.differencing,
            "seasonal_differencing": analysis.seasonal_differencing,
            "season": analysis.season,
            "lookback": analysis.lookback,
            "frequency": series.frequency or "irregular",
        }
    )
    mlflow.log_table(pd.DataFrame(selection.rows()), "analysis/candidates.json")
    metrics: dict[str, float] = {}
    if analysis.ljung_box_pvalue is not None:  # always measured by analyze_series
        metrics["analysis/series_ljung_box_pvalue"] = analysis.ljung_box_pvalue
    if analysis.guerrero_lambda is not None:
        metrics["analysis/guerrero_lambda"] = analysis.guerrero_lambda
    if analysis.seasonal_strength is not None:
        metrics["analysis/seasonal_strength"] = analysis.seasonal_strength
    if analysis.periodogram_period is not None:
        metrics["analysis/periodogram_period"] = analysis.periodogram_period
    for check in analysis.checks:
        suffix = f"d{check.order}" + ("_D1" if check.seasonal_differencing else "")
        metrics[f"analysis/adf_pvalue_{suffix}"] = check.adf_pvalue
        metrics[f"analysis/kpss_pvalue_{suffix}"] = check.kpss_pvalue
    mlflow.log_metrics(metrics)
    mlflow.log_dict(analysis.to_dict(), "analysis/analysis.json")
    plots = plot_correlograms(analysis, work_dir / "analysis")
    window = statistics_window(train, config.analysis)
    plots.append(plot_decomposition(window, analysis.season, work_dir / "analysis"))
    for path in plots:
        mlflow.log_artifact(str(path), "analysis")
    logger = get_run_logger()
    scale = (
        "original scale"
        if analysis.box_cox_lambda is None
        else (f"Box-Cox lambda={analysis.box_cox_lambda:.2f}")
    )
    summary = (
        f"{scale}, d={analysis.differencing}, D={analysis.seasonal_differencing}, "
        f"season={analysis.season}, lookback={analysis.lookback}"
    )
    logger.info("analysis: %s (%s)", summary, "; ".join(analysis.notes))
    mlflow.set_tag("white_noise", str(analysis.white_noise).lower())
    if analysis.warnings:
        for warning in analysis.warnings:
            logger.warning("analysis %s", warning)
        mlflow.set_tag("analysis_warning", " | ".join(analysis.warnings)[:5000])
    create_markdown_artifact(
        key="series-analysis", markdown=_markdown(analysis, summary, selection)
    )
    return analysis


def _markdown(analysis: SeriesAnalysis, summary: str, selection) -> str:
    rows = "\n".join(
        f"| {c.seasonal_differencing} | {c.order} | {c.adf_pvalue:.4f} | {c.kpss_pvalue:.4f} "
        f"| {c.verdict} |"
        for c in analysis.checks
    )
    notes = "\n".join(f"- {note}" for note in analysis.notes)
    candidates = "\n".join(
        f"| {row['candidate']} | {row['validation_mae']:.4g} | {'yes' if row['chosen'] else ''} |"
        for row in selection.rows()
    )
    return (
        f"## Series analysis\n\n**{summary}**\n\n{notes}\n\n"
        f"| D | d | ADF p | KPSS p | verdict |\n|---|---|---|---|---|\n{rows}\n\n"
        "### Candidate preprocessings (validation MAE, original units)\n\n"
        f"| candidate | MAE | chosen |\n|---|---|---|\n{candidates}\n"
    )
