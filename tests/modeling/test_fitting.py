"""How networks are fitted: reproducible tf.data fits, resets that equal a fresh build, and the
hybrid start at the ridge autoregression."""

from __future__ import annotations

import numpy as np

from lstm_model.modeling.fitting import fit_windows, initial_state, start_from_linear
from lstm_model.modeling.network import Architecture, build_lstm
from lstm_model.modeling.search import seed_everything

RNG = np.random.default_rng(0)
X = RNG.normal(size=(120, 6, 1)).astype("float32")
Y = (X[:, -1, 0] * 0.6 - X[:, -2, 0] * 0.3 + RNG.normal(0, 0.1, 120)).astype("float32")
ARCHITECTURE = Architecture(units=8, learning_rate=3e-3, linear_skip=True)


def _fresh_fit(seed: int) -> list[float]:
    seed_everything(seed)
    model = build_lstm(6, 1, ARCHITECTURE, seed=seed)
    history = fit_windows(model, X, Y, batch_size=16, epochs=4, seed=seed, validation=(X, Y))
    return history.history["val_loss"]


def test_fits_are_reproducible_and_a_reset_model_fits_like_a_fresh_one():
    first = _fresh_fit(3)
    assert _fresh_fit(3) == first
    seed_everything(3)
    model = build_lstm(6, 1, ARCHITECTURE, seed=3)
    reset = initial_state(model)
    fit_windows(model, X[:50], Y[:50], batch_size=16, epochs=2, seed=9)
    reset()
    seed_everything(3)
    again = fit_windows(model, X, Y, batch_size=16, epochs=4, seed=3, validation=(X, Y))
    np.testing.assert_allclose(again.history["val_loss"], first, rtol=1e-6)


def test_linear_start_is_the_ridge_autoregression_and_the_lstm_starts_silent():
    model = build_lstm(6, 1, ARCHITECTURE, seed=1)
    assert start_from_linear(model, X, Y)
    design = np.column_stack([X.reshape(120, -1), np.ones(120)])
    coefficients = np.linalg.lstsq(design, Y, rcond=None)[0]
    forecast = model.predict(X, verbose=0).reshape(-1)
    # The tiny ridge penalty moves the least-squares fit by far less than the noise.
    np.testing.assert_allclose(forecast, design @ coefficients, atol=0.02)
    np.testing.assert_allclose(coefficients[-3:-1], [-0.3, 0.6], atol=0.05)
    assert not start_from_linear(build_lstm(6, 1, Architecture(units=8), seed=1), X, Y)
