"""Prefect tasks: load the series and validate it with Great Expectations.

Thin wrappers over ``lstm_model.data`` and ``lstm_model.validation``: they add logging and a
Markdown artifact. Bad input is not transient, so neither task retries, and neither caches:
the same path may hold different data on the next run.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from lstm_model.config import PipelineConfig
from lstm_model.data import infer_frequency, load_series
from lstm_model.validation import ValidationReport, validate_series

VALIDATION_ARTIFACT_KEY = "data-validation"


@task(name="load-data", retries=0, cache_policy=NO_CACHE)
def load_data(path: str | Path, config: PipelineConfig) -> pd.DataFrame:
    """Read the series named by ``path`` (CSV or Parquet) and sort it by time.

    Args:
        path: The data file.
        config: Supplies ``data.time_column`` and ``data.target``.

    Returns:
        The two-column frame of ``lstm_model.data.load_series``.

    Raises:
        PipelineInputError: The file or its columns or timestamps are unusable.
    """
    frame = load_series(path, config.data.time_column, config.data.target)
    times = frame[config.data.time_column].dropna()
    span = f"{times.min()} .. {times.max()}" if not times.empty else "no timestamps"
    get_run_logger().info(
        "loaded %d rows from %s (%s, frequency %s)",
        len(frame),
        path,
        span,
        infer_frequency(times) or "irregular",
    )
    return frame


@task(name="validate-data", retries=0, cache_policy=NO_CACHE)
def validate_data(frame: pd.DataFrame, config: PipelineConfig, source: str) -> ValidationReport:
    """Run the expectation suite, publish the report as an artifact, stop on any failure.

    Args:
        frame: The series from ``load_data``.
        config: Supplies the column names, ``data.min_rows`` and ``data.suite_path``.
        source: The data file, named in the report and in error messages.

    Returns:
        The passing report.

    Raises:
        DataValidationError: At least one expectation failed; the message lists each one.
    """
    logger = get_run_logger()
    report = validate_series(
        frame,
        time_column=config.data.time_column,
        target=config.data.target,
        min_rows=config.data.min_rows,
        suite_path=config.data.suite_path,
        source=source,
    )
    # Published before raising, so a failed run still shows which rows broke which check.
    create_markdown_artifact(
        key=VALIDATION_ARTIFACT_KEY,
        markdown=report.to_markdown(),
        description=f"Great Expectations validation of {source}",
    )
    statistics = report.statistics
    logger.info(
        "validation of %s with suite '%s': %s of %s expectations passed",
        source,
        report.suite_name,
        statistics.get("successful_expectations"),
        statistics.get("evaluated_expectations"),
    )
    for outcome in report.failures:
        logger.error("failed: %s", outcome.explain(source))
    report.raise_for_failures()
    return report
