"""Ingestion in depth: S3, timestamps and time zones, policies, and each kind of bad input."""

from __future__ import annotations

import boto3
import numpy as np
import pandas as pd
import pytest
from conftest import make_series

from lstm_model.config import DataConfig, PipelineConfig
from lstm_model.data.load import content_hash, load_series
from lstm_model.data.policies import apply_policies
from lstm_model.data.validation import validate_frame
from lstm_model.errors import DataValidationError, PipelineInputError

# A smallest lookback of 12 needs ceil((12 + 2 + 16) / 0.7) = 43 rows.
TINY = PipelineConfig().with_overrides(analysis__min_lookback=12, analysis__max_lookback=12)


def write_rows(path, rows, header="timestamp,value"):
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def good_rows(n=60, start=0):
    frame = make_series(n)
    return [
        f"{t:%Y-%m-%d},{v:.3f}" for t, v in zip(frame["timestamp"], frame["value"], strict=True)
    ][start:]


def ingest(path, config=TINY):
    data = config.data
    frame = load_series(path, data.time_column, data.target, data.exogenous)
    return apply_policies(frame, data, source=str(path))


def check(path, config=TINY):
    frame, _ = ingest(path, config)
    return validate_frame(frame, config, source=str(path))


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


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({3: '"12,3"', 8: "?", 9: "n/a"}, ["line 5: '12,3'", "line 10: '?'", "line 11: 'n/a'"]),
        ({5: "inf", 6: "-inf", 7: ""}, ["finite", "line 7: inf", "line 9"]),
        ({12: "1e9"}, ["outliers", "line 14: 1000000000"]),
    ],
    ids=["non-numeric", "nan-and-infinity", "absurd-outlier-fail"],
)
def test_bad_values_are_rejected_with_lines(tmp_path, change, expected):
    rows = good_rows()
    for index, value in change.items():
        rows[index] = rows[index].split(",")[0] + "," + value
    path = write_rows(tmp_path / "bad.csv", rows)
    with pytest.raises(DataValidationError) as error:
        check(path, TINY.with_overrides(data__outliers="fail")).raise_for_failures()
    message = str(error.value)
    assert "bad.csv" in message and "'value'" in message
    for text in expected:
        assert text in message


def test_outliers_only_warn_by_default(tmp_path):
    rows = good_rows()
    rows[12] = rows[12].split(",")[0] + ",1e9"
    path = write_rows(tmp_path / "s.csv", rows)
    frame, report = ingest(path)
    validation = validate_frame(frame, TINY)
    assert validation.success and len(validation.warnings) == 1
    assert "| warn |" in validation.to_markdown()
    assert any(d.check.startswith("outliers") and d.found == 1 for d in report.decisions)


def test_constant_and_too_short_series(tmp_path):
    constant = write_rows(tmp_path / "c.csv", [f"{r.split(',')[0]},5.0" for r in good_rows()])
    with pytest.raises(DataValidationError, match="not constant"):
        check(constant).raise_for_failures()
    short = write_rows(tmp_path / "short.csv", good_rows(42))
    with pytest.raises(
        DataValidationError, match=r"has 42 rows.*at least 43 rows.*lookback of at least 12"
    ):
        check(short).raise_for_failures()


def test_exogenous_columns_are_checked_like_the_target(tmp_path):
    rows = [f"{r},{i}" for i, r in enumerate(good_rows())]
    rows[4] = rows[4].rsplit(",", 1)[0] + ",warm"
    path = write_rows(tmp_path / "s.csv", rows, header="timestamp,value,temp")
    config = TINY.with_overrides(data__exogenous=("temp",))
    with pytest.raises(DataValidationError, match=r"column 'temp'.*line 6: 'warm'"):
        check(path, config).raise_for_failures()
    with pytest.raises(PipelineInputError, match="did you mean 'temp'"):
        ingest(path, TINY.with_overrides(data__exogenous=("tmp",)))


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


@pytest.mark.parametrize(
    ("rows", "header", "expected"),
    [
        (["2004-11-01,12.0"], "timestamp,value", "at least 43 rows"),
        (good_rows()[:-2] + ["2004-11-01,'?'"], "timestamp,value", "line 60: \"'?'\""),
        (good_rows(), "timestamp,vaule", "did you mean 'vaule'"),
        (good_rows()[:30] + good_rows()[33:], "timestamp,value", "regular frequency"),
    ],
    ids=["too-short", "non-numeric", "misspelled-column", "gap"],
)
def test_cli_exits_2_for_bad_input(tmp_path, monkeypatch, capsys, rows, header, expected):
    from flows.cli.main import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.json").write_text('{"analysis": {"min_lookback": 12, "max_lookback": 12}}')
    path = write_rows(tmp_path / "bad.csv", rows, header)
    code = main(["retrain", str(path), "--model-name", "never", "--config", "tiny.json"])
    err = capsys.readouterr().err
    assert code == 2 and "bad.csv" in err and expected in err
    assert not (tmp_path / "model_store").exists()
