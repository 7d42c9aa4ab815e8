"""Parse the timestamp column: ISO 8601, epoch seconds, years, day/month dates, or a format.

Offsets are normalised to UTC (a file mixing +01:00 and +02:00, as daylight saving time does,
is one series of instants); naive timestamps stay naive; a file mixing both is rejected.

Dates such as ``01/02/2020`` are read day-first or month-first only when the file decides it:
a first field above 12 means day-first, a second field above 12 month-first. When every
field is 12 or less, both readings are tried and the one that forms a regular series without
gaps is used; when both or neither do, the file is refused and the message asks for
``data.time_format`` instead of guessing (pandas alone reads them month-first, which turned a
monthly dd/mm/yyyy file into "354-step gaps").
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import is_datetime64_any_dtype

from lstm_model.data.cadence import infer_cadence
from lstm_model.data.source import examples
from lstm_model.errors import PipelineInputError

# An offset at the end of an ISO timestamp: Z, +01:00, -0500.
_OFFSET = r"(?:Z|[+-]\d{2}:?\d{2})$"
# A date with day and month in either order: 1/2/2020, 01.02.20, 01-02-2020 12:00.
_DAY_MONTH = r"^(\d{1,2})([/.-])(\d{1,2})[/.-](\d{4}|\d{2})(?:[ T].*)?$"


def parse_timestamps(
    values: pd.Series, path: str | Path, time_format: str | None = None
) -> pd.Series:
    """datetime64 timestamps; raise naming the lines of values that are not timestamps.

    Args:
        values: The timestamp column as read.
        path: The file, named in messages.
        time_format: ``data.time_format`` (strptime codes, e.g. ``%d/%m/%Y %H:%M``); None
            detects the layout.

    Returns:
        The parsed timestamps, same index (UTC when the file has offsets).

    Raises:
        PipelineInputError: Values that are not timestamps (their lines named), offsets mixed
            with naive timestamps, or day/month dates whose order the file does not decide.
    """
    column = values.name
    if is_datetime64_any_dtype(values):
        return values.dt.tz_convert("UTC") if values.dt.tz is not None else values
    present = values.notna()
    numeric = pd.to_numeric(values, errors="coerce")
    if time_format is None and present.any() and numeric[present].notna().all():
        return _parse_numeric_timestamps(numeric, path)
    text = values.astype("string").str.strip()
    aware = text.str.contains(_OFFSET, regex=True).fillna(False).astype(bool)
    if aware.any() and not aware[present].all():
        naive = values[present & ~aware]
        raise PipelineInputError(
            f"{path}, column '{column}': {aware.sum()} timestamp(s) have a time-zone offset and "
            f"{len(naive)} do not ({examples(naive, path)}), so their order is ambiguous. "
            "Write every timestamp with an offset (e.g. 2020-01-31T12:00:00+01:00) or none."
        )
    # Offsets (mixed ones too, e.g. across daylight saving time) become UTC instants.
    utc = bool(aware.any())
    if time_format is not None:
        parsed = pd.to_datetime(text, format=time_format, errors="coerce", utc=utc)
        bad = values[parsed.isna() & present]
        if not bad.empty:
            raise PipelineInputError(
                f"{path}, column '{column}': {len(bad)} value(s) do not match data.time_format "
                f"{time_format!r} ({examples(bad, path)}). Fix those values, or set "
                "data.time_format to the layout of the file (strptime codes, e.g. %d/%m/%Y)."
            )
        return pd.Series(parsed, index=values.index, name=column)
    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=utc)
    if (parsed.isna() & present).any():
        parsed = _parse_other_layouts(text, present, parsed, path, utc)
    bad = values[parsed.isna() & present]
    if not bad.empty:
        raise PipelineInputError(
            f"{path}, column '{column}': {len(bad)} value(s) are not timestamps "
            f"({examples(bad, path)}). Write timestamps as ISO dates such as 2020-01-31 or "
            "2020-01-31T12:00:00, epoch seconds, or years, or set data.time_format to the "
            "layout of the file (e.g. %d/%m/%Y)."
        )
    return pd.Series(parsed, index=values.index, name=column)


def _parse_other_layouts(
    text: pd.Series, present: pd.Series, iso: pd.Series, path: str | Path, utc: bool
) -> pd.Series:
    """Non-ISO layouts: day/month dates in the order the file decides, else pandas' guess."""
    day_first = _day_first(text, present, path, utc)
    with warnings.catch_warnings():
        # "Could not infer format": the lines that fail are reported by the caller instead.
        warnings.simplefilter("ignore", UserWarning)
        try:
            # pandas infers one format from the first value, with the order decided above.
            inferred = pd.to_datetime(text, errors="coerce", utc=utc, dayfirst=bool(day_first))
        except (ValueError, TypeError):
            return iso
    if (inferred.isna() & present).sum() < (iso.isna() & present).sum():
        return inferred
    return iso


def _day_first(text: pd.Series, present: pd.Series, path: str | Path, utc: bool) -> bool | None:
    """True for day-first dates, False for month-first, None when they are not such dates.

    Raises:
        PipelineInputError: Both orders give a regular series, or neither does.
    """
    fields = text[present].str.extract(_DAY_MONTH)
    if fields.empty or fields.isna().any().any():
        return None
    first, second = fields[0].astype(int), fields[2].astype(int)
    if (first > 12).any() or (second > 12).any():
        # The file decides (or is invalid both ways, which the caller reports by line).
        return bool((first > 12).any() and not (second > 12).any())
    readings = {}
    for day_first in (True, False):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            readings[day_first] = pd.to_datetime(text, errors="coerce", utc=utc, dayfirst=day_first)
    gapless = [order for order, stamps in readings.items() if _gapless(stamps[present])]
    if len(gapless) == 1:
        return gapless[0]
    sample = str(text[present].iloc[min(1, int(present.sum()) - 1)])
    sep, year = fields.iloc[0, 1], "%Y" if len(fields.iloc[0, 3]) == 4 else "%y"
    both = "both orders give" if gapless else "neither order gives"
    raise PipelineInputError(
        f"{path}, column '{text.name}': dates such as {sample!r} can be read day-first "
        f"({readings[True][text == sample].iloc[0]:%d %B %Y}) or month-first "
        f"({readings[False][text == sample].iloc[0]:%d %B %Y}), and {both} a regular series "
        f"without gaps. Set data.time_format to '%d{sep}%m{sep}{year}' (day first) or "
        f"'%m{sep}%d{sep}{year}' (month first), or write ISO dates (2020-01-31)."
    )


def _gapless(stamps: pd.Series) -> bool:
    """Whether sorted timestamps sit on one regular grid with no missing or repeated step."""
    ordered = stamps.dropna().sort_values()
    cadence = infer_cadence(ordered) if len(ordered) > 2 else None
    if cadence is None:
        return False
    return bool((np.diff(cadence.positions(ordered)) == 1).all())


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
            f"({examples(bad, path)}). Write epoch time in seconds (e.g. 1580428800), or "
            "ISO dates."
        )
    return pd.to_datetime(numeric, unit="s", utc=True)
