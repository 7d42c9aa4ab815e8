"""The analyze task: ADF/KPSS pick differencing, ACF/PACF pick season and lookback."""

from __future__ import annotations

import mlflow
import numpy as np
from conftest import make_series

from lstm_model.analysis import analyze_series, calendar_season, choose_differencing
from lstm_model.config import AnalysisConfig, PipelineConfig
from tasks.analysis import analyze

RNG = np.random.default_rng(0)


def test_white_noise_needs_no_differencing():
    order, checks = choose_differencing(RNG.normal(size=300), alpha=0.05, max_order=2)
    assert order == 0
    assert checks[0].adf_pvalue < 0.05 and checks[0].kpss_pvalue >= 0.05


def test_random_walk_is_differenced_once():
    walk = np.cumsum(np.random.default_rng(1).normal(size=300))
    order, checks = choose_differencing(walk, alpha=0.05, max_order=2)
    assert order == 1
    assert not checks[0].stationary and checks[1].stationary


def test_integrated_twice_is_differenced_twice():
    series = np.cumsum(np.cumsum(np.random.default_rng(2).normal(size=400)))
    assert choose_differencing(series, alpha=0.05, max_order=2)[0] == 2


def test_monthly_seasonal_series_gets_season_and_a_window_covering_it():
    values = make_series(240)["value"].to_numpy()
    analysis = analyze_series(values, "MS", AnalysisConfig())
    assert analysis.differencing == 1
    assert analysis.season == 12
    assert analysis.lookback >= 12


def test_ar2_lookback_follows_the_pacf_cutoff():
    rng = np.random.default_rng(3)
    x = np.zeros(600)
    for t in range(2, 600):
        x[t] = 0.6 * x[t - 1] - 0.3 * x[t - 2] + rng.normal()
    analysis = analyze_series(x, None, AnalysisConfig(min_lookback=1))
    assert analysis.differencing == 0
    assert analysis.season == 1
    assert 2 <= analysis.lookback <= 4


def test_lookback_is_bounded_by_config_and_by_data():
    values = make_series(240)["value"].to_numpy()
    analysis = analyze_series(values, "MS", AnalysisConfig(min_lookback=2, max_lookback=6))
    assert analysis.lookback == 6
    short = analyze_series(values[:40], "MS", AnalysisConfig())
    assert short.lookback <= 40 // 4


def test_calendar_seasons():
    assert calendar_season("MS") == 12
    assert calendar_season("QS-OCT") == 4
    assert calendar_season("YS-JAN") is None
    assert calendar_season(None) is None


def test_task_looks_at_the_training_part_only_and_logs(prefect_harness, active_run, tmp_path):
    frame = make_series(200)
    values = frame["value"].to_numpy()
    config = PipelineConfig()
    first = analyze(values, "MS", config, tmp_path)
    future_changed = values.copy()
    future_changed[-50:] = 1e6  # validation and test part
    second = analyze(future_changed, "MS", config, tmp_path)
    assert (first.differencing, first.season, first.lookback) == (
        second.differencing,
        second.season,
        second.lookback,
    )
    run = mlflow.get_run(active_run.info.run_id)
    assert run.data.params["season"] == "12"
    assert "adf_pvalue_d0" in run.data.metrics and "kpss_pvalue_d0" in run.data.metrics
    artifacts = {
        a.path for a in mlflow.MlflowClient().list_artifacts(active_run.info.run_id, "analysis")
    }
    assert {"analysis/acf.png", "analysis/pacf.png", "analysis/analysis.json"} <= artifacts
