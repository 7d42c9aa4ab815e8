"""Error metrics on the test points, the leaderboard of the LSTM and its baselines, plots."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lstm_model.plotting import pyplot, save_figure


def forecast_metrics(
    actual: np.ndarray, predicted: np.ndarray, train_values: np.ndarray, season: int = 1
) -> dict[str, float]:
    """MSE, RMSE, MAE, R², sMAPE (%) and MASE of forecasts against the truth.

    sMAPE is 200/n · Σ|e| / (|y| + |ŷ|), with 0 for points where both are 0.

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
    denominator = np.abs(actual) + np.abs(actual - errors)
    ratio = np.divide(
        2 * np.abs(errors), denominator, out=np.zeros_like(errors), where=denominator > 0
    )
    return {
        "mse": mse,
        "rmse": float(np.sqrt(mse)),
        "mae": float(np.mean(np.abs(errors))),
        "r2": float(1 - np.sum(errors**2) / total) if total > 0 else float("nan"),
        "smape": float(100 * np.mean(ratio)),
        "mase": float(np.mean(np.abs(errors)) / scale) if scale > 0 else float("nan"),
    }


def plot_forecast(
    timestamps: np.ndarray, actual: np.ndarray, forecasts: dict[str, np.ndarray], path: Path
) -> Path:
    """Predicted vs actual over the test part, one line per forecaster."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.plot(timestamps, actual, color="black", lw=2, label="actual")
    for name, values in forecasts.items():
        ax.plot(timestamps, values, lw=1.2, label=name)
    ax.set_title("One-step-ahead forecasts on the test part")
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    return save_figure(fig, path)


def plot_loss_curves(history: dict[str, list[float]], path: Path) -> Path:
    """Training and validation loss per epoch of the final fit."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for key in ("loss", "val_loss"):
        if key in history:
            ax.plot(np.arange(1, len(history[key]) + 1), history[key], label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE (scaled)")
    ax.set_yscale("log")
    ax.legend()
    return save_figure(fig, path)


@dataclass(frozen=True)
class TestEvaluation:
    """Forecasts and metrics of the model and its baselines on the same test points."""

    targets: np.ndarray
    actual: np.ndarray
    forecasts: dict[str, np.ndarray]
    metrics: dict[str, dict[str, float]]
    notes: dict[str, str] = field(default_factory=dict)

    def flat_metrics(self) -> dict[str, float]:
        """``test/rmse`` (the LSTM), ``baseline/naive/rmse``, ... for ``mlflow.log_metrics``:
        the prefixes group them in the MLflow UI."""
        return {
            f"{'test' if name == 'model' else f'baseline/{name}'}/{key}": value
            for name, m in self.metrics.items()
            for key, value in m.items()
        }

    def errors(self, name: str = "model") -> np.ndarray:
        errors: np.ndarray = self.actual - self.forecasts[name]
        return errors

    @property
    def baselines(self) -> list[str]:
        return [name for name in self.forecasts if name != "model"]

    def best_baseline(self) -> str:
        """The baseline with the lowest test MSE."""
        return min(self.baselines, key=lambda name: self.metrics[name]["mse"])

    def leaderboard(self) -> list[dict[str, Any]]:
        """One row per forecaster, best MSE first: model, MSE, RMSE, MAE, R², sMAPE, MASE."""
        rows = [{"model": name, **metrics} for name, metrics in self.metrics.items()]
        return sorted(rows, key=lambda row: row["mse"])


def evaluate_on_test(
    values: np.ndarray,
    test_bounds: tuple[int, int],
    model_forecasts: np.ndarray,
    train_stop: int,
    season: int,
    baselines: dict[str, np.ndarray],
    notes: dict[str, str] | None = None,
) -> TestEvaluation:
    """Score the model's one-step forecasts and the baselines' on the same test points.

    Args:
        values: The whole series in original units.
        test_bounds: [start, stop) of the test part.
        model_forecasts: Output of :func:`one_step_forecasts` over ``values``.
        train_stop: End of the training part (MASE is scaled on it).
        season: Seasonal period (1 for none).
        baselines: Each baseline's forecasts at the test targets
            (:func:`lstm_model.evaluation.baselines.baseline_forecasts`).
        notes: Remarks per forecaster (chosen ARIMA order, skipped baselines).
    """
    values = np.asarray(values, dtype=float)
    targets = np.arange(*test_bounds)
    actual = values[targets]
    forecasts = {
        "model": np.asarray(model_forecasts, dtype=float)[targets],
        **{name: np.asarray(f, dtype=float) for name, f in baselines.items()},
    }
    train_values = values[:train_stop]
    metrics = {
        name: forecast_metrics(actual, predicted, train_values, season)
        for name, predicted in forecasts.items()
    }
    return TestEvaluation(targets, actual, forecasts, metrics, dict(notes or {}))
