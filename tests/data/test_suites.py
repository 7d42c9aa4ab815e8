"""Expectation suites: the base suite, user suites, column templates."""

from __future__ import annotations

import json

import pytest

from lstm_model.data.suites import BASE_SUITE_PATH, load_suite
from lstm_model.errors import PipelineInputError


def test_base_suite_is_a_loadable_gx_suite():
    import great_expectations as gx

    suite = gx.ExpectationSuite(**json.loads(BASE_SUITE_PATH.read_text()))
    assert suite.name == "lstm_pipeline_base"
    assert len(suite.expectations) == 12


def _write_suite(path, expectations):
    path.write_text(json.dumps({"name": "user", "expectations": expectations}))
    return path


def test_column_templates_are_bound_and_each_feature_checks_every_value_column(tmp_path):
    path = _write_suite(
        tmp_path / "suite.json",
        [
            {"type": "expect_column_to_exist", "kwargs": {"column": "{time_column}"}},
            {
                "type": "expect_column_values_to_not_be_null",
                "kwargs": {"column": "{target}"},
                "meta": {"each_feature": True},
            },
        ],
    )
    suite = load_suite(path, "when", "sales", ["price", "promo"])
    columns = [(e.expectation_type, e.column) for e in suite.expectations]
    assert columns == [
        ("expect_column_to_exist", "when"),
        ("expect_column_values_to_not_be_null", "sales"),
        ("expect_column_values_to_not_be_null", "price"),
        ("expect_column_values_to_not_be_null", "promo"),
    ]
    assert len({e.id for e in suite.expectations}) == 4  # results map back in suite order


def test_unusable_suite_files_are_input_errors_that_say_how_to_fix_them(tmp_path):
    with pytest.raises(PipelineInputError, match="suite not found.*data.extra_suites"):
        load_suite(tmp_path / "missing.json", "timestamp", "value")
    broken = tmp_path / "broken.json"
    broken.write_text('{"name": "user", "expectations": [}')
    with pytest.raises(PipelineInputError, match=r"not valid JSON \(line 1"):
        load_suite(broken, "timestamp", "value")
    invalid = _write_suite(tmp_path / "invalid.json", [{"kwargs": {"column": "{target}"}}])
    with pytest.raises(PipelineInputError, match="not a valid GX 1.x suite"):
        load_suite(invalid, "timestamp", "value")
