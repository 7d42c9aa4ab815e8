"""The final fit: a seed ensemble is one exportable model."""

from __future__ import annotations

import numpy as np

from lstm_model.config import TrainingConfig
from lstm_model.modeling.network import INPUT_NAME, Architecture
from lstm_model.modeling.training import train_ensemble


def test_seed_ensemble_is_one_exportable_model(trained, tmp_path):
    from lstm_model.delivery.export import export_saved_model, load_window_predictor

    _, data, _ = trained
    config = TrainingConfig(epochs=2, patience=1, ensemble_size=2)
    final = train_ensemble(data, Architecture(units=4), config, seed=1)
    assert final.seeds == [1, 2] and len(final.member_val_losses) == 2
    model = final.model
    assert model.inputs[0].name == INPUT_NAME
    members = [layer for layer in model.layers if layer.name.startswith("member_")]
    expected = np.mean([m.predict(data.x_test, verbose=0) for m in members], axis=0)
    np.testing.assert_allclose(model.predict(data.x_test, verbose=0), expected, rtol=1e-5)
    predict, _ = load_window_predictor(export_saved_model(model, data.transform, tmp_path / "e"))
    np.testing.assert_allclose(predict(data.x_test), expected, rtol=1e-4, atol=1e-6)
