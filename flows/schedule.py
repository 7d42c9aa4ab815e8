"""Retrain on a cron schedule: a Prefect deployment of the retrain flow, one per model name.

Late runs never pile up: the deployment allows one active run and cancels any new run that
would start while one is still going (Prefect's deployment concurrency limit with the
``CANCEL_NEW`` strategy, enforced by the server, also for runs that went late). One deployment
per model name means at most one retraining run of a model at a time.

Two ways to run it:

- ``lstm-pipeline schedule DATA --cron "..."`` serves the deployment from this process
  (``prefect.serve``): no work pool or worker needed, runs stop when the process stops.
- ``prefect.yaml`` at the repository root defines the same deployment for a Prefect server
  with a work pool: ``prefect deploy --name retrain-lstm-forecaster`` and a worker.

``prefect.serve`` is only called from :func:`serve_retrain` (the CLI's ``schedule``), never at
import, so the runs it starts, which import the flow's module, never serve themselves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lstm_model.config import PipelineConfig
from lstm_model.errors import PipelineInputError
from lstm_model.redact import redact

ONE_RUN_AT_A_TIME = {"limit": 1, "collision_strategy": "CANCEL_NEW"}


def deployment_name(model_name: str) -> str:
    """``retrain-<model-name>``: one deployment, hence one concurrency slot, per model."""
    return f"retrain-{model_name}"


def retrain_deployment(
    data_path: str | Path, cron: str, config: PipelineConfig, timezone: str = "UTC"
) -> Any:
    """The retrain flow as a Prefect deployment on ``cron``, one active run at a time.

    Args:
        data_path: The series to retrain on at every run; made absolute, it must exist.
        cron: Five-field cron expression, e.g. ``"0 3 * * 1"``.
        config: The run's configuration, passed to every run as the ``config`` parameter.
        timezone: IANA time zone of the cron expression.

    Returns:
        A ``RunnerDeployment`` (``.apply()`` registers it; ``prefect.serve`` runs it).

    Raises:
        PipelineInputError: Missing data file, bad cron or time zone, or credentials in
            ``registry.tracking_uri``.
    """
    uri = config.registry.tracking_uri
    if uri is not None and redact(uri) != uri:
        # A deployment's parameters live in Prefect's database, so they carry the redacted
        # URI (see RegistryConfig): the runs could not log in with it.
        raise PipelineInputError(
            f"registry.tracking_uri ({redact(uri)}) carries credentials, and a schedule keeps "
            "its parameters in Prefect's database, where secrets must not go. Remove them "
            "from the configuration and give them to the process that serves the schedule: "
            "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN) "
            "in its environment, or the whole URI in MLFLOW_TRACKING_URI."
        )
    from prefect.client.schemas.objects import ConcurrencyLimitConfig
    from prefect.deployments.runner import EntrypointType
    from prefect.schedules import Cron

    from flows.retrain import retrain
    from flows.runs import run_tags

    path = Path(data_path).expanduser().resolve()
    if not path.is_file():
        raise PipelineInputError(
            f"Data file {path} does not exist: a schedule re-reads it at every run, so pass "
            "a file that the scheduled runs can read (and that you refresh)."
        )
    try:
        ZoneInfo(timezone)
    except (ValueError, ZoneInfoNotFoundError):
        raise PipelineInputError(
            f"--timezone {timezone!r}: Invalid timezone; use an IANA zone such as "
            "Europe/Berlin or UTC."
        ) from None
    try:
        schedule = Cron(cron, timezone=timezone)
    except ValueError as error:
        raise PipelineInputError(
            f"--cron {cron!r} / --timezone {timezone!r}: {error}. Use five cron fields, e.g. "
            '"0 3 * * 1" (Mondays 03:00), and an IANA zone such as Europe/Berlin.'
        ) from error
    name = config.registry.model_name
    return retrain.to_deployment(
        name=deployment_name(name),
        schedules=[schedule],
        parameters={"data_path": str(path), "config": config.model_dump(mode="json")},
        concurrency_limit=ConcurrencyLimitConfig(**ONE_RUN_AT_A_TIME),
        tags=run_tags(name, path, "schedule"),
        description=f"Retrain {name} on {path.name} ({cron}, {timezone}).",
        # A module path, not a file path: runs import flows.retrain from the installed
        # package wherever the command was started.
        entrypoint_type=EntrypointType.MODULE_PATH,
    )


def serve_retrain(
    data_path: str | Path, cron: str, config: PipelineConfig, timezone: str = "UTC"
) -> None:
    """Serve the scheduled retrain deployment until interrupted (Ctrl-C).

    Needs a long-running Prefect server (``prefect server start`` and ``PREFECT_API_URL``):
    on Prefect's temporary local server a schedule never fires, so that is refused.

    Raises:
        PipelineInputError: Bad file, cron or time zone, or no ``PREFECT_API_URL``.
    """
    from prefect import serve
    from prefect.settings import PREFECT_API_URL

    deployment = retrain_deployment(data_path, cron, config, timezone)
    if not PREFECT_API_URL.value():
        raise PipelineInputError(
            "schedule needs a running Prefect server: on the temporary server Prefect starts "
            "for one command, scheduled runs never fire. Start one and point at it:\n"
            "  prefect server start            # in another terminal; UI on "
            "http://127.0.0.1:4200\n"
            "  export PREFECT_API_URL=http://127.0.0.1:4200/api\n"
            "then run this command again."
        )
    serve(deployment)
