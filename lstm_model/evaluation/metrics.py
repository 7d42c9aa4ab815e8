"""Error metrics of forecasts against the truth, and the evaluation's plots."""

from __future__ import annotations

from pathlib import Path

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


def plot_mase_by_step(by_step: dict[str, list[float]], path: Path) -> Path:
    """MASE at each horizon step, one line per forecaster (the LSTM drawn heavier)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for name, values in by_step.items():
        steps = np.arange(1, len(values) + 1)
        ours = name == "model"
        ax.plot(
            steps, values, marker="o", ms=3, lw=2.5 if ours else 1, label="LSTM" if ours else name
        )
    ax.set_xlabel("horizon step")
    ax.set_ylabel("MASE (backtest)")
    ax.set_title("Error by horizon step on the test part")
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def plot_fan_chart(
    history: tuple[np.ndarray, np.ndarray],
    backtest: tuple[np.ndarray, np.ndarray],
    future: tuple[np.ndarray, np.ndarray],
    bands: dict[float, tuple[np.ndarray, np.ndarray]],
    path: Path,
) -> Path:
    """History, the backtest's one-step forecasts and the future path with its interval bands.

    Args:
        history: (timestamps, values) of the series.
        backtest: (timestamps, forecasts) of the first step from every test origin.
        future: (timestamps, path) after the data.
        bands: level -> (lower, upper) around ``future``.
        path: Where to save the PNG.
    """
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.plot(*history, color="black", lw=1.2, label="actual")
    ax.plot(*backtest, color="tab:blue", lw=1, alpha=0.8, label="backtest, one step ahead")
    for alpha, (level, (lower, upper)) in zip(
        np.linspace(0.35, 0.15, len(bands)), sorted(bands.items()), strict=True
    ):
        ax.fill_between(
            future[0],
            lower,
            upper,
            color="tab:orange",
            alpha=alpha,
            lw=0,
            label=f"{level:g} % interval",
        )
    ax.plot(*future, color="tab:orange", lw=2, label="forecast")
    ax.set_title("Forecast of the next steps with conformal intervals")
    ax.legend(fontsize=8, loc="upper left")
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
