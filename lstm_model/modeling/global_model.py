"""One LSTM for every series of a panel: fitted on the windows of all series at once.

The global model is the pipeline's network (:func:`~lstm_model.modeling.network.build_lstm`,
one input feature, a direct head of h steps) on windows normalised by their own inputs
(:mod:`~lstm_model.modeling.panel_windows`). Training windows are those whose targets lie in
each series' training part, validation windows those in its validation part; early stopping
watches the validation loss pooled over all series.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import keras
import numpy as np

from lstm_model.data.panel import Panel
from lstm_model.modeling.fitting import predict_windows
from lstm_model.modeling.network import Architecture, build_lstm
from lstm_model.modeling.panel_windows import (
    PanelSplit,
    denormalise,
    normalised_windows,
    window_dataset,
    window_origins,
)


@dataclass(frozen=True)
class GlobalFit:
    """The fitted global model and how its fit went.

    Attributes:
        model: Scaled windows (k, lookback, 1) -> scaled paths (k, h).
        lookback: Input steps.
        horizon: Steps forecast at once.
        best_epoch: Epoch (1-based) whose weights were kept.
        history: Keras' per-epoch ``loss`` and ``val_loss``.
        train_windows: Windows the model was fitted on, all series together.
    """

    model: keras.Model
    lookback: int
    horizon: int
    best_epoch: int
    history: dict[str, list[float]]
    train_windows: int


def fit_global(
    panel: Panel,
    split: PanelSplit,
    architecture: Architecture,
    *,
    lookback: int,
    horizon: int,
    epochs: int,
    patience: int,
    seed: int,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    loss: str = "mse",
) -> GlobalFit:
    """Fit one model on the training windows of every series, stopped on their validation.

    Args:
        panel: The series.
        split: Each series' parts; nothing after a series' training part is fitted on.
        architecture: Layers, units, optimizer, batch size... of the network.
        lookback: Input steps per window.
        horizon: Steps forecast at once.
        epochs: Most epochs.
        patience: Epochs without a better pooled validation loss before stopping.
        seed: Weights, dropout and the shuffle order.
        callbacks: More Keras callbacks (metrics logging, progress).
        loss: Keras loss on the normalised targets (``mse``, ``mae``, ``huber``).

    Returns:
        The model with its best weights restored, and the fit's record.

    Raises:
        ValueError: when no series has a training or validation window.
    """
    train = window_origins(split.starts, *split.part("train"), lookback, horizon)
    validation = window_origins(split.starts, *split.part("validation"), lookback, horizon)
    if len(train) == 0 or len(validation) == 0:
        raise ValueError(
            f"no series is long enough for lookback {lookback} and horizon {horizon} in both "
            "its training and validation parts"
        )
    keras.utils.set_random_seed(seed)
    model = build_lstm(lookback, 1, architecture, seed=seed, horizon=horizon, loss=loss)
    stopping = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=patience, restore_best_weights=True
    )
    history = model.fit(
        window_dataset(
            panel.values, train, lookback, horizon, architecture.batch_size, shuffle_seed=seed
        ),
        validation_data=window_dataset(panel.values, validation, lookback, horizon, 4096),
        epochs=epochs,
        callbacks=[stopping, *callbacks],
        shuffle=False,  # the dataset reshuffles the origins itself
        verbose=0,
    )
    losses = history.history
    best = int(np.argmin(losses["val_loss"])) + 1
    return GlobalFit(model, lookback, horizon, best, dict(losses), len(train))


def global_paths(fit: GlobalFit, values: np.ndarray, origins: np.ndarray) -> np.ndarray:
    """The model's h-step paths from ``origins`` in original units, (k, h).

    Each path uses only the ``lookback`` values before its origin, normalised by themselves.
    """
    x, _, location, scale = normalised_windows(values, origins, fit.lookback, fit.horizon)
    scaled = predict_windows(fit.model, x).reshape(len(origins), fit.horizon)
    return denormalise(scaled, location, scale)
