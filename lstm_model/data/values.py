"""The validated series as arrays: the target and the exogenous features as float64.

Loading keeps the value columns as they were written, so that validation can name bad cells;
once a series passed validation, :class:`TimeSeries` holds the numbers the model sees, with
the timestamps and the frequency that ingestion inferred, for every later stage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from lstm_model.config import DataConfig
from lstm_model.errors import PipelineInputError


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


def model_values(frame: pd.DataFrame, target: str, exogenous: Sequence[str] = ()) -> np.ndarray:
    """The values the model sees from a validated frame: the target as (n,) when there are no
    exogenous columns, else (n, 1 + k) with the target in column 0 and the features after it.

    Raises:
        PipelineInputError: an exogenous column is missing or not numeric.
    """
    matrix = numeric_features(frame, [target, *exogenous])
    return matrix[:, 0] if not exogenous else matrix


@dataclass(frozen=True)
class TimeSeries:
    """The series as it moves through the flow, built once from the validated frame.

    Attributes:
        values: The target as (n,), or (n, 1 + k) with the target in column 0 and the k
            exogenous features after it; float64, in time order.
        timestamps: The n timestamps (datetime64), in the same order.
        frequency: The pandas alias ingestion inferred ('MS', 'QS-JAN', 'D'...), or None.
        exogenous: Names of the k exogenous columns.
    """

    values: np.ndarray
    timestamps: pd.Series
    frequency: str | None
    exogenous: tuple[str, ...] = ()

    @property
    def target(self) -> np.ndarray:
        """The target (n,), without the exogenous columns."""
        return self.values[:, 0] if self.values.ndim == 2 else self.values

    def future_timestamps(self, count: int) -> pd.DatetimeIndex:
        """The ``count`` timestamps after the last one, on the series' frequency.

        Raises:
            PipelineInputError: when the series has no regular frequency to continue.
        """
        if self.frequency is None:
            raise PipelineInputError(
                "the series' timestamps have no regular frequency, so the future steps have "
                "no dates; give the data a regular cadence (see data.gaps and data.frequency)"
            )
        last = pd.Timestamp(self.timestamps.iloc[-1])
        return pd.date_range(last, periods=count + 1, freq=self.frequency)[1:]

    @classmethod
    def from_frame(
        cls, frame: pd.DataFrame, config: DataConfig, frequency: str | None
    ) -> TimeSeries:
        """The series of a frame that passed validation.

        Args:
            frame: ``[time_column, target, *exogenous]`` after the ingestion policies.
            config: The column names.
            frequency: The frequency ingestion inferred (its report's ``frequency``).

        Raises:
            PipelineInputError: an exogenous column is missing or not numeric.
        """
        values = model_values(frame, config.target, config.exogenous)
        return cls(values, frame[config.time_column], frequency, tuple(config.exogenous))
