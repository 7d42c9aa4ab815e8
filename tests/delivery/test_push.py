"""Pushing a package: real boto3 over HTTP to moto, a local folder, URI forms, verification."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pytest
from conftest import free_port, sha256_of

from lstm_model.delivery import push
from lstm_model.delivery.push import DeliveryError, PushVerificationError, push_package
from lstm_model.errors import PipelineInputError

MODEL = "lstm-forecaster"


def test_push_to_s3_lands_at_key_with_metadata(package, s3_bucket, moto_endpoint):
    result = push_package(
        package,
        MODEL,
        3,
        f"s3://{s3_bucket}/models/prod/",
        Path("unused"),
        {"run-id": "abc123", "rmse": "0.42", "sha256": "forged"},
    )
    key = f"models/prod/{MODEL}/3/model.tar.gz"
    assert result.uri == f"s3://{s3_bucket}/{key}"
    assert (result.sha256, result.size_bytes) == (sha256_of(package), package.stat().st_size)

    # Read back with an explicit endpoint: the push itself only had AWS_ENDPOINT_URL.
    s3 = boto3.client("s3", endpoint_url=moto_endpoint)
    obj = s3.get_object(Bucket=s3_bucket, Key=key)
    assert hashlib.sha256(obj["Body"].read()).hexdigest() == result.sha256
    assert obj["Metadata"] == {
        "run-id": "abc123",
        "rmse": "0.42",
        "sha256": result.sha256,  # the caller's "sha256" never shadows the real one
        "model-name": MODEL,
        "model-version": "3",
    }
    assert obj["ContentType"] == "application/gzip"


def test_push_to_bucket_root(package, s3_bucket, moto_endpoint):
    result = push_package(package, MODEL, "0003", f"s3://{s3_bucket}", Path("unused"))
    assert result.uri == f"s3://{s3_bucket}/{MODEL}/3/model.tar.gz"
    keys = boto3.client("s3", endpoint_url=moto_endpoint).list_objects_v2(Bucket=s3_bucket)
    assert [o["Key"] for o in keys["Contents"]] == [f"{MODEL}/3/model.tar.gz"]


def test_aws_endpoint_url_decides_where_boto3_goes(package, s3_bucket, monkeypatch):
    dead = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", dead)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # botocore would retry a refused connection
    with pytest.raises(DeliveryError, match="Cannot reach") as caught:
        push_package(package, MODEL, 3, f"s3://{s3_bucket}/m", Path("unused"))
    assert dead in str(caught.value) and caught.value.retryable


def test_missing_bucket_is_an_input_error_naming_bucket_and_endpoint(
    package, s3_bucket, moto_endpoint
):
    with pytest.raises(PipelineInputError) as caught:
        push_package(package, MODEL, 3, "s3://no-such-bucket-here/m", Path("unused"))
    message = str(caught.value)
    assert "'no-such-bucket-here' does not exist" in message
    assert moto_endpoint in message and "aws s3 mb" in message


@pytest.fixture(scope="module")
def auth_moto():
    """A second moto server that enforces IAM after 3 setup calls: bucket, user, key."""
    port = free_port()
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "3"}
    cmd = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    process = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        boto3.client("s3", endpoint_url=url).create_bucket(Bucket="locked")
        iam = boto3.client("iam", endpoint_url=url)
        iam.create_user(UserName="no-rights")
        key = iam.create_access_key(UserName="no-rights")["AccessKey"]
        yield url, key["AccessKeyId"], key["SecretAccessKey"]
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.parametrize("known_key", [True, False], ids=["no-policy", "unknown-key"])
def test_access_denied_is_clear_final_and_keeps_secrets_out(
    package, auth_moto, monkeypatch, caplog, known_key
):
    url, key_id, secret = auth_moto
    if not known_key:
        key_id, secret = "AKIAUNKNOWN000000000", "canary-secret-do-not-log"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    caplog.set_level("DEBUG", logger="lstm_model")
    with pytest.raises(DeliveryError, match="Access denied") as caught:
        push_package(package, MODEL, 3, "s3://locked/m", Path("unused"))
    assert not caught.value.retryable
    assert "locked" in str(caught.value) and url in str(caught.value)
    assert secret not in str(caught.value) and secret not in caplog.text


@pytest.mark.parametrize("form", ["none", "file-uri", "plain-path"])
def test_push_to_local_folder(package, tmp_path, form):
    store = tmp_path / "store"
    uri = {"none": None, "file-uri": store.as_uri(), "plain-path": str(store)}[form]
    result = push_package(package, MODEL, 3, uri, store, {"run-id": "r1"})
    dest = store / MODEL / "3" / "model.tar.gz"
    assert result.uri == str(dest.resolve())
    assert sha256_of(dest) == result.sha256 == sha256_of(package)
    assert dest.stat().st_mode & 0o777 == 0o644  # readable by all, like any published file
    sidecar = json.loads((dest.parent / "model.tar.gz.metadata.json").read_text())
    assert sidecar["sha256"] == result.sha256 and sidecar["metadata"]["run-id"] == "r1"
    # Pushing the same package again (even onto itself) is fine.
    assert push_package(dest, MODEL, 3, uri, store).sha256 == result.sha256


def test_local_copy_that_differs_fails_verification(package, tmp_path, monkeypatch):
    def corrupt(src, dst, **kwargs):
        Path(dst).write_bytes(b"corrupted" + Path(src).read_bytes()[9:])

    monkeypatch.setattr(push.shutil, "copyfile", corrupt)
    with pytest.raises(PushVerificationError, match="does not match"):
        push_package(package, MODEL, 3, None, tmp_path / "store")


@pytest.mark.parametrize(
    "uri",
    [
        "s3:/bucket/x",
        "s3:bucket",
        "s3://",
        "s3:///prefix",
        "s3://Bad_Bucket/x",
        "s3://bucket:9000/x",
        "ftp://host/x",
        "https://bucket.s3.amazonaws.com/x",
        "file://remote-host/x",
        "s3://AKIAXXXX:canary-secret@bucket/x",
    ],
)
def test_malformed_uri_says_the_expected_form(package, tmp_path, uri):
    with pytest.raises(PipelineInputError, match=r"expected s3://bucket\[/prefix\]") as caught:
        push_package(package, MODEL, 3, uri, tmp_path)
    assert "canary-secret" not in str(caught.value)
    assert not (tmp_path / MODEL).exists()


def test_metadata_must_fit_s3_headers(package, tmp_path):
    with pytest.raises(PipelineInputError, match="printable ASCII"):
        push_package(package, MODEL, 3, None, tmp_path, {"note": "café"})
    with pytest.raises(PipelineInputError, match="S3 allows 2048"):
        push_package(package, MODEL, 3, None, tmp_path, {"big": "x" * 3000})
