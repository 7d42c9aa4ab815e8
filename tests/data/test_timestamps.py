"""Day/month dates are read in the order the file decides, or by data.time_format."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import write_rows

from lstm_model.data.load import load_series
from lstm_model.errors import PipelineInputError


def _monthly_day_first(n: int = 30) -> list[str]:
    stamps = pd.date_range("2001-01-01", periods=n, freq="MS")
    return [f"{t:%d/%m/%Y},{i}" for i, t in enumerate(stamps)]


def test_day_first_monthly_dates_are_read_as_months_not_as_gaps(tmp_path):
    # 01/02/2001 is 1 February: read month-first, it was 2 January and the series had gaps.
    frame = load_series(write_rows(tmp_path / "s.csv", _monthly_day_first()))
    expected = pd.date_range("2001-01-01", periods=30, freq="MS")
    assert list(frame["timestamp"]) == list(expected)


def test_a_day_above_12_decides_the_order(tmp_path):
    rows = ["13/01/2020,1", "14/01/2020,2", "15/01/2020,3"]
    frame = load_series(write_rows(tmp_path / "s.csv", rows))
    assert frame["timestamp"].iloc[0] == pd.Timestamp("2020-01-13")
    rows = ["01/13/2020,1", "01/14/2020,2", "01/15/2020,3"]
    frame = load_series(write_rows(tmp_path / "s.csv", rows))
    assert frame["timestamp"].iloc[0] == pd.Timestamp("2020-01-13")


def test_dates_regular_in_both_orders_are_refused_naming_time_format(tmp_path):
    # Monthly read day-first, daily read month-first: only the user knows.
    rows = ["01/01/2020,1", "01/02/2020,2", "01/03/2020,3"]
    with pytest.raises(PipelineInputError) as error:
        load_series(write_rows(tmp_path / "s.csv", rows))
    message = str(error.value)
    assert "'01/02/2020'" in message and "01 February 2020" in message
    assert "02 January 2020" in message and "data.time_format" in message
    assert "'%d/%m/%Y'" in message and "'%m/%d/%Y'" in message


def test_an_explicit_time_format_is_used_and_mismatches_are_named(tmp_path):
    rows = ["01/01/2020,1", "01/02/2020,2", "01/03/2020,3"]
    path = write_rows(tmp_path / "s.csv", rows)
    frame = load_series(path, time_format="%d/%m/%Y")
    assert list(frame["timestamp"]) == list(pd.date_range("2020-01-01", periods=3, freq="MS"))
    write_rows(path, [*rows, "2020-04-01,4"])
    with pytest.raises(PipelineInputError, match=r"line 5: '2020-04-01'.*data.time_format"):
        load_series(path, time_format="%d/%m/%Y")
