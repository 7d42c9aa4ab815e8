"""Where a series' bytes come from (a local file or ``s3://bucket/key``) and where a row is.

:func:`check_source` is the data part of the retrain's pre-flight: it runs before anything is
hashed, loaded or trained, so a missing file, a folder, an unsupported type or a file too big
for the pipeline is refused at once with exit code 2.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pandas as pd

from lstm_model.errors import PipelineInputError
from lstm_model.redact import redact

CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet", ".pq")
# Lines shown in one error message; the rest is summarised as a count.
MAX_EXAMPLES = 5
# Rows a repair policy inserted have no file line; they carry this index.
INSERTED_ROW = -1


def file_line(index: int) -> int:
    """The 1-based CSV line of a data row: one header line, and lines count from 1."""
    return int(index) + 2


def row_label(index: int, source: str | Path = "") -> str:
    """Where a data row is, in the words of its file: 'line 7' in a CSV, 'row index 5' else.

    Args:
        index: The row's 0-based data-row number (the frame index from ``load_series``).
        source: The file the row came from; Parquet files have rows, not lines.

    Returns:
        A short location for messages.
    """
    if int(index) < 0:
        return "an inserted row"
    if Path(str(source)).suffix.lower() in PARQUET_SUFFIXES:
        return f"row index {int(index)}"
    return f"line {file_line(index)}"


def examples(values: pd.Series, source: str | Path) -> str:
    """'line 4: 'x', line 9: 'y' and 3 more' for a message."""
    shown = ", ".join(
        f"{row_label(index, source)}: {value!r}"
        for index, value in values.head(MAX_EXAMPLES).items()
    )
    more = len(values) - MAX_EXAMPLES
    return shown + (f" and {more} more" if more > 0 else "")


def as_source(path: str | Path) -> str | Path:
    """S3 URIs stay strings (``Path`` would squash the ``//``); everything else is a Path."""
    text = str(path)
    return text if text.startswith("s3://") else Path(path)


def suffix(source: str | Path) -> str:
    """The lower-case file suffix of a path or URI ('' when there is none)."""
    return Path(str(source)).suffix.lower()


def check_source(path: str | Path, max_rows: int | None, *, panel: bool = False) -> None:
    """Refuse a data source that cannot be loaded, before any work is done.

    Args:
        path: A local ``.csv``/``.parquet``/``.pq`` file or an ``s3://bucket/key`` URI; for a
            panel also a local folder of one-series files.
        max_rows: ``data.max_rows``; local files with more data rows are refused. None: any.
        panel: The source is a panel (many series): a folder is accepted.

    Raises:
        PipelineInputError: Missing, a folder (unless a panel's, with data files in it),
            unreadable, an unsupported type, an S3 object that does not exist, or more rows
            than ``max_rows``.
    """
    source = as_source(path)
    if isinstance(source, str):
        check_suffix(source)
        _head_s3(source)  # its rows are counted once it is read
        return
    if source.is_dir():
        inside = data_files(source)
        if panel and inside:
            return
        hint = f" (it holds {', '.join(p.name for p in inside[:3])})" if inside else ""
        advice = "no CSV or Parquet file in it" if panel else "pass the CSV or Parquet file itself"
        raise PipelineInputError(f"{source} is a folder, not a data file{hint}: {advice}.")
    if not source.is_file():
        raise PipelineInputError(
            f"Data file not found: {source} (working directory {Path.cwd()}). "
            "Check the path, or pass an absolute one."
        )
    check_suffix(source)
    if not os.access(source, os.R_OK):
        raise PipelineInputError(
            f"Data file {source} is not readable by this user. Fix its permissions."
        )
    if max_rows is not None:
        check_row_count(count_rows(source), max_rows, source)


def data_files(folder: Path) -> list[Path]:
    """The CSV and Parquet files directly in ``folder``, sorted by name."""
    return sorted(
        p for p in folder.iterdir() if p.is_file() and suffix(p) in CSV_SUFFIXES + PARQUET_SUFFIXES
    )


def check_suffix(source: str | Path) -> None:
    """Refuse a file type the pipeline cannot read.

    Raises:
        PipelineInputError: Not ``.csv``, ``.parquet`` or ``.pq``.
    """
    found = suffix(source)
    if found not in CSV_SUFFIXES + PARQUET_SUFFIXES:
        supported = ", ".join(CSV_SUFFIXES + PARQUET_SUFFIXES)
        raise PipelineInputError(
            f"{source}: unsupported file type '{found or '(none)'}'. Supported types are "
            f"{supported}; convert the file or rename it to match its format."
        )


def count_rows(path: Path) -> int:
    """Data rows of a local file: non-blank lines after the header, or Parquet's row count.

    Counting streams the file (a 2-million-line CSV takes well under a second), so a file too
    big for the pipeline is refused before pandas holds it in memory.
    """
    if suffix(path) in PARQUET_SUFFIXES:
        import pyarrow.parquet as pq

        try:
            return int(pq.ParquetFile(path).metadata.num_rows)
        except Exception:  # noqa: BLE001 - a corrupt file is reported, with its cause, by load
            return 0
    with path.open("rb") as handle:
        lines = sum(1 for line in handle if line.strip())
    return max(lines - 1, 0)


def check_row_count(rows: int, max_rows: int, source: str | Path) -> None:
    """Refuse a series longer than ``data.max_rows``, with what to do instead.

    Raises:
        PipelineInputError: ``rows > max_rows``.
    """
    if rows > max_rows:
        raise PipelineInputError(
            f"{source} has {rows:,} data rows; data.max_rows is {max_rows:,}. Memory and time "
            "grow with the series length, and an LSTM forecaster rarely gains from more than "
            "the most recent few hundred thousand steps: aggregate or resample the series to a "
            "coarser frequency (e.g. hourly to daily means), keep only its most recent "
            f"{max_rows:,} rows, or raise data.max_rows if this machine has the memory."
        )


def content_hash(path: str | Path) -> str:
    """SHA-256 of the file's bytes, to record exactly which data a model was trained on.

    Args:
        path: Any file, local or ``s3://bucket/key``.

    Returns:
        The hex digest.
    """
    source = as_source(path)
    if isinstance(source, str):
        return hashlib.sha256(read_s3(source)).hexdigest()
    digest = hashlib.sha256()
    # A panel's folder: every file's name and bytes, in name order.
    for file in data_files(source) if source.is_dir() else [source]:
        if source.is_dir():
            digest.update(file.name.encode() + b"\0")
        with file.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def read_s3(uri: str) -> bytes:
    """The bytes of an ``s3://bucket/key`` object.

    Args:
        uri: The object's URI.

    Returns:
        Its content.

    Raises:
        PipelineInputError: Malformed URI, missing bucket or key, or access denied.
    """
    bucket, key = _bucket_key(uri)
    try:
        content: bytes = _s3_client().get_object(Bucket=bucket, Key=key)["Body"].read()
        return content
    except Exception as error:  # noqa: BLE001 - narrowed to botocore's errors below
        raise _s3_read_error(uri, error) from error


def _head_s3(uri: str) -> None:
    bucket, key = _bucket_key(uri)
    try:
        _s3_client().head_object(Bucket=bucket, Key=key)
    except Exception as error:  # noqa: BLE001 - narrowed to botocore's errors below
        raise _s3_read_error(uri, error) from error


def _bucket_key(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not bucket or not key:
        raise PipelineInputError(
            f"{uri} is not an S3 object URI. Write it as s3://bucket/path/to/file.csv."
        )
    return bucket, key


def _s3_client() -> Any:  # boto3 clients are untyped
    import boto3

    # boto3 reads AWS_ENDPOINT_URL itself; passing it keeps older botocore honest too.
    return boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)


def _s3_read_error(uri: str, error: Exception) -> Exception:
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "error")
        return PipelineInputError(
            f"Cannot read {uri} ({code}: {redact(str(error))}). Check the bucket and key, "
            "the credentials "
            "(standard AWS chain) and AWS_ENDPOINT_URL for S3-compatible stores."
        )
    if isinstance(error, BotoCoreError):
        return PipelineInputError(
            f"Cannot read {uri}: {redact(str(error))}. Check AWS_ENDPOINT_URL and the network."
        )
    return error
