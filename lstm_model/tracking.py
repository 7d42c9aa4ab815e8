"""MLflow tracking: where runs are recorded, a nested run per tuner trial, per-epoch curves
(and per-epoch progress events).

The model registry (versions, aliases, promotion) is :mod:`lstm_model.delivery.registry`.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import keras
import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric
from mlflow.exceptions import MlflowException

from lstm_model.progress import ProgressEvent, report
from lstm_model.redact import public_url

log = logging.getLogger(__name__)

EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"  # "model training" in the UI
LOCAL_UI = "http://127.0.0.1:5000"  # `make ui` on the local sqlite store


def configure_tracking(tracking_uri: str | None, experiment: str) -> str:
    """Point MLflow at ``tracking_uri``, else ``MLFLOW_TRACKING_URI``, else a local sqlite store.

    The local default keeps the database and the artifacts side by side in the working
    directory (``mlflow.db``, ``mlartifacts/``), and the registry works on it. The experiment
    is tagged as model training (``mlflow.experimentKind``), so the UI opens on its runs.

    Returns:
        The tracking URI in use.
    """
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or "sqlite:///mlflow.db"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    with _store_creation(uri):
        if mlflow.get_experiment_by_name(experiment) is None:
            artifacts = None
            if uri.startswith("sqlite:///"):
                database = Path(uri.removeprefix("sqlite:///")).resolve()
                artifacts = (database.parent / "mlartifacts").as_uri()
            try:
                mlflow.create_experiment(experiment, artifact_location=artifacts)
            except MlflowException:
                # A concurrent run on a tracking server created it first: use theirs.
                if mlflow.get_experiment_by_name(experiment) is None:
                    raise
        found = mlflow.set_experiment(experiment)
        if found.tags.get(EXPERIMENT_KIND_TAG) != EXPERIMENT_KIND:
            # MLflow 3's UI opens an experiment without this tag on its GenAI overview.
            MlflowClient().set_experiment_tag(
                found.experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND
            )
    return uri


def run_url(run: mlflow.ActiveRun) -> str:
    """The run's page in the MLflow UI.

    Args:
        run: The active run.

    Returns:
        Its URL on the tracking server when the tracking URI is one, else where ``make ui``
        (``mlflow ui`` on the local store) serves it.
    """
    uri = mlflow.get_tracking_uri()
    # The link is stored (a Prefect artifact) and shown: never with the server's credentials.
    base = public_url(uri) if uri.startswith(("http://", "https://")) else LOCAL_UI
    # MLflow 3.17's UI picks GenAI or model training from a browser-wide toggle (default
    # GenAI), not from the experiment's kind tag; the query parameter selects training.
    return (
        f"{base}/#/experiments/{run.info.experiment_id}/runs/{run.info.run_id}"
        "?workflowType=machine_learning"
    )


@contextlib.contextmanager
def _store_creation(uri: str) -> Iterator[None]:
    """One process at a time opens a sqlite store for the first time.

    MLflow creates a new store's tables without IF NOT EXISTS, so two retrains started
    together on a fresh ``mlflow.db`` collided ("table assessments already exists") and one
    failed. An exclusive ``flock`` beside the database serialises the creation; the kernel
    releases it if its holder dies.
    """
    if not uri.startswith("sqlite:///"):
        yield
        return
    database = Path(uri.removeprefix("sqlite:///")).absolute()
    lock = database.with_name(database.name + ".locks") / "store.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def killed_on_interrupt() -> Iterator[None]:
    """End the active run as KILLED when the block is interrupted; ``mlflow.start_run`` alone
    would say FAILED, and a process killed without unwinding leaves it RUNNING (``lstm-pipeline
    doctor`` repairs that).

    Interrupts are the BaseExceptions that are not errors: KeyboardInterrupt (Ctrl-C, and
    SIGTERM in the CLI) and the signal exception Prefect raises inside a flow run on SIGTERM.
    """
    try:
        yield
    except BaseException as interrupt:
        if not isinstance(interrupt, Exception):
            try:
                mlflow.end_run("KILLED")
            except MlflowException as error:
                # An interrupt in the middle of a store write can leave sqlite locked by the
                # cut-short session: the interrupt, not this, is what the user must hear of.
                log.warning(
                    "could not mark the MLflow run KILLED (%s); `lstm-pipeline doctor` will "
                    "mark it FAILED",
                    error.message,
                )
        raise


@contextlib.contextmanager
def mlflow_trial_scope(
    trial_id: str, hyperparameters: dict[str, Any]
) -> Iterator[Callable[[dict[str, float]], None]]:
    """A nested MLflow run around one tuner trial, with its hyperparameters as params."""
    with mlflow.start_run(run_name=f"trial-{trial_id}", nested=True):
        mlflow.set_tag("trial_id", trial_id)
        mlflow.log_params(hyperparameters)
        try:
            yield _log_metrics
        except BaseException:
            # Keras Tuner records the failure and goes on; the nested run says so too.
            mlflow.set_tag("trial_status", "FAILED")
            raise
        mlflow.set_tag("trial_status", "COMPLETED")


def _log_metrics(metrics: dict[str, float]) -> None:
    mlflow.log_metrics(metrics)


def log_curves(curves: dict[str, list[float]]) -> None:
    """Per-epoch curves (``name -> value of each epoch``) on the active run, in one batch.

    Args:
        curves: E.g. a fit's ``loss`` and ``val_loss`` by epoch, recorded where the fit ran.
    """
    run = mlflow.active_run()
    now = int(time.time() * 1000)
    metrics = [
        Metric(name, float(value), now, epoch)
        for name, values in curves.items()
        for epoch, value in enumerate(values)
    ]
    if run is not None and metrics:
        MlflowClient().log_batch(run.info.run_id, metrics=metrics)


# keras is untyped: its Callback base is Any to mypy.
class EpochMetricsLogger(keras.callbacks.Callback):  # type: ignore[misc]
    """Logs every epoch's losses to the active MLflow run, as curves in the UI.

    Epochs are buffered and written in one batch when a fit ends: one database write per
    fit instead of one per epoch, which on a sqlite store costs more than a small epoch.
    """

    def __init__(self, prefix: str = "") -> None:
        super().__init__()
        self.prefix = prefix
        self._pending: list[Metric] = []

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        now = int(time.time() * 1000)
        self._pending.extend(
            Metric(f"{self.prefix}{key}", float(value), now, epoch)
            for key, value in (logs or {}).items()
        )

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        run = mlflow.active_run()
        if run is not None and self._pending:
            MlflowClient().log_batch(run.info.run_id, metrics=self._pending)
        self._pending = []


# keras is untyped: its Callback base is Any to mypy.
class EpochProgress(keras.callbacks.Callback):  # type: ignore[misc]
    """Reports every epoch of a fit (at most ``params['epochs']``; early stopping may end it
    sooner) with its validation loss."""

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        value = (logs or {}).get("val_loss")
        report(
            ProgressEvent(
                "epoch",
                "",
                epoch + 1,
                int(self.params.get("epochs") or 0),
                None if value is None else float(value),
            )
        )
