"""Ingestion policies: sorting, duplicates, gaps, resampling and outliers, each reported."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import TINY, check, good_rows, ingest, write_rows

from lstm_model.data.validation import validate_frame
from lstm_model.errors import DataValidationError, PipelineInputError


def test_duplicate_policies(tmp_path):
    path = write_rows(tmp_path / "s.csv", [*good_rows(), "2004-12-01,1000.0"])  # line 62 repeats
    with pytest.raises(DataValidationError, match=r"unique.*line 61.*line 62"):
        check(path).raise_for_failures()

    last, report = ingest(path, TINY.with_overrides(data__duplicates="keep_last"))
    mean, _ = ingest(path, TINY.with_overrides(data__duplicates="mean"))
    original = float(good_rows()[-1].split(",")[1])
    assert last["value"].iloc[-1] == 1000.0 and len(last) == 60
    assert mean["value"].iloc[-1] == pytest.approx((original + 1000.0) / 2)
    assert [d.check for d in report.decisions][:1] == ["duplicates"]


def test_unsorted_rows_are_sorted_and_reported(tmp_path):
    rows = good_rows()
    rows[3], rows[10] = rows[10], rows[3]
    frame, report = ingest(write_rows(tmp_path / "s.csv", rows))
    assert frame["timestamp"].is_monotonic_increasing
    (decision,) = [d for d in report.decisions if d.check == "unsorted"]
    assert decision.found == 2 and sorted(decision.examples) == ["line 12", "line 5"]
    assert "| unsorted | sort | 2 |" in report.to_markdown()


def test_gap_policies(tmp_path):
    rows = good_rows()
    del rows[20:22]  # two missing months after line 21
    rows[40] = rows[40].split(",")[0] + ","  # an empty value
    path = write_rows(tmp_path / "s.csv", rows)

    with pytest.raises(DataValidationError) as error:
        check(path).raise_for_failures()
    assert "regular frequency" in str(error.value) and "3 step(s) after the previous" in str(
        error.value
    )

    config = TINY.with_overrides(data__gaps="interpolate", data__max_gap=2)
    frame, report = ingest(path, config)
    assert len(frame) == 60 and not frame["value"].isna().any()
    assert validate_frame(frame, config).success
    before, after = frame["value"].iloc[19], frame["value"].iloc[22]
    np.testing.assert_allclose(
        frame["value"].iloc[20:22], before + (after - before) * np.array([1, 2]) / 3
    )
    assert list(frame.index[20:22]) == [-1, -1]  # inserted rows carry no file line
    assert "interpolated 3 value(s)" in report.to_markdown()

    # A gap longer than max_gap is not invented: validation still rejects it.
    frame, _ = ingest(path, TINY.with_overrides(data__gaps="interpolate", data__max_gap=1))
    assert not validate_frame(frame, TINY).success


def test_resample_puts_an_irregular_series_on_a_grid(tmp_path):
    times = pd.date_range("2020-01-01", periods=24 * 60, freq="h") + pd.to_timedelta(
        np.random.default_rng(0).integers(0, 50, 24 * 60), unit="min"
    )
    values = np.arange(len(times), dtype=float)
    rows = [f"{t.isoformat()},{v}" for t, v in zip(times, values, strict=True)]
    path = write_rows(tmp_path / "s.csv", rows)
    with pytest.raises(PipelineInputError, match=r"no regular frequency.*data.gaps='resample'"):
        ingest(path)
    config = TINY.with_overrides(data__gaps="resample", data__frequency="D")
    frame, report = ingest(path, config)
    assert len(frame) == 60 and report.frequency == "D"
    assert frame["value"].iloc[0] == pytest.approx(values[:24].mean())


def test_outliers_only_warn_by_default(tmp_path):
    rows = good_rows()
    rows[12] = rows[12].split(",")[0] + ",5e4"
    path = write_rows(tmp_path / "s.csv", rows)
    frame, report = ingest(path)
    validation = validate_frame(frame, TINY)
    assert validation.success and len(validation.warnings) == 1
    assert "| warn |" in validation.to_markdown()
    assert any(d.check.startswith("outliers") and d.found == 1 for d in report.decisions)
