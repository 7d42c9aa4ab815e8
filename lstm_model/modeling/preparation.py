"""The split and the prepared data: chronological train | validation | test, the transform
fitted on the training part only, and the windows of each part cut after the split."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lstm_model.config import MIN_TRAIN_WINDOWS
from lstm_model.errors import PipelineInputError
from lstm_model.modeling.transform import SeriesTransform, as_matrix


@dataclass(frozen=True)
class SplitBounds:
    """Index ranges [start, stop) of each split in the original series."""

    train: tuple[int, int]
    validation: tuple[int, int]
    test: tuple[int, int]


def chronological_split(n: int, validation_fraction: float, test_fraction: float) -> SplitBounds:
    """Train | validation | test by position in time; never shuffled."""
    n_test = max(1, math.ceil(n * test_fraction))
    n_validation = max(1, math.ceil(n * validation_fraction))
    n_train = n - n_validation - n_test
    return SplitBounds((0, n_train), (n_train, n_train + n_validation), (n_train + n_validation, n))


@dataclass(frozen=True)
class PreparedData:
    """Everything the model stages need, derived from the split series."""

    values: np.ndarray
    bounds: SplitBounds
    transform: SeriesTransform
    x_train: np.ndarray
    y_train: np.ndarray
    x_validation: np.ndarray
    y_validation: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def target(self) -> np.ndarray:
        """The target series (n,) in original units, without exogenous columns."""
        return as_matrix(self.values)[:, 0]


def prepare(
    values: np.ndarray,
    differencing: int,
    lookback: int,
    validation_fraction: float,
    test_fraction: float,
    seasonal_differencing: int = 0,
    season: int = 1,
    columns: Sequence[str] | None = None,
    box_cox_lambda: float | None = None,
    horizon: int = 1,
    bounds: SplitBounds | None = None,
) -> PreparedData:
    """Split chronologically, fit the transform on train, cut windows per split.

    Args:
        values: The whole series, (n,) or (n, 1 + k) with the target in column 0.
        differencing: Regular differences d.
        lookback: Window length in differenced steps.
        validation_fraction: Share of rows in the validation part.
        test_fraction: Share of rows in the test part.
        seasonal_differencing: Seasonal differences D at period ``season``.
        season: Seasonal period m.
        columns: Names of the value columns, target first.
        box_cox_lambda: Box-Cox lambda of the target (None: original scale).
        horizon: Steps each window forecasts; every split needs room for one whole path.
        bounds: An explicit split (e.g. one series of a panel, cut by the panel's common
            counts); None cuts it from the two fractions, which are then ignored.

    Returns:
        The split series, the fitted transform and the windows of each split.

    Raises:
        PipelineInputError: when the series is too short for the lookback and the splits.
        ValueError: explicit ``bounds`` that do not tile the series' rows in order.
    """
    values = np.asarray(values, dtype=float)
    if bounds is None:
        bounds = chronological_split(len(values), validation_fraction, test_fraction)
        fixed_rest = None  # the validation and test parts grow with the series
    else:
        _check_tiles(bounds, len(values))
        fixed_rest = len(values) - bounds.train[1]  # the given rows after training stay
    warmup = lookback + differencing + seasonal_differencing * season
    if bounds.train[1] - warmup - horizon + 1 < MIN_TRAIN_WINDOWS:
        needed = MIN_TRAIN_WINDOWS + warmup + horizon - 1
        seasonal = (
            f", seasonal differencing {seasonal_differencing} at period {season}"
            if seasonal_differencing
            else ""
        )
        path = f" and horizon {horizon}" if horizon > 1 else ""
        in_all = (
            math.ceil(needed / (1 - validation_fraction - test_fraction))
            if fixed_rest is None
            else needed + fixed_rest
        )
        raise PipelineInputError(
            f"the series has {len(values)} rows: its training part ({bounds.train[1]} rows) "
            f"is too short for lookback {lookback} with differencing {differencing}{seasonal}"
            f"{path} (needs at least {needed} training rows, about "
            f"{in_all} rows in all). "
            "Provide a longer series or lower analysis.max_lookback."
        )
    for name, (start, stop) in (("validation", bounds.validation), ("test", bounds.test)):
        if stop - start < horizon:
            raise PipelineInputError(
                f"the {name} part has {stop - start} rows, fewer than the {horizon}-step "
                f"horizon, so no whole forecast path can be scored on it. Provide a longer "
                f"series, a larger split.{name}_fraction or a shorter forecast.horizon."
            )
    transform = SeriesTransform.fit(
        values[slice(*bounds.train)],
        differencing,
        lookback,
        seasonal_differencing,
        season,
        columns,
        box_cox_lambda,
        horizon,
    )
    return PreparedData(
        values,
        bounds,
        transform,
        *transform.windows(values, *bounds.train),
        *transform.windows(values, *bounds.validation),
        *transform.windows(values, *bounds.test),
    )


def _check_tiles(bounds: SplitBounds, n: int) -> None:
    """Refuse bounds that are not train | validation | test over rows 0..n, in that order."""
    edges = (*bounds.train, *bounds.validation, *bounds.test)
    contiguous = edges[1] == edges[2] and edges[3] == edges[4]
    if edges[0] != 0 or edges[-1] != n or not contiguous or list(edges) != sorted(edges):
        raise ValueError(f"split bounds {bounds} do not tile the series' {n} rows in order")


@dataclass(frozen=True)
class HorizonChoice:
    """The forecast horizon of a run and why it is that."""

    horizon: int
    reason: str


def choose_horizon(
    requested: int | None,
    frequency_default: int,
    n: int,
    validation_fraction: float,
    test_fraction: float,
) -> HorizonChoice:
    """The horizon h: the configured one, else the cadence's default, shortened to fit.

    A default must not refuse a short series that the same run with h = 1 would accept, so it
    is shortened until one whole path fits in the validation and in the test part. A horizon
    the user set is kept as it is (:func:`prepare` then says why it cannot fit).

    Args:
        requested: ``forecast.horizon`` (None: by cadence).
        frequency_default: The cadence's default (``default_horizon``).
        n: Rows in the series.
        validation_fraction: Share of rows in the validation part.
        test_fraction: Share of rows in the test part.

    Returns:
        The horizon and the reason, for the run's log.
    """
    if requested is not None:
        return HorizonChoice(requested, "set by forecast.horizon")
    bounds = chronological_split(n, validation_fraction, test_fraction)
    room = min(bounds.validation[1] - bounds.validation[0], bounds.test[1] - bounds.test[0])
    if frequency_default <= room:
        return HorizonChoice(frequency_default, "the default for the series' cadence")
    return HorizonChoice(
        max(1, room),
        f"the cadence's default {frequency_default} shortened to the {room} rows of the "
        "smaller of the validation and test parts",
    )
