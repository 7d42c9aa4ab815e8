"""The blessing gate: may this challenger become champion (and be pushed)?

A challenger is blessed only when every rule of the policy holds:

1. its test MSE is lower than the seasonal naive's by at least
   ``min_improvement_over_seasonal_naive`` (relative);
2. when ``require_beating_best_baseline``: it is significantly better than the best baseline;
3. when there is a champion: ``significantly_better`` (lower mean loss and one-sided p below
   ``significance``), or ``not_worse`` (mean loss not higher).

A challenger that is not blessed is still registered, so it can be compared in the UI, but it
never takes the ``champion`` alias and is never pushed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from lstm_model.config import BlessingConfig

if TYPE_CHECKING:  # scipy.stats behind it costs a second; the registry needs BLESSED_TAG only
    from lstm_model.evaluation.comparison import Comparison

TEST_NAMES = {"diebold_mariano": "Diebold–Mariano (HLN)", "paired_t": "paired t-test"}
# The tag that says whether a version or run was blessed ("true"/"false").
BLESSED_TAG = "blessed"


@dataclass(frozen=True)
class BlessingDecision:
    """The verdict and one sentence per rule, in words."""

    blessed: bool
    checks: dict[str, bool]
    reasons: list[str]

    @property
    def reason(self) -> str:
        verdict = "blessed" if self.blessed else "not blessed"
        return f"{verdict}: " + "; ".join(self.reasons)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "reason": self.reason}

    def tags(self) -> dict[str, str]:
        """``blessed`` and ``blessing_reason``: the tags of the registered version."""
        return {BLESSED_TAG: str(self.blessed).lower(), "blessing_reason": self.reason[:5000]}

    def run_tags(self) -> dict[str, str]:
        """:meth:`tags` and one ``blessing_check_<rule>`` per rule: the tags of the run."""
        checks = {f"blessing_check_{k}": str(v).lower() for k, v in self.checks.items()}
        return {**self.tags(), **checks}


def _significantly_better(comparison: Comparison, policy: BlessingConfig) -> tuple[bool, str]:
    ours, theirs = comparison.mean_loss(policy.loss)
    p = comparison.p_value(policy.test, policy.loss)
    what = f"{policy.loss} loss {ours:.4g} vs {theirs:.4g} of {comparison.opponent}"
    test = f"{TEST_NAMES[policy.test]} p={p:.3g}"
    if ours >= theirs:
        return False, f"{what}, {test}: not lower"
    if p < policy.significance:
        return True, f"{what}, {test} < {policy.significance}: significantly better"
    return False, f"{what}, {test} >= {policy.significance}: lower but not significantly"


def bless(
    model_mse: float,
    seasonal_naive_mse: float,
    best_baseline: Comparison,
    champion: Comparison | None,
    policy: BlessingConfig,
) -> BlessingDecision:
    """Apply the blessing policy.

    Args:
        model_mse: Challenger's test MSE.
        seasonal_naive_mse: Seasonal naive's MSE on the same points.
        best_baseline: Challenger vs the best baseline.
        champion: Challenger vs the current champion, None when there is none.
        policy: Significance, test, loss and the rules.

    Returns:
        Whether it is blessed, each rule's outcome and the reasons in words.
    """
    checks: dict[str, bool] = {}
    reasons: list[str] = []

    improvement = 1 - model_mse / seasonal_naive_mse if seasonal_naive_mse > 0 else 0.0
    required = policy.min_improvement_over_seasonal_naive
    checks["seasonal_naive"] = model_mse < seasonal_naive_mse and improvement >= required
    reasons.append(
        f"MSE {model_mse:.4g} is {improvement:+.1%} better than seasonal naive "
        f"{seasonal_naive_mse:.4g} (required {required:.0%}, strictly lower)"
        if checks["seasonal_naive"]
        else f"MSE {model_mse:.4g} vs seasonal naive {seasonal_naive_mse:.4g}: improvement "
        f"{improvement:+.1%} short of the required {required:.0%} (and strictly lower)"
    )

    if policy.require_beating_best_baseline:
        checks["best_baseline"], why = _significantly_better(best_baseline, policy)
        reasons.append(why)

    if champion is None:
        checks["champion"] = True
        reasons.append("no champion to beat (first version)")
    elif policy.champion_rule == "significantly_better":
        checks["champion"], why = _significantly_better(champion, policy)
        reasons.append(why)
    else:
        ours, theirs = champion.mean_loss(policy.loss)
        checks["champion"] = ours <= theirs
        reasons.append(
            f"{policy.loss} loss {ours:.4g} vs {theirs:.4g} of {champion.opponent}: "
            + ("not worse" if checks["champion"] else "worse")
        )
    return BlessingDecision(all(checks.values()), checks, reasons)


def advice_when_baselines_win(metrics: dict[str, dict[str, float]]) -> str | None:
    """In words, when a statistical baseline beats the LSTM on the test part: which one, by how
    much, and what to try. None when the LSTM is the best forecaster.

    Args:
        metrics: Test metrics per forecaster (``model`` is the LSTM), each with ``mse`` and
            ``rmse`` (the squared-error family the blessing policy ranks by).
    """
    baselines = {name: m for name, m in metrics.items() if name != "model"}
    best = min(baselines, key=lambda name: baselines[name]["mse"])
    ours, theirs = metrics["model"], baselines[best]
    if ours["mse"] <= theirs["mse"]:
        return None
    beaten_by = sorted(n for n, m in baselines.items() if m["mse"] < ours["mse"])
    snaive = baselines.get("seasonal_naive")
    lost_to_snaive = snaive is not None and ours["mse"] >= snaive["mse"]
    lead = (
        "The LSTM does not beat seasonal naive on the test part"
        if lost_to_snaive
        else f"{len(beaten_by)} baseline(s) beat the LSTM on the test part ({', '.join(beaten_by)})"
    )
    return (
        f"{lead}: best is {best} with RMSE {theirs['rmse']:.4g} against the LSTM's "
        f"{ours['rmse']:.4g}. Try a longer history, a wider search (tuning.max_trials 20-30 with "
        "tuning.cv_folds 3), training.ensemble_size 3, or keep forecasting with "
        f"{best} for this series."
    )
