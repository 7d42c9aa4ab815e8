"""Where the pipeline's parallel work runs, apart from what it does: a search's trials, and a
local-strategy panel's series.

With ``execution.runner: local`` (the default) a search runs in the flow's process, one trial
after another, exactly as before, and a local panel's series are fitted one after another.
With ``dask`` the oracle stays here and each trial's fit (each series' fit) is a Prefect task
on a Dask cluster (an existing scheduler at ``execution.dask_address``, or a local cluster of
``execution.dask_workers`` processes that :func:`dask_workers` starts while the flow loads the
data and closes after the parallel stage); outcomes come back as data and are tracked from this
process, so registration, export and push stay in one place and a sqlite store never sees
concurrent writers.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from prefect import flow, get_run_logger
from prefect.context import FlowRunContext
from prefect.futures import PrefectFuture, as_completed
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from lstm_model.config import ExecutionConfig, PipelineConfig
from lstm_model.delivery.local_panel import local_origins, series_jobs
from lstm_model.delivery.local_strategy import SeriesFit
from lstm_model.errors import PipelineInputError
from lstm_model.modeling.network import Architecture
from lstm_model.modeling.panel_preparation import PreparedPanel
from lstm_model.modeling.preparation import PreparedData
from lstm_model.modeling.search import SearchResult
from lstm_model.modeling.trials import ProposedTrial, TrialOutcome, TrialPlanner
from lstm_model.progress import ProgressEvent, TrialCounter, report, stage
from tasks.modeling import fit_trial, record_search, record_trial, tune
from tasks.panel_local import fit_one_series

# How long the parallel stage waits for its first worker to join the scheduler.
WORKER_WAIT_SECONDS = 120


@contextmanager
def dask_workers(config: PipelineConfig) -> Iterator[PipelineConfig]:
    """Workers for the parallel stage, started when the block opens.

    With ``execution.runner: dask`` and no ``dask_address``, a local cluster's scheduler starts
    at once and its worker processes start in the background: they import TensorFlow while the
    flow loads and analyses the data, instead of opening the search (~15 s on 2 cores). The
    cluster is closed when the block ends. Otherwise nothing is started.

    Args:
        config: The run's configuration.

    Yields:
        ``config``, with ``execution.dask_address`` naming the local cluster when one started.
    """
    execution = config.execution
    if execution.runner == "local" or execution.dask_address:
        yield config
        return
    from distributed import LocalCluster

    # No workers in the constructor (it would wait for them); scale() starts them and returns.
    with LocalCluster(n_workers=0, **_cluster_kwargs(execution)) as cluster:
        cluster.scale(execution.dask_workers)
        yield config.with_overrides(execution__dask_address=cluster.scheduler_address)


def task_runner(execution: ExecutionConfig) -> TaskRunner[Any]:
    """The Prefect task runner ``execution`` asks for.

    Args:
        execution: Runner kind, the scheduler's address or the local cluster's size.

    Returns:
        A one-thread runner for ``local``; for ``dask``, a ``DaskTaskRunner`` on the scheduler
        at ``dask_address`` (set by :func:`dask_workers` when it started a local cluster).
    """
    if execution.runner == "local":
        return ThreadPoolTaskRunner(max_workers=1)
    if not execution.dask_address:
        raise ValueError("a dask runner needs a scheduler: open dask_workers(config) first")
    from prefect_dask import DaskTaskRunner

    return DaskTaskRunner(address=execution.dask_address)


def _cluster_kwargs(execution: ExecutionConfig) -> dict[str, Any]:
    """A local cluster's settings: one task at a time per worker process, TensorFlow capped at
    ``execution.threads_per_worker`` threads in each, on 127.0.0.1."""
    threads = str(execution.threads_per_worker)
    return {
        "threads_per_worker": 1,  # one task at a time per worker process
        "processes": True,
        "host": "127.0.0.1",  # else Dask probes an outside address for its own
        "dashboard_address": None,
        # TensorFlow, Keras, Prefect and MLflow are imported when a worker starts, not by its
        # first task.
        "preload": ["tasks.modeling", "tasks.panel_local"],
        # TensorFlow reads these when it starts in the worker, before any task runs.
        "env": {
            "TF_NUM_INTRAOP_THREADS": threads,
            "TF_NUM_INTEROP_THREADS": threads,
            "OMP_NUM_THREADS": threads,
            "TF_CPP_MIN_LOG_LEVEL": "3",
        },
    }


def search(
    data: PreparedData, config: PipelineConfig, work_dir: Path
) -> tuple[Architecture, PreparedData]:
    """The architecture search on the configured runner.

    Returns:
        The best architecture, and the data windowed for its lookback.
    """
    if config.execution.runner == "local":
        return tune(data, config, work_dir)
    # Workers the flow started earlier are used as they are; otherwise they start here.
    with dask_workers(config) as config:
        runner = search_on_workers.with_options(task_runner=task_runner(config.execution))
        return runner(data, config, work_dir)


@flow(name="search on workers")
def search_on_workers(
    data: PreparedData, config: PipelineConfig, work_dir: Path
) -> tuple[Architecture, PreparedData]:
    """The oracle proposes, workers fit: one trial per worker in flight, each a task.

    A trial whose task still fails after ``execution.retries`` retries (a worker died twice, a
    fit raised) is recorded as failed with its id and the search goes on; the run fails only
    when no trial completed.

    Returns:
        The best architecture, and the data windowed for its lookback.
    """
    stage("tune")
    started = time.perf_counter()
    planner = TrialPlanner(data, config.tuning, work_dir / "tuner", config.seed)
    counter = TrialCounter(config.tuning.max_trials)
    fit = fit_trial.with_options(retries=config.execution.retries, retry_delay_seconds=1)
    running: dict[PrefectFuture[TrialOutcome], tuple[ProposedTrial, int]] = {}
    logger = get_run_logger()

    def fill_free_slots() -> None:
        # One trial per worker the scheduler has now: a worker that joins later (or leaves)
        # changes how many are in flight from the next proposal on.
        while len(running) < _workers():
            busy = {slot for _, slot in running.values()}
            slot = min(set(range(len(running) + 1)) - busy)
            trial = planner.propose(f"slot{slot}")  # the oracle's name for a trial in flight
            if trial is None:
                return
            future = fit.with_options(task_run_name=f"trial-{trial.trial_id}").submit(
                data, trial, config
            )
            running[future] = (trial, slot)

    fill_free_slots()
    while running:
        future = next(as_completed(list(running)))
        trial, _ = running.pop(future)
        try:
            outcome = future.result()
        except Exception as error:  # noqa: BLE001 - any failure of one trial is that trial's
            logger.warning("trial %s failed after its retries: %s", trial.trial_id, error)
            planner.fail(trial.trial_id, str(error))
            fill_free_slots()
            continue
        planner.record(outcome)
        # The freed worker starts its next trial before this one is logged (a second or so of
        # database and API writes that would otherwise leave it idle).
        fill_free_slots()
        record_trial(outcome, counter)
    result = SearchResult(
        planner.best(), planner.summaries, planner.budget_exhausted, time.perf_counter() - started
    )
    return record_search(result, data, config)


@dataclass(frozen=True)
class LocalFits:
    """Every series' own model, the panel they cover (without series whose fit failed under
    ``data.bad_series = skip``), their backtest origins and the fan-out's wall time."""

    fits: list[SeriesFit]
    prepared: PreparedPanel
    origins: np.ndarray
    seconds: float


def fit_series_models(prepared: PreparedPanel, config: PipelineConfig) -> LocalFits:
    """The local strategy's models, one per series, on the configured runner (a local
    cluster, when one is needed, lives as long as the fan-out)."""
    with dask_workers(config) as config:
        runner = fit_on_workers.with_options(task_runner=task_runner(config.execution))
        return runner(prepared, config)


@flow(name="fit series on workers")
def fit_on_workers(prepared: PreparedPanel, config: PipelineConfig) -> LocalFits:
    """Each series' single-series procedure as a task; every series is submitted at once and
    the runner spreads them (one at a time per worker).

    A series whose task still fails after ``execution.retries`` retries stops the run under
    ``data.bad_series = fail`` (naming every such series; bad input exits 2, other faults 1)
    and is left out and reported under ``skip``.
    """
    stage("train")
    started = time.perf_counter()
    origins = local_origins(prepared)
    analysis = prepared.analysis
    fit = fit_one_series.with_options(retries=config.execution.retries, retry_delay_seconds=1)
    jobs = series_jobs(prepared, origins)
    futures = {
        fit.with_options(task_run_name=f"series-{job.series_id}").submit(
            job, analysis.horizon, prepared.panel.frequency, config
        ): job.series_id
        for job in jobs
    }
    fits: list[SeriesFit] = []
    failed: dict[str, BaseException] = {}
    for done, future in enumerate(as_completed(list(futures)), start=1):
        series_id = futures[future]
        try:
            fits.append(future.result())
        except Exception as error:  # noqa: BLE001 - one series' failure is that series'
            failed[series_id] = error
        report(ProgressEvent("series", series_id, done, len(jobs)))
    if failed:
        prepared = _without_failed(prepared, failed, config)
        origins = local_origins(prepared)
    return LocalFits(fits, prepared, origins, time.perf_counter() - started)


def _without_failed(
    prepared: PreparedPanel, failed: dict[str, BaseException], config: PipelineConfig
) -> PreparedPanel:
    """The panel without the series whose fit failed, under ``skip``; else the error."""
    reasons = {sid: str(error) for sid, error in sorted(failed.items())}
    listed = "; ".join(f"{sid}: {why}" for sid, why in list(reasons.items())[:10])
    if config.data.bad_series == "fail" or len(failed) == len(prepared.panel.ids):
        message = (
            f"{len(failed)} series could not be fitted ({listed}). Fix or remove them, or set "
            "data.bad_series to skip (--bad-series skip) to leave them out"
        )
        if all(isinstance(error, PipelineInputError) for error in failed.values()):
            raise PipelineInputError(message)
        raise RuntimeError(message)
    get_run_logger().warning("left out (data.bad_series = skip): %s", listed)
    return prepared.without(reasons)


def _workers() -> int:
    """How many trials to keep in flight: one per worker of the flow run's Dask cluster (after
    waiting for the first to join, as a local cluster's workers may still be starting).

    Raises:
        RuntimeError: No worker joined within ``WORKER_WAIT_SECONDS``.
    """
    context = FlowRunContext.get()
    client = getattr(context.task_runner, "client", None) if context else None
    if client is None:
        return 1
    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT_SECONDS)
    except TimeoutError as error:
        raise RuntimeError(
            f"no Dask worker joined the scheduler at {client.scheduler.address} within "
            f"{WORKER_WAIT_SECONDS} s; see the workers' logs"
        ) from error
    return len(client.scheduler_info(n_workers=-1)["workers"])
