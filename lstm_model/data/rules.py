"""The expectation suites evaluated with pandas alone: the early check before GX is imported.

Importing Great Expectations costs 5-12 s on 2 cores, so a file whose problem is in its
values (text in a number column, a gap, too few rows) waited that long to be rejected. The
CLI therefore first evaluates the same suite files here: the same expectations, kwargs, suite
parameters, descriptions, fixes and severities, for the expectation types whose pandas
semantics are GX's own (its pandas execution engine: every column-map check but the null
check skips missing cells). GX then validates every file that passes; it stays the full
check, and its report is the one logged. An expectation this module cannot decide exactly as
GX would (another type, ``mostly``, a row condition, a missing suite parameter) is left to GX.

Both paths evaluate the frame prepared by :func:`suite_input` and turn each verdict into an
``ExpectationOutcome`` with :func:`outcome`, so their messages read alike.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_integer_dtype, is_numeric_dtype

from lstm_model.data.cadence import infer_cadence
from lstm_model.data.policies import outlier_bounds
from lstm_model.data.report import ExpectationOutcome
from lstm_model.data.source import MAX_EXAMPLES, file_line

# Fallback advice per expectation type, for user suites whose expectations carry no meta.fix.
_FIX_BY_TYPE = {
    "expect_column_to_exist": "add the column, or set data.time_column / data.target to its name",
    "expect_column_values_to_not_be_null": "fill in or remove the rows with missing values",
    "expect_column_values_to_be_unique": "each timestamp must appear once: remove the duplicates",
    "expect_column_values_to_be_in_type_list": "remove or fix the non-numeric values",
    "expect_column_values_to_not_be_in_set": "remove or replace the listed values",
    "expect_table_row_count_to_be_between": "provide at least {min_rows} rows",
}
# GX's names for Python types in a type_list (great_expectations.expectations.type_comparison).
_NATIVE_TYPES: dict[str, type] = {
    "int": int,
    "long": int,
    "float": float,
    "bool": bool,
    "str": str,
    "bytes": bytes,
    "complex": complex,
}
# Keyword arguments that change nothing about the verdict.
_NEUTRAL_KWARGS = {"result_format", "catch_exceptions"}


@dataclass(frozen=True)
class SuiteInput:
    """What a suite is evaluated on.

    Attributes:
        checked: The series as GX sees it: value columns numeric or object (cells kept as
            written), plus ``<time_column>__steps``, the grid steps from the previous row.
        parameters: The suite parameters (``min_rows``, outlier bounds...), and the column
            names and reasons that advice texts may name.
        row_numbers: The data-row number at each position, for file lines.
    """

    checked: pd.DataFrame
    parameters: dict[str, Any]
    row_numbers: list[Any]


def suite_input(
    frame: pd.DataFrame,
    time_column: str,
    target: str,
    exogenous: Sequence[str],
    min_rows: int,
    min_rows_reason: str,
    outlier_threshold: float,
) -> SuiteInput:
    """Prepare a loaded series for its suites (either path).

    Args:
        frame: The series from ingestion (index = data-row number).
        time_column: Name of the timestamp column.
        target: Name of the value column.
        exogenous: Feature columns, checked like the target.
        min_rows: Fewest rows accepted (suite parameter ``min_rows``).
        min_rows_reason: Why, for the advice text.
        outlier_threshold: Robust z-score of the outlier bounds.

    Returns:
        The frame, the suite parameters and the row numbers.
    """
    columns = [target, *exogenous]
    checked = _checkable(frame, columns)
    if time_column in checked.columns:
        checked[f"{time_column}__steps"] = _grid_steps(checked[time_column])
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
    # Messages count rows by the loader's data-row numbers; any other index counts by position.
    row_numbers = (
        list(checked.index) if is_integer_dtype(checked.index) else list(range(len(checked)))
    )
    return SuiteInput(checked, parameters, row_numbers)


def outcome(
    item: Mapping[str, Any],
    inputs: SuiteInput,
    *,
    success: bool,
    positions: Sequence[int] = (),
    unexpected_count: int = 0,
    observed: Any = None,
    error: str | None = None,
    severity: str = "critical",
) -> ExpectationOutcome:
    """One verdict as an ``ExpectationOutcome``: file lines, values and the fix.

    Args:
        item: The expectation: ``type``, ``kwargs``, ``meta``, ``description``.
        inputs: What it was evaluated on.
        success: Whether it passed.
        positions: Positions (0..n-1) of the unexpected rows.
        unexpected_count: How many rows broke it.
        observed: The observed value of a table- or column-level expectation.
        error: Why it could not be evaluated at all.
        severity: 'critical' or 'warning'.
    """
    checked, parameters = inputs.checked, inputs.parameters
    column = (item.get("kwargs") or {}).get("column")
    time_column = parameters["time_column"]
    examples = []
    for position in positions[:MAX_EXAMPLES]:
        row = inputs.row_numbers[int(position)]
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
    kind = str(item.get("type"))
    fix = (item.get("meta") or {}).get("fix") or _FIX_BY_TYPE.get(kind, "")
    return ExpectationOutcome(
        expectation=kind,
        column=column,
        success=success,
        unexpected_count=unexpected_count,
        examples=examples,
        description=item.get("description") or "",
        fix=fix.format_map(_Defaulting(parameters)),
        observed=observed,
        error=error,
        severity=severity,
    )


@dataclass(frozen=True)
class Verdict:
    """GX's verdict on one expectation: passed, the unexpected positions, the observed value."""

    success: bool
    positions: list[int] = field(default_factory=list)
    observed: Any = None


def decide(item: Mapping[str, Any], inputs: SuiteInput) -> Verdict | None:
    """The verdict GX's pandas engine would reach on one expectation of a suite dict.

    Returns:
        None when it cannot be decided here (unknown type or kwargs, a missing column or
        suite parameter, text compared with numbers): GX decides it.
    """
    check = _CHECKS.get(str(item.get("type")))
    kwargs = _resolved(item.get("kwargs") or {}, inputs.parameters)
    if check is None or kwargs is None or set(kwargs) - _NEUTRAL_KWARGS - check[0]:
        return None
    try:
        return check[1](inputs.checked, kwargs)
    except (TypeError, ValueError):  # e.g. comparing text with a number: GX's to report
        return None


def _resolved(kwargs: Mapping[str, Any], parameters: Mapping[str, Any]) -> dict[str, Any] | None:
    """Kwargs with ``{"$PARAMETER": name}`` replaced; None when a parameter is unknown."""
    resolved = {}
    for key, value in kwargs.items():
        if isinstance(value, dict) and set(value) == {"$PARAMETER"}:
            if value["$PARAMETER"] not in parameters:
                return None
            value = parameters[value["$PARAMETER"]]
        resolved[key] = value
    return resolved


def _within(value: float, kwargs: Mapping[str, Any]) -> bool:
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    if low is not None and (value <= low if kwargs.get("strict_min") else value < low):
        return False
    return not (high is not None and (value >= high if kwargs.get("strict_max") else value > high))


def _column_exists(frame: pd.DataFrame, kwargs: dict[str, Any]) -> Verdict:
    return Verdict(kwargs["column"] in frame.columns)


def _row_count(frame: pd.DataFrame, kwargs: dict[str, Any]) -> Verdict:
    return Verdict(_within(len(frame), kwargs), observed=len(frame))


def _unique_value_count(frame: pd.DataFrame, kwargs: dict[str, Any]) -> Verdict | None:
    if kwargs["column"] not in frame.columns:
        return None
    count = int(frame[kwargs["column"]].nunique(dropna=True))
    return Verdict(_within(count, kwargs), observed=count)


def _not_null(frame: pd.DataFrame, kwargs: dict[str, Any]) -> Verdict | None:
    if kwargs["column"] not in frame.columns:
        return None
    positions = np.flatnonzero(frame[kwargs["column"]].isna().to_numpy())
    return Verdict(not len(positions), positions.tolist())


def _column_map(
    bad: Callable[[pd.Series, dict[str, Any]], pd.Series | None],
) -> Callable[[pd.DataFrame, dict[str, Any]], Verdict | None]:
    """A GX column-map expectation: ``bad`` flags the present cells; missing cells are skipped."""

    def decide(frame: pd.DataFrame, kwargs: dict[str, Any]) -> Verdict | None:
        if kwargs["column"] not in frame.columns:
            return None
        values = frame[kwargs["column"]].reset_index(drop=True)
        present = values[values.notna()]
        flags = bad(present, kwargs)
        if flags is None:
            return None
        positions = present.index[flags.to_numpy(dtype=bool)].tolist()
        return Verdict(not positions, positions)

    return decide


def _repeated(values: pd.Series, kwargs: dict[str, Any]) -> pd.Series:
    return values.duplicated(keep=False)


def _out_of_order(values: pd.Series, kwargs: dict[str, Any]) -> pd.Series:
    steps = values.diff()
    zero = pd.Timedelta(0) if pd.api.types.is_timedelta64_dtype(steps.dtype) else 0
    in_order = steps > zero if kwargs.get("strictly") else steps >= zero
    # The first row has no previous one: in order, as in GX.
    return ~(in_order | steps.isna())


def _outside(values: pd.Series, kwargs: dict[str, Any]) -> pd.Series | None:
    if kwargs.get("min_value") is None and kwargs.get("max_value") is None:
        return None  # GX refuses this expectation
    if not is_numeric_dtype(values) or is_bool_dtype(values):
        if not values.map(lambda x: isinstance(x, int | float) and not isinstance(x, bool)).all():
            return None  # text compared with numbers: GX reports an error
        values = values.astype("float64")
    return ~values.map(lambda x: _within(x, kwargs))


def _in_set(values: pd.Series, kwargs: dict[str, Any]) -> pd.Series:
    return values.isin(list(kwargs["value_set"]))


def _type_list(frame: pd.DataFrame, kwargs: dict[str, Any]) -> Verdict | None:
    """Typed columns are judged by their dtype, object columns cell by cell (as GX does)."""
    column, names = kwargs["column"], kwargs["type_list"]
    if column not in frame.columns:
        return None
    if names is None:
        return Verdict(True)
    dtypes = [np.dtype(name) for name in names]  # TypeError (pandas-only names): GX decides
    values = frame[column]
    if values.dtype != object:
        if not isinstance(values.dtype, np.dtype):
            return None
        return Verdict(values.dtype in dtypes, observed=values.dtype.type.__name__)
    types = tuple(d.type for d in dtypes) + tuple(
        _NATIVE_TYPES[name.lower()] for name in names if name.lower() in _NATIVE_TYPES
    )
    return _column_map(lambda present, _: ~present.map(lambda x: isinstance(x, types)))(
        frame, kwargs
    )


# Expectation type -> (the kwargs it understands, how GX's pandas engine decides it).
_CHECKS: dict[str, tuple[set[str], Callable[[pd.DataFrame, dict[str, Any]], Verdict | None]]] = {
    "expect_column_to_exist": ({"column"}, _column_exists),
    "expect_table_row_count_to_be_between": (
        {"min_value", "max_value", "strict_min", "strict_max"},
        _row_count,
    ),
    "expect_column_unique_value_count_to_be_between": (
        {"column", "min_value", "max_value", "strict_min", "strict_max"},
        _unique_value_count,
    ),
    "expect_column_values_to_not_be_null": ({"column"}, _not_null),
    "expect_column_values_to_be_unique": ({"column"}, _column_map(_repeated)),
    "expect_column_values_to_be_increasing": ({"column", "strictly"}, _column_map(_out_of_order)),
    "expect_column_values_to_be_between": (
        {"column", "min_value", "max_value", "strict_min", "strict_max"},
        _column_map(_outside),
    ),
    "expect_column_values_to_not_be_in_set": ({"column", "value_set"}, _column_map(_in_set)),
    "expect_column_values_to_be_in_type_list": ({"column", "type_list"}, _type_list),
}


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


class _Defaulting(dict[str, Any]):
    """format_map that leaves unknown ``{names}`` in advice text as they are."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"
