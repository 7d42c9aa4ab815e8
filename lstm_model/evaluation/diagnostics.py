"""Residual diagnostics and sensitivity (perturbation) analysis of a fitted forecaster."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from lstm_model.modeling.forecast import WindowPredictor
from lstm_model.plotting import pyplot, save_figure


@dataclass(frozen=True)
class ResidualDiagnostics:
    """Is what the model leaves over white noise? Ljung-Box for autocorrelation, Shapiro-Wilk
    for normality (small p-values mean structure is left, or the errors are not Gaussian)."""

    n: int
    mean: float
    std: float
    ljung_box_lags: int
    ljung_box_stat: float
    ljung_box_pvalue: float
    normality_test: str
    normality_stat: float
    normality_pvalue: float
    acf: list[float]
    confidence_bound: float

    def metrics(self) -> dict[str, float]:
        """``diagnostics/residual_*`` for MLflow: the Ljung-Box test here is on the test
        residuals, unlike ``analysis/series_ljung_box_pvalue`` (the training series)."""
        return {
            "diagnostics/residual_mean": self.mean,
            "diagnostics/residual_std": self.std,
            "diagnostics/residual_ljung_box_stat": self.ljung_box_stat,
            "diagnostics/residual_ljung_box_pvalue": self.ljung_box_pvalue,
            "diagnostics/residual_normality_stat": self.normality_stat,
            "diagnostics/residual_normality_pvalue": self.normality_pvalue,
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def residual_diagnostics(residuals: np.ndarray, lags: int = 10) -> ResidualDiagnostics:
    """Ljung-Box (up to ``lags``, at most n/5), Shapiro-Wilk and the residual ACF.

    Args:
        residuals: actual - forecast on the test points.
        lags: Most lags for Ljung-Box and the ACF.
    """
    from statsmodels.stats.diagnostic import acorr_ljungbox
    from statsmodels.tsa.stattools import acf

    residuals = np.asarray(residuals, dtype=float)
    n = len(residuals)
    if n < 8:
        raise ValueError(f"residual diagnostics need at least 8 test points, got {n}")
    lags = max(1, min(lags, n // 5))
    ljung_box = acorr_ljungbox(residuals, lags=[lags], return_df=True)
    shapiro = stats.shapiro(residuals)
    acf_values = acf(residuals, nlags=lags, result_object=True)
    return ResidualDiagnostics(
        n,
        float(residuals.mean()),
        float(residuals.std(ddof=1)),
        lags,
        float(ljung_box["lb_stat"].iloc[0]),
        float(ljung_box["lb_pvalue"].iloc[0]),
        "shapiro-wilk",
        float(shapiro.statistic),
        float(shapiro.pvalue),
        [float(v) for v in np.asarray(acf_values.acf)],
        float(1.96 / np.sqrt(n)),
    )


@dataclass(frozen=True)
class Sensitivity:
    """Mean change of the forecast (original units) when one lookback step is perturbed.

    ``lags[i]`` is how far back the step lies (1 = the latest value in the window).
    """

    lags: list[int]
    mean_abs_change: list[float]
    mean_change: list[float]
    share: list[float]
    delta: float

    def rows(self) -> list[dict[str, Any]]:
        return [
            {"lag": lag, "mean_abs_change": a, "mean_change": c, "share": s}
            for lag, a, c, s in zip(
                self.lags, self.mean_abs_change, self.mean_change, self.share, strict=True
            )
        ]


def perturbation_sensitivity(
    predict_windows: WindowPredictor, windows: np.ndarray, scale: float, delta: float = 1.0
) -> Sensitivity:
    """Shift every window's step j by ``delta`` (scaled units) and measure the forecast change.

    All lookback x windows perturbed copies go through the model in one batch. A shift of 1 is
    one training standard deviation of the (differenced) series; every feature of the step is
    shifted. The change of a one-step forecast in original units is the scaled change times
    ``scale``: undifferencing adds the same earlier values to both forecasts.

    Args:
        predict_windows: Scaled windows (k, lookback, f) -> scaled forecasts (k,) or paths
            (k, h), of which the first step is measured.
        windows: The windows to perturb (e.g. the test windows).
        scale: The transform's scale (original units per scaled unit).
        delta: Size of the shift in scaled units.
    """
    windows = np.asarray(windows, dtype=np.float32)
    k, lookback, n_features = windows.shape
    # The first step of each path: the one-step forecast the rest of the path builds on.
    base = np.asarray(predict_windows(windows)).reshape(k, -1)[:, 0]
    perturbed = np.repeat(windows[np.newaxis], lookback, axis=0)  # (lookback, k, lookback, f)
    steps = np.arange(lookback)
    perturbed[steps, :, steps, :] += np.float32(delta)
    shifted = np.asarray(predict_windows(perturbed.reshape(-1, lookback, n_features)))
    change = (shifted.reshape(lookback * k, -1)[:, 0].reshape(lookback, k) - base) * scale
    mean_abs = np.abs(change).mean(axis=1)
    total = mean_abs.sum()
    share = mean_abs / total if total > 0 else np.zeros_like(mean_abs)
    return Sensitivity(
        [int(lookback - j) for j in steps],
        [float(v) for v in mean_abs],
        [float(v) for v in change.mean(axis=1)],
        [float(v) for v in share],
        float(delta),
    )


def plot_residuals(
    residuals: np.ndarray, predicted: np.ndarray, diagnostics: ResidualDiagnostics, path: Path
) -> Path:
    """Histogram, residuals vs predicted and the residual ACF, side by side."""
    plt = pyplot()
    residuals = np.asarray(residuals, dtype=float)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    axes[0].hist(residuals, bins=min(30, max(5, len(residuals) // 5)), color="tab:blue")
    axes[0].set_title(f"residuals (Shapiro-Wilk p={diagnostics.normality_pvalue:.3g})")
    axes[1].scatter(predicted, residuals, s=10)
    axes[1].axhline(0, color="black", lw=0.8)
    axes[1].set_xlabel("predicted")
    axes[1].set_ylabel("residual")
    axes[1].set_title("residuals vs predicted")
    lags = np.arange(len(diagnostics.acf))
    axes[2].bar(lags[1:], diagnostics.acf[1:], width=0.4)
    for bound in (diagnostics.confidence_bound, -diagnostics.confidence_bound):
        axes[2].axhline(bound, color="tab:red", ls="--", lw=0.8)
    axes[2].set_xlabel("lag")
    axes[2].set_title(f"residual ACF (Ljung-Box p={diagnostics.ljung_box_pvalue:.3g})")
    return save_figure(fig, path)


def plot_sensitivity(sensitivity: Sensitivity, path: Path) -> Path:
    """Bar chart: mean |change of forecast| per perturbed lag."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.bar(sensitivity.lags, sensitivity.mean_abs_change)
    ax.set_xlabel("lag of the perturbed step (1 = latest)")
    ax.set_ylabel("mean |Δ forecast| (original units)")
    ax.set_title(f"sensitivity to a +{sensitivity.delta:g} sd shift of one step")
    return save_figure(fig, path)
