"""The LSTM forecaster and the search space Keras Tuner explores."""

from __future__ import annotations

from dataclasses import dataclass

import keras
import keras_tuner as kt

from lstm_model.config import TuningConfig

# Serving key of the exported SavedModel; without a name Keras calls it "keras_tensor".
INPUT_NAME = "window"


@dataclass(frozen=True)
class Architecture:
    """Hyperparameters of one LSTM forecaster."""

    layers: int = 1
    units: int = 32
    dropout: float = 0.0
    learning_rate: float = 1e-3

    @classmethod
    def from_hyperparameters(cls, hp: kt.HyperParameters) -> Architecture:
        return cls(
            layers=int(hp.get("layers")),
            units=int(hp.get("units")),
            dropout=float(hp.get("dropout")),
            learning_rate=float(hp.get("learning_rate")),
        )


def build_lstm(lookback: int, n_features: int, architecture: Architecture) -> keras.Model:
    """A stack of LSTM layers and a linear head that forecasts the next scaled value.

    LSTM cells keep their default tanh/sigmoid activations: relu inside the recurrence lets the
    state grow without bound and is not what the fused kernels implement.

    Args:
        lookback: Window length.
        n_features: Values per time step.
        architecture: Layers, units, dropout and learning rate.

    Returns:
        A compiled model with MSE loss.
    """
    inputs = keras.Input(shape=(lookback, n_features), name=INPUT_NAME)
    x = inputs
    for layer in range(architecture.layers):
        last = layer == architecture.layers - 1
        x = keras.layers.LSTM(architecture.units, return_sequences=not last)(x)
        if architecture.dropout > 0:
            x = keras.layers.Dropout(architecture.dropout)(x)
    outputs = keras.layers.Dense(1, name="forecast")(x)
    model = keras.Model(inputs, outputs, name="lstm_forecaster")
    # Clipping guards against the exploding gradients LSTMs meet on unscaled spikes.
    optimizer = keras.optimizers.Adam(learning_rate=architecture.learning_rate, clipnorm=1.0)
    model.compile(optimizer=optimizer, loss="mse")
    return model


class LSTMHyperModel(kt.HyperModel):
    """Search space: layers, units, dropout and learning rate (log scale)."""

    def __init__(self, lookback: int, n_features: int, space: TuningConfig) -> None:
        super().__init__(name="lstm_forecaster")
        self.lookback = lookback
        self.n_features = n_features
        self.space = space

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        hp.Int("layers", 1, self.space.max_layers)
        hp.Choice("units", list(self.space.units))
        hp.Float("dropout", 0.0, self.space.max_dropout, step=0.1)
        hp.Float(
            "learning_rate",
            self.space.min_learning_rate,
            self.space.max_learning_rate,
            sampling="log",
        )
        return build_lstm(self.lookback, self.n_features, Architecture.from_hyperparameters(hp))
