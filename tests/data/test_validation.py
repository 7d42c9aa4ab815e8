"""GX validation of a loaded series: each failure with its lines, values and a fix."""

from __future__ import annotations

import json
import math

import pytest
from conftest import (
    TINY,
    check,
    good_rows,
    ingest,
    monthly_csv,
    validate_file,
    write_rows,
)

from lstm_model.data.load import load_series
from lstm_model.data.validation import validate_series
from lstm_model.data.values import numeric_target
from lstm_model.errors import DataValidationError, PipelineInputError


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


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({3: '"12,3"', 8: "?", 9: "n/a"}, ["line 5: '12,3'", "line 10: '?'", "line 11: 'n/a'"]),
        ({5: "inf", 6: "-inf", 7: ""}, ["finite", "line 7: inf", "line 9"]),
        ({12: "5e4"}, ["outliers", "line 14: 50000"]),
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
