"""Data stage: loading CSV/Parquet, GX validation with row-level messages, the Prefect tasks."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from lstm_model.config import PipelineConfig
from lstm_model.data.cadence import infer_frequency
from lstm_model.data.load import content_hash, load_series
from lstm_model.data.validation import BASE_SUITE_PATH, validate_series
from lstm_model.data.values import numeric_target
from lstm_model.errors import DataValidationError, PipelineInputError


def monthly_csv(path: Path, n: int = 48, values: list | None = None) -> Path:
    """A clean monthly series, ``n`` rows, header ``timestamp,value``."""
    values = values if values is not None else [10.0 + i * 0.5 for i in range(n)]
    stamps = pd.date_range("2015-01-01", periods=len(values), freq="MS")
    lines = ["timestamp,value"] + [
        f"{stamp:%Y-%m-%d},{value}" for stamp, value in zip(stamps, values, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def validate_file(path: Path, min_rows: int = 40, **kwargs):
    frame = load_series(path)
    return validate_series(frame, "timestamp", "value", min_rows, source=str(path), **kwargs)


# --- loading -------------------------------------------------------------------------------


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


# --- validation ----------------------------------------------------------------------------


def test_base_suite_is_a_loadable_gx_suite():
    import great_expectations as gx

    suite = gx.ExpectationSuite(**json.loads(BASE_SUITE_PATH.read_text()))
    assert suite.name == "lstm_pipeline_base"
    assert len(suite.expectations) == 12


def test_valid_series_passes_and_target_becomes_float(tmp_path):
    path = monthly_csv(tmp_path / "s.csv", values=list(range(48)))  # ints in the file
    frame = load_series(path)

    report = validate_series(frame, "timestamp", "value", 40, source=str(path))
    report.raise_for_failures()

    assert report.success and not report.failures
    assert report.statistics["evaluated_expectations"] == 12
    assert "<html" in report.html and "Great Expectations" in report.html  # GX Data Docs page
    json.dumps(report.raw)  # serialisable, for logging
    target = numeric_target(frame, "value")
    assert target.dtype == "float64" and target.tolist() == [float(i) for i in range(48)]
    assert "| Timestamps are unique | timestamp | pass |" in report.to_markdown()


def test_non_numeric_values_fail_with_their_lines(tmp_path):
    values: list = [float(i) for i in range(45)]
    values[3], values[10] = '"12,3"', "n/a"
    path = monthly_csv(tmp_path / "s.csv", values=values)

    report = validate_file(path)

    with pytest.raises(DataValidationError) as error:
        report.raise_for_failures()
    message = str(error.value)
    assert str(path) in message
    assert "line 5: '12,3'" in message and "line 12: 'n/a'" in message
    assert "remove or fix the non-numeric values" in message
    (failure,) = error.value.failures
    assert failure.expectation == "expect_column_values_to_be_in_type_list"
    assert failure.examples == [(5, "12,3"), (12, "n/a")]


def test_lines_stay_right_when_the_file_was_not_in_time_order(tmp_path):
    # GX 1.24 misreports rows of a frame whose index is not 0..n-1; sorting makes one.
    path = monthly_csv(tmp_path / "s.csv", n=45)
    header, *rows = path.read_text().splitlines()
    rows[7] = rows[7].split(",")[0] + ",?"  # line 9
    rows.reverse()  # now line 2 + (44 - 7) = 39
    path.write_text("\n".join([header, *rows]) + "\n")

    report = validate_file(path)

    (failure,) = report.failures
    assert failure.examples == [(39, "?")]


def test_duplicate_timestamps_fail(tmp_path):
    path = monthly_csv(tmp_path / "s.csv", n=45)
    lines = path.read_text().splitlines()
    lines.append(lines[5])  # line 47 repeats line 6
    path.write_text("\n".join(lines) + "\n")

    report = validate_file(path)

    failure = next(o for o in report.failures if o.expectation.endswith("_to_be_unique"))
    assert sorted(line for line, _ in failure.examples) == [6, 47]
    with pytest.raises(DataValidationError, match="each timestamp must appear once"):
        report.raise_for_failures()


def test_missing_and_infinite_values_fail(tmp_path):
    values: list = [float(i) for i in range(45)]
    values[2], values[7], values[8] = "", "inf", "-inf"
    path = monthly_csv(tmp_path / "s.csv", values=values)

    report = validate_file(path)

    failed = {outcome.expectation: outcome for outcome in report.failures}
    assert set(failed) == {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_not_be_in_set",
    }
    assert [line for line, _ in failed["expect_column_values_to_not_be_null"].examples] == [4]
    assert failed["expect_column_values_to_not_be_in_set"].examples == [
        (9, math.inf),
        (10, -math.inf),
    ]
    with pytest.raises(DataValidationError, match=r"line 9: inf"):
        report.raise_for_failures()


def test_too_few_rows_fail(tmp_path):
    path = monthly_csv(tmp_path / "s.csv", n=12)

    report = validate_file(path, min_rows=40)

    (failure,) = report.failures
    assert failure.expectation == "expect_table_row_count_to_be_between"
    with pytest.raises(DataValidationError, match="has 12 rows.*provide at least 40 rows"):
        report.raise_for_failures()


def test_user_suite_is_applied_in_addition_to_the_base_one(tmp_path):
    suite = {
        "name": "house_rules",
        "expectations": [
            {
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": "{target}", "min_value": 0, "max_value": 100},
                "meta": {"fix": "values must lie in 0..100"},
            }
        ],
    }
    suite_path = tmp_path / "suite.json"
    suite_path.write_text(json.dumps(suite))
    path = monthly_csv(tmp_path / "s.csv", values=[5.0, 500.0, 7.0])

    report = validate_file(path, extra_suites=[suite_path])

    assert report.suite_name == "lstm_pipeline_base+house_rules" and len(report.outcomes) == 13
    failed = {outcome.expectation for outcome in report.failures}
    # The base suite still runs (too few rows) next to the user's rule.
    assert failed == {"expect_table_row_count_to_be_between", "expect_column_values_to_be_between"}
    with pytest.raises(DataValidationError, match=r"line 3: 500.0.*values must lie in 0..100"):
        report.raise_for_failures()


# --- Prefect tasks -------------------------------------------------------------------------


@pytest.fixture
def data_flow(prefect_harness):
    """A small flow that runs the two tasks as the retrain flow does."""
    from prefect import flow

    from tasks.data import load_data, validate_data

    @flow(name="data-stage-test")
    def data_stage(path: str, config: PipelineConfig):
        frame, _ = load_data(path, config)
        return validate_data(frame, config, source=path)

    return data_stage


def test_tasks_pass_a_valid_series_and_publish_the_report(tmp_path, data_flow):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    path = monthly_csv(tmp_path / "s.csv", n=80)

    report = data_flow(str(path), PipelineConfig())

    assert report.success
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["data-validation"]))
        )
    assert any(str(path) in (artifact.data or "") for artifact in artifacts)


def test_tasks_raise_validation_errors_through_prefect(tmp_path, data_flow):
    path = monthly_csv(tmp_path / "s.csv", values=[1.0, "?", 3.0])
    config = PipelineConfig().with_overrides(data__min_rows=10)

    with pytest.raises(DataValidationError, match=r"line 3: '\?'"):
        data_flow(str(path), config)


def test_tasks_raise_input_errors_through_prefect(tmp_path, data_flow):
    path = tmp_path / "s.csv"
    path.write_text("time,value\n2020-01-01,1\n")

    with pytest.raises(PipelineInputError, match="(?i)did you mean 'time'"):
        data_flow(str(path), PipelineConfig())


def test_numeric_features_stacks_columns_in_order():
    from lstm_model.data.values import numeric_features

    frame = pd.DataFrame({"t": [1, 2, 3], "value": [1.5, 2.0, 3.0], "temp": [10, 20, 30]})

    matrix = numeric_features(frame, ["value", "temp"])

    assert matrix.shape == (3, 2) and matrix.dtype == "float64"
    assert matrix.tolist() == [[1.5, 10.0], [2.0, 20.0], [3.0, 30.0]]
    assert numeric_features(frame, []).shape == (3, 0)
    with pytest.raises(PipelineInputError, match="'rain'"):
        numeric_features(frame, ["value", "rain"])
