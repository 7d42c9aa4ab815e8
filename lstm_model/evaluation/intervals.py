"""Split-conformal prediction intervals, one width per horizon step and level.

For each step k of the path, the absolute errors of forecasts the model made out of sample
(targets it was never trained on: the validation part, or walk-forward folds; never the test
part) are ranked, and the ``ceil((n + 1) * level)``-th smallest is the half-width at that level:
with exchangeable errors the interval ``forecast +- width`` covers the truth with probability at
least ``level`` (Vovk et al.; Stankeviciute et al. 2021 for per-step conformal forecasting).
Widths are symmetric on the scale the errors were measured on: original units, or the Box-Cox
scale of a variance-stabilised series, where errors do not grow with the level; the bounds are
then transformed back, so they widen where the series is high (and stay positive for a log).
The errors of step k are calibrated separately because they grow with k, so the intervals
widen along the path as they should.

Why by hand: the rule is five lines of NumPy, and the forecasting libraries' conformal
helpers (statsforecast's ``ConformalIntervals``, mapie) refit their own models on windows,
which is not our model's procedure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from lstm_model.analysis.variance import box_cox, inverse_box_cox

if TYPE_CHECKING:
    from lstm_model.modeling.preparation import PreparedData

DEFAULT_LEVELS = (80.0, 95.0)


def level_name(level: float) -> str:
    """A level as it appears in output and metric names: 80 -> '80', 97.5 -> '97_5'."""
    return f"{level:g}".replace(".", "_")


def bounds_by_level(outputs: Mapping[str, np.ndarray]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``lower_<name>`` / ``upper_<name>`` serving outputs paired by level, lowest level first.

    Returns:
        level name ('80', '97_5') -> (lower, upper).
    """
    names = [key.removeprefix("lower_") for key in outputs if key.startswith("lower_")]
    ordered = sorted(names, key=lambda name: float(name.replace("_", ".")))
    return {name: (outputs[f"lower_{name}"], outputs[f"upper_{name}"]) for name in ordered}


def calibration_errors(paths: np.ndarray, target: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Errors of every path at the steps whose target lies in [start, stop), NaN elsewhere.

    The paths' origins may lie before ``start`` (in the training part): a path from there still
    forecasts validation targets the model never trained on, and it is the only way step k gets
    as many errors as step 1.

    Args:
        paths: (n + 1, h) path from every origin (``path_forecasts``).
        target: The series (n,) in original units.
        start: First index of the out-of-sample part (the validation part).
        stop: End of that part; nothing at or after it is read.

    Returns:
        (count, h) errors, one row per origin in [start - h + 1, stop).
    """
    horizon = paths.shape[1]
    origins = np.arange(max(start - horizon + 1, 0), stop)
    indices = origins[:, np.newaxis] + np.arange(horizon)
    inside = (indices >= start) & (indices < stop)
    truth = np.asarray(target, dtype=float)[np.minimum(indices, stop - 1)]
    errors: np.ndarray = np.where(inside, truth - paths[origins], np.nan)
    return errors


@dataclass(frozen=True)
class ConformalIntervals:
    """Half-widths per level and horizon step, with the number of errors behind each step.

    Attributes:
        levels: Coverage levels in percent, e.g. (80, 95).
        half_widths: ``half_widths[i][k]`` for level ``levels[i]`` at step k + 1.
        calibration_sizes: Errors available at each step.
        undersized: Levels for which some step had fewer than ``100 / (100 - level) - 1``
            errors; their widths fall back to the largest error seen and may undercover.
        box_cox_lambda: The Box-Cox lambda of the scale the errors (and widths) are on; None
            for original units.
    """

    levels: tuple[float, ...]
    half_widths: tuple[tuple[float, ...], ...]
    calibration_sizes: tuple[int, ...]
    undersized: tuple[float, ...] = ()
    box_cox_lambda: float | None = None

    @classmethod
    def calibrate(
        cls,
        errors: np.ndarray,
        levels: tuple[float, ...] = DEFAULT_LEVELS,
        box_cox_lambda: float | None = None,
    ) -> ConformalIntervals:
        """Widths from out-of-sample errors.

        Args:
            errors: (count, h) forecast errors (actual - forecast); NaN where a path had no
                out-of-sample target at that step.
            levels: Coverage levels in percent, each in [1, 100).
            box_cox_lambda: The Box-Cox lambda both were transformed with before taking the
                errors; None when the errors are in original units.

        Returns:
            The calibrated intervals.

        Raises:
            ValueError: for a level outside [1, 100) or a step without any error.
        """
        magnitudes = np.abs(np.asarray(errors, dtype=float))
        if magnitudes.ndim != 2:
            raise ValueError(f"errors must be (count, horizon), got shape {magnitudes.shape}")
        sizes = np.sum(np.isfinite(magnitudes), axis=0)
        if np.any(sizes == 0):
            raise ValueError("every horizon step needs at least one out-of-sample error")
        ranked = np.sort(np.where(np.isfinite(magnitudes), magnitudes, np.inf), axis=0)
        widths: list[tuple[float, ...]] = []
        undersized: list[float] = []
        for level in levels:
            if not 1 <= level < 100:  # 0.95 is a fraction someone meant as 95 %
                raise ValueError(f"interval levels are percentages in [1, 100), got {level}")
            ranks = [math.ceil((n + 1) * level / 100) for n in sizes]
            if any(rank > n for rank, n in zip(ranks, sizes, strict=True)):
                undersized.append(level)
            # Rank r is the r-th smallest error; past the last one, the largest error.
            rows = np.minimum(ranks, sizes) - 1
            widths.append(tuple(float(w) for w in ranked[rows, np.arange(len(sizes))]))
        return cls(
            tuple(levels),
            tuple(widths),
            tuple(int(n) for n in sizes),
            tuple(undersized),
            None if box_cox_lambda is None else float(box_cox_lambda),
        )

    def to_dict(self) -> dict[str, Any]:
        """Levels, half-widths per step, calibration sizes, for the run's artifacts."""
        return asdict(self)

    @property
    def horizon(self) -> int:
        """Steps the widths cover."""
        return len(self.calibration_sizes)

    def bounds(self, forecasts: np.ndarray) -> dict[float, tuple[np.ndarray, np.ndarray]]:
        """``level -> (lower, upper)`` around (count, h) forecast paths, original units."""
        paths = np.asarray(forecasts, dtype=float)
        lam = self.box_cox_lambda
        centre = paths if lam is None else box_cox(paths, lam)
        result = {}
        for level, width in zip(self.levels, self.half_widths, strict=True):
            lower, upper = centre - np.asarray(width), centre + np.asarray(width)
            if lam is not None:
                lower, upper = inverse_box_cox(lower, lam), inverse_box_cox(upper, lam)
            result[level] = (lower, upper)
        return result

    def coverage(self, actual: np.ndarray, forecasts: np.ndarray) -> dict[float, float]:
        """Share of the finite ``actual`` values inside each level's interval."""
        actual = np.asarray(actual, dtype=float)
        seen = np.isfinite(actual)
        result = {}
        for level, (lower, upper) in self.bounds(forecasts).items():
            inside = (lower <= actual) & (actual <= upper)
            result[level] = float(np.sum(inside & seen) / max(int(np.sum(seen)), 1))
        return result

    def mean_widths(self, forecasts: np.ndarray) -> dict[float, float]:
        """Mean full interval width (upper - lower) around ``forecasts``, per level."""
        return {
            level: float(np.mean(upper - lower))
            for level, (lower, upper) in self.bounds(forecasts).items()
        }


def calibrate_on_validation(
    paths: np.ndarray, data: PreparedData, levels: tuple[float, ...]
) -> ConformalIntervals:
    """Conformal widths per step from the paths' errors on the validation part (the test part
    untouched), on the variance-stabilised scale (Box-Cox when the analysis chose it), where
    errors do not grow with the level; the bounds are transformed back.

    Args:
        paths: (n + 1, h) the model's path from every origin (``path_forecasts``).
        data: The prepared series (its transform, target and validation bounds).
        levels: Coverage levels in percent.
    """
    stabilised = data.transform.stabilised
    errors = calibration_errors(stabilised(paths), stabilised(data.target), *data.bounds.validation)
    return ConformalIntervals.calibrate(errors, levels, data.transform.box_cox_lambda)
