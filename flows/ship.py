"""Ship a model version: package, push verified, and (when enabled) host it on SageMaker.

:func:`ship` is the retrain flow's delivery step; :func:`push_registered` ships a version that
is already in the registry (``lstm-pipeline push NAME@ALIAS``), e.g. after a rollback.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from prefect import flow, get_run_logger

from lstm_model.config import PipelineConfig
from lstm_model.delivery.push import check_push_target
from lstm_model.delivery.registry import (
    CHAMPION,
    champion_version,
    may_ship,
    not_blessed_reason,
    parse_model_ref,
    resolve,
    use_registry,
)
from lstm_model.delivery.sagemaker import check_deploy_config
from lstm_model.delivery.shipping import (
    aliases_kept_on_failure,
    download_saved_model,
    push_metadata,
    version_metrics,
)
from lstm_model.errors import PipelineInputError
from tasks.delivery import deploy_to_sagemaker, package_model_task, push_model


def ship(
    saved_model: Path,
    model_name: str,
    version: str,
    config: PipelineConfig,
    work_dir: Path,
    metadata: dict[str, str],
) -> str:
    """Package and push ``version``; deploy it when ``config.deploy.enabled``.

    Called before ``champion`` moves: a failure says that the aliases were left as they were.

    Returns:
        Where the package went.
    """
    with aliases_kept_on_failure(model_name, version, "push"):
        package = package_model_task(saved_model, model_name, version, work_dir / "package")
        pushed = push_model(
            package, model_name, version, config.push.push_uri, config.push.local_dir, metadata
        )
    if config.deploy.enabled:
        with aliases_kept_on_failure(model_name, version, "SageMaker deployment"):
            deploy_to_sagemaker(config.deploy, model_name, version, pushed.uri)
    return pushed.uri


@dataclass(frozen=True)
class ShipResult:
    """What :func:`push_registered` shipped."""

    model_name: str
    version: str
    pushed_to: str
    deployed: bool


@flow(name="push-registered", log_prints=True)
def push_registered(
    model_ref: str, config: PipelineConfig | None = None, force: bool = False
) -> ShipResult:
    """Push an already registered version (``NAME@ALIAS`` or ``NAME/VERSION``).

    Downloads the SavedModel the version was registered with, packages and pushes it with its
    run id and headline metrics as metadata. When deployment is enabled and the version is
    the champion, the endpoint is switched to it too. Aliases are never changed here.

    Args:
        model_ref: e.g. ``lstm-forecaster@champion``.
        config: Push target, deploy section and tracking URI; defaults otherwise.
        force: Push a version tagged ``blessed=false`` too (one promoted with ``--force``).

    Returns:
        The version, where it went, and whether the endpoint was deployed.

    Raises:
        PipelineInputError: Unknown model/alias, a version not tagged ``blessed=true`` (nor
            promoted with ``--force``) unless ``force``, or a bad push URI or deploy config.
    """
    config = config or PipelineConfig()
    check_push_target(config.push.push_uri, config.push.local_dir)
    check_deploy_config(config.deploy, config.push.push_uri)
    name, alias = parse_model_ref(model_ref)
    use_registry(config.registry.tracking_uri)
    version = resolve(name, alias)
    if not may_ship(version) and not force:
        raise PipelineInputError(
            f"{not_blessed_reason(name, version)}, so it may not be pushed. Push a blessed "
            "version (see `lstm-pipeline models list`), or pass --force."
        )
    number = str(version.version)  # MLflow 3 returns an int
    champion = champion_version(name)
    is_champion = champion is not None and str(champion.version) == number
    deploy = config.deploy.enabled and is_champion
    if config.deploy.enabled and not is_champion:
        get_run_logger().info("v%s is not the %s: pushed, not deployed", number, CHAMPION)
    metadata = push_metadata(version.run_id, number, version_metrics(version))
    with tempfile.TemporaryDirectory(prefix="lstm-push-") as tmp:
        saved_model = download_saved_model(name, number, Path(tmp) / "download")
        shipped = config.model_copy(
            update={"deploy": config.deploy.model_copy(update={"enabled": deploy})}
        )
        uri = ship(saved_model, name, number, shipped, Path(tmp), metadata)
    return ShipResult(name, number, uri, deploy)
