"""Packaging and delivery of an exported model: real SavedModel, real boto3 over HTTP to moto,
real Prefect tasks."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import urllib.request
import uuid
from pathlib import Path

import boto3
import numpy as np
import pytest
from conftest import free_port

from lstm_model.delivery import push as delivery
from lstm_model.delivery.package import package_model
from lstm_model.delivery.push import DeliveryError, PushVerificationError, push_package
from lstm_model.errors import PipelineInputError

MODEL = "lstm-forecaster"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def saved_model(tiny_export):
    return tiny_export


@pytest.fixture
def package(saved_model, tmp_path) -> Path:
    return package_model(saved_model[0], MODEL, 3, tmp_path / "pkg")


# ---------------------------------------------------------------- packaging


def test_package_has_sagemaker_tfs_layout_and_loads(saved_model, package, tmp_path):
    import tensorflow as tf

    with tarfile.open(package) as tar:
        names = tar.getnames()
        infos = tar.getmembers()
        tar.extractall(tmp_path / "x", filter="data")
    assert names == sorted(names)
    assert all(name == MODEL or name.startswith(f"{MODEL}/3") for name in names)
    for member in ("saved_model.pb", "fingerprint.pb", "preprocessing.json", "assets"):
        assert f"{MODEL}/3/{member}" in names
    assert f"{MODEL}/3/variables/variables.index" in names
    assert any(n.startswith(f"{MODEL}/3/variables/variables.data-") for n in names)
    assert {(i.mtime, i.uid, i.gid, i.uname) for i in infos} == {(0, 0, 0, "")}

    # What SageMaker's TFS container unpacks must serve the same numbers as the model.
    serve = tf.saved_model.load(str(tmp_path / "x" / MODEL / "3")).signatures["serving_default"]
    batch = np.arange(8, dtype="float32").reshape(2, 4, 1)
    served = next(iter(serve(window=tf.constant(batch)).values())).numpy()
    np.testing.assert_allclose(served, saved_model[1].predict(batch, verbose=0), rtol=1e-6)


def test_package_checksum_is_deterministic(saved_model, package, tmp_path):
    copy = shutil.copytree(saved_model[0], tmp_path / "copy")
    for path in copy.rglob("*"):
        os.utime(path, (1_000_000, 1_000_000))  # different mtimes must not matter
    again = package_model(copy, MODEL, "3", tmp_path / "again")
    assert _sha(again) == _sha(package)
    assert _sha(package_model(copy, MODEL, 4, tmp_path / "v4")) != _sha(package)


@pytest.mark.parametrize(
    ("setup", "version", "match"),
    [
        (lambda d: d.mkdir(), 1, r"no saved_model.pb\). Export"),
        (lambda d: None, 1, "not a TensorFlow SavedModel"),
        (lambda d: shutil.copytree(d.parent.parent / "sm", d), "v1", "not a non-negative"),
    ],
    ids=["no-pb", "no-dir", "bad-version"],
)
def test_package_rejects_bad_input(saved_model, tmp_path, setup, version, match):
    shutil.copytree(saved_model[0], tmp_path / "sm")
    folder = tmp_path / "in" / "model"
    folder.parent.mkdir()
    setup(folder)
    with pytest.raises(PipelineInputError, match=match):
        package_model(folder, MODEL, version, tmp_path / "out")


def test_package_refuses_output_inside_savedmodel(saved_model, tmp_path):
    folder = shutil.copytree(saved_model[0], tmp_path / "sm")
    with pytest.raises(PipelineInputError, match="inside the SavedModel"):
        package_model(folder, MODEL, 1, folder / "out")


# ---------------------------------------------------------------- S3


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
    assert (result.sha256, result.size_bytes) == (_sha(package), package.stat().st_size)

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


# ---------------------------------------------------------------- local and URIs


@pytest.mark.parametrize("form", ["none", "file-uri", "plain-path"])
def test_push_to_local_folder(package, tmp_path, form):
    store = tmp_path / "store"
    uri = {"none": None, "file-uri": store.as_uri(), "plain-path": str(store)}[form]
    result = push_package(package, MODEL, 3, uri, store, {"run-id": "r1"})
    dest = store / MODEL / "3" / "model.tar.gz"
    assert result.uri == str(dest.resolve())
    assert _sha(dest) == result.sha256 == _sha(package)
    sidecar = json.loads((dest.parent / "model.tar.gz.metadata.json").read_text())
    assert sidecar["sha256"] == result.sha256 and sidecar["metadata"]["run-id"] == "r1"
    # Pushing the same package again (even onto itself) is fine.
    assert push_package(dest, MODEL, 3, uri, store).sha256 == result.sha256


def test_local_copy_that_differs_fails_verification(package, tmp_path, monkeypatch):
    def corrupt(src, dst, **kwargs):
        Path(dst).write_bytes(b"corrupted" + Path(src).read_bytes()[9:])

    monkeypatch.setattr(delivery.shutil, "copyfile", corrupt)
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


# ---------------------------------------------------------------- Prefect tasks


def test_prefect_tasks_package_push_and_record_artifact(
    prefect_harness, saved_model, s3_bucket, tmp_path
):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from tasks.delivery import package_model_task, push_model

    name = f"m-{uuid.uuid4().hex[:8]}"
    pkg = package_model_task(saved_model[0], name, 2, tmp_path)
    result = push_model(pkg, name, 2, f"s3://{s3_bucket}/models", tmp_path, {"run-id": "r"})
    assert result.uri == f"s3://{s3_bucket}/models/{name}/2/model.tar.gz"

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[f"model-package-{name}"]))
        )
    assert len(artifacts) == 1
    assert result.uri in artifacts[0].data and result.sha256 in artifacts[0].data


def _counting(monkeypatch, behaviour):
    """Replace the task's push_package with ``behaviour`` and count the attempts."""
    import tasks.delivery

    calls: list[float] = []

    def fake(*args, **kwargs):
        calls.append(time.monotonic())
        return behaviour(len(calls), *args, **kwargs)

    monkeypatch.setattr(tasks.delivery, "push_package", fake)
    return calls


# Outside a flow run Prefect warns that it cannot ship the failure's log lines to the API.
NO_FLOW_LOG_WARNING = "ignore:Logger 'prefect.task_runs' attempted:UserWarning"


@pytest.mark.filterwarnings(NO_FLOW_LOG_WARNING)
def test_prefect_push_fails_fast_on_input_error(prefect_harness, package, monkeypatch):
    from tasks.delivery import push_model

    calls = _counting(monkeypatch, lambda n, *a, **k: push_package(*a, **k))
    started = time.monotonic()
    state = push_model(package, MODEL, 3, "s3:/typo", Path("x"), return_state=True)
    assert state.is_failed()
    assert isinstance(state.result(raise_on_failure=False), PipelineInputError)
    # One attempt, and no 2 s backoff: retry_condition_fn refused to retry.
    assert len(calls) == 1 and time.monotonic() - started < 2


def test_prefect_push_retries_transient_errors(prefect_harness, package, tmp_path, monkeypatch):
    from tasks.delivery import push_model

    def flaky(n, *args, **kwargs):
        if n < 3:
            raise DeliveryError("S3 throttled", retryable=True)
        return push_package(*args, **kwargs)

    calls = _counting(monkeypatch, flaky)
    fast = push_model.with_options(retry_delay_seconds=0)  # keeps retries and the condition
    result = fast(package, MODEL, 3, None, tmp_path)
    assert len(calls) == 3 and result.sha256 == _sha(package)


@pytest.mark.filterwarnings(NO_FLOW_LOG_WARNING)
def test_prefect_push_does_not_retry_refused_access(prefect_harness, package, monkeypatch):
    from tasks.delivery import push_model

    def refused(n, *args, **kwargs):
        raise DeliveryError("Access denied", retryable=False)

    calls = _counting(monkeypatch, refused)
    state = push_model.with_options(retry_delay_seconds=0)(
        package, MODEL, 3, None, Path("x"), return_state=True
    )
    assert state.is_failed() and len(calls) == 1
