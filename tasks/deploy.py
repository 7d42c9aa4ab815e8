"""Prefect task: host a pushed package on a SageMaker endpoint (create or blue/green update).

A thin wrapper over :mod:`lstm_model.delivery.sagemaker`: retries throttling and outages with
backoff (never bad input, refused access or a failed endpoint), logs what it did and records a
Prefect artifact.
"""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from lstm_model.config import DeployConfig
from lstm_model.delivery.sagemaker import (
    DeployResult,
    deploy_endpoint,
    make_clients,
    spec_from_config,
)
from tasks.push import _artifact_key, retry_unless_input_error


# Creating resources is a side effect: never cached. Resource names are content-derived, so a
# retry reuses the model and configuration an earlier attempt created.
@task(
    name="deploy-sagemaker",
    retries=3,
    retry_delay_seconds=exponential_backoff(backoff_factor=5),
    retry_jitter_factor=0.5,
    retry_condition_fn=retry_unless_input_error,
    cache_policy=NO_CACHE,
)
def deploy_to_sagemaker(
    deploy: DeployConfig, model_name: str, version: str, model_data_url: str
) -> DeployResult:
    """Create the SageMaker model and endpoint config, then create or update the endpoint.

    Args:
        deploy: The ``deploy`` config section (endpoint, role, image, instance, dry run).
        model_name: Registered model name.
        version: Registered version.
        model_data_url: The pushed ``s3://.../model.tar.gz``.

    Returns:
        What was done (or, in a dry run, would be done).
    """
    logger = get_run_logger()
    sagemaker, s3 = make_clients(deploy.region)
    spec = spec_from_config(
        deploy, model_name, str(version), model_data_url, sagemaker.meta.region_name
    )
    result = deploy_endpoint(
        spec,
        sagemaker=sagemaker,
        s3=s3,
        wait_timeout=deploy.wait_timeout,
        dry_run=deploy.dry_run,
        echo=print,  # dry-run lines go to stdout (and to the logs via log_prints)
    )
    logger.info(
        "endpoint %s: %s to %s (%s)",
        result.endpoint_name,
        result.action,
        result.endpoint_config_name,
        result.status,
    )
    dry = " (dry run)" if deploy.dry_run else ""
    create_markdown_artifact(
        key=_artifact_key(model_name).replace("model-package-", "sagemaker-endpoint-"),
        description=f"SageMaker endpoint for {model_name} v{version}",
        markdown=(
            f"### SageMaker endpoint `{result.endpoint_name}`{dry}\n\n"
            "| | |\n|---|---|\n"
            f"| action | {result.action} |\n"
            f"| model | `{result.sagemaker_model_name}` ({spec.image_uri}) |\n"
            f"| endpoint config | `{result.endpoint_config_name}` |\n"
            f"| package | `{model_data_url}` |\n"
            f"| status | {result.status} |\n"
        ),
    )
    return result
