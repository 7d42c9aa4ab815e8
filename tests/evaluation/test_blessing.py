"""The blessing policy: seasonal-naive improvement, best baseline, champion rule, in words."""

from __future__ import annotations

import numpy as np

from lstm_model.config import BlessingConfig
from lstm_model.evaluation.blessing import advice_when_baselines_win, bless
from lstm_model.evaluation.comparison import compare_forecasts

RNG = np.random.default_rng(11)
BASE = RNG.normal(0, 1.0, 80)
BETTER = 0.6 * BASE + RNG.normal(0, 0.05, 80)  # clearly and significantly better
ALMOST = BASE * 0.99 + RNG.normal(0, 0.3, 80)  # about the same: not significant


def _mse(e):
    return float(np.mean(e**2))


def test_first_version_that_beats_seasonal_naive_is_blessed():
    baseline = compare_forecasts(BETTER, BASE, "ets")
    decision = bless(_mse(BETTER), _mse(BASE), baseline, None, BlessingConfig())
    assert decision.blessed
    assert decision.checks == {"seasonal_naive": True, "champion": True}
    assert decision.reason.startswith("blessed: ") and "no champion" in decision.reason


def test_required_improvement_over_seasonal_naive():
    baseline = compare_forecasts(BETTER, BASE, "ets")
    # 0.6 * errors -> MSE about 64 % lower; a 70 % requirement is not met.
    strict = BlessingConfig(min_improvement_over_seasonal_naive=0.7)
    decision = bless(_mse(BETTER), _mse(BASE), baseline, None, strict)
    assert not decision.blessed and not decision.checks["seasonal_naive"]
    assert "short of the required 70%" in decision.reason
    worse = bless(_mse(BASE) * 1.1, _mse(BASE), baseline, None, BlessingConfig())
    assert not worse.blessed


def test_champion_rules():
    policy = BlessingConfig()
    significant = compare_forecasts(BETTER, BASE, "champion v3")
    assert bless(_mse(BETTER), 10.0, significant, significant, policy).blessed

    close = compare_forecasts(ALMOST, BASE, "champion v3")
    decision = bless(_mse(ALMOST), 10.0, close, close, policy)
    assert not decision.blessed and not decision.checks["champion"]
    assert "champion v3" in decision.reason
    assert ("not significantly" in decision.reason) or ("not lower" in decision.reason)

    lenient = BlessingConfig(champion_rule="not_worse")
    lower = _mse(ALMOST) <= _mse(BASE)
    assert bless(_mse(ALMOST), 10.0, close, close, lenient).checks["champion"] is lower
    worse = compare_forecasts(BASE, BETTER, "champion v3")
    assert not bless(_mse(BASE), 10.0, worse, worse, lenient).blessed


def test_best_baseline_rule_and_test_choice():
    close = compare_forecasts(ALMOST, BASE, "arima")
    loose = BlessingConfig()
    assert bless(_mse(ALMOST), 10.0, close, None, loose).blessed
    strict = BlessingConfig(require_beating_best_baseline=True, test="paired_t", loss="absolute")
    decision = bless(_mse(ALMOST), 10.0, close, None, strict)
    assert not decision.blessed and decision.checks["best_baseline"] is False
    assert "paired t-test" in decision.reason and "arima" in decision.reason


def test_advice_names_the_winning_baseline_in_words_and_is_silent_when_the_lstm_wins():
    metrics = {
        "model": {"mse": 4.0, "rmse": 2.0},
        "seasonal_naive": {"mse": 3.0, "rmse": 1.732},
        "ets": {"mse": 2.0, "rmse": 1.414},
    }
    advice = advice_when_baselines_win(metrics)
    assert advice.startswith("The LSTM does not beat seasonal naive")
    assert "best is ets with RMSE 1.414 against the LSTM's 2" in advice
    assert "tuning.max_trials" in advice
    metrics["model"] = {"mse": 2.5, "rmse": 1.581}
    assert "1 baseline(s) beat the LSTM on the test part (ets)" in advice_when_baselines_win(
        metrics
    )
    metrics["model"] = {"mse": 1.5, "mase": 0.8}
    assert advice_when_baselines_win(metrics) is None
