"""Pre-flight of a retrain: everything that can be checked before the first trial.

A retrain spends minutes before it registers or pushes anything, so every input that can be
checked cheaply is checked first: the data file, the model name, the push target (a writable
folder, or an S3 bucket that exists) and the SageMaker configuration. The CLI runs this
before it starts Prefect (no server start-up, no traceback); the flow runs it again for
scheduled and deployed runs. Only light modules are imported here (no TensorFlow or Prefect).
"""

from __future__ import annotations

from lstm_model.cluster import check_cluster
from lstm_model.config import PipelineConfig
from lstm_model.data.source import check_source
from lstm_model.delivery.package import check_model_name
from lstm_model.delivery.push import check_push_target
from lstm_model.delivery.sagemaker import check_deploy_config
from lstm_model.errors import PipelineInputError


def preflight(data_path: str, config: PipelineConfig) -> None:
    """Refuse a retrain that would fail after training.

    Args:
        data_path: The data file or ``s3://`` URI.
        config: The run's configuration (model name, data limits, push and deploy sections).

    Raises:
        PipelineInputError: Bad model name, data file, push URI or folder, missing bucket or
            deploy settings (exit code 2).
        DeliveryError: The S3 endpoint cannot be reached or refuses access (exit code 1).
        ClusterUnreachableError: ``execution.dask_address`` does not answer (exit code 1).
    """
    check_model_name(config.registry.model_name)
    if config.data.series_column:
        # data.max_rows bounds one series; a panel's file holds many.
        check_source(data_path, None, panel=True)
    else:
        check_source(data_path, config.data.max_rows)
    check_push_target(config.push.push_uri, config.push.local_dir)
    check_deploy_config(config.deploy, config.push.push_uri)
    if config.deploy.enabled and config.data.series_column and config.panel.strategy == "local":
        raise PipelineInputError(
            "deploy.enabled with panel.strategy local: a SageMaker TensorFlow Serving endpoint "
            "serves one SavedModel, and a local panel has one per series. Train the panel with "
            "the global strategy to deploy it, or set deploy.enabled to false and serve the "
            "pushed package (every series' SavedModel) yourself"
        )
    # Last: it may wait for a remote scheduler.
    check_cluster(config.execution)
