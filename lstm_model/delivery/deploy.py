"""Host a pushed model package on a SageMaker endpoint: create or blue/green update, and wait.

:func:`deploy_endpoint` takes an :class:`~lstm_model.delivery.sagemaker.EndpointSpec`, creates
its SageMaker model and endpoint configuration, then creates the endpoint or updates the
existing one; failures become :class:`~lstm_model.delivery.push.DeliveryError` that say whether
a retry can help. Credentials are never read here: boto3 finds them through the standard chain.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from lstm_model.delivery.push import DeliveryError
from lstm_model.delivery.sagemaker import EndpointSpec
from lstm_model.errors import PipelineInputError

_BUSY = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})
_RETRYABLE_CODES = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException"})
_RETRYABLE_CODES |= {"ServiceUnavailable", "InternalFailure", "InternalServerError"}
_RETRYABLE_CODES |= {"RequestTimeout", "RequestTimeoutException"}


class DeploymentTimeoutError(DeliveryError):
    """The endpoint did not reach InService in time; SageMaker keeps working on it."""

    def __init__(self, message: str) -> None:
        # Retrying would call UpdateEndpoint on a busy endpoint: let a person look first.
        super().__init__(message, retryable=False)


@dataclass
class DeployResult:
    """What :func:`deploy_endpoint` did (or, in a dry run, would do).

    ``action`` is ``create``, ``update`` or ``unchanged``; ``calls`` lists every mutating
    call as ``service.operation``, in order.
    """

    endpoint_name: str
    action: str
    sagemaker_model_name: str
    endpoint_config_name: str
    status: str
    dry_run: bool = False
    calls: list[str] = field(default_factory=list)


def deploy_endpoint(
    spec: EndpointSpec,
    *,
    sagemaker: Any,
    s3: Any,
    wait_timeout: float,
    dry_run: bool = False,
    poll_seconds: float = 15.0,
    echo: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
) -> DeployResult:
    """Create the model and endpoint configuration, then create or update the endpoint.

    Args:
        spec: What to host.
        sagemaker: A boto3 SageMaker client.
        s3: A boto3 S3 client, used to check that ``ModelDataUrl`` exists (SageMaker only
            finds out when the endpoint fails to start, minutes later).
        wait_timeout: Seconds to wait for the endpoint to be InService on the new config.
        dry_run: Make only the read-only calls (head the package, describe the endpoint) and
            print every mutating call with its arguments instead of making it.
        poll_seconds: Seconds between DescribeEndpoint polls.
        echo: Where dry-run lines go.
        sleep: Pause between polls (tests pass a no-op).

    Returns:
        What was done.

    Raises:
        PipelineInputError: ``ModelDataUrl`` is not an existing S3 object.
        DeliveryError: SageMaker refused or failed; ``retryable`` says whether to retry.
        DeploymentTimeoutError: Not InService within ``wait_timeout``.
    """
    _check_model_data(s3, spec.model_data_url)
    result = DeployResult(
        spec.endpoint_name,
        "create",
        spec.sagemaker_model_name,
        spec.endpoint_config_name,
        "",
        dry_run=dry_run,
    )

    def call(operation: str, **kwargs: Any) -> None:
        result.calls.append(f"sagemaker.{operation}")
        if dry_run:
            echo(f"[dry-run] sagemaker.{operation}({json.dumps(kwargs, sort_keys=True)})")
            return
        _sagemaker_call(sagemaker, operation, **kwargs)

    if not _exists(sagemaker, "describe_model", ModelName=spec.sagemaker_model_name):
        call("create_model", **spec.create_model_args())
    config_name = spec.endpoint_config_name
    if not _exists(sagemaker, "describe_endpoint_config", EndpointConfigName=config_name):
        call("create_endpoint_config", **spec.create_endpoint_config_args())

    current = _describe_endpoint(sagemaker, spec.endpoint_name)
    if current is None:
        call("create_endpoint", EndpointName=spec.endpoint_name, EndpointConfigName=config_name)
    else:
        status = current["EndpointStatus"]
        if status == "Failed":
            raise DeliveryError(
                f"Endpoint {spec.endpoint_name} is Failed ({current.get('FailureReason')}) "
                "and SageMaker cannot update a failed endpoint. Delete it (`aws sagemaker "
                "delete-endpoint`) and deploy again.",
                retryable=False,
            )
        if status in _BUSY:
            raise DeliveryError(
                f"Endpoint {spec.endpoint_name} is {status}; it cannot be updated until that "
                "finishes.",
                retryable=True,
            )
        if current.get("EndpointConfigName") == config_name:
            result.action, result.status = "unchanged", status
            return result
        result.action = "update"
        # UpdateEndpoint keeps the old configuration serving until the new one is InService.
        call("update_endpoint", EndpointName=spec.endpoint_name, EndpointConfigName=config_name)
    if dry_run:
        result.status = "dry-run"
        return result
    result.status = _wait_in_service(
        sagemaker, spec.endpoint_name, config_name, wait_timeout, poll_seconds, sleep
    )
    return result


def _check_model_data(s3: Any, url: str) -> None:
    from botocore.exceptions import ClientError

    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc or not parts.path.strip("/"):
        raise PipelineInputError(f"ModelDataUrl {url!r} is not s3://bucket/key.")
    try:
        s3.head_object(Bucket=parts.netloc, Key=parts.path.lstrip("/"))
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in ("404", "NoSuchKey", "NotFound", "NoSuchBucket"):
            raise PipelineInputError(
                f"Model package {url} does not exist: push the version first "
                "(`lstm-pipeline push NAME@ALIAS`), then deploy."
            ) from exc
        raise _client_error(exc, f"checking {url}") from exc
    except Exception as exc:
        raise _other_error(exc, f"checking {url}") from exc


def _sagemaker_call(client: Any, operation: str, **kwargs: Any) -> dict[str, Any]:
    from botocore.exceptions import ClientError

    try:
        response: dict[str, Any] = getattr(client, operation)(**kwargs)
        return response
    except ClientError as exc:
        raise _client_error(exc, f"sagemaker.{operation}") from exc
    except Exception as exc:
        raise _other_error(exc, f"sagemaker.{operation}") from exc


def _exists(client: Any, operation: str, **kwargs: Any) -> bool:
    """Whether a describe call finds its resource (SageMaker says "Could not find ...")."""
    from botocore.exceptions import ClientError

    try:
        getattr(client, operation)(**kwargs)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        if error.get("Code") == "ValidationException" and "not find" in error.get("Message", ""):
            return False
        raise _client_error(exc, f"sagemaker.{operation}") from exc
    except Exception as exc:
        raise _other_error(exc, f"sagemaker.{operation}") from exc
    return True


def _describe_endpoint(client: Any, name: str) -> dict[str, Any] | None:
    if not _exists(client, "describe_endpoint", EndpointName=name):
        return None
    return _sagemaker_call(client, "describe_endpoint", EndpointName=name)


def _wait_in_service(
    client: Any,
    name: str,
    config_name: str,
    timeout: float,
    poll_seconds: float,
    sleep: Callable[[float], None],
) -> str:
    deadline = time.monotonic() + timeout
    while True:
        current = _sagemaker_call(client, "describe_endpoint", EndpointName=name)
        status = str(current["EndpointStatus"])
        on_new = current.get("EndpointConfigName") == config_name
        if status == "InService" and on_new:
            return status
        if status in ("Failed", "UpdateRollbackFailed") or (
            status == "InService" and current.get("FailureReason")
        ):
            raise DeliveryError(
                f"Endpoint {name} did not switch to {config_name}: {status}, "
                f"{current.get('FailureReason') or 'no reason given'}. Check the model's "
                "CloudWatch logs (/aws/sagemaker/Endpoints/...).",
                retryable=False,
            )
        if time.monotonic() >= deadline:
            raise DeploymentTimeoutError(
                f"Endpoint {name} is still {status} after {timeout:.0f} s; SageMaker keeps "
                f"working on it. Watch `aws sagemaker describe-endpoint --endpoint-name {name}`."
            )
        sleep(poll_seconds)


def _client_error(exc: Any, what: str) -> DeliveryError:
    error = exc.response.get("Error", {})
    code, message = str(error.get("Code", "")), error.get("Message", "")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    retryable = code in _RETRYABLE_CODES or status >= 500
    hint = ""
    if code in ("AccessDenied", "AccessDeniedException", "UnrecognizedClientException"):
        hint = (
            " The credentials from the standard AWS chain need sagemaker:CreateModel, "
            "CreateEndpointConfig, CreateEndpoint, UpdateEndpoint, Describe* and "
            "iam:PassRole on the execution role."
        )
    return DeliveryError(f"{what} failed: {code}: {message}.{hint}", retryable=retryable)


def _other_error(exc: Exception, what: str) -> Exception:
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.exceptions import NoCredentialsError, ParamValidationError

    if isinstance(exc, ParamValidationError):
        return PipelineInputError(f"{what}: {exc}")
    if isinstance(exc, NoCredentialsError):
        return DeliveryError(
            f"{what}: no AWS credentials in the standard chain (profile, env, role).",
            retryable=False,
        )
    return DeliveryError(
        f"{what} failed: {type(exc).__name__}: {exc}",
        retryable=isinstance(exc, BotoConnectionError),
    )


def make_clients(region: str | None) -> tuple[Any, Any]:
    """(SageMaker client, S3 client) through the standard AWS chain.

    Raises:
        PipelineInputError: No region from ``region``, ``AWS_DEFAULT_REGION`` or a profile.
    """
    import boto3

    session = boto3.session.Session(region_name=region)
    if not session.region_name:
        raise PipelineInputError(
            "No AWS region for SageMaker: set deploy.region or AWS_DEFAULT_REGION."
        )
    return session.client("sagemaker"), session.client("s3")
