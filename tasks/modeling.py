"""Prefect tasks of the modelling stage: preprocess (split, train-only scaling, windows), the
architecture search (one MLflow nested run per trial) and the final fit."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import keras
import mlflow
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from lstm_model.analysis.decisions import SeriesAnalysis
from lstm_model.config import PipelineConfig
from lstm_model.data.cadence import default_horizon
from lstm_model.data.values import TimeSeries
from lstm_model.evaluation.metrics import plot_loss_curves
from lstm_model.modeling.fitting import limit_tensorflow_threads
from lstm_model.modeling.network import Architecture
from lstm_model.modeling.preparation import PreparedData, choose_horizon, prepare
from lstm_model.modeling.search import SearchResult, search_architecture
from lstm_model.modeling.training import (
    FinalModel,
    RefitModel,
    best_epochs,
    refit_on_full_history,
    train_ensemble,
    with_lookback,
)
from lstm_model.modeling.transform import TARGET_COLUMN
from lstm_model.modeling.trials import ProposedTrial, TrialOutcome, run_trial
from lstm_model.progress import TrialCounter, stage
from lstm_model.tracking import (
    EpochMetricsLogger,
    EpochProgress,
    log_curves,
    mlflow_trial_scope,
)


@task(name="preprocess", cache_policy=NO_CACHE)
def preprocess(
    series: TimeSeries, analysis: SeriesAnalysis, config: PipelineConfig
) -> PreparedData:
    """Split, fit the transform on train only, cut windows per split; logs sizes and scalers.

    Args:
        series: The validated series (target, then its exogenous columns).
        analysis: Differencing, season and lookback decided on the training part.
        config: Split fractions and the forecast horizon.

    Returns:
        The split series, the fitted transform and the windows of each split.
    """
    stage("preprocess")
    choice = choose_horizon(
        config.forecast.horizon,
        default_horizon(series.frequency),
        len(series.values),
        config.split.validation_fraction,
        config.split.test_fraction,
    )
    data = prepare(
        series.values,
        analysis.differencing,
        analysis.lookback,
        config.split.validation_fraction,
        config.split.test_fraction,
        seasonal_differencing=analysis.seasonal_differencing,
        season=analysis.season,
        columns=(TARGET_COLUMN, *series.exogenous),
        box_cox_lambda=analysis.box_cox_lambda,
        horizon=choice.horizon,
    )
    sizes = {
        "train_rows": data.bounds.train[1] - data.bounds.train[0],
        "validation_rows": data.bounds.validation[1] - data.bounds.validation[0],
        "test_rows": data.bounds.test[1] - data.bounds.test[0],
        "train_windows": len(data.y_train),
        "n_features": data.transform.n_features,
        "warmup": data.transform.warmup,
        "horizon": choice.horizon,
    }
    transform = data.transform
    scalers = {"scaler_mean": transform.mean, "scaler_scale": transform.scale}
    for name, mean, scale in zip(
        transform.columns[1:], transform.feature_means, transform.feature_scales, strict=True
    ):
        scalers[f"scaler_mean_{name}"], scalers[f"scaler_scale_{name}"] = mean, scale
    mlflow.log_params({**sizes, **scalers})
    mlflow.log_text(transform.to_json(), "preprocessing/preprocessing.json")
    mlflow.set_tag("horizon_reason", choice.reason)
    logger = get_run_logger()
    logger.info("horizon %d steps: %s", choice.horizon, choice.reason)
    logger.info("split %s; scalers fitted on the training part only", sizes)
    return data


@task(name="tune", cache_policy=NO_CACHE)
def tune(
    data: PreparedData, config: PipelineConfig, work_dir: Path
) -> tuple[Architecture, PreparedData]:
    """Keras Tuner search; each trial is a nested MLflow run with its per-epoch validation loss.

    Returns:
        The best architecture, and the data windowed for its lookback (``data`` itself unless
        the search picked another lookback; then the transform is refitted on train only).
    """
    stage("tune")
    result = search_architecture(
        data,
        config.tuning,
        work_dir / "tuner",
        config.seed,
        trial_scope=TrialCounter(config.tuning.max_trials).around(mlflow_trial_scope),
        callbacks_for=_epoch_logger_per_fold,
    )
    return _log_search(result, data, config)


@task(name="record search", cache_policy=NO_CACHE)
def record_search(
    result: SearchResult, data: PreparedData, config: PipelineConfig
) -> tuple[Architecture, PreparedData]:
    """Log a search whose trials ran on workers: its winner and cost, as ``tune`` does.

    Returns:
        The best architecture, and the data windowed for its lookback.
    """
    return _log_search(result, data, config)


def _log_search(
    result: SearchResult, data: PreparedData, config: PipelineConfig
) -> tuple[Architecture, PreparedData]:
    architecture = result.architecture
    mlflow.log_params({f"best_{key}": value for key, value in asdict(architecture).items()})
    mlflow.log_metrics(
        {
            "trial/best_val_loss": min(t.val_loss for t in result.trials),
            "trial/count": len(result.trials),
            "trial/search_seconds": result.seconds,
        }
    )
    mlflow.set_tag("search_budget_exhausted", str(result.budget_exhausted).lower())
    get_run_logger().info(
        "%s search: best of %d trials in %.0f s%s: %s",
        config.tuning.tuner,
        len(result.trials),
        result.seconds,
        " (wall-clock budget spent)" if result.budget_exhausted else "",
        architecture,
    )
    return architecture, with_lookback(data, architecture.lookback)


@task(name="fit trial", cache_policy=NO_CACHE)
def fit_trial(data: PreparedData, trial: ProposedTrial, config: PipelineConfig) -> TrialOutcome:
    """One search trial's fit, on whichever worker the task runner chose; its outcome comes back
    to the flow, where the oracle and the tracking run live.

    Args:
        data: The prepared series.
        trial: The oracle's proposal.
        config: The search space and the worker's thread limit.

    Returns:
        The trial's score, metrics and per-epoch curves.
    """
    limit_tensorflow_threads(config.execution.threads_per_worker)
    return run_trial(data, config.tuning, config.seed, trial)


@task(name="record trial", cache_policy=NO_CACHE)
def record_trial(outcome: TrialOutcome, counter: TrialCounter) -> None:
    """A finished trial as a nested MLflow run (params, metrics, per-epoch curves), logged from
    the flow's process: a sqlite store is not for concurrent writers on workers."""
    summary = outcome.summary
    with mlflow_trial_scope(summary.trial_id, summary.hyperparameters) as record:
        log_curves(outcome.curves)
        record(outcome.metrics)
    counter.trial_done(summary.val_loss)


def _epoch_logger_per_fold(fold: int) -> list[keras.callbacks.Callback]:
    """Per-epoch curves of each trial; walk-forward folds get a ``fold<i>_`` prefix."""
    return [EpochMetricsLogger(f"fold{fold}_" if fold else ""), EpochProgress()]


@task(name="train", cache_policy=NO_CACHE)
def train(
    data: PreparedData, architecture: Architecture, config: PipelineConfig, work_dir: Path
) -> FinalModel:
    """Final fit with early stopping on validation loss (one model per seed when ensembling);
    loss curves go to MLflow. This is the model evaluation judges."""
    stage("train")
    members = config.training.ensemble_size

    def callbacks_for(member: int) -> list[keras.callbacks.Callback]:
        prefix = "train/" if members == 1 else f"train/member{member}_"
        return [EpochMetricsLogger(prefix), EpochProgress()]

    final = train_ensemble(
        data,
        architecture,
        config.training,
        config.seed,
        callbacks_for=callbacks_for,
        sgd_momentum=config.tuning.sgd_momentum,
    )
    history = final.histories[0]
    best_epoch = best_epochs(final)[0] - 1
    val_loss = float(final.model.evaluate(data.x_validation, data.y_validation, verbose=0))
    mlflow.log_metrics(
        {
            "train/final_val_loss": val_loss,
            "train/best_epoch": best_epoch + 1,
            "train/epochs_run": len(history["val_loss"]),
            **{f"train/member{i}_val_loss": v for i, v in enumerate(final.member_val_losses)},
        }
    )
    mlflow.log_param("ensemble_seeds", ",".join(map(str, final.seeds)))
    mlflow.log_artifact(str(plot_loss_curves(history, work_dir / "plots" / "loss.png")), "plots")
    get_run_logger().info(
        "trained %d member(s) (seeds %s); validation loss %.4g",
        members,
        final.seeds,
        val_loss,
    )
    return final


@task(name="refit", cache_policy=NO_CACHE)
def refit(
    data: PreparedData, architecture: Architecture, evaluated: FinalModel, config: PipelineConfig
) -> RefitModel:
    """The evaluated procedure refitted on every row, transform included: the model to ship.

    Logs what was refitted (rows, windows, epochs per member, the new scaler) so the shipped
    model's identity is on record next to the evaluated model's metrics.
    """
    stage("refit")
    members = len(evaluated.seeds)

    def callbacks_for(member: int) -> list[keras.callbacks.Callback]:
        prefix = "refit/" if members == 1 else f"refit/member{member}_"
        return [EpochMetricsLogger(prefix), EpochProgress()]

    refitted = refit_on_full_history(
        data, architecture, evaluated, callbacks_for, config.tuning.sgd_momentum
    )
    mlflow.log_params(
        {
            "refit_rows": refitted.rows,
            "refit_windows": refitted.windows,
            "refit_epochs": ",".join(map(str, refitted.epochs)),
            "refit_scaler_mean": refitted.transform.mean,
            "refit_scaler_scale": refitted.transform.scale,
        }
    )
    mlflow.log_text(refitted.transform.to_json(), "preprocessing/refit_preprocessing.json")
    mlflow.set_tag("shipped_model", "refit on the full history")
    get_run_logger().info(
        "refitted on all %d rows (%d windows, epochs %s): this model is exported",
        refitted.rows,
        refitted.windows,
        refitted.epochs,
    )
    return refitted
