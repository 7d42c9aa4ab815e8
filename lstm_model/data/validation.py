"""Validate a loaded series with a Great Expectations 1.x suite and explain every failure.

The suite lives in ``expectations/base_suite.json`` (or a file the user names). Its column
names are templates, ``"{time_column}"`` and ``"{target}"``, bound to the configured names here,
because GX 1.x only allows suite parameters (``{"$PARAMETER": ...}``) in value arguments such
as ``min_value``, never in ``column``; those values (``min_rows``, ``non_finite_values``) are
passed to GX as suite parameters at validation time.

Each failure is reported with up to five (file line, value) examples, taken from GX's
``partial_unexpected_index_list``. ``early=True`` evaluates the same suites with pandas
(:mod:`lstm_model.data.rules`) without importing GX, for a quick first pass.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from lstm_model.config import MIN_TRAIN_WINDOWS, PipelineConfig
from lstm_model.data.report import ExpectationOutcome, ValidationReport
from lstm_model.data.rules import SuiteInput, decide, outcome, suite_input
from lstm_model.data.suites import (
    BASE_SUITE_PATH,
    PANEL_SUITE_PATH,
    gx_module,
    load_suite,
    policy_severity,
    read_suite,
)

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
    frame: pd.DataFrame, config: PipelineConfig, source: str | Path = "", *, early: bool = False
) -> ValidationReport:
    """Validate a loaded series with the base suite plus ``data.extra_suites``.

    Args:
        frame: The series from ingestion (``[time_column, target, *exogenous]``).
        config: Column names, policies, extra suites and the bounds behind the row minimum.
        source: The file the series came from, named in messages.
        early: Evaluate the suites with pandas only, without importing GX
            (:mod:`lstm_model.data.rules`): the quick first pass of a command.

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
        early=early,
    )


def validate_panel_frame(
    frame: pd.DataFrame, config: PipelineConfig, source: str | Path = "", *, early: bool = False
) -> ValidationReport:
    """Validate a long-format panel with the panel suite plus ``data.extra_suites``.

    Args:
        frame: ``[time_column, target, *exogenous, series_column]`` from the loader.
        config: Column names (``data.series_column`` among them) and extra suites.
        source: The file, named in messages.
        early: Decide with pandas only (see :func:`validate_series`).

    Returns:
        The report; call ``raise_for_failures()`` to stop on a failure.
    """
    data = config.data
    return validate_series(
        frame,
        data.time_column,
        data.target,
        1,
        PANEL_SUITE_PATH,
        source,
        exogenous=data.exogenous,
        extra_suites=data.extra_suites,
        outliers=data.outliers,
        outlier_threshold=data.outlier_threshold,
        early=early,
        series_column=data.series_column,
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
    early: bool = False,
    series_column: str | None = None,
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
        early: Decide with pandas, without GX, only the expectations it decides as GX
            would (:mod:`lstm_model.data.rules`); a passing early report still needs GX.
        series_column: A panel's series id column, bound to ``{series_column}``.

    Returns:
        The report, with GX's rendered HTML Data Docs page in ``html`` (not when early).

    Raises:
        PipelineInputError: A suite file is missing or is not a valid GX suite.
    """
    paths = [suite_path or BASE_SUITE_PATH, *extra_suites]
    inputs = suite_input(
        frame, time_column, target, exogenous, min_rows, min_rows_reason, outlier_threshold
    )
    if early:
        suites = [read_suite(path, time_column, target, exogenous, series_column) for path in paths]
        return _early_report(suites, inputs, outliers, str(source))
    gx = gx_module()
    loaded = [load_suite(path, time_column, target, exogenous, series_column) for path in paths]
    suite = gx.ExpectationSuite(
        name="+".join(item.name for item in loaded),
        expectations=[copy.copy(e) for item in loaded for e in item.expectations],
    )
    for expectation in suite.expectations:
        expectation.severity = policy_severity(expectation.meta, outliers) or expectation.severity

    context = gx.get_context(mode="ephemeral")
    # Else tqdm prints "Calculating Metrics" bars to stderr for every validation.
    context.variables.progress_bars = _progress_bars_off()
    # GX 1.24 reports wrong rows (or every row as missing) for a frame whose index is not
    # 0..n-1: it mixes labels and positions. So GX gets positions; we map them back below.
    batch = (
        context.data_sources.add_pandas("series")
        .add_dataframe_asset("series")
        .add_batch_definition_whole_dataframe("whole")
        .get_batch(batch_parameters={"dataframe": inputs.checked.reset_index(drop=True)})
    )
    result = batch.validate(
        suite, expectation_parameters=inputs.parameters, result_format=_RESULT_FORMAT
    )
    # GX returns results in its own order (failed metrics first): report them in suite order.
    order = {expectation.id: position for position, expectation in enumerate(suite.expectations)}
    results = sorted(result.results, key=lambda item: order.get(item.expectation_config.id, 0))
    outcomes = [_outcome(item, inputs) for item in results]
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


def _early_report(
    suites: Sequence[Mapping[str, Any]], inputs: SuiteInput, outliers: str, source: str
) -> ValidationReport:
    """Evaluate the suites (from ``read_suite``) with pandas; an expectation it cannot decide
    as GX would is left out (GX decides it after).

    Args:
        suites: The suite dicts, bound to the columns.
        inputs: The prepared series.
        outliers: data.outliers: 'warn' makes the outlier expectation a warning.
        source: The file, named in messages.

    Returns:
        A report of the decided expectations (no GX result, no HTML).
    """
    outcomes = []
    for suite in suites:
        for item in suite.get("expectations", []):
            verdict = decide(item, inputs)
            if verdict is not None:
                severity = policy_severity(item.get("meta"), outliers) or str(
                    item.get("severity") or "critical"
                )
                outcomes.append(
                    outcome(
                        item,
                        inputs,
                        success=verdict.success,
                        positions=verdict.positions,
                        unexpected_count=len(verdict.positions),
                        observed=verdict.observed,
                        severity=severity,
                    )
                )
    passed = sum(o.success for o in outcomes)
    return ValidationReport(
        success=not [o for o in outcomes if not o.success and o.severity != "warning"],
        outcomes=outcomes,
        statistics={
            "evaluated_expectations": len(outcomes),
            "successful_expectations": passed,
            "unsuccessful_expectations": len(outcomes) - passed,
        },
        raw={},
        source=source,
        suite_name="+".join(str(suite.get("name")) for suite in suites),
    )


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


def _outcome(item: Any, inputs: SuiteInput) -> ExpectationOutcome:
    """Turn one GX ExpectationValidationResult into an ExpectationOutcome."""
    config = item.expectation_config
    result = item.result or {}
    expectation = {
        "type": config.type,
        "kwargs": config.kwargs,
        "meta": config.meta,
        "description": config.description,
    }
    return outcome(
        expectation,
        inputs,
        success=bool(item.success),
        positions=result.get("partial_unexpected_index_list") or [],
        unexpected_count=int(result.get("unexpected_count") or 0),
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
