"""Prefect task: chronological split, train-only scaling, windows."""

from __future__ import annotations

import mlflow
import numpy as np
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from lstm_model.analysis.decisions import SeriesAnalysis
from lstm_model.config import PipelineConfig
from lstm_model.modeling.transform import TARGET_COLUMN, PreparedData, prepare


@task(name="preprocess", cache_policy=NO_CACHE)
def preprocess(
    values: np.ndarray, analysis: SeriesAnalysis, config: PipelineConfig
) -> PreparedData:
    """Split, fit the transform on train only, cut windows per split; logs sizes and scalers.

    Args:
        values: The series, (n,) or (n, 1 + k): the target, then ``config.data.exogenous``.
        analysis: Differencing, season and lookback decided on the training part.
        config: Split fractions and the exogenous column names.

    Returns:
        The split series, the fitted transform and the windows of each split.
    """
    data = prepare(
        values,
        analysis.differencing,
        analysis.lookback,
        config.split.validation_fraction,
        config.split.test_fraction,
        seasonal_differencing=analysis.seasonal_differencing,
        season=analysis.season,
        columns=(TARGET_COLUMN, *config.data.exogenous),
        box_cox_lambda=analysis.box_cox_lambda,
    )
    sizes = {
        "train_rows": data.bounds.train[1] - data.bounds.train[0],
        "validation_rows": data.bounds.validation[1] - data.bounds.validation[0],
        "test_rows": data.bounds.test[1] - data.bounds.test[0],
        "train_windows": len(data.y_train),
        "n_features": data.transform.n_features,
        "warmup": data.transform.warmup,
    }
    transform = data.transform
    scalers = {"scaler_mean": transform.mean, "scaler_scale": transform.scale}
    for name, mean, scale in zip(
        transform.columns[1:], transform.feature_means, transform.feature_scales, strict=True
    ):
        scalers[f"scaler_mean_{name}"], scalers[f"scaler_scale_{name}"] = mean, scale
    mlflow.log_params({**sizes, **scalers})
    mlflow.log_text(transform.to_json(), "preprocessing/preprocessing.json")
    get_run_logger().info("split %s; scalers fitted on the training part only", sizes)
    return data
