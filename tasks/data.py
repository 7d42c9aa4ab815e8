"""Prefect tasks: load the series (with the ingestion policies) and validate it with GX.

Thin wrappers over ``lstm_model.data.load``, ``lstm_model.data.policies`` and
``lstm_model.data.validation``: they add logging, MLflow artifacts (when a run is active) and
Markdown artifacts. Bad input is not transient, so neither task retries, and neither caches:
the same path may hold different data on the next run.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.data.pandas_dataset import from_pandas
from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from lstm_model.config import PipelineConfig
from lstm_model.data.check import read_series
from lstm_model.data.policies import IngestionReport
from lstm_model.data.validation import ValidationReport, validate_frame
from lstm_model.progress import stage

INGESTION_ARTIFACT_KEY = "data-ingestion"
VALIDATION_ARTIFACT_KEY = "data-validation"


@task(name="load-data", retries=0, cache_policy=NO_CACHE)
def load_data(path: str | Path, config: PipelineConfig) -> tuple[pd.DataFrame, IngestionReport]:
    """Read the series (CSV/Parquet, local or s3://), sort it and apply the data policies.

    Args:
        path: The data file or ``s3://`` URI.
        config: Supplies the columns and the policies of ``config.data``.

    Returns:
        The frame ``[time_column, target, *exogenous]`` after the policies, and the ingestion
        report (with the inferred frequency), which is also logged to MLflow
        (``data/ingestion_report.json``) and as a Prefect artifact.

    Raises:
        PipelineInputError: The file, its columns or its timestamps are unusable.
    """
    stage("load-data")
    data = config.data
    frame, report = read_series(path, config)
    create_markdown_artifact(
        key=INGESTION_ARTIFACT_KEY,
        markdown=report.to_markdown(),
        description=f"Ingestion of {path}: policies applied",
    )
    if mlflow.active_run():
        # The training data as an MLflow dataset: name, digest, schema and source on the run.
        with warnings.catch_warnings():
            # MLflow 3.17 registers its local-file source class twice (schemes "" and
            # "file") and warns that a local path matches both; either is right.
            warnings.filterwarnings("ignore", message="The specified dataset source can be")
            dataset = from_pandas(
                frame, source=str(path), name=Path(str(path)).name, targets=data.target
            )
        mlflow.log_input(dataset, context="training")
        mlflow.log_dict(report.to_dict(), "data/ingestion_report.json")
        mlflow.log_params({"data.frequency_inferred": report.frequency or "irregular"})
    logger = get_run_logger()
    logger.info(
        "loaded %d rows from %s, kept %d (time zone %s, frequency %s)",
        report.rows_read,
        path,
        report.rows_out,
        report.timezone,
        report.frequency or "irregular",
    )
    for decision in report.decisions:
        logger.warning(
            "%s: %d found, policy %s: %s",
            decision.check,
            decision.found,
            decision.policy,
            decision.action,
        )
    return frame, report


@task(name="validate-data", retries=0, cache_policy=NO_CACHE)
def validate_data(frame: pd.DataFrame, config: PipelineConfig, source: str) -> ValidationReport:
    """Run the base suite plus ``data.extra_suites``; publish the report; stop on any failure.

    Args:
        frame: The series from ``load_data``.
        config: Column names, policies, extra suites and the bounds of the row minimum.
        source: The data file, named in the report and in error messages.

    Returns:
        The passing report (warnings, e.g. outliers under data.outliers='warn', included).

    Raises:
        DataValidationError: At least one critical expectation failed; the message lists them.
    """
    stage("validate-data")
    logger = get_run_logger()
    report = validate_frame(frame, config, source=source)
    # Published before raising, so a failed run still shows which rows broke which check.
    create_markdown_artifact(
        key=VALIDATION_ARTIFACT_KEY,
        markdown=report.to_markdown(),
        description=f"Great Expectations validation of {source}",
    )
    if mlflow.active_run():
        mlflow.log_dict(report.raw, "data/validation_result.json")
        mlflow.log_text(report.html, "data/data_docs.html")
        mlflow.log_metrics(
            {
                "data/validation_failures": len(report.failures),
                "data/validation_warnings": len(report.warnings),
            }
        )
    statistics = report.statistics
    logger.info(
        "validation of %s with suite '%s': %s of %s expectations passed",
        source,
        report.suite_name,
        statistics.get("successful_expectations"),
        statistics.get("evaluated_expectations"),
    )
    for outcome in report.warnings:
        logger.warning("warning: %s", outcome.explain(source))
    for outcome in report.failures:
        logger.error("failed: %s", outcome.explain(source))
    report.raise_for_failures()
    return report
