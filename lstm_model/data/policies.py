"""Ingestion policies: what happens to unsorted rows, duplicates, gaps and outliers.

Every policy is explicit (``DataConfig``), each decision is written into an
``IngestionReport``, and the defaults never invent or drop data: duplicates and gaps are
left in place so that validation rejects them with their file lines; outliers are reported.
Repairs only run on numbers: while a value column holds text such as ``"12,3"``, arithmetic
repairs (mean, interpolation, resampling) are skipped and validation names the bad cells.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from lstm_model.config import DataConfig
from lstm_model.data.cadence import Cadence, infer_cadence
from lstm_model.data.source import INSERTED_ROW, MAX_EXAMPLES, row_label
from lstm_model.errors import PipelineInputError

# Scales the median absolute deviation to a standard deviation for normal data.
MAD_SCALE = 1.4826


@dataclass
class PolicyDecision:
    """One policy applied to the series.

    Attributes:
        check: What was looked for ('unsorted', 'duplicates', 'gaps', 'outliers').
        policy: The configured policy ('sort', 'fail', 'keep_last', 'interpolate'...).
        found: How many rows (or steps) had the problem.
        action: What was done, in words.
        examples: Up to five locations with values, as a user finds them in the file.
    """

    check: str
    policy: str
    found: int
    action: str
    examples: list[str] = field(default_factory=list)


@dataclass
class IngestionReport:
    """What ingestion read, inferred and repaired; logged with every run."""

    source: str
    rows_read: int
    rows_out: int = 0
    columns: list[str] = field(default_factory=list)
    timezone: str = "naive"
    frequency: str | None = None
    decisions: list[PolicyDecision] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict, for ``mlflow.log_dict``."""
        return asdict(self)

    def to_markdown(self) -> str:
        """A Markdown summary and one table row per policy, for a Prefect artifact."""
        lines = [
            "## Data ingestion",
            "",
            f"Source: `{self.source}` · {self.rows_read} rows read, {self.rows_out} kept · "
            f"columns {', '.join(f'`{c}`' for c in self.columns)} · time zone: "
            f"{self.timezone} · frequency: `{self.frequency or 'irregular'}`",
            "",
            "| Check | Policy | Found | Action | Examples |",
            "|---|---|---|---|---|",
        ]
        for item in self.decisions:
            cells = [
                item.check,
                item.policy,
                str(item.found),
                item.action,
                "; ".join(item.examples),
            ]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        return "\n".join(lines) + "\n"


def apply_policies(
    frame: pd.DataFrame, config: DataConfig, source: str | Path = ""
) -> tuple[pd.DataFrame, IngestionReport]:
    """Sort, and handle duplicates, gaps and outliers as ``config`` says.

    Args:
        frame: The series from ``load_series`` (index = data-row number; may be unsorted).
        config: The data section: column names and the policies.
        source: The file, named in the report and in errors.

    Returns:
        The repaired series (sorted; numeric value columns as float64; inserted rows carry
        index ``INSERTED_ROW``) and the report of every decision.

    Raises:
        PipelineInputError: The timestamps follow no regular frequency and the gaps policy
            cannot regrid them.
    """
    time, values = config.time_column, [config.target, *config.exogenous]
    stamps = frame[time]
    timezone = "naive" if stamps.dt.tz is None else "UTC (offsets in the file normalised)"
    report = IngestionReport(str(source), len(frame), columns=[time, *values], timezone=timezone)
    frame, numeric = _as_numbers(_sorted(frame, time, report, source), values)
    frame = _duplicates(frame, config, numeric, report, source)
    cadence = _cadence(frame, config, numeric, source)
    if config.gaps == "resample" and numeric:
        frame = _resample(frame, config, cadence, report)
        # The regridded timestamps are regular by construction: measure their cadence.
        cadence = infer_cadence(frame[time]) or cadence
    frame = _gaps(frame, config, cadence, numeric, report, source)
    for column in values:
        _outliers(frame, column, config, report, source)
    report.frequency = cadence.alias if cadence else None
    report.rows_out = len(frame)
    return frame, report


def outlier_bounds(values: pd.Series, threshold: float) -> tuple[float, float]:
    """Values outside ``median ± threshold · 1.4826 · MAD`` have a robust z-score > threshold.

    Args:
        values: The numeric cells of a column; text and missing cells are ignored.
        threshold: The robust z-score that counts as absurd.

    Returns:
        (low, high); (-inf, inf) when the column has no spread to measure (MAD = 0).
    """
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    numbers = numbers[np.isfinite(numbers)]
    if numbers.empty:
        return -np.inf, np.inf
    median = float(numbers.median())
    mad = float((numbers - median).abs().median()) * MAD_SCALE
    if mad == 0.0:
        return -np.inf, np.inf
    return median - threshold * mad, median + threshold * mad


def _sorted(
    frame: pd.DataFrame, time: str, report: IngestionReport, source: str | Path
) -> pd.DataFrame:
    """Stable sort by time (ties keep file order); report the rows that moved."""
    ordered = frame.sort_values(time, kind="stable", na_position="last")
    moved = ordered.index.to_numpy() != np.sort(ordered.index.to_numpy())
    if moved.any():
        examples = [row_label(i, source) for i in ordered.index[moved][:MAX_EXAMPLES]]
        report.decisions.append(
            PolicyDecision("unsorted", "sort", int(moved.sum()), "sorted by time", examples)
        )
    return ordered


def _as_numbers(frame: pd.DataFrame, columns: list[str]) -> tuple[pd.DataFrame, bool]:
    """Value columns as float64 when every cell is a number; else cells kept as written."""
    frame = frame.copy()
    numeric = True
    for column in columns:
        cells = frame[column]
        if is_numeric_dtype(cells) and not is_bool_dtype(cells):
            frame[column] = cells.astype("float64")
            continue
        parsed = pd.to_numeric(cells.astype(object), errors="coerce")
        if (parsed.isna() & cells.notna()).any():
            numeric = False  # validation names the text cells; nothing is computed on them
        else:
            frame[column] = parsed.astype("float64")
    return frame, numeric


def _duplicates(
    frame: pd.DataFrame, config: DataConfig, numeric: bool, report: IngestionReport, source: Any
) -> pd.DataFrame:
    time, values = config.time_column, [config.target, *config.exogenous]
    stamps = frame[time]
    repeated = stamps.duplicated(keep=False) & stamps.notna()
    if not repeated.any():
        return frame
    found = int(repeated.sum())
    examples = [
        f"{row_label(i, source)}: {t.isoformat()} = {_show(frame.at[i, config.target])}"
        for i, t in stamps[repeated].head(MAX_EXAMPLES).items()
    ]
    if config.duplicates == "fail" or (config.duplicates == "mean" and not numeric):
        action = "left for validation to reject" + ("" if numeric else " (values are not numbers)")
        report.decisions.append(
            PolicyDecision("duplicates", config.duplicates, found, action, examples)
        )
        return frame
    if config.duplicates == "keep_last":
        kept = frame[~stamps.duplicated(keep="last")]
        action = "kept the last row of each timestamp (file order)"
    else:
        groups = frame.groupby(time, sort=False, dropna=False)
        kept = groups[values].mean()
        kept.insert(0, time, kept.index)
        # Each merged row keeps the data-row number of the last of its rows, for messages.
        kept.index = groups.apply(lambda g: g.index[-1], include_groups=False).to_numpy()
        action = "replaced each timestamp's rows by their mean"
    dropped = len(frame) - len(kept)
    report.decisions.append(
        PolicyDecision(
            "duplicates", config.duplicates, found, f"{action}; {dropped} rows removed", examples
        )
    )
    return kept


def _cadence(frame: pd.DataFrame, config: DataConfig, numeric: bool, source: Any) -> Cadence | None:
    """The series' cadence; raise when there is none and the gaps policy cannot make one."""
    stamps = frame[config.time_column].dropna()
    if config.gaps == "resample" and config.frequency:
        return Cadence(config.frequency)  # regridded below: positions are not needed
    cadence = infer_cadence(stamps)
    if cadence is not None or len(stamps.unique()) < 3:
        return cadence
    spacing = stamps.drop_duplicates().diff().dropna()
    shown = ", ".join(
        f"{row_label(i, source)}: {stamps[i].isoformat()} (+{step})"
        for i, step in spacing.iloc[:: max(1, len(spacing) // MAX_EXAMPLES)]
        .head(MAX_EXAMPLES)
        .items()
    )
    hint = (
        "set data.frequency (e.g. 'D' or 'MS') so resampling knows the grid"
        if config.gaps == "resample"
        else "set data.gaps='resample' and data.frequency to put it on a regular grid"
    )
    raise PipelineInputError(
        f"{source}, column '{config.time_column}': the timestamps follow no regular frequency "
        f"(median step {spacing.median()}; e.g. {shown}). Provide a regularly spaced series, "
        f"or {hint}."
    )


def _resample(
    frame: pd.DataFrame, config: DataConfig, cadence: Cadence | None, report: IngestionReport
) -> pd.DataFrame:
    """Regrid to the cadence: the mean of each period; empty periods are gaps (filled below)."""
    time, values = config.time_column, [config.target, *config.exogenous]
    alias = config.frequency or (cadence.alias if cadence else None)
    indexed = frame.dropna(subset=[time]).assign(_row=lambda f: f.index).set_index(time)
    binned = indexed.resample(alias)
    regridded = binned[values].mean()
    rows = binned["_row"].max().fillna(INSERTED_ROW).astype(int).to_numpy()
    regridded = regridded.reset_index().set_axis(rows)
    report.decisions.append(
        PolicyDecision(
            "frequency",
            "resample",
            len(frame),
            f"averaged {len(frame)} rows into {len(regridded)} periods of '{alias}'",
        )
    )
    return regridded


def _gaps(
    frame: pd.DataFrame,
    config: DataConfig,
    cadence: Cadence | None,
    numeric: bool,
    report: IngestionReport,
    source: Any,
) -> pd.DataFrame:
    """Report missing steps and empty cells; fill runs of up to max_gap when asked to."""
    time, values = config.time_column, [config.target, *config.exogenous]
    stamps = frame[time]
    if cadence is None or stamps.isna().any() or stamps.duplicated().any():
        return frame  # validation reports these; gaps cannot be placed on a grid
    positions = cadence.positions(stamps)
    steps = np.diff(positions)
    missing_steps = int(np.clip(steps - 1, 0, None).sum())
    empty = frame[values].isna().any(axis=1).to_numpy()
    if not missing_steps and not empty.any():
        return frame
    after = np.flatnonzero(steps > 1)
    examples = [
        f"{steps[k] - 1} step(s) missing after {row_label(frame.index[k], source)} "
        f"({stamps.iloc[k].isoformat()})"
        for k in after[:MAX_EXAMPLES]
    ] + [f"empty value at {row_label(i, source)}" for i in frame.index[empty][:MAX_EXAMPLES]]
    found = missing_steps + int(empty.sum())
    if config.gaps == "fail" or not numeric:
        action = "left for validation to reject" + ("" if numeric else " (values are not numbers)")
        report.decisions.append(PolicyDecision("gaps", config.gaps, found, action, examples))
        return frame
    # Full grid from first to last timestamp; rows that were not in the file are inserted.
    grid = cadence.grid(stamps.iloc[0], int(positions[-1]) + 1).as_unit(stamps.dt.unit)
    full = pd.DataFrame(np.nan, index=np.arange(len(grid)), columns=values)
    full.iloc[positions] = frame[values].to_numpy(dtype="float64")
    rows = np.full(len(grid), INSERTED_ROW)
    rows[positions] = frame.index.to_numpy()
    full.insert(0, time, grid)
    full.index = rows
    filled = 0
    for column in values:
        column_values = full[column].to_numpy(dtype="float64", copy=True)
        fill = _short_inner_runs(np.isnan(column_values), config.max_gap)
        known = ~np.isnan(column_values)
        # Linear in grid steps, from the last value before and the first after each run.
        column_values[fill] = np.interp(
            np.flatnonzero(fill), np.flatnonzero(known), column_values[known]
        )
        full[column] = column_values
        filled += int(fill.sum())
    # Rows of gaps too long to fill are not invented: validation names the gap.
    full = full[(rows != INSERTED_ROW) | full[values].notna().all(axis=1).to_numpy()]
    left = found - filled
    action = f"interpolated {filled} value(s) linearly in runs of up to {config.max_gap} steps"
    if left:
        action += f"; {left} in longer runs left for validation to reject"
    report.decisions.append(PolicyDecision("gaps", config.gaps, found, action, examples))
    return full


def _short_inner_runs(missing: np.ndarray, max_gap: int) -> np.ndarray:
    """Mask of missing entries in runs of at most ``max_gap`` with a value on both sides."""
    known = int((~missing).sum())
    # run_id k: the entries after the k-th known value; 0 = before the first, known = after
    # the last (neither can be interpolated).
    run_id = np.cumsum(~missing)
    lengths = np.bincount(run_id[missing], minlength=known + 1)
    fill: np.ndarray = missing & (run_id > 0) & (run_id < known) & (lengths[run_id] <= max_gap)
    return fill


def _outliers(
    frame: pd.DataFrame, column: str, config: DataConfig, report: IngestionReport, source: Any
) -> None:
    """Report values with a robust z-score above the threshold; validation enforces 'fail'.

    Raises:
        PipelineInputError: a value lies beyond ``implausible_threshold`` robust z-scores.
    """
    numbers = pd.to_numeric(frame[column], errors="coerce")
    low, high = outlier_bounds(frame[column], config.implausible_threshold)
    # Non-finite values are validation's to name (not a number), not this check's.
    implausible = np.isfinite(numbers) & ((numbers < low) | (numbers > high))
    if implausible.any():
        rows = [
            f"{row_label(i, source)}: {v:g}"
            for i, v in numbers[implausible].head(MAX_EXAMPLES).items()
        ]
        raise PipelineInputError(
            f"{int(implausible.sum())} value(s) in '{column}' lie more than "
            f"{config.implausible_threshold:g} robust standard deviations from the median "
            f"(outside {low:.4g}..{high:.4g}): {'; '.join(rows)}. That is a unit or typing "
            "error, not an outlier a model can learn around; correct or remove the row(s) "
            "(data.implausible_threshold sets the limit)."
        )
    low, high = outlier_bounds(frame[column], config.outlier_threshold)
    absurd = (numbers < low) | (numbers > high)
    if not absurd.any():
        return
    examples = [
        f"{row_label(i, source)}: {v:g}" for i, v in numbers[absurd].head(MAX_EXAMPLES).items()
    ]
    action = (
        "reported; kept in the series (warn)"
        if config.outliers == "warn"
        else "rejected by validation (fail)"
    )
    report.decisions.append(
        PolicyDecision(
            f"outliers in '{column}' (|robust z| > {config.outlier_threshold:g}, "
            f"outside {low:.4g}..{high:.4g})",
            config.outliers,
            int(absurd.sum()),
            action,
            examples,
        )
    )


def _show(value: Any) -> str:
    """A cell as the user wrote it: numbers plainly, text quoted, missing as '(empty)'."""
    if isinstance(value, str):
        return repr(value)
    if value is None or pd.isna(value):
        return "(empty)"
    return f"{float(value):g}"
