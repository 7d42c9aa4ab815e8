"""Prefect tasks of the delivery stage: export, register, promote, package, push, deploy.

Thin wrappers over :mod:`lstm_model.delivery`: the tasks add logging, MLflow records, retries
(for pushing and deploying: throttling and outages with backoff, never bad input, refused
access or a failed endpoint) and Prefect artifacts that record where a package went.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import keras
import mlflow
import numpy as np
from mlflow.entities.model_registry import ModelVersion
from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from lstm_model.config import DeployConfig
from lstm_model.delivery.deploy import DeployResult, deploy_endpoint, make_clients
from lstm_model.delivery.export import (
    FreshTensorFlow,
    describe_signature,
    export_saved_model,
    verify_export,
)
from lstm_model.delivery.package import package_model
from lstm_model.delivery.push import PushResult, push_package
from lstm_model.delivery.pyfunc import log_forecaster
from lstm_model.delivery.registry import promote
from lstm_model.delivery.sagemaker import spec_from_config
from lstm_model.errors import PipelineInputError
from lstm_model.evaluation.blessing import BlessingDecision
from lstm_model.evaluation.intervals import ConformalIntervals
from lstm_model.modeling.preparation import PreparedData
from lstm_model.modeling.transform import SeriesTransform
from lstm_model.progress import stage


@task(name="export", cache_policy=NO_CACHE)
def export(
    model: keras.Model,
    transform: SeriesTransform,
    values: np.ndarray,
    intervals: ConformalIntervals,
    work_dir: Path,
) -> Path:
    """SavedModel with the preprocessing in its serving signature, served in a fresh TensorFlow
    process on sample histories and checked against the pipeline's own forecasts.

    Args:
        model: The model to ship (the refitted one when refitting is on).
        transform: The transform that model was trained with.
        values: The series; its last forecastable steps are the sample histories.
        intervals: Conformal half-widths per level and step, added around the path in the graph.
        work_dir: Where the SavedModel goes.

    A mismatch raises :class:`~lstm_model.delivery.export.ExportVerificationError`, which stops
    the flow before register and push.
    """
    stage("export")
    with FreshTensorFlow() as fresh:  # imports TensorFlow while the export is written
        directory = export_saved_model(model, transform, work_dir / "saved_model", intervals)
        check = verify_export(directory, model, transform, values, fresh=fresh, intervals=intervals)
    mlflow.log_metrics(
        {
            "export/max_abs_difference": check.max_abs_difference,
            "export/max_rel_difference": check.max_rel_difference,
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


@task(name="register", cache_policy=NO_CACHE)
def register(
    saved_model_dir: Path,
    model_name: str,
    data: PreparedData,
    decision: BlessingDecision,
    model: keras.Model | None = None,
    description: str | None = None,
    tags: dict[str, str] | None = None,
) -> ModelVersion:
    """A new registered version (signature and input example included), alias ``challenger``.

    The version is created with its tags ``blessed`` (true/false), ``blessing_reason`` and
    ``tags`` (e.g. the data and configuration fingerprints) in the same registry call, so no
    crash can leave a version that looks promotable without them. With ``model``, the native
    ``.keras`` file is logged beside the SavedModel (artifact ``keras_model`` of the registered
    model); ``description`` fills the version's description.
    """
    stage("register")
    example = data.values[data.bounds.test[0] - data.transform.warmup : data.bounds.test[0] + 5]
    version_tags = {**(tags or {}), **decision.tags()}
    with tempfile.TemporaryDirectory(prefix="keras-") as folder:
        keras_file = None
        if model is not None:
            keras_file = Path(folder) / "model.keras"
            model.save(keras_file)
        version = log_forecaster(
            saved_model_dir, model_name, example, version_tags, keras_file, description
        )
    mlflow.set_tag("registered_version", version.version)
    get_run_logger().info("registered %s version %s as challenger", model_name, version.version)
    return version


@task(name="promote", cache_policy=NO_CACHE)
def promote_to_champion(model_name: str, version: str, reason: str) -> None:
    """Move the ``champion`` alias to ``version``."""
    stage("promote")
    promote(model_name, version, reason)
    mlflow.set_tag("champion", "true")
    get_run_logger().info("%s version %s is the new champion: %s", model_name, version, reason)


def retry_unless_input_error(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect ``retry_condition_fn``: retry only failures that a retry could fix.

    Prefect 3.8 calls it as ``fn(task, task_run, state)`` with the Failed state, and only
    calls plain functions (``inspect.isfunction``), so this must stay a ``def``.

    Args:
        task: The task being retried.
        task_run: Its task run.
        state: The Failed state; ``state.result()`` re-raises the task's exception.

    Returns:
        False for bad input (:class:`PipelineInputError`) and for delivery errors marked
        not retryable (access denied, no credentials); True otherwise.
    """
    try:
        state.result()
    except PipelineInputError:
        return False
    except Exception as exc:
        return bool(getattr(exc, "retryable", True))
    return True


@task(name="package-model", cache_policy=NO_CACHE)
def package_model_task(
    saved_model_dir: Path, model_name: str, version: str | int, out_dir: Path
) -> Path:
    """Write ``out_dir/model.tar.gz`` in SageMaker's TF Serving layout.

    Args:
        saved_model_dir: The folder written by ``keras.Model.export``.
        model_name: Top-level folder in the archive.
        version: Numeric version folder.
        out_dir: Where the archive goes.

    Returns:
        The archive's path.
    """
    package = package_model(Path(saved_model_dir), model_name, version, Path(out_dir))
    get_run_logger().info("Packaged %s v%s as %s", model_name, version, package)
    return package


# Pushing has side effects and must never be skipped by a cached result, hence NO_CACHE.
# Backoff 2 s, 4 s, 8 s (+ jitter) rides out throttling and brief outages; bad input and
# refused access fail at once through retry_condition_fn.
@task(
    name="push-model",
    retries=3,
    retry_delay_seconds=exponential_backoff(backoff_factor=2),
    retry_jitter_factor=0.5,
    retry_condition_fn=retry_unless_input_error,
    cache_policy=NO_CACHE,
)
def push_model(
    package: Path,
    model_name: str,
    version: str | int,
    push_uri: str | None,
    local_dir: Path,
    metadata: dict[str, str] | None = None,
) -> PushResult:
    """Push a package to ``<target>/<model-name>/<version>/model.tar.gz`` and verify it.

    Args:
        package: The ``model.tar.gz`` from :func:`package_model_task`.
        model_name: Model name (first key/folder level).
        version: Numeric model version (second level).
        push_uri: ``s3://bucket[/prefix]``, ``file:///dir``, a plain path, or None.
        local_dir: Target folder when ``push_uri`` is None.
        metadata: Extra string metadata stored with the object (run id, metrics...).

    Returns:
        The stored URI, its verified SHA-256 and size.
    """
    stage("push-model")
    logger = get_run_logger()
    result = push_package(Path(package), model_name, version, push_uri, Path(local_dir), metadata)
    logger.info(
        "Pushed %s v%s to %s (sha256 %s, %d bytes)",
        model_name,
        version,
        result.uri,
        result.sha256,
        result.size_bytes,
    )
    create_markdown_artifact(
        key=_artifact_key("model-package", model_name),
        description=f"Model package {model_name} v{version}",
        markdown=(
            f"### Model package `{model_name}` v{version}\n\n"
            "| | |\n|---|---|\n"
            f"| URI | `{result.uri}` |\n"
            f"| SHA-256 | `{result.sha256}` |\n"
            f"| Size | {result.size_bytes} bytes |\n"
        ),
    )
    return result


def _artifact_key(kind: str, model_name: str) -> str:
    """``<kind>-<model slug>``: Prefect artifact keys allow only lowercase letters, digits and
    dashes."""
    slug = re.sub(r"[^a-z0-9]+", "-", model_name.lower()).strip("-")
    return f"{kind}-{slug or 'model'}"


# Creating resources is a side effect: never cached. Resource names are content-derived, so a
# retry reuses the model and configuration an earlier attempt created.
@task(
    name="deploy-sagemaker",
    retries=3,
    retry_delay_seconds=exponential_backoff(backoff_factor=5),
    retry_jitter_factor=0.5,
    retry_condition_fn=retry_unless_input_error,
    cache_policy=NO_CACHE,
)
def deploy_to_sagemaker(
    deploy: DeployConfig, model_name: str, version: str, model_data_url: str
) -> DeployResult:
    """Create the SageMaker model and endpoint config, then create or update the endpoint.

    Args:
        deploy: The ``deploy`` config section (endpoint, role, image, instance, dry run).
        model_name: Registered model name.
        version: Registered version.
        model_data_url: The pushed ``s3://.../model.tar.gz``.

    Returns:
        What was done (or, in a dry run, would be done).
    """
    logger = get_run_logger()
    sagemaker, s3 = make_clients(deploy.region)
    spec = spec_from_config(
        deploy, model_name, str(version), model_data_url, sagemaker.meta.region_name
    )
    result = deploy_endpoint(
        spec,
        sagemaker=sagemaker,
        s3=s3,
        wait_timeout=deploy.wait_timeout,
        dry_run=deploy.dry_run,
        echo=print,  # dry-run lines go to stdout (and to the logs via log_prints)
    )
    logger.info(
        "endpoint %s: %s to %s (%s)",
        result.endpoint_name,
        result.action,
        result.endpoint_config_name,
        result.status,
    )
    dry = " (dry run)" if deploy.dry_run else ""
    create_markdown_artifact(
        key=_artifact_key("sagemaker-endpoint", model_name),
        description=f"SageMaker endpoint for {model_name} v{version}",
        markdown=(
            f"### SageMaker endpoint `{result.endpoint_name}`{dry}\n\n"
            "| | |\n|---|---|\n"
            f"| action | {result.action} |\n"
            f"| model | `{result.sagemaker_model_name}` ({spec.image_uri}) |\n"
            f"| endpoint config | `{result.endpoint_config_name}` |\n"
            f"| package | `{model_data_url}` |\n"
            f"| status | {result.status} |\n"
        ),
    )
    return result
