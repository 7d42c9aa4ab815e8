"""The LSTM builder: every knob of the search space, and the named input."""

from __future__ import annotations

import pytest

from lstm_model.modeling.network import INPUT_NAME, Architecture, build_lstm, lookback_choices


def test_model_every_knob_and_named_input():
    architecture = Architecture(
        layers=3, units=4, activation="relu", dropout=0.1, recurrent_dropout=0.1, optimizer="sgd"
    )
    model = build_lstm(7, 1, architecture)
    assert model.inputs[0].name == INPUT_NAME
    assert model.output.shape == (None, 1)
    lstms = [layer for layer in model.layers if layer.__class__.__name__ == "LSTM"]
    assert [layer.return_sequences for layer in lstms] == [True, True, False]
    assert {layer.activation.__name__ for layer in lstms} == {"relu"}
    assert lstms[0].recurrent_dropout == pytest.approx(0.1)
    assert model.optimizer.__class__.__name__ == "SGD"
    assert float(model.optimizer.momentum) == pytest.approx(0.9)
    assert lookback_choices(12, (0.5, 1.0, 2.0)) == [6, 12, 24]


@pytest.mark.parametrize("linear_skip", [False, True])
def test_direct_head_forecasts_the_whole_horizon_at_once(linear_skip):
    import numpy as np

    model = build_lstm(6, 2, Architecture(units=4, linear_skip=linear_skip), seed=0, horizon=5)
    windows = np.random.default_rng(0).normal(size=(3, 6, 2)).astype("float32")
    assert model.predict(windows, verbose=0).shape == (3, 5)
    targets = np.zeros((3, 5), dtype="float32")
    assert np.isfinite(model.evaluate(windows, targets, verbose=0))  # mean loss over 5 steps
