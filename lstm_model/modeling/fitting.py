"""How every network in the pipeline is fitted: on tf.data pipelines built once per fit.

Keras' ``fit`` on NumPy arrays wraps them in a fresh data adapter and iterator every epoch,
and evaluates the validation arrays the same way. On the few hundred windows of a typical
series that fixed cost (~0.1 s per epoch) is larger than the LSTM's own compute; cached,
prefetched datasets cut an epoch of a two-layer LSTM on 330 windows from 0.18 s to 0.08 s
(bench/speed.py has the whole-retrain effect).
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

# Validation windows are few; one batch evaluates them in one graph call.
VALIDATION_BATCH = 4096


def window_dataset(
    x: np.ndarray, y: np.ndarray, batch_size: int, shuffle_seed: int | None = None
) -> tf.data.Dataset:
    """Batches of (window, target) pairs, reshuffled every epoch when a seed is given.

    Shuffling reorders whole windows, each cut from one side of a split, so no value crosses a
    cut-off; the seed makes the order, and so the fit, reproducible.

    Args:
        x: Windows, (n, lookback, features).
        y: Targets, (n, outputs).
        batch_size: Windows per gradient step.
        shuffle_seed: None keeps chronological order (validation, evaluation).

    Returns:
        A cached, prefetched dataset.
    """
    dataset = tf.data.Dataset.from_tensor_slices(
        (np.asarray(x, dtype=np.float32), np.asarray(y, dtype=np.float32))
    ).cache()
    if shuffle_seed is not None:
        dataset = dataset.shuffle(len(x), seed=shuffle_seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def fit_windows(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    *,
    batch_size: int,
    epochs: int,
    seed: int,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    callbacks: list[keras.callbacks.Callback] | None = None,
    initial_epoch: int = 0,
) -> keras.callbacks.History:
    """``model.fit`` on shuffled training windows, with an optional validation set.

    Args:
        model: A compiled model.
        x: Training windows.
        y: Training targets.
        batch_size: Windows per gradient step.
        epochs: Last epoch (early stopping in ``callbacks`` may end sooner).
        seed: Seeds the per-epoch shuffle.
        validation: Validation windows and targets, scored after every epoch.
        callbacks: Keras callbacks (early stopping, logging).
        initial_epoch: First epoch (Hyperband resumes trials).

    Returns:
        Keras' History of the fit.
    """
    validation_data = (
        window_dataset(*validation, VALIDATION_BATCH) if validation is not None else None
    )
    history: keras.callbacks.History = model.fit(
        window_dataset(x, y, batch_size, shuffle_seed=seed),
        validation_data=validation_data,
        epochs=epochs,
        initial_epoch=initial_epoch,
        callbacks=callbacks,
        shuffle=False,  # the dataset reshuffles itself; Keras' flag only applies to arrays
        verbose=0,
    )
    return history


def initial_state(model: keras.Model) -> Callable[[], None]:
    """A function that puts ``model`` (weights and optimizer) back to its just-built state.

    Refitting one model from that state is the same fit as building it anew from the same
    seed, without Keras tracing its training and prediction graphs again (2-3 s per model,
    more than a whole fit of a small LSTM on a short series takes).

    Args:
        model: A compiled model, not yet fitted.

    Returns:
        The reset function.
    """
    model.optimizer.build(model.trainable_variables)
    weights = model.get_weights()
    optimizer_values = [variable.numpy() for variable in model.optimizer.variables]

    def reset() -> None:
        model.set_weights(weights)
        for variable, value in zip(model.optimizer.variables, optimizer_values, strict=True):
            variable.assign(value)

    return reset


def predict_windows(model: keras.Model, windows: np.ndarray) -> np.ndarray:
    """The model's outputs for ``windows``, in one graph whatever their number.

    ``model.predict`` on arrays traces a new graph for every new array length (the last
    batch's shape is baked in); a dataset with an unknown batch size is traced once.

    Args:
        model: A fitted model.
        windows: (n, lookback, features).

    Returns:
        The outputs, (n, outputs).
    """
    dataset = tf.data.Dataset.from_tensor_slices(np.asarray(windows, dtype=np.float32))
    forecast: np.ndarray = model.predict(dataset.batch(VALIDATION_BATCH), verbose=0)
    return forecast


# Ridge penalty relative to the mean diagonal of X'X: enough to keep a long, collinear window
# (seasonal lags, exogenous columns) well-posed, too little to shrink real structure.
RIDGE = 1e-3


def start_from_linear(model: keras.Model, x: np.ndarray, y: np.ndarray) -> bool:
    """Start the network at the ridge autoregression of the training windows (a hybrid).

    The linear path (``linear_skip``) gets the closed-form ridge solution on ``x`` -> ``y`` and
    the LSTM's head starts at zero, so the first epoch begins from a fitted linear model and the
    LSTM learns only what that model misses. Seasonally differenced, Box-Cox'd windows make that
    linear model an ARIMA-like forecaster; without it the network has to find the same linear
    structure by gradient descent from a random start, which on a few hundred windows it often
    does not (see README: accuracy levers).

    Args:
        model: A model built with ``linear_skip`` (otherwise nothing happens).
        x: Training windows (n, lookback, features), from the training rows only.
        y: Their targets (n,) or (n, h).

    Returns:
        Whether the model had a linear path to start.
    """
    names = {layer.name for layer in model.layers}
    if "linear_skip" not in names or "forecast" not in names:
        return False
    inputs = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    targets = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    design = np.column_stack([inputs, np.ones(len(inputs))])
    gram = design.T @ design
    penalty = RIDGE * np.trace(gram) / len(gram) * np.eye(len(gram))
    penalty[-1, -1] = 0.0  # the intercept is not shrunk
    solution = np.linalg.solve(gram + penalty, design.T @ targets)
    model.get_layer("linear_skip").set_weights([solution[:-1], solution[-1]])
    head = model.get_layer("forecast")
    head.set_weights([np.zeros_like(w) for w in head.get_weights()])
    return True


def limit_tensorflow_threads(threads: int) -> None:
    """Cap TensorFlow's thread pools in this process (a worker sharing a machine with others).

    TensorFlow fixes its pools when it runs its first operation, so this acts only before that;
    afterwards the process keeps what it started with (the local Dask cluster sets the same
    limits in its workers' environment before TensorFlow starts).

    Args:
        threads: Intra-op and inter-op threads.
    """
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        pass  # already running: its pools stay as they were
