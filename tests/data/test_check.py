"""check_series: a file whose values break the suite is rejected before GX is imported; a
file that passes is validated by GX, the full check."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import TINY, good_rows, write_rows

from lstm_model.data.check import check_series
from lstm_model.errors import DataValidationError

# In a fresh interpreter: does the value error surface without GX ever being imported?
SCRIPT = """
import sys
from lstm_model.config import PipelineConfig
from lstm_model.data.check import check_series
from lstm_model.errors import DataValidationError

config = PipelineConfig().with_overrides(analysis__min_lookback=12, analysis__max_lookback=12)
try:
    check_series(sys.argv[1], config)
except DataValidationError as error:
    print(str(error))
print("gx imported:", "great_expectations" in sys.modules)
"""


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (good_rows()[:-1] + ["2004-12-01,n/a"], "line 61: 'n/a'"),
        (good_rows()[:30] + good_rows()[33:], "4 step(s) after the previous row"),
        (good_rows(20), "has 20 rows"),
    ],
    ids=["non-numeric", "gap", "too-short"],
)
def test_value_errors_are_found_before_gx_is_imported(tmp_path, rows, expected):
    path = write_rows(tmp_path / "bad.csv", rows)
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "bad.csv failed data validation" in result.stdout and expected in result.stdout
    assert result.stdout.rstrip().endswith("gx imported: False")


def test_a_file_that_passes_early_is_validated_by_gx(tmp_path):
    path = write_rows(tmp_path / "good.csv", good_rows())

    checked = check_series(path, TINY)

    assert checked.validation.success
    assert "Great Expectations" in checked.validation.html  # GX's Data Docs: GX ran
    assert checked.validation.statistics["evaluated_expectations"] == 12


def test_gx_still_rejects_what_only_it_can_decide(tmp_path):
    suite = tmp_path / "suite.json"
    suite.write_text(
        json.dumps(
            {
                "name": "house_rules",
                "expectations": [
                    {
                        "type": "expect_column_values_to_match_regex",
                        "kwargs": {"column": "{time_column}", "regex": "^1999"},
                        "meta": {"fix": "only 1999 data"},
                    }
                ],
            }
        )
    )
    path = write_rows(tmp_path / "good.csv", good_rows())

    with pytest.raises(DataValidationError, match="only 1999 data"):
        check_series(path, TINY.with_overrides(data__extra_suites=(str(suite),)))
