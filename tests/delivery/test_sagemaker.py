"""What to host on SageMaker: the regional image and the up-front config check."""

from __future__ import annotations

import pytest

from lstm_model.config import DeployConfig
from lstm_model.delivery.sagemaker import (
    check_deploy_config,
    default_image_uri,
    spec_from_config,
)
from lstm_model.errors import PipelineInputError

ROLE = "arn:aws:iam::123456789012:role/lstm-sagemaker-execution"


def test_default_image_is_the_regional_tensorflow_serving_image():
    assert default_image_uri("eu-west-1", "2.19") == (
        "763104351884.dkr.ecr.eu-west-1.amazonaws.com/tensorflow-inference:2.19-cpu"
    )
    assert default_image_uri("ap-east-1", "2.19").startswith("871362719292.dkr.ecr.ap-east-1.")
    assert ".amazonaws.com.cn/" in default_image_uri("cn-north-1", "2.19")
    custom = DeployConfig(endpoint_name="e", role_arn=ROLE, image_uri="my/image:1")
    assert spec_from_config(custom, "m", "1", "s3://b/k", "us-east-1").image_uri == "my/image:1"


@pytest.mark.parametrize(
    ("deploy", "push_uri", "match"),
    [
        (DeployConfig(enabled=True, role_arn=ROLE), "s3://b/p", "endpoint_name is not set"),
        (DeployConfig(enabled=True, endpoint_name="e"), "s3://b/p", "role_arn is not set"),
        (DeployConfig(enabled=True, endpoint_name="e_1", role_arn=ROLE), "s3://b", "letters"),
        (DeployConfig(enabled=True, endpoint_name="e", role_arn=ROLE), None, "not an s3://"),
    ],
)
def test_enabled_deploy_config_is_checked_up_front(deploy, push_uri, match):
    with pytest.raises(PipelineInputError, match=match):
        check_deploy_config(deploy, push_uri)
    check_deploy_config(DeployConfig(), None)  # disabled: nothing to check
