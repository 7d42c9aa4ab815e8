"""The load-data and validate-data tasks inside a Prefect flow: artifacts and errors."""

from __future__ import annotations

import pytest
from conftest import monthly_csv

from lstm_model.config import PipelineConfig
from lstm_model.errors import DataValidationError, PipelineInputError


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
