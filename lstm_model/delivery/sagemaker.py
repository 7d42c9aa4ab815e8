"""What to host on SageMaker: the TensorFlow Serving image, the checked config, the names.

:func:`lstm_model.delivery.deploy.deploy_endpoint` creates a SageMaker model and an endpoint
configuration for one registered version, then creates the endpoint or updates the existing one
to the new configuration. An update is SageMaker's blue/green switch: the old configuration keeps
serving until the new one is InService, and nothing is deleted first. Resource names derive from
the model, version and a hash of what they contain (:class:`EndpointSpec`), so a retried
deployment finds and reuses what an earlier attempt created instead of failing on "already
exists".
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lstm_model.config import DeployConfig
from lstm_model.delivery.push import parse_push_uri
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
# The TFS container serves every model folder in the archive; this one answers /invocations.
TFS_DEFAULT_MODEL_ENV = "SAGEMAKER_TFS_DEFAULT_MODEL_NAME"


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
    if parse_push_uri(push_uri, Path("unused")).bucket is None:
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
