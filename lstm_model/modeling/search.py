"""Architecture search: the hypermodel, tracked tuners and a time budget.

Every tuner (random, Bayesian optimisation, Hyperband) runs the same hypermodel, which cuts its
own windows for the lookback a trial asks for and scores a trial either on the validation part
or on k expanding walk-forward folds, each with a transform fitted on that fold's training rows
only.
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import keras_tuner as kt
import numpy as np

from lstm_model.config import TuningConfig
from lstm_model.modeling.fitting import fit_windows, start_from_linear
from lstm_model.modeling.folds import Fold, walk_forward_folds
from lstm_model.modeling.network import Architecture, build_lstm, define_space
from lstm_model.modeling.preparation import PreparedData

# Opens a tracking scope around one trial; yields a function that records the trial's result.
TrialScope = Callable[
    [str, dict[str, Any]], AbstractContextManager[Callable[[dict[str, float]], None]]
]
# Fresh Keras callbacks for one fit: fold 0 is the plain validation split, 1..k the walk-forward
# folds (so e.g. per-epoch loggers can keep the folds' curves apart).
CallbacksFactory = Callable[[int], list[keras.callbacks.Callback]]


# keras-tuner is untyped: its base classes are Any to mypy (hence the ignores below).
class ForecastHyperModel(kt.HyperModel):  # type: ignore[misc]
    """The LSTM search space, fitted on windows of the lookback each trial picks.

    Args:
        data: The prepared series.
        space: Search space, folds and per-trial epochs/patience.
        seed: Seeds every trial's initial weights.
        callbacks_for: ``fold -> callbacks`` added to every fit (fold 0: the plain split).
    """

    def __init__(
        self,
        data: PreparedData,
        space: TuningConfig,
        seed: int | None = None,
        callbacks_for: CallbacksFactory | None = None,
    ) -> None:
        super().__init__(name="lstm_forecaster")
        self.data = data
        self.space = space
        self.seed = seed
        self.callbacks_for = callbacks_for or _no_callbacks
        self.n_features = int(data.x_train.shape[-1])
        self._folds: dict[int, list[Fold]] = {}

    def folds(self, lookback: int) -> list[Fold]:
        """Folds for ``lookback``, cut once and reused by every trial that asks for it."""
        if lookback not in self._folds:
            self._folds[lookback] = walk_forward_folds(self.data, lookback, self.space.cv_folds)
        return self._folds[lookback]

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        define_space(hp, self.space, self.data.transform.lookback)
        architecture = Architecture.from_hyperparameters(hp)
        return build_lstm(
            _lookback(architecture),
            self.n_features,
            architecture,
            self.space.sgd_momentum,
            seed=self.seed,
            horizon=self.data.transform.horizon,
        )

    def fit(
        self,
        hp: kt.HyperParameters,
        model: keras.Model,
        *args: Any,
        callbacks: list[keras.callbacks.Callback] | None = None,
        epochs: int | None = None,
        initial_epoch: int = 0,
        **kwargs: Any,
    ) -> Any:
        """Fit on the trial's windows with early stopping; the objective is ``val_loss``.

        The tuner's ``x``/``y`` are ignored: the windows depend on the trial's lookback.

        Returns:
            The History for a single split; for walk-forward folds a dict with the mean of the
            folds' best validation losses (``val_loss``), each fold's, and the epochs run.
        """
        architecture = Architecture.from_hyperparameters(hp)
        folds = self.folds(_lookback(architecture))
        callbacks = list(callbacks or [])
        fit = {
            "batch_size": architecture.batch_size,
            "epochs": epochs or self.space.epochs,
            "seed": self.seed or 0,
        }
        early_stopping = keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=self.space.patience, restore_best_weights=True
        )
        if len(folds) == 1:
            fold = folds[0]
            if architecture.linear_start and initial_epoch == 0:
                start_from_linear(model, fold.x_train, fold.y_train)
            return fit_windows(
                model,
                fold.x_train,
                fold.y_train,
                validation=(fold.x_validation, fold.y_validation),
                callbacks=[early_stopping, *callbacks, *self.callbacks_for(0)],
                initial_epoch=initial_epoch,
                **fit,
            )
        results, epochs_run = {}, 0
        for i, fold in enumerate(folds, start=1):
            last = i == len(folds)
            # The tuner's model (Hyperband may have loaded weights into it) fits the last fold.
            fold_model = model if last else self.build(hp)
            if architecture.linear_start and (initial_epoch == 0 or not last):
                start_from_linear(fold_model, fold.x_train, fold.y_train)
            history = fit_windows(
                fold_model,
                fold.x_train,
                fold.y_train,
                validation=(fold.x_validation, fold.y_validation),
                callbacks=[copy.copy(early_stopping), *callbacks, *self.callbacks_for(i)],
                initial_epoch=initial_epoch if last else 0,
                **fit,
            )
            results[f"fold{i}_val_loss"] = float(np.min(history.history["val_loss"]))
            epochs_run = max(epochs_run, len(history.history["val_loss"]))
        return {
            "val_loss": float(np.mean(list(results.values()))),
            "epochs": float(epochs_run),
            **results,
        }


def _no_callbacks(fold: int) -> list[keras.callbacks.Callback]:
    return []


def _lookback(architecture: Architecture) -> int:
    """The trial's lookback: define_space always puts one in the hyperparameters."""
    assert architecture.lookback is not None, "the search space always chooses a lookback"
    return architecture.lookback


@dataclass(frozen=True)
class TrialSummary:
    trial_id: str
    hyperparameters: dict[str, Any]
    val_loss: float
    epochs: int
    seconds: float


@contextlib.contextmanager
def _untracked(
    trial_id: str, hyperparameters: dict[str, Any]
) -> Iterator[Callable[[dict[str, float]], None]]:
    yield _ignore


def _ignore(result: dict[str, float]) -> None:
    pass


def _objective_and_epochs(result: Any) -> tuple[float, int]:
    if isinstance(result, dict):
        return float(result["val_loss"]), int(result.get("epochs", 0))
    losses = result.history["val_loss"]
    return float(np.min(losses)), len(losses)


class _Tracked(kt.Tuner):  # type: ignore[misc]
    """Mixin for any Keras Tuner: a tracking scope per trial and a wall-clock budget.

    ``max_search_seconds`` is checked before each new trial: once spent, the oracle is told that
    its trial budget is used up, so the running trial finishes and no new one starts. At least
    one trial always runs.
    """

    def __init__(
        self,
        *args: Any,
        trial_scope: TrialScope | None = None,
        max_search_seconds: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.trial_scope = trial_scope or _untracked
        self.max_search_seconds = max_search_seconds
        self.summaries: list[TrialSummary] = []
        self.budget_exhausted = False
        self._search_started = time.monotonic()

    def search(self, *args: Any, **kwargs: Any) -> Any:
        self._search_started = time.monotonic()
        return super().search(*args, **kwargs)

    def pre_create_trial(self) -> Any:
        elapsed = time.monotonic() - self._search_started
        started = len(self.oracle.trials)
        if self.max_search_seconds is not None and elapsed >= self.max_search_seconds and started:
            self.oracle.max_trials = started
            self.budget_exhausted = True
        return super().pre_create_trial()

    def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> Any:
        hyperparameters = dict(trial.hyperparameters.values)
        started = time.perf_counter()
        with self.trial_scope(trial.trial_id, hyperparameters) as record:
            results = super().run_trial(trial, *args, **kwargs)
            summary, metrics = summarise_trial(
                trial.trial_id, hyperparameters, results, time.perf_counter() - started
            )
            record(metrics)
        self.summaries.append(summary)
        return results


def summarise_trial(
    trial_id: str, hyperparameters: dict[str, Any], results: list[Any], seconds: float
) -> tuple[TrialSummary, dict[str, float]]:
    """A trial's summary and tracked metrics from the results of its fits (one per execution).

    Returns:
        The summary, and ``val_loss``, ``epochs``, ``seconds`` and each walk-forward fold's
        mean loss as metrics.
    """
    scored = [_objective_and_epochs(result) for result in results]
    summary = TrialSummary(
        trial_id,
        hyperparameters,
        float(np.mean([loss for loss, _ in scored])),
        max(epochs for _, epochs in scored),
        seconds,
    )
    folds = {
        key: float(np.mean([r[key] for r in results]))
        for key in (results[0] if isinstance(results[0], dict) else {})
        if key.startswith("fold")
    }
    metrics = {
        "val_loss": summary.val_loss,
        "epochs": float(summary.epochs),
        "seconds": summary.seconds,
        **folds,
    }
    return summary, metrics


class TrackedRandomSearch(_Tracked, kt.RandomSearch):  # type: ignore[misc]
    """Random search, tracked and budgeted."""


class TrackedBayesianOptimization(_Tracked, kt.BayesianOptimization):  # type: ignore[misc]
    """Gaussian-process Bayesian optimisation, tracked and budgeted."""


class TrackedHyperband(_Tracked, kt.Hyperband):  # type: ignore[misc]
    """Hyperband (successive halving of epochs), tracked, budgeted and capped at max_trials."""


@dataclass(frozen=True)
class SearchResult:
    """The winner and what the search did to find it."""

    architecture: Architecture
    trials: list[TrialSummary]
    budget_exhausted: bool
    seconds: float


def make_tuner(
    hypermodel: ForecastHyperModel,
    config: TuningConfig,
    work_dir: Path,
    seed: int,
    trial_scope: TrialScope | None = None,
) -> _Tracked:
    """The tuner ``config.tuner`` names, minimising ``val_loss``."""
    common: dict[str, Any] = {
        "objective": "val_loss",
        "seed": seed,
        "executions_per_trial": config.executions_per_trial,
        "directory": str(work_dir),
        "project_name": f"search-{config.tuner}",
        "overwrite": True,
        "trial_scope": trial_scope,
        "max_search_seconds": config.max_search_seconds,
    }
    if config.tuner == "random":
        return TrackedRandomSearch(hypermodel, max_trials=config.max_trials, **common)
    if config.tuner == "bayesian":
        return TrackedBayesianOptimization(hypermodel, max_trials=config.max_trials, **common)
    tuner = TrackedHyperband(hypermodel, max_epochs=config.epochs, factor=3, **common)
    # Hyperband has no trial cap of its own; the oracle honours max_trials when it is set.
    tuner.oracle.max_trials = config.max_trials
    return tuner


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy, TensorFlow and Keras, and make TensorFlow's kernels deterministic.

    Seeds alone leave multi-threaded CPU reductions free to sum in any order; a fit amplifies
    those last-bit differences, so without op determinism the same seed gives a different
    model once the process has run other TensorFlow work.
    """
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def search_architecture(
    data: PreparedData,
    config: TuningConfig,
    work_dir: Path,
    seed: int,
    trial_scope: TrialScope | None = None,
    callbacks_for: CallbacksFactory | None = None,
) -> SearchResult:
    """Search the LSTM space with the configured tuner, scored by validation loss.

    Args:
        data: The prepared series.
        config: Search space, tuner, budget and folds.
        work_dir: Where the tuner keeps its trial state.
        seed: Seeds the tuner's sampling and every trial's initial weights.
        trial_scope: Tracking scope around each trial (e.g. an MLflow nested run).
        callbacks_for: ``fold -> fresh Keras callbacks`` for every fit (e.g. per-epoch
            logging); fold 0 is the plain validation split, 1..k the walk-forward folds.

    Returns:
        The best architecture (its lookback set), each trial's summary and whether the wall-clock
        budget stopped the search early.
    """
    seed_everything(seed)
    started = time.perf_counter()
    hypermodel = ForecastHyperModel(data, config, seed, callbacks_for)
    tuner = make_tuner(hypermodel, config, work_dir, seed, trial_scope)
    # x and y are placeholders: the hypermodel cuts the windows for each trial's lookback.
    tuner.search(data.x_train, data.y_train, verbose=0)
    best = tuner.get_best_hyperparameters(1)[0]
    return SearchResult(
        Architecture.from_hyperparameters(best),
        tuner.summaries,
        tuner.budget_exhausted,
        time.perf_counter() - started,
    )
