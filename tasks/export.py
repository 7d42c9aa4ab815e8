"""Prefect task: export a SavedModel and verify it before anything is registered or pushed."""

from __future__ import annotations

from pathlib import Path

import keras
import mlflow
import numpy as np
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from lstm_model.delivery.export import describe_signature, export_saved_model, verify_export
from lstm_model.modeling.transform import SeriesTransform


@task(name="export", cache_policy=NO_CACHE)
def export(
    model: keras.Model, transform: SeriesTransform, values: np.ndarray, work_dir: Path
) -> Path:
    """SavedModel with the preprocessing in its serving signature, served in a fresh TensorFlow
    process on sample histories and checked against the pipeline's own forecasts.

    Args:
        model: The model to ship (the refitted one when refitting is on).
        transform: The transform that model was trained with.
        values: The series; its last forecastable steps are the sample histories.
        work_dir: Where the SavedModel goes.

    A mismatch raises :class:`~lstm_model.delivery.export.ExportVerificationError`, which stops
    the flow before register and push.
    """
    directory = export_saved_model(model, transform, work_dir / "saved_model")
    check = verify_export(directory, model, transform, values)
    mlflow.log_metrics(
        {
            "export_max_abs_difference": check.max_abs_difference,
            "export_max_rel_difference": check.max_rel_difference,
        }
    )
    signature = describe_signature(transform)
    mlflow.log_text(signature, "export/serving_signature.json")
    get_run_logger().info(
        "exported %s (%s); a fresh TensorFlow process matches the pipeline on %d histories "
        "within %.2g",
        directory,
        signature,
        check.samples,
        check.max_abs_difference,
    )
    return directory
