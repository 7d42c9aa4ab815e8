"""Load a time series from CSV or Parquet (local or ``s3://``) into a frame for validation.

Loading only parses what it must: the timestamps (so the rows can be sorted) and nothing else.
The target column is left as pandas read it, so that a value such as ``"12,3"`` or ``"n/a"``
reaches validation and is reported with its line, instead of silently becoming NaN here.

The frame index is the 0-based data-row number in the file, kept through the sort, so every
later message can point at ``file line = index + 2`` (one header line, 1-based lines).

Timestamps may be ISO 8601 strings or dates, epoch seconds, or bare years. Offsets are
normalised to UTC (a file mixing +01:00 and +02:00, as daylight saving time does, is one
series of instants); naive timestamps stay naive; a file mixing both is rejected.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import is_datetime64_any_dtype, is_numeric_dtype

from lstm_model.errors import PipelineInputError

CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet", ".pq")
# Lines shown in one error message; the rest is summarised as a count.
MAX_EXAMPLES = 5
# Rows a repair policy inserted have no file line; they carry this index.
INSERTED_ROW = -1
# An offset at the end of an ISO timestamp: Z, +01:00, -0500.
_OFFSET = r"(?:Z|[+-]\d{2}:?\d{2})$"


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


def load_series(
    path: str | Path,
    time_column: str = "timestamp",
    target: str = "value",
    exogenous: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Read a series from CSV or Parquet, parse its timestamps and sort it by time.

    Args:
        path: A ``.csv``, ``.parquet`` or ``.pq`` file, local or ``s3://bucket/key``
            (boto3; ``AWS_ENDPOINT_URL`` and the standard credential chain apply).
        time_column: Name of the timestamp column.
        target: Name of the value column; its values are not converted.
        exogenous: Extra feature columns, returned after the target, not converted either.

    Returns:
        A frame with exactly ``[time_column, target, *exogenous]``, timestamps as datetime64
        (UTC when the file has offsets, naive when it has none), rows in time order (stable
        sort) and the original 0-based data-row number as index.

    Raises:
        PipelineInputError: Unsupported or missing file, empty file, no data rows, a missing
            column or timestamps that cannot be parsed.
    """
    columns = [time_column, target, *exogenous]
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    if repeated:
        raise PipelineInputError(
            f"Column(s) {repeated} are named more than once among data.time_column, "
            "data.target and data.exogenous. Give each role its own column."
        )
    path = _as_source(path)
    raw = _read_table(path, time_column)
    for column in columns:
        _require_column(raw, column, path)
    if raw.empty:
        raise PipelineInputError(
            f"{path} has a header ({', '.join(map(str, raw.columns))}) but no data rows. "
            "Add the series below the header, one row per timestamp."
        )

    frame = raw[columns].copy()
    frame[time_column] = _parse_timestamps(frame[time_column], path)
    for column in columns[1:]:
        if not is_numeric_dtype(frame[column]):
            # pandas 3 reads a column with one bad cell as `str`: object keeps cells as written.
            frame[column] = frame[column].astype(object)
    # Stable, so rows with equal timestamps keep file order; duplicates are validation's job.
    return frame.sort_values(time_column, kind="stable", na_position="last")


def content_hash(path: str | Path) -> str:
    """SHA-256 of the file's bytes, to record exactly which data a model was trained on.

    Args:
        path: Any file, local or ``s3://bucket/key``.

    Returns:
        The hex digest.
    """
    source = _as_source(path)
    if isinstance(source, str):
        return hashlib.sha256(read_s3(source)).hexdigest()
    digest = hashlib.sha256()
    with source.open("rb") as handle:
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
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not bucket or not key:
        raise PipelineInputError(
            f"{uri} is not an S3 object URI. Write it as s3://bucket/path/to/file.csv."
        )
    # boto3 reads AWS_ENDPOINT_URL itself; passing it keeps older botocore honest too.
    client = boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)
    try:
        content: bytes = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        return content
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "error")
        raise PipelineInputError(
            f"Cannot read {uri} ({code}: {error}). Check the bucket and key, the credentials "
            "(standard AWS chain) and AWS_ENDPOINT_URL for S3-compatible stores."
        ) from error
    except BotoCoreError as error:
        raise PipelineInputError(
            f"Cannot read {uri}: {error}. Check AWS_ENDPOINT_URL and the network."
        ) from error


def _as_source(path: str | Path) -> str | Path:
    """S3 URIs stay strings (``Path`` would squash the ``//``); everything else is a Path."""
    text = str(path)
    return text if text.startswith("s3://") else Path(path)


def _suffix(source: str | Path) -> str:
    return Path(str(source)).suffix.lower()


def _read_table(path: str | Path, time_column: str) -> pd.DataFrame:
    """Read the file into a frame indexed by data-row number, with blank rows dropped."""
    suffix = _suffix(path)
    supported = ", ".join(CSV_SUFFIXES + PARQUET_SUFFIXES)
    if suffix not in CSV_SUFFIXES + PARQUET_SUFFIXES:
        raise PipelineInputError(
            f"{path}: unsupported file type '{suffix or '(none)'}'. "
            f"Supported types are {supported}; convert the file or rename it to match its format."
        )
    if isinstance(path, str):  # s3://: read once into memory; series files are small
        buffer = io.BytesIO(read_s3(path))
        content: Path | io.BytesIO = buffer
        size = len(buffer.getbuffer())
    elif not path.is_file():
        raise PipelineInputError(
            f"Data file not found: {path} (working directory {Path.cwd()}). "
            "Check the path, or pass an absolute one."
        )
    else:
        content, size = path, path.stat().st_size
    if size == 0:
        raise PipelineInputError(
            f"{path} is empty (0 bytes). Provide a file with a header row "
            f"('{time_column},...') and one row per timestamp."
        )
    if suffix in PARQUET_SUFFIXES:
        try:
            frame = pd.read_parquet(content)
        except Exception as error:  # pyarrow raises several types for a corrupt file
            raise PipelineInputError(
                f"{path} could not be read as Parquet ({error}). "
                "Check that the file is a complete Parquet file, or export the series as CSV."
            ) from error
        return frame.reset_index(drop=True)
    try:
        frame = pd.read_csv(
            content,
            # Timestamps as text: a yearly series written as 2001, 2002 is years, not nanoseconds.
            dtype={time_column: str},
            # Only empty cells are missing: "n/a" or "?" stay text so validation can name them.
            keep_default_na=False,
            na_values=[""],
            # Blank lines become empty rows (dropped below), so row numbers still match lines.
            skip_blank_lines=False,
        )
    except pd.errors.EmptyDataError as error:
        raise PipelineInputError(
            f"{path} has no header and no data (only blank lines). Provide a header row "
            f"('{time_column},...') and one row per timestamp."
        ) from error
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise PipelineInputError(
            f"{path} is not a readable CSV file: {error}. "
            "Use comma-separated UTF-8 text with one header row."
        ) from error
    return frame.dropna(how="all")


def _require_column(frame: pd.DataFrame, column: str, path: str | Path) -> None:
    """Raise with the available columns and the closest name when ``column`` is missing."""
    if column in frame.columns:
        return
    available = [str(name) for name in frame.columns]
    by_lower = {name.lower(): name for name in available}
    close = difflib.get_close_matches(column.lower(), list(by_lower), n=1, cutoff=0.6)
    suggestion = f" (did you mean '{by_lower[close[0]]}'?)" if close else ""
    separator = ""
    if len(available) == 1 and any(sep in available[0] for sep in ";\t|"):
        # One column named 'timestamp;value': the real problem is the separator, not the name.
        suggestion = ""
        separator = " The file seems to use another separator than ','; save it comma-separated."
    raise PipelineInputError(
        f"{path} has no column '{column}'{suggestion}. Available columns: {available}."
        f"{separator} Rename the column in the file, or set data.time_column / data.target "
        "to its name."
    )


def _parse_timestamps(values: pd.Series, path: str | Path) -> pd.Series:
    """datetime64 timestamps; raise naming the lines of values that are not timestamps."""
    column = values.name
    if is_datetime64_any_dtype(values):
        return values.dt.tz_convert("UTC") if values.dt.tz is not None else values
    present = values.notna()
    numeric = pd.to_numeric(values, errors="coerce")
    if present.any() and numeric[present].notna().all():
        return _parse_numeric_timestamps(numeric, path)
    text = values.astype("string").str.strip()
    aware = text.str.contains(_OFFSET, regex=True).fillna(False).astype(bool)
    if aware.any() and not aware[present].all():
        naive = values[present & ~aware]
        raise PipelineInputError(
            f"{path}, column '{column}': {aware.sum()} timestamp(s) have a time-zone offset and "
            f"{len(naive)} do not ({_examples(naive, path)}), so their order is ambiguous. "
            "Write every timestamp with an offset (e.g. 2020-01-31T12:00:00+01:00) or none."
        )
    # Offsets (mixed ones too, e.g. across daylight saving time) become UTC instants.
    utc = bool(aware.any())
    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=utc)
    if (parsed.isna() & present).any():
        # Other layouts ("01/02/2020"): pandas infers one format from the first value.
        with warnings.catch_warnings():
            # "Could not infer format": the lines that fail are reported below instead.
            warnings.simplefilter("ignore", UserWarning)
            try:
                inferred = pd.to_datetime(text, errors="coerce", utc=utc)
            except (ValueError, TypeError):
                inferred = parsed
        if (inferred.isna() & present).sum() < (parsed.isna() & present).sum():
            parsed = inferred
    bad = values[parsed.isna() & present]
    if not bad.empty:
        raise PipelineInputError(
            f"{path}, column '{column}': {len(bad)} value(s) are not timestamps "
            f"({_examples(bad, path)}). Write timestamps as ISO dates such as 2020-01-31 or "
            "2020-01-31T12:00:00, epoch seconds, or years."
        )
    return pd.Series(parsed, index=values.index, name=column)


def _parse_numeric_timestamps(numeric: pd.Series, path: str | Path) -> pd.Series:
    """Bare years (1000..2999, whole numbers) or epoch seconds (UTC instants)."""
    present = numeric.dropna()
    whole = bool((present == np.floor(present)).all())
    if whole and present.between(1000, 2999).all():
        return pd.to_datetime(numeric.astype("Int64").astype("string"), format="%Y")
    # 1e11 seconds is year 5138: larger numbers are milliseconds or nanoseconds.
    bad = numeric[(numeric.abs() > 1e11) | (numeric < 0)]
    if not bad.empty:
        raise PipelineInputError(
            f"{path}, column '{numeric.name}': {len(bad)} number(s) are not epoch seconds "
            f"({_examples(bad, path)}). Write epoch time in seconds (e.g. 1580428800), or "
            "ISO dates."
        )
    return pd.to_datetime(numeric, unit="s", utc=True)


def _examples(values: pd.Series, path: str | Path) -> str:
    """'line 4: 'x', line 9: 'y' and 3 more' for a message."""
    shown = ", ".join(
        f"{row_label(index, path)}: {value!r}" for index, value in values.head(MAX_EXAMPLES).items()
    )
    more = len(values) - MAX_EXAMPLES
    return shown + (f" and {more} more" if more > 0 else "")
