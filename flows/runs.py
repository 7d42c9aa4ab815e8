"""What every retrain flow shares: names and tags of a run, its context in MLflow, skipping
unchanged data, and the locked push-then-promote step.

Push and promotion run under the model's registry lock, and only if the champion is still the
one the challenger was compared with: two retrains of one model never both become champion.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import mlflow
from mlflow.entities import Run
from prefect import get_run_logger
from prefect.artifacts import create_link_artifact
from prefect.context import TagsContext
from prefect.runtime import flow_run

from flows.preflight import preflight
from flows.ship import ship
from lstm_model.config import PipelineConfig
from lstm_model.data.source import content_hash
from lstm_model.delivery.doctor import HOST_TAG, PID_TAG
from lstm_model.delivery.lock import model_lock
from lstm_model.delivery.registry import (
    CONFIG_TAG,
    DATA_TAG,
    champion_moved,
    check_champion_kind,
    newest_version_from,
)
from lstm_model.evaluation.blessing import BlessingDecision
from lstm_model.redact import install_log_redaction, redact
from lstm_model.tracking import configure_tracking, killed_on_interrupt, run_url
from tasks.delivery import promote_to_champion


@dataclass(frozen=True)
class SkippedRetrain:
    """No run: the newest version was trained on the same data with the same configuration."""

    model_name: str
    version: str
    message: str


def checked_inputs(
    data_path: str, config: PipelineConfig, kind: str, force: bool
) -> dict[str, str] | SkippedRetrain:
    """Everything a retrain checks before it starts an MLflow run.

    Bad input fails now, not after minutes of training: the pre-flight checks, then the
    champion's kind (a panel's model and a single series' model cannot be compared).

    Args:
        data_path: The data file.
        config: The run's configuration.
        kind: ``series`` or ``panel``: what this run trains.
        force: Retrain even when nothing changed.

    Returns:
        The data's and configuration's fingerprints, or a :class:`SkippedRetrain` when the
        newest version was trained on the same data with the same configuration.
    """
    install_log_redaction()  # scheduled and deployed runs do not go through the CLI
    preflight(data_path, config)
    configure_tracking(config.registry.tracking_uri, config.registry.experiment)
    check_champion_kind(config.registry.model_name, kind)
    inputs = run_inputs(data_path, config)
    skipped = None if force else skip_unchanged(config.registry.model_name, inputs)
    return inputs if skipped is None else skipped


@contextmanager
def tracked_run(
    data_path: str, config: PipelineConfig, inputs: dict[str, str]
) -> Iterator[tuple[Run, Path]]:
    """The MLflow run of a retrain, with its context logged and a temporary work folder.

    The run ends KILLED on an interrupt, and the folder is removed on any exit (only kill -9
    can leave it behind). A Prefect link artifact points at the run.

    Yields:
        The active run and the work folder.
    """
    with (
        mlflow.start_run(run_name=run_name(config.registry.model_name, data_path)) as run,
        killed_on_interrupt(),
        tempfile.TemporaryDirectory(prefix="lstm-pipeline-") as tmp,
        # The run's tags label the flow run only. A tagged task run asks the API for tag
        # concurrency slots before it starts: a database write that on a SQLite-backed server
        # collides with other writes and then waits ~2 s for a retry.
        TagsContext(current_tags=set()),
    ):
        log_run_context(data_path, config, inputs)
        create_link_artifact(
            key="mlflow-run",
            link=run_url(run),
            link_text=f"MLflow run {run.info.run_name}",
            description="This flow run's MLflow run: parameters, metrics, plots, model",
        )
        yield run, Path(tmp)


def run_inputs(data_path: str, config: PipelineConfig) -> dict[str, str]:
    """The data's and the configuration's fingerprints (version tags of what it was trained on)."""
    return {DATA_TAG: content_hash(data_path), CONFIG_TAG: config.sha256()}


def skip_unchanged(model_name: str, inputs: dict[str, str]) -> SkippedRetrain | None:
    """A :class:`SkippedRetrain` when the newest version was trained on the same data with the
    same configuration (a weekly schedule on a file that did not change would pile up
    identical versions); None otherwise."""
    same = newest_version_from(model_name, inputs[DATA_TAG], inputs[CONFIG_TAG])
    if same is None:
        return None
    message = (
        f"skipped: {model_name} v{same} was trained on the same data (sha256 "
        f"{inputs[DATA_TAG][:12]}...) with the same configuration, so a retrain would "
        "learn nothing new. Pass --force to retrain anyway."
    )
    get_run_logger().info(message)
    return SkippedRetrain(model_name, same, message)


def ship_and_promote(
    saved_model: Path,
    version: str,
    blessing: BlessingDecision,
    compared_champion: str | None,
    config: PipelineConfig,
    work_dir: Path,
    metadata: dict[str, str],
) -> tuple[bool, str, str | None]:
    """Push (and deploy) a blessed version and make it champion, under the model's lock and
    only if the champion is still the one it was compared with.

    Returns:
        Whether it became champion, why (or why not), and where it was pushed.
    """
    name = config.registry.model_name
    promoted, reason = blessing.blessed, blessing.reason
    pushed_to = None
    if promoted:
        logger = get_run_logger()
        with model_lock(mlflow.get_registry_uri(), name, config.registry.lock_timeout, logger.info):
            moved = champion_moved(name, compared_champion)
            if moved is None:
                pushed_to = ship(saved_model, name, version, config, work_dir, metadata)
                promote_to_champion(name, version, reason)
            else:
                promoted, reason = False, moved
    if not promoted:
        get_run_logger().info("version %s stays challenger: %s", version, reason)
    mlflow.set_tags({"promotion_decision": reason, "pushed_to": pushed_to or "not pushed"})
    return promoted, reason, pushed_to


def flow_run_name() -> str:
    """The Prefect flow run's name: the same ``<model>-<data>-<time>`` as the MLflow run."""
    parameters = flow_run.parameters
    config = parameters.get("config") or PipelineConfig()
    if isinstance(config, dict):  # a deployment's parameters arrive as JSON
        config = PipelineConfig.model_validate(config)
    return run_name(config.registry.model_name, str(parameters["data_path"]))


def run_name(model_name: str, data_path: str) -> str:
    """The MLflow run's (and the Prefect flow run's) name: which model, on what, when.

    Args:
        model_name: Registered model name.
        data_path: The series' file, local or ``s3://``.

    Returns:
        ``<model>-<data file stem>-<UTC time>``.
    """
    stem = Path(str(data_path).rstrip("/")).stem or "data"
    return f"{model_name}-{stem}-{datetime.now(UTC):%Y%m%d-%H%M%S}"


def run_tags(model_name: str, data_path: str | Path, trigger: str) -> list[str]:
    """Prefect tags of a retrain flow run, to filter runs in the UI.

    Args:
        model_name: Registered model name.
        data_path: The series' file (its name is tagged).
        trigger: ``cli`` or ``schedule``.

    Returns:
        ``lstm-pipeline``, ``model:<name>``, ``data:<file name>``, ``trigger:<trigger>``.
    """
    name = Path(str(data_path).rstrip("/")).name
    return ["lstm-pipeline", f"model:{model_name}", f"data:{name}", f"trigger:{trigger}"]


def log_run_context(data_path: str, config: PipelineConfig, inputs: dict[str, str]) -> None:
    """Configuration, data fingerprint and orchestration ids, so runs compare side by side."""
    # A tracking URI with user:password in it must not be stored with the run.
    mlflow.log_params({key: redact(str(value)) for key, value in config.flat().items()})
    mlflow.log_dict(json.loads(redact(config.model_dump_json())), "config.json")
    mlflow.set_tags(
        {
            "data_path": redact(str(data_path)),
            **inputs,
            "prefect_flow_run_id": str(flow_run.get_id() or ""),
            # Lets `lstm-pipeline doctor` tell a live run from one whose process died.
            PID_TAG: str(os.getpid()),
            HOST_TAG: socket.gethostname(),
        }
    )
