"""End to end: a panel's retrain (one global model for every series) on real Prefect, MLflow,
GX and TensorFlow, then its forecasts of every series through the registry."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest
from conftest import make_panel, make_series
from mlflow import MlflowClient

from flows.predict import write_future_forecast
from flows.retrain import retrain
from flows.runs import SkippedRetrain
from lstm_model.config import PipelineConfig
from lstm_model.delivery.registry import KIND_TAG, PANEL_KIND
from lstm_model.errors import PipelineInputError

MODEL = "panel-flow-test"
COLUMNS = ["prediction", "lo-80", "hi-80", "lo-95", "hi-95"]


@pytest.fixture(scope="module")
def panel_env(tmp_path_factory, prefect_harness):
    """A tracking store and a panel of 6 series, plus one series with a gap."""
    root = tmp_path_factory.mktemp("panel")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
        patch.chdir(root)
        frame = make_panel(6, 96)
        broken = frame[frame["series_id"] == "s0"].assign(series_id="gappy").drop(index=[10])
        csv = root / "panel.csv"
        pd.concat([frame, broken]).to_csv(csv, index=False)
        yield {"root": root, "csv": csv, "frame": frame}


@pytest.fixture(scope="module")
def config():
    return PipelineConfig().with_overrides(
        registry__model_name=MODEL,
        data__series_column="series_id",
        data__bad_series="skip",
        panel__units=8,
        panel__epochs=4,
        panel__patience=2,
        evaluation__baselines=("naive", "seasonal_naive", "ets", "theta"),
    )


@pytest.fixture(scope="module")
def first_run(panel_env, config):
    return retrain(str(panel_env["csv"]), config)


def test_one_version_is_registered_for_the_whole_panel(first_run):
    assert first_run.version == "1" and first_run.series == 6
    version = MlflowClient().get_model_version(MODEL, "1")
    assert version.tags[KIND_TAG] == PANEL_KIND
    assert version.tags["blessed"] in ("true", "false")
    assert first_run.horizon == 12  # the monthly default fits the 15 validation rows


def test_a_bad_series_is_reported_by_id_and_left_out_under_skip(first_run):
    assert list(first_run.excluded) == ["gappy"]
    assert "not the next MS step" in first_run.excluded["gappy"]
    run = mlflow.get_run(first_run.run_id)
    assert run.data.params["data.series"] == "6"


def test_run_logs_per_series_mase_for_every_forecaster_and_the_decisions(first_run):
    run = mlflow.get_run(first_run.run_id)
    for name in ("model", "seasonal_naive", "naive", "ets", "theta"):
        assert f"panel/{name}/mean_mase" in run.data.metrics
    assert 0.0 <= run.data.metrics["test/coverage_80"] <= 1.0
    assert run.data.params["panel.season"] == "12"  # the generated series are seasonal
    assert "season 12" in run.data.tags["panel_decisions"]
    artifacts = {a.path for a in MlflowClient().list_artifacts(first_run.run_id, "evaluation")}
    assert "evaluation/per_series.json" in artifacts
    plots = {a.path for a in MlflowClient().list_artifacts(first_run.run_id, "plots")}
    assert "plots/panel_mase_ratio.png" in plots
    assert set(first_run.summary) >= {"lstm_beats/seasonal_naive", "model/median_mase"}


def test_forecast_writes_h_rows_with_ordered_intervals_for_every_series(
    first_run, panel_env, tmp_path
):
    history = panel_env["frame"]
    csv = tmp_path / "history.csv"
    history.to_csv(csv, index=False)
    out = tmp_path / "forecast.csv"
    rows = write_future_forecast(str(csv), f"models:/{MODEL}/1", out)
    table = pd.read_csv(out, parse_dates=["timestamp"])
    assert rows == len(table) == 6 * 12
    ordered = ["lo-95", "lo-80", "prediction", "hi-80", "hi-95"]
    assert list(table.columns) == ["series_id", "timestamp", *sorted(ordered, key=COLUMNS.index)]
    first = table[table["series_id"] == "s0"]
    assert first["timestamp"].iloc[0] == pd.Timestamp("2008-01-01")  # after 96 months
    assert (np.diff(table[ordered].to_numpy(), axis=1) >= 0).all()


def test_a_series_never_seen_is_forecast_from_its_history(first_run, panel_env):
    model = mlflow.pyfunc.load_model(f"models:/{MODEL}/1")
    known = panel_env["frame"]
    new = known[known["series_id"] == "s2"].assign(
        series_id="brand-new", value=lambda f: f["value"] * 1000
    )
    both = pd.concat([known[known["series_id"] == "s2"], new])
    table = model.predict(both[["series_id", "value"]], params={"output": "forecast"})
    old = table[table["series_id"] == "s2"]["prediction"].to_numpy()
    scaled = table[table["series_id"] == "brand-new"]["prediction"].to_numpy()
    # Window normalisation: the same shape at a thousand times the level.
    np.testing.assert_allclose(scaled, 1000 * old, rtol=1e-4)


def test_paths_follow_the_input_rows_even_when_series_are_interleaved(first_run, panel_env):
    model = mlflow.pyfunc.load_model(f"models:/{MODEL}/1")
    frame = panel_env["frame"][["series_id", "value"]]
    grouped = model.predict(frame, params={"output": "paths"})
    shuffled_order = np.argsort(np.tile(np.arange(96), 6), kind="stable")  # time-major
    interleaved = model.predict(frame.iloc[shuffled_order], params={"output": "paths"})
    np.testing.assert_allclose(
        interleaved.to_numpy(), grouped.to_numpy()[shuffled_order], equal_nan=True
    )


@pytest.fixture(scope="module")
def champion_v1(first_run):
    """Version 1 as champion whether or not the tiny model was blessed."""
    MlflowClient().set_registered_model_alias(MODEL, "champion", "1")
    return "1"


def test_same_data_is_skipped_and_a_forced_run_is_compared_with_the_champion(
    champion_v1, panel_env, config
):
    again = retrain(str(panel_env["csv"]), config)
    assert isinstance(again, SkippedRetrain)
    forced = retrain(str(panel_env["csv"]), config, force=True)
    assert forced.version == "2" and forced.champion_before == champion_v1
    run = mlflow.get_run(forced.run_id)
    assert run.data.tags["compared_champion_version"] == "1"
    assert "compare/champion/dm_squared_p" in run.data.metrics


def test_a_single_series_run_refuses_a_panel_champion_before_training(
    champion_v1, config, tmp_path
):
    csv = tmp_path / "one.csv"
    make_series(120).to_csv(csv, index=False)
    single = config.with_overrides(data__series_column=None)
    single = PipelineConfig.model_validate(
        {**single.model_dump(), "data": {**single.data.model_dump(), "series_column": None}}
    )
    with pytest.raises(PipelineInputError, match="forecasts a panel"):
        retrain(str(csv), single)
