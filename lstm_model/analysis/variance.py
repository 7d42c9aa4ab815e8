"""Variance stabilisation: the Box-Cox transform, its inverse and the choice of lambda.

A series whose spread grows with its level (multiplicative seasonality, exponential growth) is
forecast better on a Box-Cox scale, where the season's amplitude and the noise are roughly
constant: differencing and a train-fitted scaler then see the same shape in every year. Lambda
is estimated on the training part with Guerrero's method (the one R's ``forecast`` uses), via
``coreforecast``; the transform itself is written out here because the same arithmetic must run
inside the TensorFlow serving graph (:mod:`lstm_model.delivery.export`), so one formula serves both.

Forecasts are back-transformed without the bias adjustment: the back-transformed one-step
forecast is the *median* of the forecast distribution, which is what absolute-error metrics
(MAE, MASE) reward; the bias-adjusted mean would only help squared-error metrics, and by less
than the noise on short series.
"""

from __future__ import annotations

import numpy as np

# Values are floored here before a log or fractional power: a serving history with a zero or a
# negative value (the training part had none) gets a finite, very low forecast instead of NaN.
POSITIVE_FLOOR = 1e-8
# Guerrero's lambda is searched on [0, 1]: negative lambdas explode on small values, and above
# 1 the transform would amplify, not stabilise, the spread.
LAMBDA_BOUNDS = (0.0, 1.0)


def box_cox(values: np.ndarray, lam: float) -> np.ndarray:
    """Box-Cox transform: ``log(y)`` for lambda 0, else ``(y**lam - 1) / lam``.

    Args:
        values: Original values (floored at :data:`POSITIVE_FLOOR`).
        lam: The transform's lambda in [0, 1].

    Returns:
        The transformed values, same shape.
    """
    floored = np.maximum(np.asarray(values, dtype=float), POSITIVE_FLOOR)
    transformed: np.ndarray = np.log(floored) if lam == 0 else (floored**lam - 1.0) / lam
    return transformed


def inverse_box_cox(values: np.ndarray, lam: float) -> np.ndarray:
    """The inverse of :func:`box_cox` (the median, not the bias-adjusted mean).

    Args:
        values: Values on the Box-Cox scale.
        lam: The transform's lambda in [0, 1].

    Returns:
        Values in original units; ``lam * z + 1`` is floored at 0 for lambda > 0.
    """
    values = np.asarray(values, dtype=float)
    original: np.ndarray = (
        np.exp(values) if lam == 0 else np.maximum(lam * values + 1.0, 0.0) ** (1.0 / lam)
    )
    return original


def guerrero_lambda(train_values: np.ndarray, season: int) -> float | None:
    """Guerrero's lambda for the training part, or None when Box-Cox does not apply.

    Box-Cox needs strictly positive values; a series that ever reaches zero or below keeps its
    original scale.

    Args:
        train_values: The target over the training part.
        season: Seasonal period; Guerrero's subseries are one season long (2 without a season,
            as R's ``forecast`` does for non-seasonal data).

    Returns:
        Lambda in [0, 1], or None for a series that is not strictly positive.
    """
    from coreforecast.scalers import boxcox_lambda

    values = np.asarray(train_values, dtype=float)
    if len(values) < 8 or np.any(values <= 0) or np.ptp(values) == 0:
        return None
    lower, upper = LAMBDA_BOUNDS
    lam = float(
        boxcox_lambda(
            values, method="guerrero", season_length=max(season, 2), lower=lower, upper=upper
        )
    )
    return min(max(lam, lower), upper)
