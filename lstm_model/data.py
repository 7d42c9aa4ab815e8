"""Load a time series from CSV or Parquet into a two-column frame, ready for validation.

Loading only parses what it must: the timestamps (so the rows can be sorted) and nothing else.
The target column is left as pandas read it, so that a value such as ``"12,3"`` or ``"n/a"``
reaches validation and is reported with its line, instead of silently becoming NaN here.

The frame index is the 0-based data-row number in the file, kept through the sort, so every
later message can point at ``file line = index + 2`` (one header line, 1-based lines).
"""

from __future__ import annotations

import difflib
import hashlib
import warnings
from pathlib import Path

import pandas as pd
from pandas.api.types import is_datetime64_any_dtype, is_numeric_dtype

from lstm_model.errors import PipelineInputError

CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet", ".pq")
# Lines shown in one error message; the rest is summarised as a count.
MAX_EXAMPLES = 5


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
    if Path(str(source)).suffix.lower() in PARQUET_SUFFIXES:
        return f"row index {int(index)}"
    return f"line {file_line(index)}"


def load_series(
    path: str | Path, time_column: str = "timestamp", target: str = "value"
) -> pd.DataFrame:
    """Read a series from CSV or Parquet, parse its timestamps and sort it by time.

    Args:
        path: A ``.csv``, ``.parquet`` or ``.pq`` file.
        time_column: Name of the timestamp column.
        target: Name of the value column; its values are not converted.

    Returns:
        A frame with exactly ``[time_column, target]``, timestamps as datetime64 (time zone
        kept as in the file), rows in time order (stable sort) and the original 0-based
        data-row number as index.

    Raises:
        PipelineInputError: Unsupported or missing file, empty file, no data rows, a missing
            column or timestamps that cannot be parsed.
    """
    path = Path(path)
    if time_column == target:
        raise PipelineInputError(
            f"The time column and the target column are both '{target}'. "
            "Set data.time_column and data.target to two different columns."
        )
    raw = _read_table(path, time_column)
    for column in (time_column, target):
        _require_column(raw, column, path)
    if raw.empty:
        raise PipelineInputError(
            f"{path} has a header ({', '.join(map(str, raw.columns))}) but no data rows. "
            "Add the series below the header, one row per timestamp."
        )

    frame = raw[[time_column, target]].copy()
    frame[time_column] = _parse_timestamps(frame[time_column], path)
    if not is_numeric_dtype(frame[target]):
        # pandas 3 reads a column with one bad cell as `str`: object keeps every cell as written.
        frame[target] = frame[target].astype(object)
    # Stable, so rows with equal timestamps keep file order; duplicates are validation's job.
    return frame.sort_values(time_column, kind="stable", na_position="last")


def content_hash(path: str | Path) -> str:
    """SHA-256 of the file's bytes, to record exactly which data a model was trained on.

    Args:
        path: Any file.

    Returns:
        The hex digest.
    """
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def infer_frequency(timestamps: pd.Series) -> str | None:
    """The pandas frequency alias of regular timestamps ('MS', 'QS-OCT', 'YS-JAN', 'D', 'h').

    Args:
        timestamps: datetime64 values, in any order; missing values are ignored.

    Returns:
        The alias, or None when the spacing is irregular or there are fewer than 3 timestamps.
    """
    index = pd.DatetimeIndex(timestamps.dropna()).sort_values()
    if len(index) < 3 or not index.is_unique:
        return None
    # pandas 3 warns that infer_freq will return an offset; ask for it and take its alias.
    with pd.option_context("future.infer_freq_returns_offset", True):
        try:
            offset = pd.infer_freq(index)
        except (TypeError, ValueError):
            return None
    return offset.freqstr if offset is not None else None


def _read_table(path: Path, time_column: str) -> pd.DataFrame:
    """Read the file into a frame indexed by data-row number, with blank rows dropped."""
    suffix = path.suffix.lower()
    supported = ", ".join(CSV_SUFFIXES + PARQUET_SUFFIXES)
    if suffix not in CSV_SUFFIXES + PARQUET_SUFFIXES:
        raise PipelineInputError(
            f"{path}: unsupported file type '{suffix or '(none)'}'. "
            f"Supported types are {supported}; convert the file or rename it to match its format."
        )
    if not path.is_file():
        raise PipelineInputError(
            f"Data file not found: {path} (working directory {Path.cwd()}). "
            "Check the path, or pass an absolute one."
        )
    if path.stat().st_size == 0:
        raise PipelineInputError(
            f"{path} is empty (0 bytes). Provide a file with a header row "
            f"('{time_column},...') and one row per timestamp."
        )
    if suffix in PARQUET_SUFFIXES:
        try:
            frame = pd.read_parquet(path)
        except Exception as error:  # pyarrow raises several types for a corrupt file
            raise PipelineInputError(
                f"{path} could not be read as Parquet ({error}). "
                "Check that the file is a complete Parquet file, or export the series as CSV."
            ) from error
        return frame.reset_index(drop=True)
    try:
        frame = pd.read_csv(
            path,
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


def _require_column(frame: pd.DataFrame, column: str, path: Path) -> None:
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


def _parse_timestamps(values: pd.Series, path: Path) -> pd.Series:
    """datetime64 timestamps; raise naming the lines of values that are not timestamps."""
    if is_datetime64_any_dtype(values):
        return values
    column = values.name
    present = values.notna()
    try:
        # ISO 8601 first: it accepts dates and date-times mixed in one column.
        parsed = pd.to_datetime(values, format="ISO8601", errors="coerce")
        if (parsed.isna() & present).any():
            # Other layouts ("01/02/2020"): pandas infers one format from the first value.
            with warnings.catch_warnings():
                # "Could not infer format": the lines that fail are reported below instead.
                warnings.simplefilter("ignore", UserWarning)
                inferred = pd.to_datetime(values, errors="coerce")
            if (inferred.isna() & present).sum() < (parsed.isna() & present).sum():
                parsed = inferred
    except (ValueError, TypeError) as error:
        # Raised for the whole column, e.g. offsets that differ or naive mixed with aware.
        raise PipelineInputError(
            f"{path}, column '{column}': timestamps could not be parsed together ({error}). "
            "Write every timestamp with the same time-zone offset, or none at all."
        ) from error
    bad = values[parsed.isna() & present]
    if not bad.empty:
        shown = ", ".join(
            f"{row_label(index, path)}: {value!r}"
            for index, value in bad.head(MAX_EXAMPLES).items()
        )
        more = f" and {len(bad) - MAX_EXAMPLES} more" if len(bad) > MAX_EXAMPLES else ""
        raise PipelineInputError(
            f"{path}, column '{column}': {len(bad)} value(s) are not timestamps ({shown}{more}). "
            "Write timestamps as ISO dates such as 2020-01-31 or 2020-01-31T12:00:00."
        )
    return parsed
