"""Prefect tasks of a panel under the local strategy: one series' fit (the task that fans out),
the record of every fit, export and registration of one version holding every series' model.

Thin wrappers over :mod:`lstm_model.delivery.local_strategy`, ``local_panel`` and
``local_pyfunc``. Loading, analysis, the backtest, comparison and blessing are the panel's
(:mod:`tasks.panel`): a local panel is scored exactly as a global one.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.entities.model_registry import ModelVersion
from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from lstm_model.config import PipelineConfig
from lstm_model.delivery.local_panel import SeriesJob, local_lstm_paths
from lstm_model.delivery.local_pyfunc import log_local_forecaster, write_local_models
from lstm_model.delivery.local_strategy import SeriesFit, fit_series
from lstm_model.evaluation.blessing import BlessingDecision
from lstm_model.evaluation.panel_backtest import LstmPaths
from lstm_model.modeling.fitting import limit_tensorflow_threads
from lstm_model.modeling.panel_preparation import PreparedPanel
from lstm_model.progress import stage


@task(name="fit series", cache_policy=NO_CACHE)
def fit_one_series(
    job: SeriesJob, horizon: int, frequency: str | None, config: PipelineConfig
) -> SeriesFit:
    """One series' whole single-series procedure, on whichever worker the runner chose.

    Args:
        job: The series' values, parts and backtest origins.
        horizon: The panel's horizon.
        frequency: The panel's frequency.
        config: Every knob; each series is seeded with ``config.seed``.

    Returns:
        Its backtest paths and bounds, architecture and SavedModel (as bytes).
    """
    limit_tensorflow_threads(config.execution.threads_per_worker)
    return fit_series(
        job.series_id,
        job.values,
        job.bounds,
        job.origins,
        horizon,
        frequency,
        config,
        config.seed,
    )


@task(name="record series", cache_policy=NO_CACHE)
def record_fits(
    fits: Sequence[SeriesFit], prepared: PreparedPanel, origins: np.ndarray, seconds: float
) -> LstmPaths:
    """Every series' fit as a nested MLflow run (architecture, preprocessing, validation loss,
    time), a table of them, and their backtest paths stacked for the panel's evaluation.

    Args:
        fits: One fit per series of ``prepared``.
        prepared: The series kept, their parts and decisions.
        origins: The backtest origins the fits forecast from.
        seconds: Wall time of the fan-out (every fit, on every worker).

    Returns:
        The LSTM side of the panel backtest.
    """
    stage("evaluate")
    rows = []
    for fit in fits:
        with mlflow.start_run(run_name=f"series-{fit.series_id}", nested=True):
            mlflow.set_tag("series_id", fit.series_id)
            mlflow.log_params(
                {
                    **{f"best_{k}": v for k, v in fit.architecture.items()},
                    **{k: fit.analysis[k] for k in ("differencing", "seasonal_differencing")},
                    **{k: fit.analysis[k] for k in ("season", "lookback", "box_cox_lambda")},
                }
            )
            mlflow.log_metrics(
                {"val_loss": fit.val_loss, "trials": fit.trials, "seconds": fit.seconds}
            )
        rows.append(
            {
                "series_id": fit.series_id,
                "lookback": fit.analysis["lookback"],
                "differencing": fit.analysis["differencing"],
                "seasonal_differencing": fit.analysis["seasonal_differencing"],
                "units": fit.architecture["units"],
                "layers": fit.architecture["layers"],
                "val_loss": round(fit.val_loss, 5),
                "seconds": round(fit.seconds, 1),
            }
        )
    mlflow.log_table(pd.DataFrame(rows), "training/per_series.json")
    mlflow.log_metrics(
        {
            "panel/fit_seconds": seconds,
            "panel/series_fit_seconds_total": float(sum(f.seconds for f in fits)),
        }
    )
    create_table_artifact(rows, key="series-models", description="One LSTM per series")
    get_run_logger().info(
        "fitted %d series' models in %.0f s (%.0f s of fitting in all)",
        len(fits),
        seconds,
        sum(f.seconds for f in fits),
    )
    return local_lstm_paths(fits, prepared, origins)


@task(name="export", cache_policy=NO_CACHE)
def export_local(fits: Sequence[SeriesFit], config: PipelineConfig, work_dir: Path) -> Path:
    """Every series' SavedModel (each checked against its pipeline when it was fitted) in one
    folder with the index the pyfunc reads."""
    stage("export")
    column = config.data.series_column or "series_id"
    directory = write_local_models(fits, column, work_dir / "saved_models")
    worst = max(fit.export_max_abs_difference for fit in fits)
    mlflow.log_metric("export/max_abs_difference", worst)
    get_run_logger().info(
        "exported %d series' SavedModels to %s (largest difference to the pipeline %.2g)",
        len(fits),
        directory,
        worst,
    )
    return directory


@task(name="register", cache_policy=NO_CACHE)
def register_local(
    models_dir: Path,
    prepared: PreparedPanel,
    decision: BlessingDecision,
    config: PipelineConfig,
    description: str,
    tags: dict[str, str],
) -> ModelVersion:
    """One version for the whole panel (``forecaster_kind=panel``, ``panel_strategy=local``),
    alias ``challenger``."""
    stage("register")
    panel = prepared.panel
    column = config.data.series_column or "series_id"
    rows = slice(int(panel.starts[0]), int(panel.starts[1]))
    example = pd.DataFrame(
        {column: panel.ids[panel.series_of_row[rows]], "value": panel.values[rows]}
    )
    version = log_local_forecaster(
        models_dir,
        config.registry.model_name,
        example,
        {**tags, **decision.tags()},
        description,
    )
    mlflow.set_tag("registered_version", version.version)
    get_run_logger().info(
        "registered %s version %s as challenger", config.registry.model_name, version.version
    )
    return version
