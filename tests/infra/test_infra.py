"""infra/cloudformation.yaml: cfn-lint clean, and deployable to moto's CloudFormation over HTTP.

moto 5.2.5's CloudFormation creates the bucket (with its encryption), the IAM role with its
inline policies and the managed policy. It does NOT apply a bucket's VersioningConfiguration or
PublicAccessBlockConfiguration and skips AWS::S3::BucketPolicy altogether ("not supported by
moto's CloudFormation implementation"); for those the tests check the template itself.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest
from cfnlint.decode.cfn_yaml import loads as load_cfn_yaml

from lstm_model.delivery.package import package_model
from lstm_model.delivery.push import push_package

TEMPLATE = Path(__file__).resolve().parents[2] / "infra" / "cloudformation.yaml"


@pytest.fixture(scope="module")
def template() -> dict:
    return load_cfn_yaml(TEMPLATE.read_text())


def test_template_passes_cfn_lint():
    cfn_lint = Path(sys.executable).parent / "cfn-lint"  # installed with moto[server]
    done = subprocess.run(
        [str(cfn_lint), "--format", "parseable", str(TEMPLATE)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    # Exit code 0: no errors, warnings or informational findings.
    assert done.returncode == 0, done.stdout + done.stderr


def test_template_declares_what_moto_cannot_apply(template):
    resources = template["Resources"]
    bucket = resources["ModelBucket"]["Properties"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    (deny,) = resources["ModelBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Action"] == "s3:*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert {"BucketName", "ModelPrefix"} <= set(template["Parameters"])


@pytest.fixture(scope="module")
def stack(moto_endpoint):
    """The template deployed to moto; yields (outputs, bucket name, stack name)."""
    name = f"lstm-{uuid.uuid4().hex[:8]}"
    bucket = f"{name}-models"
    cfn = boto3.client("cloudformation", endpoint_url=moto_endpoint)
    cfn.create_stack(
        StackName=name,
        TemplateBody=TEMPLATE.read_text(),
        Parameters=[
            {"ParameterKey": "BucketName", "ParameterValue": bucket},
            {"ParameterKey": "ModelPrefix", "ParameterValue": "serving/models"},
        ],
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    description = cfn.describe_stacks(StackName=name)["Stacks"][0]
    assert description["StackStatus"] == "CREATE_COMPLETE", description
    outputs = {o["OutputKey"]: o["OutputValue"] for o in description["Outputs"]}
    return outputs, bucket, name


def test_stack_creates_encrypted_bucket(stack, moto_endpoint):
    outputs, bucket, _ = stack
    assert outputs["ModelBucketName"] == bucket
    assert outputs["PushUri"] == f"s3://{bucket}/serving/models"
    s3 = boto3.client("s3", endpoint_url=moto_endpoint)
    s3.head_bucket(Bucket=bucket)
    (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    # moto ignores VersioningConfiguration in CloudFormation (see module docstring); the
    # template test above checks it. Should moto start applying it, it must be Enabled.
    assert s3.get_bucket_versioning(Bucket=bucket).get("Status") in (None, "Enabled")


def test_stack_creates_least_privilege_sagemaker_role(stack, moto_endpoint):
    outputs, bucket, name = stack
    iam = boto3.client("iam", endpoint_url=moto_endpoint)
    role_name = f"{name}-sagemaker-execution"
    role = iam.get_role(RoleName=role_name)["Role"]
    assert outputs["SageMakerExecutionRoleArn"] == role["Arn"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "sagemaker.amazonaws.com"}

    statements = []
    for policy in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role_name, PolicyName=policy)["PolicyDocument"]
        if isinstance(document, str):
            # moto renders inline policies created by CloudFormation as a Python repr, not JSON.
            document = ast.literal_eval(document)
        statements += document["Statement"]
    by_sid = {s["Sid"]: s for s in statements}
    assert all(s["Effect"] == "Allow" for s in statements)
    actions = {
        a
        for s in statements
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    # Read-only on packages: no writes, no wildcards.
    assert not any(a.endswith("*") or a in ("s3:PutObject", "s3:DeleteObject") for a in actions)
    assert by_sid["GetModelPackages"]["Resource"] == f"arn:aws:s3:::{bucket}/serving/models/*"
    listing = by_sid["ListModelPrefixOnly"]
    assert listing["Resource"] == f"arn:aws:s3:::{bucket}"
    assert listing["Condition"]["StringLike"]["s3:prefix"] == ["serving/models", "serving/models/*"]
    assert {"ecr:GetAuthorizationToken", "ecr:BatchGetImage", "logs:PutLogEvents"} <= actions

    push_policy = iam.get_policy(PolicyArn=outputs["ModelPushPolicyArn"])["Policy"]
    assert push_policy["PolicyName"] == f"{name}-model-push"


def test_pipeline_pushes_to_the_stack_push_uri(stack, moto_endpoint, monkeypatch, tmp_path):
    outputs, bucket, _ = stack
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    model_dir = tmp_path / "sm"
    model_dir.mkdir()
    (model_dir / "saved_model.pb").write_bytes(b"not a real graph; packaging does not parse it")
    package = package_model(model_dir, "lstm-forecaster", 1, tmp_path / "out")
    result = push_package(package, "lstm-forecaster", 1, outputs["PushUri"], tmp_path)
    assert result.uri == f"s3://{bucket}/serving/models/lstm-forecaster/1/model.tar.gz"
