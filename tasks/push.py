"""Prefect tasks that package an exported model and deliver it (S3 or a local folder).

Thin wrappers over :mod:`lstm_model.delivery.push`: the tasks add logging, retries and an artifact
that records where the package went and its checksum.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.logging import get_run_logger
from prefect.tasks import exponential_backoff

from lstm_model.delivery.package import package_model
from lstm_model.delivery.push import PushResult, push_package
from lstm_model.errors import PipelineInputError


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
        key=_artifact_key(model_name),
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


def _artifact_key(model_name: str) -> str:
    """Prefect artifact keys allow only lowercase letters, digits and dashes."""
    slug = re.sub(r"[^a-z0-9]+", "-", model_name.lower()).strip("-")
    return f"model-package-{slug or 'model'}"
