"""The final fit: the searched architecture, early stopping, optionally a seed ensemble."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np

from lstm_model.config import TrainingConfig
from lstm_model.modeling.fitting import fit_windows, start_from_linear
from lstm_model.modeling.folds import refit_transform
from lstm_model.modeling.network import Architecture, average_models, build_lstm
from lstm_model.modeling.preparation import PreparedData
from lstm_model.modeling.search import seed_everything
from lstm_model.modeling.transform import SeriesTransform


def with_lookback(data: PreparedData, lookback: int | None) -> PreparedData:
    """``data`` re-windowed for another lookback.

    The scaler is fitted on the differenced training values and does not depend on the window
    length, so the transform keeps its parameters and only the windows are cut again.
    Returns ``data`` itself when the lookback is unchanged (or None).
    """
    if lookback is None or lookback == data.transform.lookback:
        return data
    transform = dataclasses.replace(data.transform, lookback=lookback)
    train, validation, test = (
        transform.windows(data.values, *bounds)
        for bounds in (data.bounds.train, data.bounds.validation, data.bounds.test)
    )
    return dataclasses.replace(
        data,
        transform=transform,
        x_train=train[0],
        y_train=train[1],
        x_validation=validation[0],
        y_validation=validation[1],
        x_test=test[0],
        y_test=test[1],
    )


def train_final(
    data: PreparedData,
    architecture: Architecture,
    config: TrainingConfig,
    seed: int,
    callbacks: list[keras.callbacks.Callback] | None = None,
    name: str = "lstm_forecaster",
    sgd_momentum: float = 0.9,
) -> tuple[keras.Model, dict[str, list[float]]]:
    """Fit the chosen architecture with early stopping on validation loss.

    Args:
        data: Windows of each split; their lookback must be the architecture's.
        architecture: What to build, with its batch size.
        config: Epochs and patience.
        seed: Seeds the initial weights, dropout masks and shuffling.
        callbacks: Extra Keras callbacks (e.g. per-epoch logging).
        name: Model name.
        sgd_momentum: Momentum when the optimizer is SGD.

    Returns:
        The model holding its best-validation weights, and the loss history per epoch.
    """
    seed_everything(seed)
    model = build_lstm(
        data.transform.lookback,
        data.x_train.shape[-1],
        architecture,
        sgd_momentum,
        name,
        seed,
        data.transform.horizon,
    )
    if architecture.linear_start:
        start_from_linear(model, data.x_train, data.y_train)
    history = fit_windows(
        model,
        data.x_train,
        data.y_train,
        validation=(data.x_validation, data.y_validation),
        epochs=config.epochs,
        batch_size=architecture.batch_size,
        seed=seed,
        callbacks=[
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=config.patience, restore_best_weights=True
            ),
            *(callbacks or []),
        ],
    )
    return model, {key: [float(v) for v in values] for key, values in history.history.items()}


@dataclass(frozen=True)
class FinalModel:
    """The fitted forecaster (one Keras model even for an ensemble) and how each member did."""

    model: keras.Model
    seeds: list[int]
    histories: list[dict[str, list[float]]]
    member_val_losses: list[float]


def train_ensemble(
    data: PreparedData,
    architecture: Architecture,
    config: TrainingConfig,
    seed: int,
    callbacks_for: Callable[[int], list[keras.callbacks.Callback]] | None = None,
    sgd_momentum: float = 0.9,
) -> FinalModel:
    """Fit ``config.ensemble_size`` members with seeds ``seed, seed + 1, ...`` and average them.

    LSTMs on small series are seed-sensitive; averaging members trained from different seeds
    cuts that variance. The result is a single Keras model with the same named input, so export
    and serving are the same as for one member.

    Args:
        data: Windows of each split, already cut for the architecture's lookback.
        architecture: What to build.
        config: Epochs, patience and ensemble size.
        seed: First member's seed.
        callbacks_for: ``member index -> callbacks`` (e.g. per-member loss logging).
        sgd_momentum: Momentum when the optimizer is SGD.

    Returns:
        The averaged model with each member's history and best validation loss.
    """
    seeds = [seed + i for i in range(config.ensemble_size)]
    members, histories = [], []
    for i, member_seed in enumerate(seeds):
        member, history = train_final(
            data,
            architecture,
            config,
            member_seed,
            callbacks=callbacks_for(i) if callbacks_for else None,
            name=_member_name(i, len(seeds)),
            sgd_momentum=sgd_momentum,
        )
        members.append(member)
        histories.append(history)
    return FinalModel(
        _ensemble(members), seeds, histories, [float(np.min(h["val_loss"])) for h in histories]
    )


def best_epochs(final: FinalModel) -> list[int]:
    """Each member's epoch of lowest validation loss (1-based): what early stopping kept."""
    return [int(np.argmin(history["val_loss"])) + 1 for history in final.histories]


@dataclass(frozen=True)
class RefitModel:
    """The evaluated procedure refitted on every row of the series, ready to ship."""

    model: keras.Model
    transform: SeriesTransform
    rows: int
    windows: int
    epochs: list[int]


def refit_on_full_history(
    data: PreparedData,
    architecture: Architecture,
    evaluated: FinalModel,
    callbacks_for: Callable[[int], list[keras.callbacks.Callback]] | None = None,
    sgd_momentum: float = 0.9,
) -> RefitModel:
    """Refit the evaluated procedure on all rows: what a forecaster in production learns from.

    The evaluation, comparison and blessing judged the *procedure* (preprocessing, architecture,
    seeds, epochs) on data it had not seen; this repeats it on every row so the shipped model
    knows the newest observations. The transform (Box-Cox lambda, differencing and lookback
    unchanged) gets its scalers fitted on all rows, and each member trains from the same seed
    for the number of epochs early stopping kept in the evaluated fit: with no held-out rows
    left, that count is the only honest stopping rule, and the same number of passes over a
    longer series means proportionally more updates, which the extra data supports.

    Args:
        data: The prepared series (all splits).
        architecture: The searched architecture.
        evaluated: The evaluated fit, whose members' best epochs and seeds are reused.
        callbacks_for: ``member index -> callbacks`` (e.g. per-epoch logging).
        sgd_momentum: Momentum when the optimizer is SGD.

    Returns:
        The refitted model (one Keras model even for an ensemble) and its transform.
    """
    transform = refit_transform(data.transform, data.values, data.transform.lookback)
    x, y = transform.windows(data.values, 0, len(data.values))
    epochs = best_epochs(evaluated)
    members = []
    for i, (member_seed, member_epochs) in enumerate(zip(evaluated.seeds, epochs, strict=True)):
        seed_everything(member_seed)
        member = build_lstm(
            transform.lookback,
            x.shape[-1],
            architecture,
            sgd_momentum,
            _member_name(i, len(epochs)),
            member_seed,
            transform.horizon,
        )
        if architecture.linear_start:
            start_from_linear(member, x, y)
        fit_windows(
            member,
            x,
            y,
            epochs=member_epochs,
            batch_size=architecture.batch_size,
            seed=member_seed,
            callbacks=callbacks_for(i) if callbacks_for else None,
        )
        members.append(member)
    return RefitModel(_ensemble(members), transform, len(data.values), len(y), epochs)


def _member_name(index: int, count: int) -> str:
    """Members of an ensemble need distinct names inside the averaged model."""
    return f"member_{index}" if count > 1 else "lstm_forecaster"


def _ensemble(members: list[keras.Model]) -> keras.Model:
    """The members averaged into one model (the member itself when there is one)."""
    model = average_models(members)
    if len(members) > 1:
        model.compile(loss="mse")  # for evaluate(); the members keep their own optimizers
    return model
