"""One-step-ahead forecasts in original units, error metrics, baselines and the champion test."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy import stats


def forecast_metrics(
    actual: np.ndarray, predicted: np.ndarray, train_values: np.ndarray, season: int = 1
) -> dict[str, float]:
    """MSE, RMSE, MAE, R² and MASE of forecasts against the truth.

    MASE scales the MAE by the in-sample MAE of the seasonal-naive forecast on the training
    part (Hyndman & Koehler, 2006), so it compares across series and is < 1 when the forecast
    beats that baseline's typical error.
    """
    actual = np.asarray(actual, dtype=float)
    errors = actual - np.asarray(predicted, dtype=float)
    mse = float(np.mean(errors**2))
    total = float(np.sum((actual - actual.mean()) ** 2))
    train_values = np.asarray(train_values, dtype=float)
    lag = season if 1 < season < len(train_values) else 1
    scale = float(np.mean(np.abs(train_values[lag:] - train_values[:-lag])))
    return {
        "mse": mse,
        "rmse": float(np.sqrt(mse)),
        "mae": float(np.mean(np.abs(errors))),
        "r2": float(1 - np.sum(errors**2) / total) if total > 0 else float("nan"),
        "mase": float(np.mean(np.abs(errors)) / scale) if scale > 0 else float("nan"),
    }


def naive_forecast(values: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """The last observed value."""
    return np.asarray(values, dtype=float)[np.asarray(targets) - 1]


def seasonal_naive_forecast(values: np.ndarray, targets: np.ndarray, season: int) -> np.ndarray:
    """The value one season ago (the naive forecast when there is no season)."""
    return np.asarray(values, dtype=float)[np.asarray(targets) - max(season, 1)]


@dataclass(frozen=True)
class ChampionComparison:
    """Paired t-test of the challenger's and the champion's squared errors on the same points."""

    champion_version: str
    n_points: int
    challenger_mse: float
    champion_mse: float
    statistic: float
    p_value: float
    significance: float
    challenger_wins: bool
    reason: str

    def to_dict(self) -> dict:
        return asdict(self)


def compare_with_champion(
    challenger_errors: np.ndarray,
    champion_errors: np.ndarray,
    champion_version: str,
    significance: float,
) -> ChampionComparison:
    """``scipy.stats.ttest_rel`` on per-point squared errors; the challenger wins only when its
    MSE is lower and the difference is significant (two-sided p < ``significance``).
    """
    challenger_sq = np.asarray(challenger_errors, dtype=float) ** 2
    champion_sq = np.asarray(champion_errors, dtype=float) ** 2
    challenger_mse, champion_mse = float(challenger_sq.mean()), float(champion_sq.mean())
    if np.allclose(challenger_sq, champion_sq):
        # ttest_rel is undefined for identical samples (zero variance of the differences).
        statistic, p_value = 0.0, 1.0
    else:
        result = stats.ttest_rel(challenger_sq, champion_sq)
        statistic, p_value = float(result.statistic), float(result.pvalue)
    lower = challenger_mse < champion_mse
    wins = lower and p_value < significance
    if wins:
        reason = (
            f"challenger MSE {challenger_mse:.4g} < champion v{champion_version} MSE "
            f"{champion_mse:.4g}, p={p_value:.3g} < {significance}"
        )
    elif not lower:
        reason = (
            f"challenger MSE {challenger_mse:.4g} is not lower than champion "
            f"v{champion_version} MSE {champion_mse:.4g}"
        )
    else:
        reason = (
            f"challenger MSE {challenger_mse:.4g} < champion v{champion_version} MSE "
            f"{champion_mse:.4g} but p={p_value:.3g} >= {significance}: not significant"
        )
    return ChampionComparison(
        champion_version,
        len(challenger_sq),
        challenger_mse,
        champion_mse,
        statistic,
        p_value,
        significance,
        wins,
        reason,
    )


def plot_forecast(
    timestamps: np.ndarray, actual: np.ndarray, forecasts: dict[str, np.ndarray], path: Path
) -> Path:
    """Predicted vs actual over the test part, one line per forecaster."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4))
    ax.plot(timestamps, actual, color="black", lw=2, label="actual")
    for name, values in forecasts.items():
        ax.plot(timestamps, values, lw=1.2, label=name)
    ax.set_title("One-step-ahead forecasts on the test part")
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_loss_curves(history: dict[str, list[float]], path: Path) -> Path:
    """Training and validation loss per epoch of the final fit."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    for key in ("loss", "val_loss"):
        if key in history:
            ax.plot(np.arange(1, len(history[key]) + 1), history[key], label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE (scaled)")
    ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


@dataclass(frozen=True)
class TestEvaluation:
    """Forecasts and metrics of the model and its baselines on the same test points."""

    targets: np.ndarray
    actual: np.ndarray
    forecasts: dict[str, np.ndarray]
    metrics: dict[str, dict[str, float]]

    def flat_metrics(self) -> dict[str, float]:
        """``model_rmse``, ``naive_rmse``, ... for ``mlflow.log_metrics``."""
        return {
            f"{name}_{key}": value for name, m in self.metrics.items() for key, value in m.items()
        }

    def errors(self, name: str = "model") -> np.ndarray:
        return self.actual - self.forecasts[name]


def evaluate_on_test(
    values: np.ndarray,
    test_bounds: tuple[int, int],
    model_forecasts: np.ndarray,
    train_stop: int,
    season: int,
) -> TestEvaluation:
    """Score the model's one-step forecasts against naive and seasonal-naive on the test part.

    Args:
        values: The whole series in original units.
        test_bounds: [start, stop) of the test part.
        model_forecasts: Output of :func:`one_step_forecasts` over ``values``.
        train_stop: End of the training part (MASE is scaled on it).
        season: Seasonal period (1 for none).
    """
    values = np.asarray(values, dtype=float)
    targets = np.arange(*test_bounds)
    actual = values[targets]
    forecasts = {
        "model": np.asarray(model_forecasts, dtype=float)[targets],
        "naive": naive_forecast(values, targets),
        "seasonal_naive": seasonal_naive_forecast(values, targets, season),
    }
    train_values = values[:train_stop]
    metrics = {
        name: forecast_metrics(actual, predicted, train_values, season)
        for name, predicted in forecasts.items()
    }
    return TestEvaluation(targets, actual, forecasts, metrics)
