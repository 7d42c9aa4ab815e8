"""Prefect task: chronological split, train-only scaling, windows."""

from __future__ import annotations

import mlflow
import numpy as np
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from lstm_model.analysis import SeriesAnalysis
from lstm_model.config import PipelineConfig
from lstm_model.preprocess import PreparedData, prepare


@task(name="preprocess", cache_policy=NO_CACHE)
def preprocess(
    values: np.ndarray, analysis: SeriesAnalysis, config: PipelineConfig
) -> PreparedData:
    """Split, fit the transform on train only, cut windows per split; logs sizes and scaler."""
    data = prepare(
        values,
        analysis.differencing,
        analysis.lookback,
        config.split.validation_fraction,
        config.split.test_fraction,
    )
    sizes = {
        "train_rows": data.bounds.train[1] - data.bounds.train[0],
        "validation_rows": data.bounds.validation[1] - data.bounds.validation[0],
        "test_rows": data.bounds.test[1] - data.bounds.test[0],
        "train_windows": len(data.y_train),
    }
    mlflow.log_params(
        {**sizes, "scaler_mean": data.transform.mean, "scaler_scale": data.transform.scale}
    )
    mlflow.log_text(data.transform.to_json(), "preprocessing/preprocessing.json")
    get_run_logger().info("split %s; scaler fitted on the training part only", sizes)
    return data
