"""Package an exported SavedModel in SageMaker's TensorFlow Serving layout.

``package_model`` writes ``model.tar.gz`` with members ``<model-name>/<version>/...``,
deterministically (sorted members, fixed mtimes and owners), so the same model always has the
same SHA-256 and a checksum can be verified wherever the package travels.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import os
import re
import tarfile
import tempfile
from pathlib import Path

from lstm_model.errors import PipelineInputError

log = logging.getLogger(__name__)

PACKAGE_NAME = "model.tar.gz"
# The index of a local-strategy panel's folder: one SavedModel per series beside it.
LOCAL_INDEX = "series.json"
_FIXED_MTIME = 0  # every member gets the same mtime so identical inputs give identical bytes
_CHUNK = 1024 * 1024
_MODEL_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def version_dir(version: str | int) -> str:
    """``3``/``"3"``/``"003"`` -> ``"3"``: TF Serving only loads numeric version folders."""
    text = str(version).strip()
    if isinstance(version, bool) or not text.isascii() or not text.isdigit():
        raise PipelineInputError(
            f"Model version {version!r} is not a non-negative integer: TF Serving only loads "
            "numeric version folders. Pass the registry's version number, e.g. 3."
        )
    return str(int(text))


def check_model_name(model_name: str) -> str:
    """The name, if it is usable as a folder and an S3 key; else PipelineInputError."""
    if not isinstance(model_name, str) or not _MODEL_NAME_RE.fullmatch(model_name):
        raise PipelineInputError(
            f"Model name {model_name!r} cannot be used as a folder and S3 key (nor in a "
            "models:/ URI): use 1-128 letters, digits, '.', '_' or '-', starting with a "
            "letter or digit. Set --model-name / registry.model_name accordingly."
        )
    return model_name


def package_model(
    saved_model_dir: Path, model_name: str, version: str | int, out_dir: Path
) -> Path:
    """Write ``out_dir/model.tar.gz`` in the SageMaker TensorFlow Serving layout.

    Members are ``<model-name>/<version>/saved_model.pb``, ``.../variables/...`` and every
    other file of the SavedModel folder (assets/, fingerprint.pb, extra JSON), sorted, with
    fixed mtimes, owners and modes, so identical inputs give byte-identical archives. A
    local-strategy panel's folder (``series.json`` and one SavedModel folder per series) is
    packaged the same way.

    Args:
        saved_model_dir: A folder written by ``keras.Model.export`` (or tf.saved_model.save).
        model_name: Top-level folder in the archive, e.g. ``lstm-forecaster``.
        version: Numeric version folder, e.g. ``3``.
        out_dir: Where ``model.tar.gz`` is written (created if missing).

    Returns:
        The path of the archive.

    Raises:
        PipelineInputError: No SavedModel at ``saved_model_dir``, a bad name or version, or
            ``out_dir`` inside the SavedModel folder.
    """
    source = Path(saved_model_dir)
    # A local-strategy panel ships its folder of SavedModels (one per series) with its index.
    if not (source / "saved_model.pb").is_file() and not (source / LOCAL_INDEX).is_file():
        raise PipelineInputError(
            f"{source} is not a TensorFlow SavedModel folder (no saved_model.pb). Export the "
            "model with keras `model.export(folder)` (not `model.save`) and pass that folder."
        )
    name = check_model_name(model_name)
    root = f"{name}/{version_dir(version)}"
    out_dir = Path(out_dir)
    if out_dir.resolve().is_relative_to(source.resolve()):
        raise PipelineInputError(
            f"Output folder {out_dir} is inside the SavedModel folder {source}: the archive "
            "would contain itself. Write it elsewhere."
        )

    members: list[tuple[str, Path | None]] = [(name, None), (root, None)]
    members += [(f"{root}/{rel}", path) for rel, path in _walk(source) if rel]
    members.sort(key=lambda member: member[0])
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / PACKAGE_NAME
    # Write beside the target, then rename: a reader never sees half an archive.
    fd, tmp = tempfile.mkstemp(prefix=".model-", suffix=".part", dir=out_dir)
    try:
        with (
            os.fdopen(fd, "wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=_FIXED_MTIME) as gz,
            tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as tar,
        ):
            for arcname, path in members:
                _add_member(tar, arcname, path)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    log.info("Packaged %s as %s (%d members)", source, target, len(members))
    return target


def archive_directory(source: Path) -> bytes:
    """A folder as gzipped tar bytes, members relative to it, sorted, with fixed metadata.

    For a model that travels as plain data (e.g. from a worker process) rather than as a file;
    identical folders give identical bytes, as :func:`package_model`'s archives do.
    """
    members = sorted(((rel, path) for rel, path in _walk(Path(source)) if rel), key=lambda m: m[0])
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=_FIXED_MTIME) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as tar,
    ):
        for arcname, path in members:
            _add_member(tar, arcname, path)
    return buffer.getvalue()


def extract_archive(archive: bytes, target: Path) -> Path:
    """Unpack :func:`archive_directory` bytes into ``target`` (created); returns ``target``.

    The ``data`` filter refuses absolute paths, links out of the folder and special files, so a
    damaged or hostile archive cannot write outside ``target``.
    """
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        tar.extractall(target, filter="data")
    return target


def _walk(source: Path) -> list[tuple[str, Path | None]]:
    """(relative posix path, file path or None for a folder) for everything under source."""
    found: list[tuple[str, Path | None]] = []
    for folder, dirnames, filenames in os.walk(source):
        here = Path(folder)
        found.append((here.relative_to(source).as_posix().lstrip("."), None))
        # os.walk silently skips folder symlinks; a missing asset must not go unnoticed.
        odd = [here / d for d in dirnames if (here / d).is_symlink()]
        odd += [here / f for f in filenames if not (here / f).is_file()]
        if odd:
            raise PipelineInputError(f"{odd[0]} is a folder symlink or not a regular file.")
        found += [((here / f).relative_to(source).as_posix(), here / f) for f in filenames]
    return found


def _add_member(tar: tarfile.TarFile, arcname: str, path: Path | None) -> None:
    info = tarfile.TarInfo(arcname)
    info.mtime = _FIXED_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if path is None:
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
        tar.addfile(info)
        return
    info.mode = 0o644
    info.size = path.stat().st_size  # follows a file symlink: its content is archived
    with open(path, "rb") as handle:
        tar.addfile(info, handle)
