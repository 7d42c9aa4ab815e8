"""The end-of-retrain summary: one metric family, the table best first, the deciding check,
and the baselines that beat the LSTM said in words."""

from __future__ import annotations

from flows.cli.summary import format_summary
from flows.retrain import RetrainResult
from lstm_model.evaluation.blessing import BlessingDecision

METRICS = {
    "model": {"mse": 4.0, "rmse": 2.0},
    "naive": {"mse": 9.0, "rmse": 3.0},
    "seasonal_naive": {"mse": 16.0, "rmse": 4.0},
    "ets": {"mse": 1.0, "rmse": 1.0},
}


def _result(blessed: bool, checks: dict[str, bool], champion_before: str | None = "1"):
    decision = BlessingDecision(blessed, checks, [f"why {name}" for name in checks])
    return RetrainResult(
        run_id="abc",
        model_name="m",
        version="2",
        champion=blessed,
        reason=decision.reason,
        pushed_to="model_store/m/2/model.tar.gz" if blessed else None,
        test_metrics=METRICS,
        blessing=decision,
        champion_before=champion_before,
        test_paths=24,
        horizon=1,
        coverage={80.0: 0.75, 95.0: 0.96},
        data_path="series.csv",
    )


def test_table_ranks_every_forecaster_by_test_mse_and_marks_the_lstm():
    text = format_summary(_result(True, {"seasonal_naive": True, "champion": True}))
    rows = [line.split()[1] for line in text.splitlines() if line[:4].strip().isdigit()]
    assert rows == ["ets", "LSTM", "naive", "seasonal"]
    assert "<- this model" in next(line for line in text.splitlines() if " LSTM " in line)
    assert "squared error" in text and "MASE" not in text
    assert "80 % covered 75%, 95 % covered 96%" in text


def test_a_shipped_model_beaten_by_a_baseline_is_said_in_words():
    text = format_summary(_result(True, {"seasonal_naive": True, "champion": True}))
    assert "ets (RMSE 1) forecast the test part better than the LSTM (RMSE 2)" in text
    assert "champion:       v2" in text and "a baseline above forecasts better" in text


def test_checks_are_listed_in_order_and_the_first_failure_decides():
    checks = {"seasonal_naive": True, "best_baseline": False, "champion": False}
    lines = format_summary(_result(False, checks)).splitlines()
    listed = [
        line for line in lines if line.startswith("  ") and line.strip()[:2] in ("1.", "2.", "3.")
    ]
    assert [line.strip()[:2] for line in listed] == ["1.", "2.", "3."]
    assert listed[0].endswith("why seasonal_naive") and "pass" in listed[0]
    assert listed[1].endswith("<- decided") and "FAIL" in listed[1]
    assert not listed[2].endswith("<- decided")
    assert "blessed:        no (decided by check 2" in "\n".join(lines)
    assert "champion:       unchanged (v1); v2 stays challenger" in lines


def test_panel_summary_ranks_by_mean_mase_with_win_shares_and_the_left_out_series():
    from flows.cli.summary import format_panel_summary
    from flows.retrain_panel import PanelRetrainResult

    decision = BlessingDecision(
        False, {"seasonal_naive": True, "series_share": False}, ["why 1", "why 2"]
    )
    summary = {
        "model/mean_mase": 0.9,
        "model/median_mase": 0.8,
        "ets/mean_mase": 0.85,
        "ets/median_mase": 0.7,
        "seasonal_naive/mean_mase": 1.2,
        "seasonal_naive/median_mase": 1.1,
        "lstm_beats/ets": 0.4,
        "lstm_beats/seasonal_naive": 0.7,
    }
    result = PanelRetrainResult(
        "abc", "m", "3", False, decision.reason, None, 40, {"z9": "too short"}, 12, summary,
        "ets", [("s7", 1.8)], {80.0: 0.79}, decision, "2", "panel.csv",
    )  # fmt: skip
    text = format_panel_summary(result)
    rows = [line.split()[1] for line in text.splitlines() if line[:4].strip().isdigit()]
    assert rows == ["ets", "LSTM", "seasonal"]
    assert "40% of series" in text and "70% of series" in text
    assert "furthest behind ets: s7 (1.80x)" in text and "z9: too short" in text
    assert "decided by check 2: not worse than seasonal naive on too many series" in text
    assert "unchanged (v2); v3 stays challenger" in text
