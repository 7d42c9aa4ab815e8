"""Assemble and run the service: load the model, watch the registry, serve with uvicorn."""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

from lstm_model.config import ServeConfig
from lstm_model.errors import PipelineInputError
from lstm_model.service.app import create_app
from lstm_model.service.metrics import ServiceMetrics
from lstm_model.service.source import (
    LoadedModel,
    ModelHolder,
    ModelSource,
    RegistryWatcher,
    load_model,
    parse_model_uri,
)

if TYPE_CHECKING:
    import uvicorn

log = logging.getLogger("lstm_model.service")


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's ``fields``."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_json_logging(level: int = logging.INFO) -> None:
    """Send the service's and uvicorn's logs to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLogFormatter())
    for name in ("lstm_model.service", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False


def api_key_from_env(config: ServeConfig) -> str | None:
    """The API key from ``config.api_key_env``; None (no auth) when the variable is unset.

    Raises:
        PipelineInputError: when it is set but blank, which would otherwise mean "no auth".
    """
    key = os.environ.get(config.api_key_env)
    if key is None:
        return None
    if not key.strip():
        raise PipelineInputError(
            f"{config.api_key_env} is set but empty: set it to the API key clients must send, "
            "or unset it to serve without authentication"
        )
    return key


@dataclass
class ModelService:
    """Everything one service instance consists of; ``app`` is what uvicorn runs."""

    source: ModelSource
    holder: ModelHolder
    metrics: ServiceMetrics
    app: FastAPI
    watcher: RegistryWatcher | None


def build_service(model_uri: str, config: ServeConfig, api_key: str | None) -> ModelService:
    """Load the model the URI points at now and wire the app, metrics and registry watcher.

    The watcher is created (for ``models:/NAME@ALIAS``) but not started.

    Raises:
        PipelineInputError: for a bad URI, a missing alias or a model without the signature.
    """
    source = parse_model_uri(model_uri)
    model = load_model(source)
    holder = ModelHolder(model)
    metrics = ServiceMetrics()
    metrics.set_model(model.name, model.version, model.loaded_at)
    _event("model_loaded", model)

    def swapped(old: LoadedModel, new: LoadedModel) -> None:
        metrics.set_model(new.name, new.version, new.loaded_at, old.version)
        metrics.swaps.inc()
        _event("model_swapped", new, previous_version=old.version)

    watcher = None
    if source.follows_alias:
        watcher = RegistryWatcher(
            source,
            holder,
            config.poll_seconds,
            on_swap=swapped,
            on_error=lambda kind: metrics.errors.labels(kind).inc(),
        )
    app = create_app(holder, config, metrics, api_key)
    return ModelService(source, holder, metrics, app, watcher)


def _event(message: str, model: LoadedModel, **fields: Any) -> None:
    log.info(message, extra={"fields": {"model": model.name, "version": model.version, **fields}})


def uvicorn_server(app: FastAPI, host: str, port: int) -> uvicorn.Server:
    """A uvicorn server for ``app``; its own logging stays as configured by the caller."""
    import uvicorn

    config = uvicorn.Config(
        app, host=host, port=port, log_config=None, access_log=False, lifespan="off"
    )
    return uvicorn.Server(config)


class BackgroundServer:
    """Runs an app on uvicorn in a daemon thread (tests, benchmarks, notebooks).

    Use as a context manager; ``url`` is valid once it is entered.
    """

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> None:
        self.server = uvicorn_server(app, host, port)
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)
        self.url = ""

    def __enter__(self) -> BackgroundServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the service did not start")
            time.sleep(0.02)
        host, port = self.server.servers[0].sockets[0].getsockname()[:2]
        self.url = f"http://{host}:{port}"
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def _use_registry(tracking_uri: str | None) -> None:
    """Point MLflow at the tracking/registry store, which must exist already."""
    import mlflow

    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or "sqlite:///mlflow.db"
    database = uri.removeprefix("sqlite:///")
    if uri.startswith("sqlite:///") and not os.path.isfile(database):
        # MLflow would create an empty store there; serving needs an existing registry.
        raise PipelineInputError(
            f"no MLflow store at {uri} (from --config, MLFLOW_TRACKING_URI or the default "
            "sqlite:///mlflow.db in the working directory): run serve where retrain ran, or "
            "set MLFLOW_TRACKING_URI"
        )
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)


def serve(model_uri: str, config: ServeConfig, tracking_uri: str | None = None) -> None:
    """Serve ``model_uri`` until interrupted (``lstm-pipeline serve``).

    Args:
        model_uri: ``models:/NAME@ALIAS`` (followed), ``models:/NAME/VERSION`` or a local
            SavedModel directory.
        config: Host, port, poll interval, limits and the API key's variable.
        tracking_uri: MLflow tracking/registry URI; default ``MLFLOW_TRACKING_URI``, else
            ``sqlite:///mlflow.db`` in the working directory (as ``retrain`` uses).

    Raises:
        PipelineInputError: when the model cannot be served as asked.
    """
    configure_json_logging()
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    if parse_model_uri(model_uri).directory is None:
        _use_registry(tracking_uri)
    service = build_service(model_uri, config, api_key_from_env(config))
    if service.watcher is not None:
        service.watcher.start()
    try:
        uvicorn_server(service.app, config.host, config.port).run()
    finally:
        if service.watcher is not None:
            service.watcher.stop()
