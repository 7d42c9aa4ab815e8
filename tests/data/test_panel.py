"""Panel input: long format to flat arrays, per-series checks named by series id."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstm_model.config import PipelineConfig
from lstm_model.data.check import check_panel
from lstm_model.data.panel import panel_from_frame
from lstm_model.data.source import check_source, content_hash
from lstm_model.data.validation import validate_panel_frame
from lstm_model.errors import PipelineInputError


def _long(lengths: dict[str, int], start: str = "2000-01-01") -> pd.DataFrame:
    frames = []
    for offset, (sid, n) in enumerate(lengths.items()):
        stamps = pd.date_range(start, periods=n, freq="MS") + pd.DateOffset(months=offset)
        values = 100 * (offset + 1) + np.arange(n, dtype=float)
        frames.append(pd.DataFrame({"store": sid, "timestamp": stamps, "value": values}))
    # Shuffled rows: the panel sorts by series and time itself.
    return pd.concat(frames).sample(frac=1.0, random_state=0).reset_index(drop=True)


def test_series_of_different_lengths_and_starts_become_flat_sorted_arrays():
    panel = panel_from_frame(_long({"b": 30, "a": 24, "c": 40}), "store")
    assert list(panel.ids) == ["a", "b", "c"] and panel.frequency == "MS"
    assert list(panel.lengths) == [24, 30, 40] and list(panel.starts) == [0, 24, 54, 94]
    np.testing.assert_array_equal(panel.series("b"), 100 + np.arange(30.0))  # first in the dict
    assert np.all(np.diff(panel.timestamps[panel.starts[1] : panel.starts[2]]) > np.timedelta64(0))
    assert list(np.bincount(panel.series_of_row)) == [24, 30, 40]


def test_bad_series_are_named_and_fail_or_are_skipped_by_policy():
    frame = _long({"a": 24, "b": 30, "c": 40, "d": 5})
    frame["value"] = frame["value"].astype(object)  # as read from a CSV with a bad cell
    frame.loc[(frame["store"] == "b") & (frame["timestamp"] == "2001-01-01"), "value"] = "n/a"
    gap = frame[(frame["store"] == "c") & (frame["timestamp"] == "2001-06-01")].index
    frame = frame.drop(gap)
    with pytest.raises(PipelineInputError) as raised:
        panel_from_frame(frame, "store", min_rows=12)
    message = str(raised.value)
    assert "3 series failed" in message
    assert "series 'b': value 'n/a' at 2001-01-01" in message
    assert "series 'c': after 2001-05-01 00:00:00 comes 2001-07-01" in message
    assert "series 'd': 5 rows; the model needs at least 12" in message
    assert "data.bad_series = skip" in message

    panel = panel_from_frame(frame, "store", min_rows=12, bad_series="skip")
    assert list(panel.ids) == ["a"] and set(panel.excluded) == {"b", "c", "d"}


def test_missing_columns_and_ids_say_how_to_fix():
    frame = _long({"a": 24})
    with pytest.raises(PipelineInputError, match="--series-column"):
        panel_from_frame(frame, "series_id")
    frame.loc[3, "store"] = None
    with pytest.raises(PipelineInputError, match="line 5: the series id column 'store' is empty"):
        panel_from_frame(frame, "store")


def test_a_panel_without_some_series_keeps_the_rest_intact():
    panel = panel_from_frame(_long({"a": 24, "b": 30, "c": 40}), "store")
    smaller = panel.without({"b": "too short"})
    assert list(smaller.ids) == ["a", "c"] and list(smaller.starts) == [0, 24, 64]
    np.testing.assert_array_equal(smaller.series("c"), panel.series("c"))
    assert smaller.excluded == {"b": "too short"}


def test_future_timestamps_continue_each_series_on_the_panel_frequency():
    panel = panel_from_frame(_long({"a": 24, "b": 30}), "store")
    stamps = pd.DatetimeIndex(panel.future_timestamps(3))
    # a: 2000-01 .. 2001-12; b starts a month later and runs 30 months: .. 2002-07.
    assert list(stamps.strftime("%Y-%m")) == [
        "2002-01", "2002-02", "2002-03", "2002-08", "2002-09", "2002-10"
    ]  # fmt: skip


def test_check_panel_names_the_series_and_refuses_exogenous_columns(tmp_path):
    frame = _long({"a": 24, "b": 30}).rename(columns={"store": "series_id"})
    b_rows = frame[frame["series_id"] == "b"].sort_values("timestamp").index
    frame = frame.drop(b_rows[5:6])
    path = tmp_path / "panel.csv"
    frame.to_csv(path, index=False)
    config = PipelineConfig().with_overrides(data__series_column="series_id")
    _, panel = check_panel(path, config.with_overrides(data__bad_series="skip"))
    assert list(panel.ids) == ["a"] and "not the next MS step" in panel.excluded["b"]
    with pytest.raises(PipelineInputError, match="series 'b'"):
        check_panel(path, config)
    with pytest.raises(PipelineInputError, match="reads the target only"):
        check_panel(path, config.with_overrides(data__exogenous=("price",)))


def test_the_panel_suite_finds_a_repeated_series_and_timestamp(tmp_path):
    frame = _long({"a": 24, "b": 30}).rename(columns={"store": "series_id"})
    repeated = pd.concat([frame, frame.iloc[[0]]], ignore_index=True)
    config = PipelineConfig().with_overrides(data__series_column="series_id")
    assert validate_panel_frame(frame, config).success
    report = validate_panel_frame(repeated, config)
    failed = [outcome.expectation for outcome in report.failures]
    assert failed == ["expect_compound_columns_to_be_unique"]


def test_a_folder_of_one_series_files_is_a_panel_named_by_file(tmp_path):
    folder = tmp_path / "stores"
    folder.mkdir()
    for sid, n in {"north": 24, "south": 30}.items():
        frame = _long({sid: n}).drop(columns="store").sort_values("timestamp")
        frame.to_csv(folder / f"{sid}.csv", index=False)
    (folder / "README.txt").write_text("not data")
    config = PipelineConfig().with_overrides(data__series_column="series_id")
    check_source(folder, None, panel=True)
    _, panel = check_panel(folder, config)
    assert list(panel.ids) == ["north", "south"] and list(panel.lengths) == [24, 30]
    before = content_hash(folder)
    (folder / "south.csv").write_text((folder / "south.csv").read_text().replace("101", "102"))
    assert content_hash(folder) != before
    with pytest.raises(PipelineInputError, match="is a folder, not a data file"):
        check_source(folder, 1000)
