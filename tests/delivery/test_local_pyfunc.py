"""The locally trained panel's registered pyfunc: one version holds every series' SavedModel,
serves the global model's input and output contract and refuses ids it has no model for."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest
from conftest import LOCAL_ORIGINS

from lstm_model.delivery.export import load_serving, load_transform
from lstm_model.delivery.local_pyfunc import (
    LocalPanelForecaster,
    log_local_forecaster,
    write_local_models,
)
from lstm_model.delivery.package import extract_archive
from lstm_model.delivery.registry import KIND_TAG, LOCAL_STRATEGY, PANEL_KIND, STRATEGY_TAG
from lstm_model.errors import PipelineInputError

NAME = "local-panel"


@pytest.fixture
def registered(local_fits, active_run, tmp_path):
    """The two fits registered as one version; returns the loaded pyfunc and the long frame."""
    fits = [fit for _, fit in local_fits.values()]
    models = write_local_models(fits, "series_id", tmp_path / "models")
    # Interleaved rows: the pyfunc groups them by id itself.
    (first, _), (second, _) = local_fits["s1"], local_fits["s2"]
    frame = pd.DataFrame(
        {
            "series_id": np.ravel(np.column_stack([["s1"] * 120, ["s2"] * 120])),
            "value": np.ravel(np.column_stack([first, second])),
        }
    )
    version = log_local_forecaster(models, NAME, frame.head(30), {"blessed": "true"})
    assert version.tags[KIND_TAG] == PANEL_KIND and version.tags[STRATEGY_TAG] == LOCAL_STRATEGY
    assert version.tags["local_series"] == "2"
    return mlflow.pyfunc.load_model(f"models:/{NAME}/{version.version}"), frame


def test_forecast_of_every_series_is_its_own_saved_models_answer(registered, local_fits, tmp_path):
    loaded, frame = registered
    forecaster = loaded.unwrap_python_model()
    assert isinstance(forecaster, LocalPanelForecaster)
    assert forecaster.series_column == "series_id" and forecaster.horizon == 6
    table = loaded.predict(frame)
    assert list(table.columns) == [
        "series_id",
        "step",
        "prediction",
        "lo-80",
        "hi-80",
        "lo-95",
        "hi-95",
    ]
    assert table["series_id"].tolist() == ["s1"] * 6 + ["s2"] * 6
    for series_id, (values, fit) in local_fits.items():
        folder = extract_archive(fit.saved_model, tmp_path / series_id)
        warmup = load_transform(folder).warmup
        own = load_serving(folder)(values[-warmup:][np.newaxis, :, np.newaxis])
        rows = table[table["series_id"] == series_id]
        np.testing.assert_allclose(rows["prediction"], own["forecast"][0], rtol=1e-9)
        np.testing.assert_allclose(rows["lo-95"], own["lower_95"][0], rtol=1e-9)
        np.testing.assert_allclose(rows["hi-80"], own["upper_80"][0], rtol=1e-9)
    assert len(loaded.predict(frame, params={"steps": 2})) == 4


def test_paths_come_back_in_the_input_order_and_match_the_backtest(registered, local_fits):
    loaded, frame = registered
    paths = loaded.predict(frame, params={"output": "paths"}).to_numpy()
    assert paths.shape == (240, 6)
    # s1 ships its evaluated model: its paths at the backtest origins are the fit's own.
    s1_rows = np.flatnonzero(frame["series_id"] == "s1")
    _, fit = local_fits["s1"]
    np.testing.assert_allclose(paths[s1_rows[list(LOCAL_ORIGINS)]], fit.paths, rtol=1e-6)
    assert np.isnan(paths[s1_rows[0]]).all()  # no history before the first row


def test_a_series_without_a_model_is_refused_by_id(registered):
    loaded, frame = registered
    unknown = pd.concat([frame, pd.DataFrame({"series_id": ["zz"] * 30, "value": 1.0})])
    with pytest.raises(PipelineInputError, match="no model for series 'zz'.*retrain to add it"):
        loaded.predict(unknown)
    with pytest.raises(PipelineInputError, match="no model for series 'zz'"):
        loaded.predict(unknown, params={"output": "paths"})
