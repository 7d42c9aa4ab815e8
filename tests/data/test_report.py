"""The validation report: pass, warn or FAIL per expectation; one error lists every failure."""

from __future__ import annotations

import pytest

from lstm_model.data.report import ExpectationOutcome, ValidationReport
from lstm_model.errors import DataValidationError


def _report(*outcomes: ExpectationOutcome) -> ValidationReport:
    failed = [o for o in outcomes if not o.success and o.severity != "warning"]
    return ValidationReport(not failed, list(outcomes), {}, {}, "s.csv", "base")


PASSED = ExpectationOutcome("expect_column_to_exist", "value", True, description="has values")
OUTLIER = ExpectationOutcome(
    "expect_column_values_to_be_between",
    "value",
    False,
    unexpected_count=1,
    examples=[(9, 1e9)],
    description="values within the outlier bounds",
    severity="warning",
)
TEXT = ExpectationOutcome(
    "expect_column_values_to_be_in_type_list",
    "value",
    False,
    unexpected_count=7,
    examples=[(3, "12,3"), (4, "?")],
    description="values are numbers",
    fix="remove or fix the non-numeric values",
)


def test_outcomes_explain_what_where_and_how_to_fix():
    assert TEXT.explain("s.csv") == (
        "values are numbers (expect_column_values_to_be_in_type_list, column 'value'): "
        "7 bad row(s), e.g. line 3: '12,3', line 4: '?' and 5 more. "
        "Fix: remove or fix the non-numeric values."
    )
    assert TEXT.evidence("s.parquet").startswith("7 bad row(s), e.g. row index 1: '12,3'")
    rows = ExpectationOutcome(
        "expect_table_row_count_to_be_between", None, False, observed=12, description="rows"
    )
    assert rows.evidence() == "the series has 12 rows"


def test_warnings_are_reported_but_only_failures_stop_the_run():
    report = _report(PASSED, OUTLIER)
    assert report.success and report.failures == [] and report.warnings == [OUTLIER]
    report.raise_for_failures()  # nothing to raise
    markdown = report.to_markdown()
    assert markdown.startswith("## Data validation: passed")
    assert "| has values | value | pass |" in markdown
    assert "| values within the outlier bounds | value | warn | 1 bad row(s), e.g. line 9" in (
        markdown
    )


def test_a_failure_raises_one_error_listing_every_failed_expectation():
    report = _report(PASSED, OUTLIER, TEXT)
    assert not report.success and report.failures == [TEXT]
    assert "**FAIL**" in report.to_markdown() and "FAILED" in report.to_markdown()
    with pytest.raises(DataValidationError) as caught:
        report.raise_for_failures()
    message = str(caught.value)
    assert message.startswith("s.csv failed data validation (suite 'base'): 1 of 3 expectations")
    assert "  - values are numbers" in message and "line 3: '12,3'" in message
    assert caught.value.failures == [TEXT]


def test_checks_on_a_missing_column_collapse_into_one_line():
    missing = ExpectationOutcome("expect_column_to_exist", "temp", False, description="has temp")
    unrunnable = ExpectationOutcome(
        "expect_column_values_to_not_be_null", "temp", False, error="KeyError: 'temp'\n..."
    )
    with pytest.raises(DataValidationError, match=r"1 more check\(s\) could not run") as caught:
        _report(missing, unrunnable).raise_for_failures()
    assert "has temp" in str(caught.value) and "KeyError" not in str(caught.value)
