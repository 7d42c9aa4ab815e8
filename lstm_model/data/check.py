"""Read and validate a series before anything heavy starts.

The command line calls this before it imports TensorFlow or starts Prefect's server, so a
bad file is rejected in seconds with the same message the flow's tasks would give; the flow's
``load-data`` and ``validate-data`` tasks then repeat it (GX is imported by then, so that
costs a fraction of a second) to publish the reports to MLflow and Prefect. The suites are
evaluated with pandas first (:mod:`lstm_model.data.rules`): a file whose values break them is
rejected before the seconds that importing GX takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from lstm_model.config import PipelineConfig
from lstm_model.data.load import load_series
from lstm_model.data.panel import Panel, panel_from_frame
from lstm_model.data.policies import IngestionReport, apply_policies
from lstm_model.data.validation import ValidationReport, validate_frame, validate_panel_frame
from lstm_model.errors import PipelineInputError


@dataclass(frozen=True)
class CheckedSeries:
    """A series that passed ingestion and validation, with both reports."""

    frame: pd.DataFrame
    ingestion: IngestionReport
    validation: ValidationReport


def read_series(path: str | Path, config: PipelineConfig) -> tuple[pd.DataFrame, IngestionReport]:
    """Load ``path`` with the configured columns, time format and row limit, then apply the
    ingestion policies; what the ``load-data`` task and :func:`check_series` both start with.

    Returns:
        The frame after the policies and the ingestion report.
    """
    data = config.data
    frame = load_series(
        path,
        data.time_column,
        data.target,
        data.exogenous,
        time_format=data.time_format,
        max_rows=data.max_rows,
    )
    return apply_policies(frame, data, source=str(path))


def check_series(path: str | Path, config: PipelineConfig) -> CheckedSeries:
    """Load ``path`` under the data policies and validate it with the configured suites.

    Args:
        path: CSV or Parquet file, local or ``s3://``.
        config: Columns, policies and suites (``config.data``) and the row minimum's bounds.

    Returns:
        The frame after the policies and both reports.

    Raises:
        PipelineInputError: The file, its columns or timestamps are unusable, or a critical
            expectation failed (``DataValidationError``, every failure listed).
    """
    frame, ingestion = read_series(path, config)
    validate_frame(frame, config, source=str(path), early=True).raise_for_failures()
    validation = validate_frame(frame, config, source=str(path))
    validation.raise_for_failures()
    return CheckedSeries(frame, ingestion, validation)


# Fewest rows a panel series may have before its parts are cut; the model's own needs
# (lookback + horizon in the training part) are checked once they are known.
PANEL_MIN_ROWS = 3


def read_panel(path: str | Path, config: PipelineConfig) -> tuple[pd.DataFrame, Panel]:
    """Load a long-format panel and run the per-series checks (named by series id) under
    ``data.bad_series``.

    Returns:
        The loaded frame (file row numbers as index) and the panel of the series kept.

    Raises:
        PipelineInputError: The file or its columns are unusable, or a series failed under
            ``bad_series="fail"`` (every failing series listed by id).
    """
    data = config.data
    if data.series_column is None:
        raise ValueError("read_panel needs data.series_column")
    if data.exogenous:
        raise PipelineInputError(
            f"data.exogenous {list(data.exogenous)}: the global model of a panel reads the "
            "target only; remove data.exogenous or train one series at a time"
        )
    # data.max_rows bounds one series; a panel holds many, so the file is not capped by it.
    frame = load_series(
        path,
        data.time_column,
        data.target,
        time_format=data.time_format,
        series_column=data.series_column,
    )
    panel = panel_from_frame(
        frame,
        data.series_column,
        data.time_column,
        data.target,
        min_rows=PANEL_MIN_ROWS,
        bad_series=data.bad_series,
    )
    return frame, panel


def check_panel(path: str | Path, config: PipelineConfig) -> tuple[pd.DataFrame, Panel]:
    """:func:`read_panel`, then the panel suite evaluated with pandas (no GX import): the
    command line's quick pass before anything heavy starts.

    Raises:
        PipelineInputError: as :func:`read_panel`, or a critical expectation failed.
    """
    frame, panel = read_panel(path, config)
    validate_panel_frame(frame, config, source=str(path), early=True).raise_for_failures()
    return frame, panel
