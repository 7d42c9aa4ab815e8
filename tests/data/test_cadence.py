"""The cadence: frequency from the typical spacing, grid positions, one spelling per frequency."""

from __future__ import annotations

import pandas as pd
import pytest

from lstm_model.config import DataConfig
from lstm_model.data.cadence import default_horizon, infer_cadence, infer_frequency
from lstm_model.data.policies import apply_policies
from lstm_model.errors import PipelineInputError


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (pd.date_range("2000-01-01", periods=12, freq="MS"), "MS"),
        # pandas names every quarter-start series by its January anchor.
        (pd.date_range("2000-10-01", periods=12, freq="QS-OCT"), "QS-JAN"),
        (pd.date_range("2000-07-01", periods=12, freq="YS-JUL"), "YS-JUL"),
        (pd.date_range("2000-01-01", periods=12, freq="YS"), "YS-JAN"),
        (pd.to_datetime(["2000-01-01", "2000-01-02", "2000-01-05"]), None),
        (pd.to_datetime(["2000-01-01", "2000-01-02"]), None),
    ],
)
def test_infer_frequency(values, expected):
    assert infer_frequency(pd.Series(values)) == expected


def test_irregular_timestamps_are_rejected():
    config = DataConfig()
    frame = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(["2020-01-01", "2020-01-04", "2020-01-05", "2020-02-11"]),
            "value": [1.0, 2.0, 3.0, 4.0],
        }
    )
    with pytest.raises(PipelineInputError, match="no regular frequency"):
        apply_policies(frame, config, "frame")


def test_positions_count_grid_steps_so_gaps_and_duplicates_show():
    stamps = pd.Series(
        pd.to_datetime(["2020-01-01", "2020-02-01", "2020-04-01", "2020-04-01", "2020-05-01"])
    )
    cadence = infer_cadence(stamps)
    assert cadence is not None and cadence.alias == "MS" and cadence.months == 1
    assert cadence.positions(stamps).tolist() == [0, 1, 3, 3, 4]
    expected = pd.date_range("2020-01-01", periods=5, freq="MS")
    assert list(cadence.grid(stamps[0], 5)) == list(expected)


@pytest.mark.parametrize(
    ("start", "freq", "alias"),
    [
        ("2001-03-31", "QE-MAR", "QE-DEC"),  # quarter ends: pandas' own anchor
        ("2001-10-01", "QS-OCT", "QS-JAN"),
        ("2001-01-01", "2D", "2D"),  # not 48h: the analysis reads the unit from the alias
        ("2001-01-03", "W-WED", "W-WED"),
        ("2001-01-01 00:00", "15min", "15min"),
        ("2001-01-31", "ME", "ME"),
    ],
)
def test_one_frequency_has_one_spelling(start, freq, alias):
    stamps = pd.Series(pd.date_range(start, periods=30, freq=freq))
    cadence = infer_cadence(stamps)
    assert cadence is not None and cadence.alias == alias == infer_frequency(stamps)
    utc = stamps.dt.tz_localize("UTC")
    assert infer_cadence(utc).alias == alias


def test_off_grid_or_too_few_timestamps_have_no_cadence():
    mixed = pd.Series(pd.to_datetime(["2020-01-01", "2020-02-15", "2020-03-01", "2020-04-01"]))
    assert infer_cadence(mixed) is None
    assert infer_cadence(pd.Series(pd.to_datetime(["2020-01-01", "2020-02-01"]))) is None


@pytest.mark.parametrize(
    ("frequency", "horizon"),
    [("MS", 12), ("ME", 12), ("QS-OCT", 8), ("YS-JAN", 4), ("W-SUN", 13), ("D", 14)]
    + [("h", 24), ("B", 10), ("min", 10), (None, 10)],
)
def test_default_horizon_by_cadence(frequency, horizon):
    assert default_horizon(frequency) == horizon
