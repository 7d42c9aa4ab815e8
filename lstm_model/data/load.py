"""Load a time series from CSV or Parquet (local or ``s3://``) into a frame for validation.

Loading only parses what it must: the timestamps (so the rows can be sorted) and nothing else.
The target column is left as pandas read it, so that a value such as ``"12,3"`` or ``"n/a"``
reaches validation and is reported with its line, instead of silently becoming NaN here.

The frame index is the 0-based data-row number in the file, kept through the sort, so every
later message can point at ``file line = index + 2`` (one header line, 1-based lines).

Timestamps are parsed by :mod:`lstm_model.data.timestamps`. Value columns must hold numbers:
booleans, and text in a typed (Parquet) column, are refused here with the column and an
example, because they would otherwise train as 0/1 or as numbers parsed from text.
"""

from __future__ import annotations

import difflib
import io
from pathlib import Path

import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from lstm_model.data.source import (
    PARQUET_SUFFIXES,
    as_source,
    check_row_count,
    check_source,
    check_suffix,
    data_files,
    read_s3,
    row_label,
    suffix,
)
from lstm_model.data.timestamps import parse_timestamps
from lstm_model.errors import PipelineInputError


def load_series(
    path: str | Path,
    time_column: str = "timestamp",
    target: str = "value",
    exogenous: tuple[str, ...] = (),
    *,
    time_format: str | None = None,
    max_rows: int | None = None,
    series_column: str | None = None,
) -> pd.DataFrame:
    """Read a series from CSV or Parquet, parse its timestamps and sort it by time.

    Args:
        path: A ``.csv``, ``.parquet`` or ``.pq`` file, local or ``s3://bucket/key``
            (boto3; ``AWS_ENDPOINT_URL`` and the standard credential chain apply).
        time_column: Name of the timestamp column.
        target: Name of the value column; its values are not converted.
        exogenous: Extra feature columns, returned after the target, not converted either.
        time_format: ``data.time_format``, a strptime format such as ``%d/%m/%Y``; None
            reads ISO 8601, epoch seconds, years, and day/month dates whose order is clear.
        max_rows: ``data.max_rows``; a longer file is refused. None: no limit.
        series_column: A panel's series id column (``data.series_column``), returned last and
            kept as written; rows are then sorted by series, then time.

    Returns:
        A frame with exactly ``[time_column, target, *exogenous]`` (then the series column),
        timestamps as datetime64 (UTC when the file has offsets, naive when it has none), rows
        in time order (stable sort) and the original 0-based data-row number as index.

    Raises:
        PipelineInputError: Unsupported or missing file, empty file, no data rows, a missing
            column, a value column of booleans or text (Parquet), more than ``max_rows``
            rows, or timestamps that cannot be parsed (or whose day/month order is unclear).
    """
    columns = [time_column, target, *exogenous]
    keys = [series_column] if series_column else []
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    if repeated:
        raise PipelineInputError(
            f"Column(s) {repeated} are named more than once among data.time_column, "
            "data.target and data.exogenous. Give each role its own column."
        )
    path = as_source(path)
    if series_column and isinstance(path, Path) and path.is_dir():
        raw = _read_folder(path, time_column, series_column)
    else:
        raw = _read_table(path, time_column)
    for column in columns:
        _require_column(raw, column, path)
    for column in keys:
        _require_column(raw, column, path, "--series-column (data.series_column)")
    if raw.empty:
        raise PipelineInputError(
            f"{path} has a header ({', '.join(map(str, raw.columns))}) but no data rows. "
            "Add the series below the header, one row per timestamp."
        )
    if max_rows is not None:
        check_row_count(len(raw), max_rows, path)
    for column in columns[1:]:
        _require_numbers(raw[column], path)

    frame = raw[[*columns, *keys]].copy()
    frame[time_column] = parse_timestamps(frame[time_column], path, time_format)
    for column in columns[1:]:
        if not is_numeric_dtype(frame[column]):
            # pandas 3 reads a column with one bad cell as `str`: object keeps cells as written.
            frame[column] = frame[column].astype(object)
    # Stable, so rows with equal timestamps keep file order; duplicates are validation's job.
    if keys:
        frame[series_column] = frame[series_column].astype(object)
    return frame.sort_values([*keys, time_column], kind="stable", na_position="last")


def _read_folder(folder: Path, time_column: str, series_column: str) -> pd.DataFrame:
    """A panel from a folder of one-series files: each file's name (without its suffix) is its
    series id, unless the file has the series id column itself."""
    frames = []
    for file in data_files(folder):
        frame = _read_table(file, time_column)
        if series_column not in frame.columns:
            frame[series_column] = file.stem
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _read_table(path: str | Path, time_column: str) -> pd.DataFrame:
    """Read the file into a frame indexed by data-row number, with blank rows dropped."""
    if isinstance(path, str):  # s3://: read once into memory; series files are small
        check_suffix(path)
        buffer = io.BytesIO(read_s3(path))
        content: Path | io.BytesIO = buffer
        size = len(buffer.getbuffer())
    else:
        check_source(path, None)  # missing, a folder, another file type, unreadable
        content, size = path, path.stat().st_size
    if size == 0:
        raise PipelineInputError(
            f"{path} is empty (0 bytes). Provide a file with a header row "
            f"('{time_column},...') and one row per timestamp."
        )
    if suffix(path) in PARQUET_SUFFIXES:
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


def _require_numbers(values: pd.Series, path: str | Path) -> None:
    """Refuse booleans anywhere, and text in a typed (Parquet) column: only numbers train.

    A CSV column with a bad cell is text as a whole; validation names those cells, so CSV
    text is left to it. A Parquet file declares its column types, and booleans would silently
    train as 0/1.
    """
    present = values.dropna()
    if is_bool_dtype(values) or (len(present) and present.map(type).eq(bool).all()):
        kind = "booleans (true/false)"
    elif suffix(path) in PARQUET_SUFFIXES and not is_numeric_dtype(values):
        kind = f"{values.dtype} values, not numbers"
    else:
        return
    example = "all empty"
    if len(present):
        first = present.iloc[0]
        # numpy scalars print as np.True_: show the value as the user wrote it.
        first = first.item() if hasattr(first, "item") else first
        example = f"{row_label(present.index[0], path)}: {first!r}"
    raise PipelineInputError(
        f"{path}, column '{values.name}' holds {kind} (e.g. {example}). The target and "
        "exogenous columns must be integers or floats: store the column as numbers (e.g. "
        "1.0/0.0 for a flag you mean as a feature), or choose another column."
    )


def _require_column(
    frame: pd.DataFrame,
    column: str,
    path: str | Path,
    setting: str = "data.time_column / data.target",
) -> None:
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
        f"{separator} Rename the column in the file, or set {setting} to its name."
    )
