"""Prefect task: export a SavedModel and verify it before anything is registered or pushed."""

from __future__ import annotations

from pathlib import Path

import keras
import mlflow
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from lstm_model.export import export_saved_model, verify_export
from lstm_model.preprocess import PreparedData


@task(name="export", cache_policy=NO_CACHE)
def export(model: keras.Model, data: PreparedData, work_dir: Path) -> Path:
    """``model.export()`` to a SavedModel, reloaded and checked on the test windows."""
    directory = export_saved_model(model, data.transform, work_dir / "saved_model")
    difference = verify_export(directory, model, data.x_test)
    mlflow.log_metric("export_max_abs_difference", difference)
    get_run_logger().info("exported %s; reload matches within %.2g", directory, difference)
    return directory
