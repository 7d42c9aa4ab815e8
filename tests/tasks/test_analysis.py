"""The analyze task: the training part only, decisions and plots logged, warnings raised."""

from __future__ import annotations

import mlflow
import numpy as np
from conftest import as_series, make_series

from lstm_model.config import PipelineConfig
from tasks.analysis import analyze

RNG = np.random.default_rng(0)


def test_task_looks_at_the_training_part_only_and_logs(prefect_harness, active_run, tmp_path):
    frame = make_series(200)
    values = frame["value"].to_numpy()
    config = PipelineConfig().with_overrides(
        analysis__candidate_folds=1, analysis__candidate_epochs=3
    )
    first = analyze(as_series(values, "MS"), config, tmp_path)
    future_changed = values.copy()
    future_changed[-30:] = 1e6  # the test part: validation rows may score candidates, test never
    # Exogenous columns ride along in columns 1..k; the analysis reads the target only.
    second = analyze(
        as_series(np.column_stack([future_changed, RNG.normal(size=200)]), "MS"), config, tmp_path
    )
    assert first == second
    run = mlflow.get_run(active_run.info.run_id)
    assert run.data.params["season"] == "12"
    assert run.data.params["seasonal_differencing"] == "1"
    expected_metrics = {"adf_pvalue_d0", "kpss_pvalue_d0", "adf_pvalue_d0_D1", "seasonal_strength"}
    assert {f"analysis/{key}" for key in expected_metrics} <= set(run.data.metrics)
    assert "analysis/series_ljung_box_pvalue" in run.data.metrics
    assert run.data.tags["white_noise"] == "false"
    artifacts = {
        a.path for a in mlflow.MlflowClient().list_artifacts(active_run.info.run_id, "analysis")
    }
    expected = {"acf.png", "pacf.png", "stl.png", "analysis.json"}
    assert {f"analysis/{name}" for name in expected} <= artifacts
    report = mlflow.artifacts.load_dict(f"runs:/{active_run.info.run_id}/analysis/analysis.json")
    assert report["seasonal_differencing"] == 1 and report["checks"][0]["verdict"]


def test_task_warns_on_white_noise(prefect_harness, active_run, tmp_path):
    config = PipelineConfig().with_overrides(analysis__candidate_epochs=3)
    analyze(as_series(RNG.normal(size=200), None), config, tmp_path)
    tags = mlflow.get_run(active_run.info.run_id).data.tags
    assert tags["white_noise"] == "true"
    assert "Ljung-Box" in tags["analysis_warning"]
