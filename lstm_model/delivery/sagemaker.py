"""Host a pushed model package on a SageMaker endpoint with the TensorFlow Serving image.

:func:`deploy_endpoint` creates a SageMaker model and an endpoint configuration for one
registered version, then creates the endpoint or updates the existing one to the new
configuration. An update is SageMaker's blue/green switch: the old configuration keeps serving
until the new one is InService, and nothing is deleted first. Resource names derive from the
model, version and a hash of what they contain, so a retried deployment finds and reuses what
an earlier attempt created instead of failing on "already exists".

Credentials are never read here: boto3 finds them through the standard AWS chain.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from lstm_model.config import DeployConfig
from lstm_model.delivery.push import DeliveryError, parse_push_uri
from lstm_model.errors import PipelineInputError

# AWS Deep Learning Containers publish tensorflow-inference from one account in most regions;
# these regions use their own (see the SageMaker Python SDK's image_uris config).
_DLC_ACCOUNTS = {
    "af-south-1": "626614931356",
    "ap-east-1": "871362719292",
    "eu-south-1": "692866216735",
    "me-south-1": "217643126080",
    "cn-north-1": "727897471807",
    "cn-northwest-1": "727897471807",
}
_DLC_DEFAULT_ACCOUNT = "763104351884"
_NAME_LIMIT = 63  # SageMaker model / endpoint-config / endpoint names
_NAME_RE = re.compile(r"[A-Za-z0-9](-*[A-Za-z0-9]){0,62}")
_BUSY = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})
_RETRYABLE_CODES = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException"})
_RETRYABLE_CODES |= {"ServiceUnavailable", "InternalFailure", "InternalServerError"}
_RETRYABLE_CODES |= {"RequestTimeout", "RequestTimeoutException"}
# The TFS container serves every model folder in the archive; this one answers /invocations.
TFS_DEFAULT_MODEL_ENV = "SAGEMAKER_TFS_DEFAULT_MODEL_NAME"


class DeploymentTimeoutError(DeliveryError):
    """The endpoint did not reach InService in time; SageMaker keeps working on it."""

    def __init__(self, message: str) -> None:
        # Retrying would call UpdateEndpoint on a busy endpoint: let a person look first.
        super().__init__(message, retryable=False)


def default_image_uri(region: str, tf_version: str) -> str:
    """The AWS TensorFlow Serving (CPU) inference image for ``region``.

    Args:
        region: AWS region, e.g. ``eu-west-1``.
        tf_version: TensorFlow Serving version, ``major.minor`` (e.g. ``2.19``); it must be
            at least as new as the TensorFlow that exported the model's ops.

    Returns:
        ``<account>.dkr.ecr.<region>.amazonaws.com[.cn]/tensorflow-inference:<v>-cpu``.
    """
    account = _DLC_ACCOUNTS.get(region, _DLC_DEFAULT_ACCOUNT)
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"{account}.dkr.ecr.{region}.{domain}/tensorflow-inference:{tf_version}-cpu"


def check_deploy_config(deploy: DeployConfig, push_uri: str | None) -> None:
    """Reject an enabled deployment that cannot work, before any training.

    Raises:
        PipelineInputError: No endpoint name or role, a bad endpoint name, or a push target
            that is not S3 (SageMaker reads ``ModelDataUrl`` from S3 only).
    """
    if not deploy.enabled:
        return
    missing = [f"deploy.{k}" for k in ("endpoint_name", "role_arn") if not getattr(deploy, k)]
    if missing:
        raise PipelineInputError(
            f"SageMaker deployment is enabled but {' and '.join(missing)} is not set. Set it "
            "in the config (the role is the infra/ stack output SageMakerExecutionRoleArn), "
            "or set deploy.enabled to false."
        )
    assert deploy.endpoint_name is not None
    if not _NAME_RE.fullmatch(deploy.endpoint_name):
        raise PipelineInputError(
            f"deploy.endpoint_name {deploy.endpoint_name!r} is not a SageMaker name: use 1-63 "
            "letters, digits and hyphens, starting and ending with a letter or digit."
        )
    if parse_push_uri(push_uri, "unused").bucket is None:
        raise PipelineInputError(
            "SageMaker deployment is enabled but push.push_uri is not an s3:// URI: SageMaker "
            "loads the model package from S3 only. Set push_uri to s3://bucket/prefix."
        )


@dataclass(frozen=True)
class EndpointSpec:
    """What to host: one registered version's package, and how.

    ``sagemaker_model_name`` and ``endpoint_config_name`` are derived: the registered name
    and version plus a short hash of the content, so the same request maps to the same names.
    """

    endpoint_name: str
    model_name: str
    version: str
    model_data_url: str
    role_arn: str
    image_uri: str
    instance_type: str = "ml.m5.large"
    instance_count: int = 1

    def _name(self, *parts: object) -> str:
        digest = hashlib.sha256(json.dumps([str(p) for p in parts]).encode()).hexdigest()[:8]
        stem = re.sub(r"[^A-Za-z0-9]+", "-", self.model_name).strip("-") or "model"
        tail = f"-v{self.version}-{digest}"
        return stem[: _NAME_LIMIT - len(tail)].rstrip("-") + tail

    @property
    def sagemaker_model_name(self) -> str:
        return self._name(self.model_data_url, self.image_uri, self.role_arn)

    @property
    def endpoint_config_name(self) -> str:
        return self._name(self.sagemaker_model_name, self.instance_type, self.instance_count)

    def create_model_args(self) -> dict[str, Any]:
        return {
            "ModelName": self.sagemaker_model_name,
            "PrimaryContainer": {
                "Image": self.image_uri,
                "ModelDataUrl": self.model_data_url,
                "Environment": {TFS_DEFAULT_MODEL_ENV: self.model_name},
            },
            "ExecutionRoleArn": self.role_arn,
            "Tags": [
                {"Key": "registered-model", "Value": self.model_name},
                {"Key": "model-version", "Value": self.version},
            ],
        }

    def create_endpoint_config_args(self) -> dict[str, Any]:
        return {
            "EndpointConfigName": self.endpoint_config_name,
            "ProductionVariants": [
                {
                    "VariantName": "AllTraffic",
                    "ModelName": self.sagemaker_model_name,
                    "InitialInstanceCount": self.instance_count,
                    "InstanceType": self.instance_type,
                    "InitialVariantWeight": 1.0,
                }
            ],
        }


def spec_from_config(
    deploy: DeployConfig, model_name: str, version: str, model_data_url: str, region: str
) -> EndpointSpec:
    """An :class:`EndpointSpec` from the ``deploy`` config section (checked first)."""
    if not deploy.endpoint_name or not deploy.role_arn:
        raise PipelineInputError("deploy.endpoint_name and deploy.role_arn must be set.")
    return EndpointSpec(
        endpoint_name=deploy.endpoint_name,
        model_name=model_name,
        version=str(version),
        model_data_url=model_data_url,
        role_arn=deploy.role_arn,
        image_uri=deploy.image_uri or default_image_uri(region, deploy.tf_version),
        instance_type=deploy.instance_type,
        instance_count=deploy.instance_count,
    )


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


def _sagemaker_call(client: Any, operation: str, **kwargs: Any) -> dict:
    from botocore.exceptions import ClientError

    try:
        return getattr(client, operation)(**kwargs)
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


def _describe_endpoint(client: Any, name: str) -> dict | None:
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
        status = current["EndpointStatus"]
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
