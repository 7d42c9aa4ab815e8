"""SageMaker deployment on moto over HTTP (update_endpoint through botocore's Stubber)."""

from __future__ import annotations

import uuid

import boto3
import pytest
from botocore.stub import Stubber

from lstm_model.config import DeployConfig
from lstm_model.delivery.deploy import DeploymentTimeoutError, deploy_endpoint
from lstm_model.delivery.push import DeliveryError
from lstm_model.delivery.sagemaker import (
    EndpointSpec,
    default_image_uri,
    spec_from_config,
)
from lstm_model.errors import PipelineInputError

ROLE = "arn:aws:iam::123456789012:role/lstm-sagemaker-execution"


ARN = "arn:aws:sagemaker:us-east-1:123456789012:"


def _spec(url: str, endpoint: str, version: str = "3", **kw) -> EndpointSpec:
    deploy = DeployConfig(enabled=True, endpoint_name=endpoint, role_arn=ROLE, **kw)
    return spec_from_config(deploy, "lstm-forecaster", version, url, "us-east-1")


def test_create_model_config_and_endpoint_on_moto(clients, package_url):
    sagemaker, s3 = clients
    endpoint = f"lstm-{uuid.uuid4().hex[:8]}"
    spec = _spec(package_url, endpoint)
    result = deploy_endpoint(spec, sagemaker=sagemaker, s3=s3, wait_timeout=5, poll_seconds=0)
    assert (result.action, result.status) == ("create", "InService")
    assert result.calls == [
        "sagemaker.create_model",
        "sagemaker.create_endpoint_config",
        "sagemaker.create_endpoint",
    ]
    model = sagemaker.describe_model(ModelName=spec.sagemaker_model_name)
    assert model["PrimaryContainer"]["ModelDataUrl"] == package_url
    assert model["PrimaryContainer"]["Image"] == default_image_uri("us-east-1", "2.19")
    assert model["ExecutionRoleArn"] == ROLE
    config = sagemaker.describe_endpoint_config(EndpointConfigName=spec.endpoint_config_name)
    (variant,) = config["ProductionVariants"]
    assert variant["ModelName"] == spec.sagemaker_model_name
    assert (variant["InstanceType"], variant["InitialInstanceCount"]) == ("ml.m5.large", 1)
    described = sagemaker.describe_endpoint(EndpointName=endpoint)
    assert described["EndpointConfigName"] == spec.endpoint_config_name

    # Deploying the same version again (e.g. a Prefect retry) changes nothing.
    again = deploy_endpoint(spec, sagemaker=sagemaker, s3=s3, wait_timeout=5, poll_seconds=0)
    assert (again.action, again.calls) == ("unchanged", [])


def test_missing_package_is_refused_before_any_sagemaker_call(clients, s3_bucket):
    sagemaker, s3 = clients
    endpoint = f"lstm-{uuid.uuid4().hex[:8]}"
    spec = _spec(f"s3://{s3_bucket}/models/none/1/model.tar.gz", endpoint)
    # moto's CreateModel would accept any ModelDataUrl; the deployment must check it itself.
    with pytest.raises(PipelineInputError, match="does not exist: push the version first"):
        deploy_endpoint(spec, sagemaker=sagemaker, s3=s3, wait_timeout=5)
    models = [m["ModelName"] for m in sagemaker.list_models(MaxResults=100)["Models"]]
    assert spec.sagemaker_model_name not in models
    endpoints = [e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]]
    assert endpoint not in endpoints


def test_dry_run_prints_every_call_and_creates_nothing(clients, package_url, capsys):
    sagemaker, s3 = clients
    endpoint = f"lstm-{uuid.uuid4().hex[:8]}"
    spec = _spec(package_url, endpoint, version="4")
    result = deploy_endpoint(spec, sagemaker=sagemaker, s3=s3, wait_timeout=5, dry_run=True)
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split("(")[0] for line in lines] == [
        "[dry-run] sagemaker.create_model",
        "[dry-run] sagemaker.create_endpoint_config",
        "[dry-run] sagemaker.create_endpoint",
    ]
    assert package_url in lines[0] and ROLE in lines[0]
    assert spec.endpoint_config_name in lines[2] and result.status == "dry-run"
    models = [m["ModelName"] for m in sagemaker.list_models(MaxResults=100)["Models"]]
    assert spec.sagemaker_model_name not in models
    endpoints = [e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]]
    assert endpoint not in endpoints


def test_existing_endpoint_is_updated_in_place_without_deleting(clients, package_url):
    """moto 5.2.5 does not implement UpdateEndpoint (HTTP 500), so this one test stubs the
    SageMaker client with botocore's Stubber; S3 (the package check) is moto over HTTP."""
    _, s3 = clients
    client = boto3.client("sagemaker", region_name="us-east-1")
    spec = _spec(package_url, "prod-forecaster", version="5")
    config_name = spec.endpoint_config_name
    missing = {"service_error_code": "ValidationException", "http_status_code": 400}
    with Stubber(client) as stub:
        stub.add_client_error("describe_model", service_message="Could not find model", **missing)
        stub.add_response("create_model", {"ModelArn": ARN + "model/m"})
        stub.add_client_error(
            "describe_endpoint_config", service_message="Could not find config", **missing
        )
        stub.add_response(
            "create_endpoint_config", {"EndpointConfigArn": ARN + "endpoint-config/c"}
        )
        live = {
            "EndpointName": "prod-forecaster",
            "EndpointArn": ARN + "endpoint/e",
            "EndpointConfigName": "lstm-forecaster-v4-old",
            "EndpointStatus": "InService",
            "CreationTime": "2025-01-01T00:00:00Z",
            "LastModifiedTime": "2025-01-01T00:00:00Z",
        }
        stub.add_response("describe_endpoint", live)  # exists?
        stub.add_response("describe_endpoint", live)  # its status and config
        stub.add_response(
            "update_endpoint",
            {"EndpointArn": ARN + "endpoint/e"},
            {"EndpointName": "prod-forecaster", "EndpointConfigName": config_name},
        )
        # The old configuration serves while the endpoint is Updating; then it switches.
        stub.add_response("describe_endpoint", {**live, "EndpointStatus": "Updating"})
        stub.add_response("describe_endpoint", {**live, "EndpointConfigName": config_name})
        waits: list[float] = []
        result = deploy_endpoint(
            spec, sagemaker=client, s3=s3, wait_timeout=60, poll_seconds=7, sleep=waits.append
        )
        stub.assert_no_pending_responses()  # in particular: no delete_endpoint call
    assert (result.action, result.status) == ("update", "InService")
    assert "sagemaker.delete_endpoint" not in result.calls and waits == [7]


def test_wait_gives_up_after_the_timeout(package_url, clients):
    _, s3 = clients
    client = boto3.client("sagemaker", region_name="us-east-1")
    spec = _spec(package_url, "slow-endpoint", version="6")
    creating = {
        "EndpointName": "slow-endpoint",
        "EndpointArn": ARN + "endpoint/e",
        "EndpointConfigName": spec.endpoint_config_name,
        "EndpointStatus": "Creating",
        "CreationTime": "2025-01-01T00:00:00Z",
        "LastModifiedTime": "2025-01-01T00:00:00Z",
    }
    missing = {"service_error_code": "ValidationException", "http_status_code": 400}
    with Stubber(client) as stub:
        stub.add_response(
            "describe_model", {"ModelName": "m", "ModelArn": ARN + "model/m", "CreationTime": 0}
        )
        stub.add_response(
            "describe_endpoint_config",
            {
                "EndpointConfigName": "c",
                "EndpointConfigArn": ARN + "endpoint-config/c",
                "ProductionVariants": [{"VariantName": "AllTraffic"}],
                "CreationTime": 0,
            },
        )
        stub.add_client_error("describe_endpoint", service_message="Could not find", **missing)
        stub.add_response("create_endpoint", {"EndpointArn": ARN + "endpoint/e"})
        stub.add_response("describe_endpoint", creating)
        with pytest.raises(DeploymentTimeoutError, match="still Creating") as caught:
            deploy_endpoint(spec, sagemaker=client, s3=s3, wait_timeout=0, sleep=lambda s: None)
    assert not caught.value.retryable


def test_throttling_is_retryable_and_validation_is_not(package_url, clients):
    _, s3 = clients
    client = boto3.client("sagemaker", region_name="us-east-1")
    spec = _spec(package_url, "e", version="7")
    for code, status, retryable in [
        ("ThrottlingException", 400, True),
        ("ValidationException", 400, False),
    ]:
        with Stubber(client) as stub:
            stub.add_client_error(
                "describe_model",
                service_error_code="ValidationException",
                service_message="Could not find model",
                http_status_code=400,
            )
            stub.add_client_error("create_model", service_error_code=code, http_status_code=status)
            with pytest.raises(DeliveryError, match=code) as caught:
                deploy_endpoint(spec, sagemaker=client, s3=s3, wait_timeout=1)
        assert caught.value.retryable is retryable
