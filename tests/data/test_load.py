"""Loading CSV/Parquet, local or from S3: timestamps, time zones, row numbers, bad files."""

from __future__ import annotations

import boto3
import numpy as np
import pandas as pd
import pytest
from conftest import (
    TINY,
    ingest,
    make_series,
    write_rows,
)

from lstm_model.data.cadence import infer_frequency
from lstm_model.data.load import load_series
from lstm_model.data.source import content_hash
from lstm_model.data.validation import validate_frame
from lstm_model.errors import PipelineInputError


def test_load_csv_parses_timestamps_and_keeps_two_columns(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("timestamp,value,extra\n2020-01-01,1.5,a\n2020-02-01,2,b\n")

    frame = load_series(path)

    assert list(frame.columns) == ["timestamp", "value"]
    assert pd.api.types.is_datetime64_any_dtype(frame["timestamp"])
    assert frame["timestamp"].dt.tz is None
    assert frame["value"].tolist() == [1.5, 2.0]
    assert len(content_hash(path)) == 64


def test_load_parquet_keeps_time_zone(tmp_path):
    stamps = pd.date_range("2020-01-01", periods=4, freq="D", tz="UTC")
    path = tmp_path / "s.parquet"
    pd.DataFrame({"when": stamps, "y": [1.0, 2.0, 3.0, 4.0]}).to_parquet(path)

    frame = load_series(path, time_column="when", target="y")

    assert str(frame["when"].dt.tz) == "UTC"
    assert frame["y"].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert infer_frequency(frame["when"]) == "D"


def test_unsorted_rows_are_sorted_stably_and_keep_their_file_row_number(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("timestamp,value\n2020-03-01,3\n2020-01-01,1\n2020-02-01,20\n2020-02-01,21\n")

    frame = load_series(path)

    assert frame["value"].tolist() == [1, 20, 21, 3]  # the two 2020-02-01 rows keep file order
    assert frame.index.tolist() == [1, 2, 3, 0]  # file line = index + 2


def test_missing_column_suggests_the_closest_name(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("timestamp,Value\n2020-01-01,1\n")

    with pytest.raises(PipelineInputError) as error:
        load_series(path)

    message = str(error.value)
    assert "no column 'value'" in message and "did you mean 'Value'?" in message
    assert "['timestamp', 'Value']" in message and str(path) in message


def test_unparseable_timestamp_names_the_line(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("timestamp,value\n2020-01-01,1\n2020-02-01,2\nnot-a-date,3\n")

    with pytest.raises(PipelineInputError, match=r"line 4: 'not-a-date'"):
        load_series(path)


@pytest.mark.parametrize(
    ("content", "expected"),
    [("", "empty"), ("timestamp,value\n", "no data rows"), ("\n\n", "no header")],
)
def test_empty_and_header_only_files(tmp_path, content, expected):
    path = tmp_path / "s.csv"
    path.write_text(content)

    with pytest.raises(PipelineInputError, match=expected):
        load_series(path)


def test_missing_file_and_unsupported_type(tmp_path):
    with pytest.raises(PipelineInputError, match="not found"):
        load_series(tmp_path / "nope.csv")
    other = tmp_path / "s.xlsx"
    other.write_bytes(b"x")
    with pytest.raises(PipelineInputError, match=r"\.csv, \.parquet, \.pq"):
        load_series(other)


def test_csv_and_parquet_from_s3_with_exogenous_columns(s3_bucket, tmp_path):
    series = make_series(60).assign(temp=np.arange(60.0))
    client = boto3.client("s3")  # AWS_ENDPOINT_URL points at the moto server
    client.put_object(Bucket=s3_bucket, Key="in/s.csv", Body=series.to_csv(index=False).encode())
    series.to_parquet(tmp_path / "s.parquet")
    client.upload_file(str(tmp_path / "s.parquet"), s3_bucket, "in/s.parquet")
    config = TINY.with_overrides(data__exogenous=("temp",))

    for key in ("in/s.csv", "in/s.parquet"):
        frame, report = ingest(f"s3://{s3_bucket}/{key}", config)
        assert list(frame.columns) == ["timestamp", "value", "temp"]
        np.testing.assert_allclose(frame["value"], series["value"], rtol=1e-12)
        assert report.frequency == "MS" and validate_frame(frame, config).success
    assert len(content_hash(f"s3://{s3_bucket}/in/s.csv")) == 64
    with pytest.raises(PipelineInputError, match="NoSuchKey"):
        load_series(f"s3://{s3_bucket}/in/missing.csv")


@pytest.mark.parametrize(
    ("stamps", "expected_tz", "first"),
    [
        (
            ["2020-03-29T00:00:00+01:00", "2020-03-29T01:00:00+01:00", "2020-03-29T03:00:00+02:00"],
            "UTC",
            "2020-03-28T23:00:00+00:00",
        ),
        (["1585440000", "1585443600", "1585447200"], "UTC", "2020-03-29T00:00:00+00:00"),
        (["2001", "2002", "2003"], None, "2001-01-01T00:00:00"),
        (["2020-01-01", "2020-01-02", "2020-01-03"], None, "2020-01-01T00:00:00"),
    ],
    ids=["mixed-offsets-to-utc", "epoch-seconds", "years", "naive-dates"],
)
def test_timestamps_are_parsed_and_time_zones_normalised(tmp_path, stamps, expected_tz, first):
    path = write_rows(tmp_path / "s.csv", [f"{s},{i}" for i, s in enumerate(stamps)])
    frame = load_series(path)
    assert (None if frame["timestamp"].dt.tz is None else str(frame["timestamp"].dt.tz)) == (
        expected_tz
    )
    assert frame["timestamp"].iloc[0].isoformat() == first


def test_naive_mixed_with_offsets_is_rejected_with_lines(tmp_path):
    path = write_rows(tmp_path / "s.csv", ["2020-01-01T00:00:00+01:00,1", "2020-01-02T00:00:00,2"])
    with pytest.raises(PipelineInputError, match=r"s\.csv.*'timestamp'.*line 3.*offset"):
        load_series(path)


@pytest.mark.parametrize(
    ("values", "suffix", "expected"),
    [
        ([True, False] * 30, ".csv", "booleans"),
        ([True, False] * 30, ".parquet", "booleans"),
        ([f"{v:.1f}" for v in range(60)], ".parquet", "not numbers"),
    ],
    ids=["csv-booleans", "parquet-booleans", "parquet-strings"],
)
def test_value_columns_of_booleans_or_typed_text_are_refused(tmp_path, values, suffix, expected):
    frame = make_series(60).assign(value=values)
    path = tmp_path / f"s{suffix}"
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path)

    with pytest.raises(PipelineInputError) as error:
        load_series(path)

    message = str(error.value)
    assert "column 'value'" in message and expected in message
    assert "integers or floats" in message
    assert ("line 2: True" if suffix == ".csv" else "row index 0:") in message


def test_a_series_longer_than_max_rows_is_refused(tmp_path):
    path = tmp_path / "s.csv"
    make_series(60).to_csv(path, index=False)
    assert len(load_series(path, max_rows=60)) == 60
    with pytest.raises(PipelineInputError, match="60 data rows; data.max_rows is 59"):
        load_series(path, max_rows=59)
