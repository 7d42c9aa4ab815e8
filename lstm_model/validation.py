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

import functools
import json
import math
import uuid
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_integer_dtype, is_numeric_dtype

from lstm_model.data import MAX_EXAMPLES, file_line, row_label
from lstm_model.errors import DataValidationError, PipelineInputError

BASE_SUITE_PATH = Path(__file__).resolve().parent.parent / "expectations" / "base_suite.json"
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


@functools.cache
def _gx() -> Any:
    """Import GX on first use: it costs seconds, and commands such as --help do not need it."""
    with warnings.catch_warnings():
        # GX imports the deprecated sre_constants / sre_parse modules: silence only those, here.
        warnings.filterwarnings(
            "ignore", message=r"module .sre_\w+. is deprecated", category=DeprecationWarning
        )
        import great_expectations as gx
    # GX 1.24 has no usage-statistics code left (GX_ANALYTICS_ENABLED is only named in a
    # docstring), so nothing here can reach the network; no switch is needed.
    return gx


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's verdict, with examples that point at file lines.

    Attributes:
        expectation: The GX expectation type, e.g. ``expect_column_values_to_be_unique``.
        column: The column it checks, or None for table-level expectations.
        success: Whether it passed.
        unexpected_count: How many rows broke it (0 for table-level expectations).
        examples: Up to five (file line, value) pairs; file line = data-row index + 2.
        description: What it checks, in words (from the suite, else the type).
        fix: How to fix a failure.
        observed: GX's observed value for table-level expectations (e.g. the row count).
        error: GX's message when the expectation could not be evaluated at all.
    """

    expectation: str
    column: str | None
    success: bool
    unexpected_count: int = 0
    examples: list[tuple[int, Any]] = field(default_factory=list)
    description: str = ""
    fix: str = ""
    observed: Any = None
    error: str | None = None

    def evidence(self, source: str = "") -> str:
        """What GX saw: bad rows with their values, the observed value, or why it did not run."""
        if self.error:
            return f"could not be checked ({self.error.splitlines()[0]})"
        if self.examples:
            shown = ", ".join(
                f"{row_label(line - 2, source)}: {_show(value)}" for line, value in self.examples
            )
            more = self.unexpected_count - len(self.examples)
            return f"{self.unexpected_count} bad row(s), e.g. {shown}" + (
                f" and {more} more" if more > 0 else ""
            )
        if self.success or self.observed is None:
            return ""
        if self.expectation == "expect_table_row_count_to_be_between":
            return f"the series has {self.observed} rows"
        return f"observed {self.observed}"

    def explain(self, source: str = "") -> str:
        """One line: what failed, where (lines and values) and how to fix it."""
        where = f", column '{self.column}'" if self.column else ""
        text = f"{self.description or self.expectation} ({self.expectation}{where})"
        evidence = self.evidence(source)
        text += f": {evidence}" if evidence else ""
        return f"{text}. Fix: {self.fix}." if self.fix else f"{text}."


@dataclass
class ValidationReport:
    """The result of validating one series against one suite."""

    success: bool
    outcomes: list[ExpectationOutcome]
    statistics: dict[str, Any]
    raw: dict[str, Any]
    source: str = ""
    suite_name: str = ""

    @property
    def failures(self) -> list[ExpectationOutcome]:
        """The outcomes that did not pass."""
        return [outcome for outcome in self.outcomes if not outcome.success]

    def to_markdown(self) -> str:
        """A Markdown table of every expectation, for a Prefect artifact or a report."""
        passed = len(self.outcomes) - len(self.failures)
        lines = [
            f"## Data validation: {'passed' if self.success else 'FAILED'}",
            "",
            f"Source: `{self.source or 'dataframe'}` · suite `{self.suite_name}` · "
            f"{passed} of {len(self.outcomes)} expectations passed.",
            "",
            "| Expectation | Column | Result | Examples |",
            "|---|---|---|---|",
        ]
        for outcome in self.outcomes:
            cells = [
                f"{outcome.description or outcome.expectation}",
                outcome.column or "(table)",
                "pass" if outcome.success else "**FAIL**",
                outcome.evidence(self.source),
            ]
            lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
        return "\n".join(lines) + "\n"

    def raise_for_failures(self) -> None:
        """Raise DataValidationError listing each failed expectation; do nothing on success.

        Raises:
            DataValidationError: With one line per failed expectation and ``failures`` set.
        """
        failures = self.failures
        if self.success and not failures:
            return
        # Checks on a missing column all fail with GX errors: one line for the column says it.
        missing = {o.column for o in failures if o.expectation == "expect_column_to_exist"}
        listed = [o for o in failures if not (o.error and o.column in missing)]
        bullets = "\n".join(f"  - {outcome.explain(self.source)}" for outcome in listed)
        if len(listed) < len(failures):
            bullets += (
                f"\n  - ({len(failures) - len(listed)} more check(s) could not run because "
                "their column is missing.)"
            )
        raise DataValidationError(
            f"{self.source or 'The series'} failed data validation (suite '{self.suite_name}'): "
            f"{len(failures)} of {len(self.outcomes)} expectations failed.\n{bullets}\n"
            "Fix the data file (or the configuration) and run again.",
            failures=failures,
        )


def validate_series(
    frame: pd.DataFrame,
    time_column: str,
    target: str,
    min_rows: int,
    suite_path: str | Path | None = None,
    source: str | Path = "",
) -> ValidationReport:
    """Run a GX expectation suite on the series, with an ephemeral (in-memory) GX context.

    Args:
        frame: The series, as returned by ``load_series`` (index = 0-based data-row number).
        time_column: Name of the timestamp column.
        target: Name of the value column.
        min_rows: Fewest rows accepted.
        suite_path: A suite JSON to apply instead of ``expectations/base_suite.json``.
        source: The file the series came from, named in messages.

    Returns:
        The report; call ``raise_for_failures()`` to stop on a failure.

    Raises:
        PipelineInputError: The suite file is missing or is not a valid GX suite.
    """
    gx = _gx()
    suite = load_suite(suite_path or BASE_SUITE_PATH, time_column, target)
    parameters = {
        "time_column": time_column,
        "target": target,
        "min_rows": min_rows,
        "non_finite_values": [math.inf, -math.inf],
    }
    checked = _checkable(frame, target)

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
    return ValidationReport(
        success=bool(result.success),
        outcomes=outcomes,
        statistics=dict(result.statistics),
        raw=json.loads(json.dumps(result.to_json_dict(), default=str)),
        source=str(source),
        suite_name=suite.name,
    )


def numeric_target(frame: pd.DataFrame, target: str) -> pd.Series:
    """The target as float64, for a series that passed validation; values are not changed.

    Args:
        frame: A validated series.
        target: Name of the value column.

    Returns:
        The target column as float64, same index.

    Raises:
        PipelineInputError: A value is not a number (the series was not validated).
    """
    column = frame[target]
    if is_numeric_dtype(column) and not is_bool_dtype(column):
        return column.astype("float64")
    parsed = pd.to_numeric(column, errors="coerce")
    bad = column[parsed.isna() & column.notna()]
    if not bad.empty:
        raise PipelineInputError(
            f"Column '{target}' has non-numeric values ({', '.join(map(repr, bad.head(5)))}); "
            "validate the series first and fix the values it reports."
        )
    return parsed.astype("float64")


def numeric_features(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """Several validated numeric columns (target and/or exogenous) as one float64 matrix.

    Args:
        frame: A validated series.
        columns: The columns to stack, in this order (e.g. ``[target, *exogenous]``).

    Returns:
        An array of shape ``(len(frame), len(columns))``, rows in the frame's order; with no
        columns, shape ``(len(frame), 0)``.

    Raises:
        PipelineInputError: A column is missing or holds a value that is not a number.
    """
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise PipelineInputError(
            f"Columns {missing} are not in the series (it has {list(map(str, frame.columns))}); "
            "list them in data.exogenous only if the file has them."
        )
    if not columns:
        return np.empty((len(frame), 0), dtype="float64")
    return np.column_stack([numeric_target(frame, column).to_numpy() for column in columns])


def load_suite(path: str | Path, time_column: str, target: str) -> Any:
    """Read a suite JSON and bind its ``{time_column}`` / ``{target}`` column templates.

    Args:
        path: The suite file (``json.dump(suite.to_json_dict())`` output, or hand-written).
        time_column: Replaces the ``"{time_column}"`` template.
        target: Replaces the ``"{target}"`` template.

    Returns:
        A ``great_expectations.ExpectationSuite``.

    Raises:
        PipelineInputError: Missing file, invalid JSON or invalid suite.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise PipelineInputError(
            f"Expectation suite not found: {path}. Check data.suite_path, "
            "or leave it unset to use expectations/base_suite.json."
        ) from error
    except json.JSONDecodeError as error:
        raise PipelineInputError(
            f"Expectation suite {path} is not valid JSON (line {error.lineno}: {error.msg}). "
            "Fix the file, e.g. by writing it with json.dump(suite.to_json_dict(), f)."
        ) from error
    templates = {"{time_column}": time_column, "{target}": target}
    try:
        data["expectations"] = [
            # An id per expectation lets results be put back in suite order.
            {
                **item,
                "id": item.get("id") or str(uuid.uuid4()),
                "kwargs": _bind(item.get("kwargs", {}), templates),
            }
            for item in data.get("expectations", [])
        ]
        return _gx().ExpectationSuite(**data)
    except Exception as error:  # GX raises pydantic, TypeError and its own errors here
        raise PipelineInputError(
            f"Expectation suite {path} is not a valid GX 1.x suite: {error}. It needs a 'name' "
            "and a list of 'expectations', each with a 'type' and 'kwargs'."
        ) from error


def _bind(value: Any, templates: dict[str, str]) -> Any:
    """Replace template strings anywhere in an expectation's kwargs."""
    if isinstance(value, str):
        return templates.get(value, value)
    if isinstance(value, list):
        return [_bind(item, templates) for item in value]
    if isinstance(value, dict):
        return {key: _bind(item, templates) for key, item in value.items()}
    return value


def _checkable(frame: pd.DataFrame, target: str) -> pd.DataFrame:
    """The frame as GX should see it: the target either numeric or an object column.

    pandas reads a column with a single bad cell (``"12,3"``) entirely as text. Turning the
    cells that are numbers into numbers, and keeping the others as written, lets the type
    check name exactly the bad cells instead of every row.
    """
    if target not in frame.columns:
        return frame  # expect_column_to_exist reports it
    checked = frame.copy()
    column = checked[target]
    if is_numeric_dtype(column) and not is_bool_dtype(column):
        if isinstance(column.dtype, pd.api.extensions.ExtensionDtype):
            # Nullable Int64/Float64: pd.NA becomes NaN, which the null check understands.
            checked[target] = column.astype("float64")
        return checked
    as_object = column.astype(object)
    parsed = pd.to_numeric(as_object, errors="coerce")
    checked[target] = as_object.where(parsed.isna(), parsed.astype(object))
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
    for position in positions[:MAX_EXAMPLES]:
        row = row_numbers[int(position)]
        value = checked[column].iloc[int(position)] if column in checked.columns else None
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


class _Defaulting(dict):
    """format_map that leaves unknown ``{names}`` in advice text as they are."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _show(value: Any) -> str:
    """A value as a user would recognise it from the file."""
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return "(empty)"
    return repr(value) if isinstance(value, str) else str(value)


def _cell(text: str) -> str:
    """Escape a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")
