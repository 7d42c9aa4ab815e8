"""Prefect tasks: architecture search (one MLflow nested run per trial) and the final fit."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import keras
import mlflow
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from lstm_model.config import PipelineConfig
from lstm_model.evaluation import plot_loss_curves
from lstm_model.model import Architecture
from lstm_model.preprocess import PreparedData
from lstm_model.tracking import EpochMetricsLogger, mlflow_trial_scope
from lstm_model.training import search_architecture, train_final


@task(name="tune", cache_policy=NO_CACHE)
def tune(data: PreparedData, config: PipelineConfig, work_dir: Path) -> Architecture:
    """Keras Tuner random search; each trial is a nested MLflow run with its validation loss."""
    architecture, trials = search_architecture(
        data,
        config.tuning,
        work_dir / "tuner",
        config.seed,
        trial_scope=mlflow_trial_scope,
        callbacks=[EpochMetricsLogger()],
    )
    mlflow.log_params({f"best_{key}": value for key, value in asdict(architecture).items()})
    mlflow.log_metric("best_trial_val_loss", min(t.val_loss for t in trials))
    get_run_logger().info("best of %d trials: %s", len(trials), architecture)
    return architecture


@task(name="train", cache_policy=NO_CACHE)
def train(
    data: PreparedData, architecture: Architecture, config: PipelineConfig, work_dir: Path
) -> keras.Model:
    """Final fit with early stopping on validation loss; loss curves go to MLflow."""
    model, history = train_final(
        data, architecture, config.training, config.seed, callbacks=[EpochMetricsLogger("train_")]
    )
    best_epoch = int(min(range(len(history["val_loss"])), key=history["val_loss"].__getitem__))
    mlflow.log_metrics(
        {
            "final_val_loss": history["val_loss"][best_epoch],
            "final_best_epoch": best_epoch + 1,
            "final_epochs_run": len(history["val_loss"]),
        }
    )
    mlflow.log_artifact(str(plot_loss_curves(history, work_dir / "plots" / "loss.png")), "plots")
    get_run_logger().info(
        "trained %d epochs, best validation loss %.4g at epoch %d",
        len(history["val_loss"]),
        history["val_loss"][best_epoch],
        best_epoch + 1,
    )
    return model
