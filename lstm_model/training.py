"""Architecture search with Keras Tuner and the final fit with early stopping."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import keras
import keras_tuner as kt
import numpy as np

from lstm_model.config import TrainingConfig, TuningConfig
from lstm_model.model import Architecture, LSTMHyperModel, build_lstm
from lstm_model.preprocess import PreparedData

# Opens a tracking scope around one trial; yields a function that records the trial's result.
TrialScope = Callable[[str, dict], AbstractContextManager[Callable[[dict], None]]]


@dataclass(frozen=True)
class TrialSummary:
    trial_id: str
    hyperparameters: dict
    val_loss: float
    epochs: int
    seconds: float


@contextlib.contextmanager
def _untracked(trial_id: str, hyperparameters: dict) -> Iterator[Callable[[dict], None]]:
    yield lambda result: None


class TrackedRandomSearch(kt.RandomSearch):
    """RandomSearch that opens a tracking scope (e.g. an MLflow nested run) around each trial."""

    def __init__(self, *args, trial_scope: TrialScope | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.trial_scope = trial_scope or _untracked
        self.summaries: list[TrialSummary] = []

    def run_trial(self, trial, *args, **kwargs):
        hyperparameters = dict(trial.hyperparameters.values)
        started = time.perf_counter()
        with self.trial_scope(trial.trial_id, hyperparameters) as record:
            histories = super().run_trial(trial, *args, **kwargs)
            losses = [h.history["val_loss"] for h in histories]
            summary = TrialSummary(
                trial.trial_id,
                hyperparameters,
                float(np.mean([min(loss) for loss in losses])),
                max(len(loss) for loss in losses),
                time.perf_counter() - started,
            )
            record(
                {"val_loss": summary.val_loss, "epochs": summary.epochs, "seconds": summary.seconds}
            )
        self.summaries.append(summary)
        return histories


def seed_everything(seed: int) -> None:
    """Python, NumPy and TensorFlow seeds in one call (Keras 3)."""
    keras.utils.set_random_seed(seed)


def search_architecture(
    data: PreparedData,
    config: TuningConfig,
    work_dir: Path,
    seed: int,
    trial_scope: TrialScope | None = None,
    callbacks: list[keras.callbacks.Callback] | None = None,
) -> tuple[Architecture, list[TrialSummary]]:
    """Random search over the LSTM space, scored by validation loss.

    Args:
        data: Windows of each split.
        config: Search space and budget.
        work_dir: Where the tuner keeps its trial state.
        seed: Seeds the tuner's sampling and every trial's initial weights.
        trial_scope: Tracking scope around each trial.
        callbacks: Extra Keras callbacks for every trial (e.g. per-epoch logging).

    Returns:
        The best architecture and a summary of each trial.
    """
    seed_everything(seed)
    tuner = TrackedRandomSearch(
        LSTMHyperModel(data.transform.lookback, data.x_train.shape[-1], config),
        objective="val_loss",
        max_trials=config.max_trials,
        seed=seed,
        directory=str(work_dir),
        project_name="search",
        overwrite=True,
        trial_scope=trial_scope,
    )
    early_stopping = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=config.patience, restore_best_weights=True
    )
    tuner.search(
        data.x_train,
        data.y_train,
        validation_data=(data.x_validation, data.y_validation),
        epochs=config.epochs,
        batch_size=config.batch_size,
        shuffle=True,  # shuffles windows within the training part only; each is self-contained
        callbacks=[early_stopping, *(callbacks or [])],
        verbose=0,
    )
    best = tuner.get_best_hyperparameters(1)[0]
    return Architecture.from_hyperparameters(best), tuner.summaries


def train_final(
    data: PreparedData,
    architecture: Architecture,
    config: TrainingConfig,
    seed: int,
    callbacks: list[keras.callbacks.Callback] | None = None,
) -> tuple[keras.Model, dict[str, list[float]]]:
    """Fit the chosen architecture with early stopping on validation loss.

    Returns:
        The model holding its best-validation weights, and the loss history per epoch.
    """
    seed_everything(seed)
    model = build_lstm(data.transform.lookback, data.x_train.shape[-1], architecture)
    history = model.fit(
        data.x_train,
        data.y_train,
        validation_data=(data.x_validation, data.y_validation),
        epochs=config.epochs,
        batch_size=config.batch_size,
        shuffle=True,
        callbacks=[
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=config.patience, restore_best_weights=True
            ),
            *(callbacks or []),
        ],
        verbose=0,
    )
    return model, {key: [float(v) for v in values] for key, values in history.history.items()}
