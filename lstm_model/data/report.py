"""The outcome of a validation: per-expectation verdicts with file lines, Markdown and HTML.

Kept apart from ``validation`` (which runs GX) so that reports can be built, read and
rendered without importing Great Expectations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from lstm_model.data.source import row_label
from lstm_model.errors import DataValidationError


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's verdict, with examples that point at file lines.

    Attributes:
        expectation: The GX expectation type, e.g. ``expect_column_values_to_be_unique``.
        column: The column it checks, or None for table-level expectations.
        success: Whether it passed.
        unexpected_count: How many rows broke it (0 for table-level expectations).
        examples: Up to five (file line, value) pairs; file line = data-row index + 2.
        description: What it checks, in words (from the suite, else the type).
        fix: How to fix a failure.
        observed: GX's observed value for table-level expectations (e.g. the row count).
        error: GX's message when the expectation could not be evaluated at all.
        severity: 'critical' (a failure stops the run) or 'warning' (reported only).
    """

    expectation: str
    column: str | None
    success: bool
    unexpected_count: int = 0
    examples: list[tuple[int, Any]] = field(default_factory=list)
    description: str = ""
    fix: str = ""
    observed: Any = None
    error: str | None = None
    severity: str = "critical"

    def evidence(self, source: str = "") -> str:
        """What GX saw: bad rows with their values, the observed value, or why it did not run."""
        if self.error:
            return f"could not be checked ({self.error.splitlines()[0]})"
        if self.examples:
            shown = ", ".join(
                f"{row_label(line - 2, source)}: {_show(value)}" for line, value in self.examples
            )
            more = self.unexpected_count - len(self.examples)
            return f"{self.unexpected_count} bad row(s), e.g. {shown}" + (
                f" and {more} more" if more > 0 else ""
            )
        if self.success or self.observed is None:
            return ""
        if self.expectation == "expect_table_row_count_to_be_between":
            return f"the series has {self.observed} rows"
        return f"observed {self.observed}"

    def explain(self, source: str = "") -> str:
        """One line: what failed, where (lines and values) and how to fix it."""
        where = f", column '{self.column}'" if self.column else ""
        text = f"{self.description or self.expectation} ({self.expectation}{where})"
        evidence = self.evidence(source)
        text += f": {evidence}" if evidence else ""
        return f"{text}. Fix: {self.fix}." if self.fix else f"{text}."


@dataclass
class ValidationReport:
    """The result of validating one series against one suite."""

    success: bool
    outcomes: list[ExpectationOutcome]
    statistics: dict[str, Any]
    raw: dict[str, Any]
    source: str = ""
    suite_name: str = ""
    html: str = field(default="", repr=False)

    @property
    def failures(self) -> list[ExpectationOutcome]:
        """The critical outcomes that did not pass: these stop the run."""
        return [o for o in self.outcomes if not o.success and o.severity != "warning"]

    @property
    def warnings(self) -> list[ExpectationOutcome]:
        """The warning-severity outcomes that did not pass: reported, not fatal."""
        return [o for o in self.outcomes if not o.success and o.severity == "warning"]

    def to_markdown(self) -> str:
        """A Markdown table of every expectation, for a Prefect artifact or a report."""
        passed = len(self.outcomes) - len(self.failures)
        lines = [
            f"## Data validation: {'passed' if self.success else 'FAILED'}",
            "",
            f"Source: `{self.source or 'dataframe'}` · suite `{self.suite_name}` · "
            f"{passed} of {len(self.outcomes)} expectations passed.",
            "",
            "| Expectation | Column | Result | Examples |",
            "|---|---|---|---|",
        ]
        for outcome in self.outcomes:
            cells = [
                f"{outcome.description or outcome.expectation}",
                outcome.column or "(table)",
                "pass"
                if outcome.success
                else ("warn" if outcome.severity == "warning" else "**FAIL**"),
                outcome.evidence(self.source),
            ]
            lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
        return "\n".join(lines) + "\n"

    def raise_for_failures(self) -> None:
        """Raise DataValidationError listing each failed expectation; do nothing on success.

        Raises:
            DataValidationError: With one line per failed expectation and ``failures`` set.
        """
        failures = self.failures
        if not failures:
            return
        # Checks on a missing column all fail with GX errors: one line for the column says it.
        missing = {o.column for o in failures if o.expectation == "expect_column_to_exist"}
        listed = [o for o in failures if not (o.error and o.column in missing)]
        bullets = "\n".join(f"  - {outcome.explain(self.source)}" for outcome in listed)
        if len(listed) < len(failures):
            bullets += (
                f"\n  - ({len(failures) - len(listed)} more check(s) could not run because "
                "their column is missing.)"
            )
        raise DataValidationError(
            f"{self.source or 'The series'} failed data validation (suite '{self.suite_name}'): "
            f"{len(failures)} of {len(self.outcomes)} expectations failed.\n{bullets}\n"
            "Fix the data file (or the configuration) and run again.",
            failures=failures,
        )


def _show(value: Any) -> str:
    """A value as a user would recognise it from the file."""
    if isinstance(value, pd.Timestamp):
        return str(value.isoformat())
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return "(empty)"
    return repr(value) if isinstance(value, str) else str(value)


def _cell(text: str) -> str:
    """Escape a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")
