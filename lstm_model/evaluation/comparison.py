"""Is the challenger's forecast significantly better? Paired t-test and Diebold–Mariano (HLN).

Both tests work on the loss differential d_t = L(e_challenger,t) - L(e_other,t) over the same
test points, with L the squared or the absolute error, and are one-sided: H0 E[d] = 0 against
H1 E[d] < 0 (the challenger's expected loss is lower).

Diebold & Mariano (1995) divide the mean differential by its long-run standard error, with
autocovariances up to lag h - 1 for h-step forecasts. Harvey, Leybourne & Newbold (1997) scale
the statistic by sqrt((n + 1 - 2h + h(h - 1)/n) / n) and compare it with Student's t with n - 1
degrees of freedom, which keeps the size right on short test parts. For one-step forecasts
(h = 1) the corrected statistic equals the paired t statistic exactly; the two differ for h > 1.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats

from lstm_model.evaluation.backtest import Backtest

Loss = Literal["squared", "absolute"]
LOSSES: tuple[Loss, ...] = ("squared", "absolute")
TESTS = ("diebold_mariano", "paired_t")


def loss_differential(
    challenger_errors: np.ndarray, other_errors: np.ndarray, loss: Loss = "squared"
) -> np.ndarray:
    """d_t = L(challenger) - L(other); negative where the challenger is better.

    Errors of h-step paths, (count, h), give one differential per path: the mean loss over its
    steps (overlapping paths make d autocorrelated up to lag h - 1, which the Diebold-Mariano
    variance allows for).
    """
    a = np.asarray(challenger_errors, dtype=float)
    b = np.asarray(other_errors, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"errors must be paired: shapes {a.shape} and {b.shape}")
    if loss == "squared":
        differential: np.ndarray = a**2 - b**2
    elif loss == "absolute":
        differential = np.abs(a) - np.abs(b)
    else:
        raise ValueError(f"unknown loss {loss!r}: use squared or absolute")
    if differential.ndim == 2:
        per_path: np.ndarray = differential.mean(axis=1)
        return per_path
    return differential


def _degenerate(mean: float) -> tuple[float, float]:
    """Zero variance of d: no evidence when d is 0 everywhere, certainty when it is constant."""
    if mean == 0:
        return 0.0, 0.5
    return (-np.inf, 0.0) if mean < 0 else (np.inf, 1.0)


def diebold_mariano(
    challenger_errors: np.ndarray,
    other_errors: np.ndarray,
    loss: Loss = "squared",
    horizon: int = 1,
) -> tuple[float, float]:
    """Diebold–Mariano statistic with the Harvey–Leybourne–Newbold correction, one-sided.

    Args:
        challenger_errors: Errors of the challenger at each test point.
        other_errors: Errors of the other forecaster at the same points.
        loss: Squared or absolute error.
        horizon: Forecast horizon h (autocovariances up to lag h - 1 enter the variance).

    Returns:
        The corrected statistic and the p-value of H1 "challenger's loss is lower"
        (Student's t, n - 1 degrees of freedom).
    """
    d = loss_differential(challenger_errors, other_errors, loss)
    n = len(d)
    if n < 2:
        raise ValueError("the Diebold–Mariano test needs at least 2 paired errors")
    mean = float(d.mean())
    centred = d - mean
    # gamma_k = (1/n) Σ_{t>k} (d_t - mean)(d_{t-k} - mean), for k = 0 .. h-1
    gammas = [float(centred[k:] @ centred[: n - k]) / n for k in range(min(horizon, n))]
    variance = (gammas[0] + 2 * sum(gammas[1:])) / n
    if variance <= 0 and gammas[0] > 0:
        # Negative long-run variance estimate (possible for h > 1): fall back to lag 0.
        variance = gammas[0] / n
    if variance <= 0:
        return _degenerate(mean)
    dm = mean / np.sqrt(variance)
    correction = np.sqrt((n + 1 - 2 * horizon + horizon * (horizon - 1) / n) / n)
    statistic = float(dm * correction)
    return statistic, float(stats.t.cdf(statistic, df=n - 1))


def paired_t_test(
    challenger_errors: np.ndarray, other_errors: np.ndarray, loss: Loss = "squared"
) -> tuple[float, float]:
    """``scipy.stats.ttest_rel`` on the per-point (or per-path mean) losses, one-sided
    (challenger lower): the one-sample t-test of the loss differential against 0.

    Returns:
        The t statistic and its one-sided p-value.
    """
    d = loss_differential(challenger_errors, other_errors, loss)
    if np.allclose(d, d.mean(), rtol=0, atol=1e-15):
        return _degenerate(float(d.mean()))
    result = stats.ttest_1samp(d, 0.0, alternative="less")
    return float(result.statistic), float(result.pvalue)


@dataclass(frozen=True)
class Comparison:
    """The challenger against one other forecaster on the same test points."""

    opponent: str
    n_points: int
    challenger_mse: float
    opponent_mse: float
    challenger_mae: float
    opponent_mae: float
    # (test, loss) -> (statistic, one-sided p-value), e.g. ("diebold_mariano", "squared")
    tests: dict[tuple[str, str], tuple[float, float]]

    def mean_loss(self, loss: Loss) -> tuple[float, float]:
        """Challenger's and opponent's mean loss."""
        if loss == "squared":
            return self.challenger_mse, self.opponent_mse
        return self.challenger_mae, self.opponent_mae

    def p_value(self, test: str, loss: Loss) -> float:
        return self.tests[(test, loss)][1]

    def metrics(self, prefix: str) -> dict[str, float]:
        """``<prefix>/opponent_mse``, ``<prefix>/dm_squared_stat``, ``<prefix>/dm_squared_p``,
        ... for MLflow (e.g. prefix ``compare/champion``)."""
        short = {"diebold_mariano": "dm", "paired_t": "ttest"}
        out = {f"{prefix}/opponent_mse": self.opponent_mse, f"{prefix}/points": self.n_points}
        for (test, loss), (statistic, p_value) in self.tests.items():
            out[f"{prefix}/{short[test]}_{loss}_stat"] = statistic
            out[f"{prefix}/{short[test]}_{loss}_p"] = p_value
        return out

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["tests"] = {f"{t}/{loss}": list(v) for (t, loss), v in self.tests.items()}
        return data


def compare_forecasts(
    challenger_errors: np.ndarray, opponent_errors: np.ndarray, opponent: str, horizon: int = 1
) -> Comparison:
    """Both tests on both losses, over the points where both forecasters have a forecast.

    Args:
        challenger_errors: Challenger's errors at the test points, (count,), or of h-step paths
            from the backtest's origins, (count, h).
        opponent_errors: Opponent's errors at the same points (NaN where it has no forecast,
            e.g. a champion with a longer window).
        opponent: Name for messages and metrics.
        horizon: Forecast horizon of both (for paths, their length).
    """
    a = np.asarray(challenger_errors, dtype=float)
    b = np.asarray(opponent_errors, dtype=float)
    common = np.isfinite(a) & np.isfinite(b)
    if a.ndim == 2:  # whole paths only
        common = common.all(axis=1)
        horizon = a.shape[1]
    a, b = a[common], b[common]
    tests: dict[tuple[str, str], tuple[float, float]] = {}
    for loss in LOSSES:
        tests[("diebold_mariano", loss)] = diebold_mariano(a, b, loss, horizon)
        tests[("paired_t", loss)] = paired_t_test(a, b, loss)
    return Comparison(
        opponent,
        int(common.sum()),
        float(np.mean(a**2)),
        float(np.mean(b**2)),
        float(np.mean(np.abs(a))),
        float(np.mean(np.abs(b))),
        tests,
    )


@dataclass(frozen=True)
class Comparisons:
    """The challenger against the best baseline, and against the champion when there is one."""

    best_baseline: Comparison
    champion: Comparison | None
    champion_version: str | None


def compare_with_best_baseline(evaluation: Backtest) -> Comparison:
    """The challenger against the baseline with the lowest test MSE, on the same paths."""
    best = evaluation.best_baseline()
    return compare_forecasts(evaluation.errors(), evaluation.errors(best), best)


def compare_with_champion(
    evaluation: Backtest, champion_paths: np.ndarray, version: str
) -> Comparison:
    """The challenger against the champion's paths from the same origins.

    Args:
        evaluation: The challenger's backtest.
        champion_paths: The champion's forecast path from every origin of the series, (n, h_c)
            (row t: the forecasts of t, t + 1, ... from the values before t).
        version: The champion's registered version, for names and messages.
    """
    paths = np.asarray(champion_paths, dtype=float)
    paths = paths[:, np.newaxis] if paths.ndim == 1 else paths
    # A champion trained for another horizon is compared on the steps both forecast.
    steps = min(paths.shape[1], evaluation.horizon)
    challenger = evaluation.errors()[:, :steps]
    # A champion with a longer window may lack the first paths (NaN): compare_forecasts keeps
    # the paths both have.
    champion = evaluation.actual[:, :steps] - paths[evaluation.origins, :steps]
    return compare_forecasts(challenger, champion, f"champion v{version}")
