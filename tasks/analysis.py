"""Prefect task: statistical analysis of the training part."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from lstm_model.analysis import SeriesAnalysis, analyze_series, plot_correlograms
from lstm_model.config import PipelineConfig
from lstm_model.preprocess import chronological_split


@task(name="analyze", cache_policy=NO_CACHE)
def analyze(
    values: np.ndarray, frequency: str | None, config: PipelineConfig, work_dir: Path
) -> SeriesAnalysis:
    """ADF/KPSS, ACF/PACF on the training part; logs decisions, p-values and plots to MLflow.

    Only the training part is looked at: the decisions are part of the model, and fitting them
    on validation or test values would leak the future.
    """
    bounds = chronological_split(
        len(values), config.split.validation_fraction, config.split.test_fraction
    )
    analysis = analyze_series(values[slice(*bounds.train)], frequency, config.analysis)
    mlflow.log_params(
        {
            "differencing": analysis.differencing,
            "season": analysis.season,
            "lookback": analysis.lookback,
            "frequency": frequency or "irregular",
        }
    )
    for check in analysis.checks:
        mlflow.log_metrics(
            {
                f"adf_pvalue_d{check.order}": check.adf_pvalue,
                f"kpss_pvalue_d{check.order}": check.kpss_pvalue,
            }
        )
    mlflow.log_dict(analysis.to_dict(), "analysis/analysis.json")
    for path in plot_correlograms(analysis, work_dir / "analysis"):
        mlflow.log_artifact(str(path), "analysis")
    summary = (
        f"differencing d={analysis.differencing}, season={analysis.season}, "
        f"lookback={analysis.lookback} ({'; '.join(analysis.notes)})"
    )
    get_run_logger().info("analysis: %s", summary)
    rows = "\n".join(
        f"| {c.order} | {c.adf_pvalue:.4f} | {c.kpss_pvalue:.4f} | {c.stationary} |"
        for c in analysis.checks
    )
    create_markdown_artifact(
        key="series-analysis",
        markdown=f"## Series analysis\n\n{summary}\n\n| d | ADF p | KPSS p | stationary |\n"
        f"|---|---|---|---|\n{rows}\n",
        description="Differencing, season and lookback chosen from the training part",
    )
    return analysis
