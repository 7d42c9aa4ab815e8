"""The suites evaluated with pandas alone reach GX's verdicts, with the same lines and values."""

from __future__ import annotations

import json
import math

import pytest
from conftest import TINY, good_rows, ingest, write_rows

from lstm_model.data.validation import validate_frame


def _with_values(changes: dict[int, str], n: int = 60) -> list[str]:
    rows = good_rows(n)
    for index, value in changes.items():
        rows[index] = rows[index].split(",")[0] + "," + value
    return rows


CASES = {
    "non-numeric": _with_values({3: '"12,3"', 8: "?", 9: "n/a"}),
    "nan-and-infinity": _with_values({5: "inf", 6: "-inf", 7: ""}),
    "duplicates": good_rows() + [good_rows()[5]],
    "unsorted": list(reversed(good_rows())),
    "gap": good_rows()[:30] + good_rows()[33:],
    "constant": [f"{row.split(',')[0]},5.0" for row in good_rows()],
    "too-short": good_rows(20),
    "absurd-outlier": _with_values({12: "5e4"}),
    "clean": good_rows(),
}


def _same(ours, theirs) -> bool:
    """Field by field; NaN equals NaN (an empty cell shown as an example)."""

    def norm(value):
        if isinstance(value, list):
            return [norm(item) for item in value]
        if isinstance(value, tuple):
            return tuple(norm(item) for item in value)
        return "NaN" if isinstance(value, float) and math.isnan(value) else value

    fields = ("success", "unexpected_count", "examples", "observed", "severity", "fix")
    return all(norm(getattr(ours, f)) == norm(getattr(theirs, f)) for f in fields)


@pytest.mark.parametrize("outliers", ["warn", "fail"])
@pytest.mark.parametrize("case", list(CASES))
def test_early_verdicts_are_gx_verdicts(tmp_path, case, outliers):
    path = write_rows(tmp_path / f"{case}.csv", CASES[case])
    config = TINY.with_overrides(data__outliers=outliers)
    frame, _ = ingest(path, config)

    early = validate_frame(frame, config, source=str(path), early=True)
    full = validate_frame(frame, config, source=str(path))

    assert early.success == full.success
    by_check = {(o.expectation, o.column): o for o in full.outcomes}
    for outcome in early.outcomes:
        assert _same(outcome, by_check[(outcome.expectation, outcome.column)]), outcome
    # Every base expectation is decided, except comparing text with the outlier bounds.
    undecided = [
        key for key in by_check if key not in {(o.expectation, o.column) for o in early.outcomes}
    ]
    assert undecided == (
        [("expect_column_values_to_be_between", "value")] if case == "non-numeric" else []
    )


def test_early_failure_message_names_lines_values_and_the_fix(tmp_path):
    path = write_rows(tmp_path / "bad.csv", CASES["non-numeric"])
    frame, _ = ingest(path)

    with pytest.raises(Exception) as error:
        validate_frame(frame, TINY, source=str(path), early=True).raise_for_failures()

    message = str(error.value)
    assert "bad.csv failed data validation (suite 'lstm_pipeline_base')" in message
    assert "column 'value'" in message
    assert "line 5: '12,3', line 10: '?', line 11: 'n/a'" in message
    assert "Fix: remove or fix the non-numeric values" in message


def test_an_expectation_pandas_cannot_decide_is_left_to_gx(tmp_path):
    suite = {
        "name": "house_rules",
        "expectations": [
            {  # a type the early check does not know
                "type": "expect_column_values_to_match_regex",
                "kwargs": {"column": "{time_column}", "regex": "^1999"},
            },
            {  # a known type with `mostly`: not decided early either
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": "{target}", "max_value": 40, "mostly": 0.9},
            },
            {  # decided early, from the same definition
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": "{target}", "min_value": 0, "max_value": 100},
                "meta": {"fix": "values must lie in 0..100"},
            },
        ],
    }
    suite_path = tmp_path / "suite.json"
    suite_path.write_text(json.dumps(suite))
    path = write_rows(tmp_path / "s.csv", good_rows())
    config = TINY.with_overrides(data__extra_suites=(str(suite_path),))
    frame, _ = ingest(path, config)

    early = validate_frame(frame, config, source=str(path), early=True)
    full = validate_frame(frame, config, source=str(path))

    assert early.suite_name == full.suite_name == "lstm_pipeline_base+house_rules"
    assert len(full.outcomes) == 15 and len(early.outcomes) == 13
    assert early.success  # nothing it decides fails ...
    failed = {(o.expectation, o.column) for o in full.failures}
    # ... while GX, the full check, rejects the file on the two it left alone.
    assert failed == {
        ("expect_column_values_to_match_regex", "timestamp"),
        ("expect_column_values_to_be_between", "value"),
    }
    (user_rule,) = [o for o in early.outcomes if o.fix == "values must lie in 0..100"]
    assert user_rule.success
