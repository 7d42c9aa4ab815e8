"""The service with an exogenous column, over /invocations rows and /predict."""

from __future__ import annotations

import httpx
import numpy as np
import pytest

from lstm_model.config import ServeConfig
from lstm_model.delivery.export import export_saved_model
from lstm_model.modeling.forecast import one_step_forecasts
from lstm_model.service import BackgroundServer, build_service


def test_exogenous_columns_over_both_contracts(tmp_path):
    """A model with an exogenous column: rows [value, temp] per step, same forecasts as the
    pipeline's (untrained weights are enough to check the plumbing)."""
    import keras
    from conftest import make_series

    from lstm_model.modeling.network import Architecture, build_lstm
    from lstm_model.modeling.preparation import prepare

    keras.utils.set_random_seed(3)
    values = make_series(80)["value"].to_numpy()
    temp = np.cos(np.arange(80) / 5.0) * 10 + 20
    matrix = np.column_stack([values, temp])
    data = prepare(matrix, 1, 6, 0.15, 0.15, columns=("value", "temp"))
    model = build_lstm(6, 2, Architecture(units=4))
    directory = export_saved_model(model, data.transform, tmp_path / "exog")
    expected = one_step_forecasts(lambda w: model.predict(w, verbose=0), data.transform, matrix)
    service = build_service(str(directory), ServeConfig(), None)
    warmup = data.transform.warmup
    with BackgroundServer(service.app) as server, httpx.Client(base_url=server.url) as client:
        assert client.get("/health").json()["columns"] == ["value", "temp"]
        rows = matrix[-warmup:].tolist()
        invoked = client.post("/invocations", json={"instances": [rows]})
        predicted = client.post(
            "/predict", json={"values": values.tolist(), "exogenous": {"temp": temp.tolist()}}
        )
        flat = client.post("/invocations", json={"instances": [values[-warmup:].tolist()]})
        missing = client.post("/predict", json={"values": values.tolist()})
    # One output (no intervals): TF Serving answers each window's values directly.
    assert invoked.json()["predictions"][0] == pytest.approx([expected[80]], rel=1e-5)
    assert predicted.json()["forecasts"][0]["value"] == pytest.approx(expected[80], rel=1e-5)
    assert flat.status_code == 422 and "must be a row of 2 numbers" in flat.json()["error"]
    assert missing.status_code == 422 and "['temp']" in missing.json()["error"]
