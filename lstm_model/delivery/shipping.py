"""What shipping a registered version needs from the registry: its SavedModel, its metrics
as package metadata, and a message that says the aliases were kept when a step fails."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from lstm_model.delivery.registry import HEADLINE_METRICS, champion_version
from lstm_model.errors import PipelineInputError


def download_saved_model(model_name: str, version: str, dest: Path) -> Path:
    """Download the SavedModel a registered version was logged with (pyfunc artifact
    ``saved_model``) into ``dest``.

    Returns:
        The SavedModel folder.

    Raises:
        PipelineInputError: The version's model has no ``saved_model`` artifact.
    """
    import mlflow
    from mlflow.models import Model

    local = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{model_name}/{version}", dst_path=str(dest)
        )
    )
    flavor = Model.load(str(local)).flavors.get("python_function", {})
    artifact = flavor.get("artifacts", {}).get("saved_model", {}).get("path")
    if not artifact or not (local / artifact / "saved_model.pb").is_file():
        raise PipelineInputError(
            f"{model_name} v{version} has no SavedModel artifact 'saved_model': it was not "
            "registered by this pipeline, so there is nothing to package."
        )
    return local / str(artifact)


def push_metadata(run_id: str | None, version: str, metrics: dict[str, float]) -> dict[str, str]:
    """S3 object metadata for a pushed version: run id, version and headline metrics
    (``model-rmse``, ``model-mase``: metadata keys cannot hold a slash)."""
    meta = {"run-id": run_id or "", "model-version": str(version)}
    meta.update(
        {
            f"model-{k.removeprefix('test/')}": f"{metrics[k]:.6g}"
            for k in HEADLINE_METRICS
            if k in metrics
        }
    )
    return meta


def version_metrics(version: ModelVersion) -> dict[str, float]:
    """The metrics of the run that registered ``version`` (empty if the run is gone)."""
    if not version.run_id:
        return {}
    try:
        return dict(MlflowClient().get_run(version.run_id).data.metrics)
    except MlflowException:
        return {}


class PromotionBlockedError(RuntimeError):
    """A step before promotion failed; the message says the aliases were left as they were."""


@contextlib.contextmanager
def aliases_kept_on_failure(model_name: str, version: str, step: str) -> Iterator[None]:
    """Re-raise a failure of ``step`` saying that ``champion`` did not move.

    The flow promotes only after the push (and deployment) succeeded, so a failure inside
    this block leaves the registry's aliases as they were; the message says so and which
    version is still champion. Input errors stay input errors (CLI exit code 2).
    """
    try:
        yield
    except Exception as error:
        current = champion_version(model_name)
        still = f"v{current.version}" if current is not None else "none"
        note = (
            f"{step} of {model_name} v{version} failed, so the registry aliases were left as "
            f"they were: champion is still {still}; v{version} stays challenger."
        )
        if isinstance(error, PipelineInputError):
            raise PipelineInputError(f"{error} {note}") from error
        raise PromotionBlockedError(f"{type(error).__name__}: {error} {note}") from error
