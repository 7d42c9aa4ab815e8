"""The LSTM forecaster, the search space Keras Tuner explores, and seed ensembles."""

from __future__ import annotations

from dataclasses import dataclass, fields

import keras
import keras_tuner as kt

from lstm_model.config import TuningConfig

# Serving key of the exported SavedModel; without a name Keras calls it "keras_tensor".
INPUT_NAME = "window"


@dataclass(frozen=True)
class Architecture:
    """Hyperparameters of one LSTM forecaster, including how it is fed and fitted.

    ``lookback`` is None when the model takes the analysis' lookback (the default); it is set
    only when the search chose another one.
    """

    layers: int = 1
    units: int = 32
    activation: str = "tanh"
    dropout: float = 0.0
    recurrent_dropout: float = 0.0
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    batch_size: int = 32
    lookback: int | None = None
    linear_skip: bool = False
    linear_start: bool = False

    @classmethod
    def from_hyperparameters(cls, hp: kt.HyperParameters) -> Architecture:
        """Read the searched values; knobs absent from the space keep their defaults."""
        values = hp.values
        kwargs = {f.name: values[f.name] for f in fields(cls) if f.name in values}
        return cls(**kwargs)


def make_optimizer(
    name: str, learning_rate: float, momentum: float = 0.9
) -> keras.optimizers.Optimizer:
    """Adam, RMSprop or SGD with (Nesterov) momentum, all with gradient clipping.

    Clipping guards against the exploding gradients LSTMs meet on spikes.
    """
    if name == "adam":
        return keras.optimizers.Adam(learning_rate=learning_rate, clipnorm=1.0)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate=learning_rate, clipnorm=1.0)
    if name == "sgd":
        return keras.optimizers.SGD(
            learning_rate=learning_rate, momentum=momentum, nesterov=True, clipnorm=1.0
        )
    raise ValueError(f"unknown optimizer {name!r}: use adam, rmsprop or sgd")


def build_lstm(
    lookback: int,
    n_features: int,
    architecture: Architecture,
    sgd_momentum: float = 0.9,
    name: str = "lstm_forecaster",
    seed: int | None = None,
    horizon: int = 1,
    loss: str = "mse",
) -> keras.Model:
    """A stack of LSTM layers and a linear head that forecasts the next ``horizon`` scaled
    values at once (a direct, multi-output head: no forecast is fed back as an input).

    Every LSTM but the last returns its whole sequence, so the next one reads all steps.
    ``tanh`` is the default cell activation: with ``relu`` the recurrent state is unbounded and
    can blow up over long windows, and the fused (cuDNN) kernel only implements tanh. ``relu``
    stays available because on short, well-scaled windows it sometimes trains faster.

    Args:
        lookback: Window length.
        n_features: Values per time step.
        architecture: Layers, units, activation, dropouts, optimizer and learning rate.
        sgd_momentum: Momentum when the optimizer is SGD.
        name: Model name (members of an ensemble need distinct names).
        seed: Seeds every initializer and dropout mask explicitly. Unseeded layers draw their
            seeds from Python's global ``random``, which background threads (Prefect's
            clients, servers) also consume, so a global seed alone does not fix the weights.
        horizon: Steps forecast at once; the loss is averaged over all of them.
        loss: Keras loss name: ``mse`` (the single-series pipeline), ``mae`` or ``huber``.

    Returns:
        A compiled model.
    """
    seeds = iter(range(seed * 1000, seed * 1000 + 1000)) if seed is not None else None

    def next_seed() -> int | None:
        return next(seeds) if seeds is not None else None

    inputs = keras.Input(shape=(lookback, n_features), name=INPUT_NAME)
    x = inputs
    for layer in range(architecture.layers):
        last = layer == architecture.layers - 1
        x = keras.layers.LSTM(
            architecture.units,
            activation=architecture.activation,
            recurrent_dropout=architecture.recurrent_dropout,
            return_sequences=not last,
            kernel_initializer=keras.initializers.GlorotUniform(seed=next_seed()),
            recurrent_initializer=keras.initializers.Orthogonal(seed=next_seed()),
            seed=next_seed(),
        )(x)
        if architecture.dropout > 0:
            x = keras.layers.Dropout(architecture.dropout, seed=next_seed())(x)
    outputs = keras.layers.Dense(
        horizon,
        name="forecast",
        kernel_initializer=keras.initializers.GlorotUniform(seed=next_seed()),
    )(x)
    if architecture.linear_skip:
        # A linear autoregression on the window beside the LSTM (LSTNet's "highway"): the
        # linear part captures what an AR(lookback) model would, the LSTM the rest. Starts at
        # zero so the LSTM alone is the initial model.
        linear = keras.layers.Dense(horizon, name="linear_skip", kernel_initializer="zeros")(
            keras.layers.Flatten(name="window_flat")(inputs)
        )
        outputs = keras.layers.Add(name="forecast_sum")([outputs, linear])
    model = keras.Model(inputs, outputs, name=name)
    optimizer = make_optimizer(architecture.optimizer, architecture.learning_rate, sgd_momentum)
    model.compile(optimizer=optimizer, loss=loss)
    return model


def average_models(members: list[keras.Model]) -> keras.Model:
    """One Keras model whose forecast is the mean of its members' forecasts.

    It keeps the members' input name and shape, so export and serving do not change.

    Args:
        members: Fitted models with the same input shape.

    Returns:
        The ensemble (the single member itself when there is one).
    """
    if len(members) == 1:
        return members[0]
    inputs = keras.Input(shape=members[0].input_shape[1:], name=INPUT_NAME)
    outputs = keras.layers.Average(name="forecast_mean")([member(inputs) for member in members])
    return keras.Model(inputs, outputs, name="lstm_ensemble")


def lookback_choices(lookback: int, multipliers: tuple[float, ...]) -> list[int]:
    """The analysis' lookback and ``round(lookback * m)`` for each multiplier, distinct, sorted."""
    return sorted({lookback, *(max(1, round(lookback * m)) for m in multipliers)})


def define_space(hp: kt.HyperParameters, space: TuningConfig, lookback: int) -> None:
    """Declare every searched knob on ``hp``; a knob with one choice is fixed, not searched."""
    hp.Int("layers", space.min_layers, space.max_layers)
    hp.Choice("units", list(space.units))
    hp.Choice("activation", list(space.activations))
    for name, most in (
        ("dropout", space.max_dropout),
        ("recurrent_dropout", space.max_recurrent_dropout),
    ):
        if most > 0:
            hp.Float(name, 0.0, most, step=0.1)
        else:
            hp.Fixed(name, 0.0)
    hp.Choice("optimizer", list(space.optimizers))
    hp.Float("learning_rate", space.min_learning_rate, space.max_learning_rate, sampling="log")
    hp.Choice("batch_size", list(space.batch_sizes))
    hp.Choice("lookback", lookback_choices(lookback, space.lookback_multipliers))
    hp.Fixed("linear_skip", space.linear_skip)
    hp.Fixed("linear_start", space.linear_skip and space.linear_start)
