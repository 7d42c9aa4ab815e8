"""Deliver a model package verified: to S3 (or an S3-compatible store) or a local folder.

``push_package`` copies a ``model.tar.gz`` from :mod:`lstm_model.delivery.package` to S3 (or an
S3-compatible store via ``AWS_ENDPOINT_URL``) or a local folder and compares SHA-256 checksums
of what was stored. Credentials are never read, logged or put in messages: boto3 finds them
through the standard AWS chain, and URIs are redacted in errors.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from lstm_model.delivery.package import PACKAGE_NAME, check_model_name, sha256_file, version_dir
from lstm_model.errors import PipelineInputError
from lstm_model.redact import redact

log = logging.getLogger(__name__)

_CHUNK = 1024 * 1024
# S3 bucket naming rules (3-63 chars, lowercase letters, digits, dots and hyphens).
_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_META_KEY_RE = re.compile(r"[a-z0-9][a-z0-9._-]*")
_META_LIMIT = 2048  # S3's limit on user metadata, keys plus values, in bytes
PUBLISHED_MODE = 0o644
_URI_FORMS = "s3://bucket[/prefix], file:///absolute/dir, or a plain directory path"
# Errors that retrying with the same credentials cannot fix.
_ACCESS_CODES = frozenset({"AccessDenied", "AllAccessDisabled", "InvalidAccessKeyId", "403"})
_ACCESS_CODES |= {"SignatureDoesNotMatch", "ExpiredToken", "InvalidToken"}


class DeliveryError(RuntimeError):
    """A push failed for a reason other than bad input; ``retryable`` is False when retrying
    cannot help (e.g. access denied), so the Prefect task fails fast."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class PushVerificationError(DeliveryError):
    """The stored copy does not match the package (size or SHA-256)."""

    def __init__(self, message: str) -> None:
        # A corrupted transfer may well succeed the next time.
        super().__init__(message, retryable=True)


@dataclass(frozen=True)
class PushResult:
    """Where a package went (``s3://bucket/key`` or an absolute local path), its verified
    hex SHA-256 and its size in bytes."""

    uri: str
    sha256: str
    size_bytes: int


@dataclass(frozen=True)
class PushTarget:
    """A parsed push destination: either ``bucket``/``prefix`` (S3) or ``directory`` (local)."""

    bucket: str | None = None
    prefix: str = ""
    directory: Path | None = None


def _redact(uri: str) -> str:
    """A URI fit for messages: credentials (:func:`~lstm_model.redact.redact`) and the whole
    query string are masked."""
    return re.sub(r"\?.*$", "?***", redact(uri))


def parse_push_uri(push_uri: str | None, local_dir: Path) -> PushTarget:
    """Parse a push URI; call it early to reject a bad URI before any training.

    Args:
        push_uri: ``s3://bucket[/prefix]``, ``file:///dir``, a plain directory path, or
            None/empty for ``local_dir``.
        local_dir: The local folder used when ``push_uri`` is None or empty.

    Returns:
        The target.

    Raises:
        PipelineInputError: The URI is malformed; the message shows the expected forms.
    """
    if push_uri is None or not push_uri.strip():
        return PushTarget(directory=Path(local_dir))
    text = push_uri.strip()
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    problem = ""
    if scheme == "s3":
        if not text.lower().startswith("s3://") or not parts.netloc:
            problem = "names no bucket"
        elif not _BUCKET_RE.fullmatch(parts.netloc) or ".." in parts.netloc:
            problem = "has no valid bucket name (3-63 of a-z 0-9 . -; no credentials or port)"
        elif parts.query or parts.fragment:
            problem = "has a query or fragment"
        else:
            prefix = "/".join(segment for segment in parts.path.split("/") if segment)
            return PushTarget(bucket=parts.netloc, prefix=prefix)
    elif scheme == "file":
        if parts.netloc in ("", "localhost") and parts.path:
            return PushTarget(directory=Path(url2pathname(parts.path)))
        problem = "is not a local file URI"
    elif not scheme or len(scheme) == 1:  # a plain path; one letter is a Windows drive
        return PushTarget(directory=Path(text))
    else:
        problem = f"uses unsupported scheme {scheme!r}"
    raise PipelineInputError(f"push URI {_redact(text)!r} {problem}: expected {_URI_FORMS}.")


def check_push_target(push_uri: str | None, local_dir: Path) -> PushTarget:
    """Parse the push URI and check that the target can take a package, before any training.

    A local folder must exist or be creatable, and be writable; an S3 bucket must exist
    (one ``HeadBucket`` call, which also proves the endpoint answers and the credentials work).

    Args:
        push_uri: As for :func:`parse_push_uri`.
        local_dir: The local folder used when ``push_uri`` is None or empty.

    Returns:
        The target.

    Raises:
        PipelineInputError: A malformed URI, a folder that cannot be written, or a bucket
            that does not exist.
        DeliveryError: The S3 endpoint cannot be reached or refuses the credentials.
    """
    target = parse_push_uri(push_uri, local_dir)
    if target.bucket is not None:
        client = _s3_client()
        endpoint = _redact(client.meta.endpoint_url)
        try:
            client.head_bucket(Bucket=target.bucket)
        except Exception as exc:  # noqa: BLE001 - mapped by _s3_error, which names the cause
            raise _s3_error(exc, target.bucket, f"s3://{target.bucket}", endpoint) from None
        return target
    assert target.directory is not None
    existing = target.directory.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        what = "is not a folder" if not existing.is_dir() else "is not writable by this user"
        raise PipelineInputError(
            f"Push target {target.directory} cannot be written: {existing} {what}. Set "
            "--push-uri / push.local_dir to a writable folder, or fix its permissions."
        )
    return target


def _object_metadata(
    metadata: dict[str, Any] | None, sha256: str, model_name: str, version: str
) -> dict[str, str]:
    """S3 user metadata: lowercase ASCII keys and values, within S3's 2 KB limit."""
    out: dict[str, str] = {}
    for key, value in (metadata or {}).items():
        meta_key, meta_value = str(key).strip().lower(), str(value)
        if not _META_KEY_RE.fullmatch(meta_key) or not (
            meta_value.isascii() and meta_value.isprintable()
        ):
            raise PipelineInputError(
                f"Metadata {key!r}: S3 sends metadata as HTTP headers, so keys must be "
                "lowercase letters, digits, '.', '_' or '-' and values printable ASCII."
            )
        out[meta_key] = meta_value
    # Ours last: a caller's "sha256" must never shadow the real checksum.
    out.update({"sha256": sha256, "model-name": model_name, "model-version": version})
    size = sum(len(key) + len(value) for key, value in out.items())
    if size > _META_LIMIT:
        raise PipelineInputError(
            f"Metadata is {size} bytes; S3 allows {_META_LIMIT}. Pass fewer or shorter entries."
        )
    return out


def push_package(
    package: Path,
    model_name: str,
    version: str | int,
    push_uri: str | None,
    local_dir: Path,
    metadata: dict[str, str] | None = None,
) -> PushResult:
    """Deliver a package to ``<target>/<model-name>/<version>/model.tar.gz`` and verify it.

    S3 targets go through boto3's standard configuration chain, so ``AWS_ENDPOINT_URL``
    (S3-compatible stores, moto), profiles and roles all apply. The SHA-256, model name,
    version and ``metadata`` go into the object's user metadata; the object is then headed
    and downloaded back and its checksum compared. Local targets are copied (atomically) and
    re-hashed; the metadata goes into ``model.tar.gz.metadata.json`` beside the package.

    Args:
        package: The ``model.tar.gz`` from :func:`~lstm_model.delivery.package.package_model`.
        model_name: Model name, the first key/folder level under the target.
        version: Numeric model version, the second level.
        push_uri: ``s3://bucket[/prefix]``, ``file:///dir``, a plain path, or None.
        local_dir: Target folder when ``push_uri`` is None or empty.
        metadata: Extra string metadata (run id, metrics, ...).

    Returns:
        Where the package went, its checksum and size.

    Raises:
        PipelineInputError: Bad URI, name, version or metadata, a missing package, or a
            bucket that does not exist.
        DeliveryError: The store refused or failed; ``retryable`` says whether to retry.
        PushVerificationError: The stored copy differs from the package.
    """
    target = parse_push_uri(push_uri, local_dir)
    name = check_model_name(model_name)
    ver = version_dir(version)
    package = Path(package)
    if not package.is_file():
        raise PipelineInputError(f"Model package {package} does not exist; run packaging first.")
    sha256, size = sha256_file(package), package.stat().st_size
    meta = _object_metadata(metadata, sha256, name, ver)
    if target.bucket is not None:
        return _push_s3(package, target, f"{name}/{ver}/{PACKAGE_NAME}", sha256, size, meta)
    assert target.directory is not None
    return _push_local(package, target.directory / name / ver / PACKAGE_NAME, sha256, size, meta)


def _push_local(
    package: Path, dest: Path, sha256: str, size: int, meta: dict[str, str]
) -> PushResult:
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        if not (dest.exists() and dest.samefile(package)):
            fd, tmp = tempfile.mkstemp(prefix=".model-", suffix=".part", dir=dest.parent)
            os.close(fd)
            try:
                shutil.copyfile(package, tmp)
                # mkstemp creates 0600; a published package is world-readable like any file.
                os.chmod(tmp, PUBLISHED_MODE)
                os.replace(tmp, dest)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        sidecar = {"sha256": sha256, "size_bytes": size, "metadata": meta}
        dest.with_name(PACKAGE_NAME + ".metadata.json").write_text(
            json.dumps(sidecar, indent=2, sort_keys=True) + "\n"
        )
        stored_sha, stored_size = sha256_file(dest), dest.stat().st_size
    except OSError as exc:
        raise DeliveryError(
            f"Could not write the package to {dest.parent}: {exc.strerror or exc}. Check the "
            "folder exists or can be created and is writable.",
            retryable=not isinstance(exc, PermissionError),
        ) from exc
    if (stored_sha, stored_size) != (sha256, size):
        raise PushVerificationError(
            f"Copy at {dest} does not match the package: sha256 {stored_sha} ({stored_size} B), "
            f"expected {sha256} ({size} B)."
        )
    log.info("Pushed model package to %s (sha256 %s)", dest, sha256)
    return PushResult(uri=str(dest.resolve()), sha256=sha256, size_bytes=size)


def _push_s3(
    package: Path, target: PushTarget, key: str, sha256: str, size: int, meta: dict[str, str]
) -> PushResult:
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import BotoCoreError, ClientError

    bucket = target.bucket
    assert bucket is not None
    key = f"{target.prefix}/{key}" if target.prefix else key
    uri = f"s3://{bucket}/{key}"
    client = _s3_client()
    endpoint = _redact(client.meta.endpoint_url)
    try:
        extra = {"Metadata": meta, "ContentType": "application/gzip"}
        client.upload_file(str(package), bucket, key, ExtraArgs=extra)
        head = client.head_object(Bucket=bucket, Key=key)
        # IfMatch: verify the very object just headed, not one a concurrent writer replaced.
        body = client.get_object(Bucket=bucket, Key=key, IfMatch=head["ETag"])["Body"]
        digest = hashlib.sha256()
        for chunk in body.iter_chunks(_CHUNK):
            digest.update(chunk)
    except (BotoCoreError, ClientError, S3UploadFailedError) as exc:
        raise _s3_error(exc, bucket, uri, endpoint) from exc
    stored = (head.get("Metadata", {}).get("sha256"), digest.hexdigest(), head["ContentLength"])
    if stored != (sha256, sha256, size):
        raise PushVerificationError(
            f"{uri} (endpoint {endpoint}) does not match the package: (metadata sha256, "
            f"downloaded sha256, size) = {stored}, expected ({sha256}, {size} B)."
        )
    log.info("Pushed model package to %s at endpoint %s (sha256 %s)", uri, endpoint, sha256)
    return PushResult(uri=uri, sha256=sha256, size_bytes=size)


def _s3_client() -> Any:
    """An S3 client from the standard chain, or PipelineInputError for a malformed endpoint."""
    # Imported here: packaging and local pushes should not pay for boto3.
    import boto3

    try:
        # No endpoint or credentials here: the standard chain (AWS_ENDPOINT_URL, profiles,
        # env vars, roles) decides, so one code path serves AWS, MinIO and moto.
        return boto3.client("s3")
    except ValueError as exc:  # e.g. a malformed AWS_ENDPOINT_URL
        raise PipelineInputError(
            f"Cannot create an S3 client: {_redact(str(exc))}. Check AWS_ENDPOINT_URL."
        ) from None


def _s3_error(exc: Exception, bucket: str, uri: str, endpoint: str) -> Exception:
    """Turn a boto3 failure into an error that names bucket and endpoint and says what to do."""
    from botocore.exceptions import ClientError, NoCredentialsError, PartialCredentialsError
    from botocore.exceptions import ConnectionError as BotoConnectionError

    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return DeliveryError(
            f"No usable AWS credentials to push to {uri} (endpoint {endpoint}). Provide them "
            "through the standard AWS chain (AWS_PROFILE, AWS_ACCESS_KEY_ID/"
            "AWS_SECRET_ACCESS_KEY, SSO or an instance role), never in the URI or config.",
            retryable=False,
        )
    if isinstance(exc, BotoConnectionError):
        return DeliveryError(
            f"Cannot reach the S3 endpoint {endpoint} to push to {uri}: {type(exc).__name__}. "
            "Check the network, or AWS_ENDPOINT_URL for an S3-compatible store.",
            retryable=True,
        )
    # upload_file re-raises ClientError as S3UploadFailedError inside its except block.
    client_error = next(
        (e for e in (exc, exc.__cause__, exc.__context__) if isinstance(e, ClientError)), None
    )
    if client_error is None:
        return DeliveryError(
            f"Push to {uri} (endpoint {endpoint}) failed: {type(exc).__name__}: {exc}",
            retryable=True,
        )
    error = client_error.response.get("Error", {})
    code, message = str(error.get("Code", "")), error.get("Message", "")
    if code in ("NoSuchBucket", "404"):  # HeadBucket answers a bare 404
        return PipelineInputError(
            f"S3 bucket {bucket!r} does not exist at endpoint {endpoint}. Create it (deploy "
            f"infra/cloudformation.yaml, or `aws s3 mb s3://{bucket}`) or point push_uri at an "
            "existing bucket."
        )
    if code in _ACCESS_CODES:
        return DeliveryError(
            f"Access denied pushing to {uri} at endpoint {endpoint} ({code}: {message}). The "
            f"credentials from the standard AWS chain need s3:PutObject and s3:GetObject on "
            f"arn:aws:s3:::{bucket}/*, and must be valid for this endpoint.",
            retryable=False,
        )
    return DeliveryError(
        f"Push to {uri} (endpoint {endpoint}) failed: {code}: {message}", retryable=True
    )
