"""Validate a loaded series with a Great Expectations 1.x suite and explain every failure.

The suite lives in ``expectations/base_suite.json`` (or a file the user names). Its column
names are templates, ``"{time_column}"`` and ``"{target}"``, bound to the configured names here,
because GX 1.x only allows suite parameters (``{"$PARAMETER": ...}``) in value arguments such
as ``min_value``, never in ``column``; those values (``min_rows``, ``non_finite_values``) are
passed to GX as suite parameters at validation time.

Each failure is reported with up to five (file line, value) examples, taken from GX's
``partial_unexpected_index_list``.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_integer_dtype, is_numeric_dtype

from lstm_model.config import MIN_TRAIN_WINDOWS, PipelineConfig
from lstm_model.data.cadence import infer_cadence
from lstm_model.data.policies import outlier_bounds
from lstm_model.data.report import ExpectationOutcome, ValidationReport
from lstm_model.data.source import MAX_EXAMPLES, file_line
from lstm_model.data.suites import BASE_SUITE_PATH, gx_module, load_suite

__all__ = [
    "BASE_SUITE_PATH",
    "ExpectationOutcome",
    "ValidationReport",
    "load_suite",
    "required_rows",
    "validate_frame",
    "validate_series",
]

# Ask GX for more unexpected rows than we show, so the examples are not cut by GX.
_RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 20}
# Fallback advice per expectation type, for user suites whose expectations carry no meta.fix.
_FIX_BY_TYPE = {
    "expect_column_to_exist": "add the column, or set data.time_column / data.target to its name",
    "expect_column_values_to_not_be_null": "fill in or remove the rows with missing values",
    "expect_column_values_to_be_unique": "each timestamp must appear once: remove the duplicates",
    "expect_column_values_to_be_in_type_list": "remove or fix the non-numeric values",
    "expect_column_values_to_not_be_in_set": "remove or replace the listed values",
    "expect_table_row_count_to_be_between": "provide at least {min_rows} rows",
}


def required_rows(config: PipelineConfig) -> tuple[int, str]:
    """Fewest rows a series needs: data.min_rows, or enough for the smallest model, if more.

    The lookback is only chosen during analysis, and the analysis shortens it for short series
    (at most a quarter of the training part), so the bound here is the smallest model:
    ``analysis.min_lookback + analysis.max_differencing`` warm-up rows plus the minimum number
    of training windows must fit in the training part. The chosen lookback is checked again,
    with its own message, when the windows are cut.

    Args:
        config: Supplies data.min_rows, the split fractions and the analysis bounds.

    Returns:
        The number of rows, and why, in words (for messages).
    """
    train_fraction = 1.0 - config.split.validation_fraction - config.split.test_fraction
    warmup = config.analysis.min_lookback + config.analysis.max_differencing
    needed = math.ceil((warmup + MIN_TRAIN_WINDOWS) / train_fraction - 1e-9)
    reason = (
        f"lookback of at least {config.analysis.min_lookback} + differencing up to "
        f"{config.analysis.max_differencing} + {MIN_TRAIN_WINDOWS} training windows need "
        f"{warmup + MIN_TRAIN_WINDOWS} training rows, which are {train_fraction:.0%} of the series "
        f"after {config.split.validation_fraction:.0%} validation and "
        f"{config.split.test_fraction:.0%} test"
    )
    if config.data.min_rows >= needed:
        return config.data.min_rows, "data.min_rows"
    return needed, reason


def validate_frame(
    frame: pd.DataFrame, config: PipelineConfig, source: str | Path = ""
) -> ValidationReport:
    """Validate a loaded series with the base suite plus ``data.extra_suites``.

    Args:
        frame: The series from ingestion (``[time_column, target, *exogenous]``).
        config: Column names, policies, extra suites and the bounds behind the row minimum.
        source: The file the series came from, named in messages.

    Returns:
        The report; call ``raise_for_failures()`` to stop on a failure.
    """
    data = config.data
    min_rows, reason = required_rows(config)
    return validate_series(
        frame,
        data.time_column,
        data.target,
        min_rows,
        source=source,
        exogenous=data.exogenous,
        extra_suites=data.extra_suites,
        outliers=data.outliers,
        outlier_threshold=data.outlier_threshold,
        min_rows_reason=reason,
    )


def validate_series(
    frame: pd.DataFrame,
    time_column: str,
    target: str,
    min_rows: int,
    suite_path: str | Path | None = None,
    source: str | Path = "",
    *,
    exogenous: Sequence[str] = (),
    extra_suites: Sequence[str | Path] = (),
    outliers: str = "warn",
    outlier_threshold: float = 8.0,
    min_rows_reason: str = "data.min_rows",
) -> ValidationReport:
    """Run GX expectation suites on the series, with an ephemeral (in-memory) GX context.

    Args:
        frame: The series, as returned by ``load_series`` (index = 0-based data-row number).
        time_column: Name of the timestamp column.
        target: Name of the value column.
        min_rows: Fewest rows accepted.
        suite_path: The main suite; None for ``expectations/base_suite.json``.
        source: The file the series came from, named in messages.
        exogenous: Feature columns, checked like the target (expectations marked
            ``meta.each_feature``).
        extra_suites: User suites applied in addition to the main one.
        outliers: 'warn' (outlier-bounds failures are warnings) or 'fail'.
        outlier_threshold: Robust z-score of the outlier bounds.
        min_rows_reason: Why ``min_rows`` rows are needed, for the message.

    Returns:
        The report, with GX's rendered HTML Data Docs page in ``html``.

    Raises:
        PipelineInputError: A suite file is missing or is not a valid GX suite.
    """
    gx = gx_module()
    columns = [target, *exogenous]
    paths = [suite_path or BASE_SUITE_PATH, *extra_suites]
    suites = [load_suite(path, time_column, target, exogenous) for path in paths]
    suite = gx.ExpectationSuite(
        name="+".join(item.name for item in suites),
        expectations=[copy.copy(e) for item in suites for e in item.expectations],
    )
    for expectation in suite.expectations:
        if (expectation.meta or {}).get("policy") == "outliers":
            expectation.severity = "warning" if outliers == "warn" else "critical"
    checked = _checkable(frame, columns)
    steps_column = f"{time_column}__steps"
    if time_column in checked.columns:
        checked[steps_column] = _grid_steps(checked[time_column])
    parameters: dict[str, Any] = {
        "time_column": time_column,
        "target": target,
        "min_rows": min_rows,
        "min_rows_reason": min_rows_reason,
        "non_finite_values": [math.inf, -math.inf],
    }
    for column in columns:
        low, high = outlier_bounds(checked.get(column, pd.Series(dtype=float)), outlier_threshold)
        parameters[f"outlier_low__{column}"], parameters[f"outlier_high__{column}"] = low, high

    context = gx.get_context(mode="ephemeral")
    # Else tqdm prints "Calculating Metrics" bars to stderr for every validation.
    context.variables.progress_bars = _progress_bars_off()
    # GX 1.24 reports wrong rows (or every row as missing) for a frame whose index is not
    # 0..n-1: it mixes labels and positions. So GX gets positions; we map them back below.
    batch = (
        context.data_sources.add_pandas("series")
        .add_dataframe_asset("series")
        .add_batch_definition_whole_dataframe("whole")
        .get_batch(batch_parameters={"dataframe": checked.reset_index(drop=True)})
    )
    result = batch.validate(suite, expectation_parameters=parameters, result_format=_RESULT_FORMAT)

    # Messages count rows by the loader's data-row numbers; any other index counts by position.
    row_numbers = (
        list(checked.index) if is_integer_dtype(checked.index) else list(range(len(checked)))
    )
    # GX returns results in its own order (failed metrics first): report them in suite order.
    order = {expectation.id: position for position, expectation in enumerate(suite.expectations)}
    results = sorted(result.results, key=lambda item: order.get(item.expectation_config.id, 0))
    outcomes = [_outcome(item, checked, row_numbers, parameters) for item in results]
    critical = [o for o in outcomes if not o.success and o.severity != "warning"]
    return ValidationReport(
        success=not critical,
        outcomes=outcomes,
        statistics=dict(result.statistics),
        raw=json.loads(json.dumps(result.to_json_dict(), default=str)),
        source=str(source),
        suite_name=suite.name,
        html=_data_docs_html(result),
    )


def _grid_steps(times: pd.Series) -> np.ndarray:
    """Steps of the inferred cadence from the previous row (1 = regular; -1 = no cadence)."""
    steps = np.ones(len(times))
    present = times.notna().to_numpy()
    if present.sum() < 3:
        return steps
    cadence = infer_cadence(times[present])
    if cadence is None:
        steps[1:] = -1
        return steps
    positions = cadence.positions(times[present])
    present_steps = np.ones(int(present.sum()))
    present_steps[1:] = np.diff(positions)
    steps[present] = present_steps
    return steps


def _data_docs_html(result: Any) -> str:
    """GX's own Data Docs page for one validation result, rendered offline to HTML.

    The page's styles and scripts link to public CDNs; without them it is plain but complete.
    """
    from great_expectations.render.renderer import ValidationResultsPageRenderer
    from great_expectations.render.view import DefaultJinjaPageView

    try:
        page = ValidationResultsPageRenderer().render(result)
        # GX leaves this renderer unannotated.
        return str(DefaultJinjaPageView().render(page))  # type: ignore[no-untyped-call]
    except Exception as error:  # noqa: BLE001 - a rendering bug must not hide the verdict
        return f"<html><body><p>Data Docs could not be rendered: {error}</p></body></html>"


def _checkable(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """The frame as GX should see it: each value column either numeric or an object column.

    pandas reads a column with a single bad cell (``"12,3"``) entirely as text. Turning the
    cells that are numbers into numbers, and keeping the others as written, lets the type
    check name exactly the bad cells instead of every row.
    """
    checked = frame.copy()
    for name in columns:
        if name not in frame.columns:
            continue  # expect_column_to_exist reports it
        column = checked[name]
        if is_numeric_dtype(column) and not is_bool_dtype(column):
            if isinstance(column.dtype, pd.api.extensions.ExtensionDtype):
                # Nullable Int64/Float64: pd.NA becomes NaN, which the null check understands.
                checked[name] = column.astype("float64")
            continue
        as_object = column.astype(object)
        parsed = pd.to_numeric(as_object, errors="coerce")
        checked[name] = as_object.where(parsed.isna(), parsed.astype(object))
    return checked


def _outcome(
    item: Any, checked: pd.DataFrame, row_numbers: list[Any], parameters: dict[str, Any]
) -> ExpectationOutcome:
    """Turn one GX ExpectationValidationResult into an ExpectationOutcome."""
    config = item.expectation_config
    column = config.kwargs.get("column")
    result = item.result or {}
    positions = result.get("partial_unexpected_index_list") or []
    examples = []
    time_column = parameters["time_column"]
    for position in positions[:MAX_EXAMPLES]:
        row = row_numbers[int(position)]
        value = checked[column].iloc[int(position)] if column in checked.columns else None
        if column == f"{time_column}__steps":
            # A derived column: show the timestamp and what its step means instead.
            stamp = checked[time_column].iloc[int(position)].isoformat()
            value = (
                f"{stamp} (no regular frequency)"
                if value is not None and value < 0
                else f"{stamp} ({value:g} step(s) after the previous row)"
            )
        examples.append((file_line(row), value))
    fix = (config.meta or {}).get("fix") or _FIX_BY_TYPE.get(config.type, "")
    return ExpectationOutcome(
        expectation=config.type,
        column=column,
        success=bool(item.success),
        unexpected_count=int(result.get("unexpected_count") or 0),
        examples=examples,
        description=config.description or "",
        fix=fix.format_map(_Defaulting(parameters)),
        observed=result.get("observed_value"),
        error=_exception_message(item.exception_info),
        severity=str(getattr(config.severity, "value", config.severity) or "critical"),
    )


def _exception_message(info: Any) -> str | None:
    """GX's exception message, whether it reports one exception or one per metric."""
    if not info:
        return None
    if "raised_exception" in info:
        return info.get("exception_message") if info.get("raised_exception") else None
    for nested in info.values():  # keyed by metric id when a metric failed
        if isinstance(nested, dict) and nested.get("raised_exception"):
            return nested.get("exception_message")
    return None


def _progress_bars_off() -> Any:
    from great_expectations.data_context.types.base import ProgressBarsConfig

    return ProgressBarsConfig(globally=False)


class _Defaulting(dict[str, Any]):
    """format_map that leaves unknown ``{names}`` in advice text as they are."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"
