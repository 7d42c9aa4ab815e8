"""A retrain's run scaffolding: its MLflow run and how its Prefect runs are labelled."""

from __future__ import annotations

import mlflow
from prefect import flow, tags, task
from prefect.context import FlowRunContext, TaskRunContext

from flows.runs import run_tags, tracked_run
from lstm_model.config import PipelineConfig
from lstm_model.tracking import configure_tracking


def test_the_run_tags_label_the_flow_run_and_not_its_task_runs(mlflow_tracking, prefect_harness):
    @task
    def tags_of_this_task_run() -> set[str]:
        run = TaskRunContext.get()
        assert run is not None
        return set(run.task_run.tags)

    @flow
    def tagged_retrain() -> tuple[set[str], set[str], str]:
        context = FlowRunContext.get()
        assert context is not None and context.flow_run is not None
        with tracked_run("series.csv", PipelineConfig(), {}) as (run, _):
            task_tags = tags_of_this_task_run()
        return set(context.flow_run.tags), task_tags, run.info.run_id

    configure_tracking(None, "tests")
    expected = set(run_tags("m", "data/series.csv", "cli"))
    with tags(*expected):
        flow_tags, task_tags, run_id = tagged_retrain()
    # The flow run can be found by model, file and trigger; its task runs carry no tag, so
    # none of them waits on the API for tag concurrency slots.
    assert flow_tags == expected == {"lstm-pipeline", "model:m", "data:series.csv", "trigger:cli"}
    assert task_tags == set()
    assert mlflow.get_run(run_id).data.tags["data_path"] == "series.csv"
