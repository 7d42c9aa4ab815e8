"""Search trials run apart from the oracle that chooses them, so a search can spread over workers.

Keras Tuner's own distributed mode (a chief oracle and workers over gRPC) has long-standing open
issues with timeouts and hangs. Here the oracle stays in the flow's process and decides
(:class:`TrialPlanner`); each trial's fit is a plain function of the data, the trial's
hyperparameters and the seed (:func:`run_trial`), which any worker process can run and whose
outcome travels back as data. The oracle is the very one the in-process search uses
(:func:`~lstm_model.modeling.search.make_tuner`), so random search proposes the same trials in
the same order, and a trial's fit depends only on its hyperparameters and the seed: the same
search gives the same scores on one worker or many. Bayesian optimisation proposes from the
trials finished so far, so with trials in flight it can propose differently than one at a
time. Hyperband is not offered: it resumes trials from other trials' checkpoints.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import keras_tuner as kt

from lstm_model.config import TuningConfig
from lstm_model.modeling.network import Architecture
from lstm_model.modeling.preparation import PreparedData
from lstm_model.modeling.search import (
    ForecastHyperModel,
    TrialSummary,
    make_tuner,
    seed_everything,
    summarise_trial,
)


@dataclass(frozen=True)
class ProposedTrial:
    """A trial the oracle wants run: its id and its hyperparameters as plain, picklable data."""

    trial_id: str
    hyperparameters: dict[str, Any]  # ``kt.HyperParameters.get_config()``

    @property
    def values(self) -> dict[str, Any]:
        """The chosen value of every hyperparameter."""
        return dict(self.hyperparameters["values"])


@dataclass(frozen=True)
class TrialOutcome:
    """What a trial's fit returns to the oracle and to tracking.

    ``metrics`` are the trial's metrics as the in-process search records them (``val_loss``,
    ``epochs``, ``seconds`` and, with walk-forward folds, each fold's loss); ``curves`` each
    fit's per-epoch losses (keys prefixed ``fold<i>_`` for walk-forward folds).
    """

    summary: TrialSummary
    metrics: dict[str, float]
    curves: dict[str, list[float]] = field(default_factory=dict)


class TrialPlanner:
    """The oracle's side of a search: proposes trials and learns from their outcomes.

    Args:
        data: The prepared series (the oracle's space needs its lookback and features).
        config: Search space, tuner kind, trial count and time budget.
        directory: Where the oracle keeps its trial records.
        seed: Seeds the oracle's sampling, as in the in-process search.
    """

    def __init__(self, data: PreparedData, config: TuningConfig, directory: Path, seed: int):
        if config.tuner == "hyperband":
            raise ValueError("Hyperband resumes trials from checkpoints; plan random or bayesian")
        self.config = config
        self.tuner = make_tuner(ForecastHyperModel(data, config, seed), config, directory, seed)
        self.oracle = self.tuner.oracle
        self.oracle.verbose = 0  # the flow logs each trial; Keras Tuner would print tables
        self.summaries: list[TrialSummary] = []
        self.budget_exhausted = False
        self._pending: dict[str, Any] = {}
        self._started = time.monotonic()

    def propose(self, worker: str) -> ProposedTrial | None:
        """The next trial for ``worker``, or None once the trials or the time budget are spent.

        Args:
            worker: A name for the slot the trial will occupy (one trial in flight per name).
        """
        budget = self.config.max_search_seconds
        if budget is not None and time.monotonic() - self._started >= budget and self.summaries:
            self.budget_exhausted = True
            return None
        trial = self.oracle.create_trial(worker)
        if trial.status != kt.engine.trial.TrialStatus.RUNNING:
            return None
        self._pending[trial.trial_id] = trial
        return ProposedTrial(trial.trial_id, trial.hyperparameters.get_config())

    def record(self, outcome: TrialOutcome) -> None:
        """Tell the oracle how a trial scored."""
        trial = self._pending.pop(outcome.summary.trial_id)
        self.oracle.update_trial(trial.trial_id, {"val_loss": outcome.summary.val_loss})
        trial.status = kt.engine.trial.TrialStatus.COMPLETED
        self.oracle.end_trial(trial)
        self.summaries.append(outcome.summary)

    def fail(self, trial_id: str, message: str) -> None:
        """Tell the oracle a trial failed for good (after its retries); the search goes on."""
        trial = self._pending.pop(trial_id)
        trial.status = kt.engine.trial.TrialStatus.FAILED
        trial.message = message
        self.oracle.end_trial(trial)

    @property
    def in_flight(self) -> int:
        """Trials proposed and not yet recorded or failed."""
        return len(self._pending)

    def best(self) -> Architecture:
        """The architecture of the best completed trial.

        Raises:
            RuntimeError: When no trial completed.
        """
        if not self.summaries:
            raise RuntimeError("every search trial failed; see the trial runs for why")
        return Architecture.from_hyperparameters(self.tuner.get_best_hyperparameters(1)[0])


def run_trial(
    data: PreparedData, config: TuningConfig, seed: int, trial: ProposedTrial
) -> TrialOutcome:
    """Fit one trial as the in-process search would (``executions_per_trial`` fits, early
    stopping on validation loss or walk-forward folds), from its hyperparameters alone.

    Args:
        data: The prepared series.
        config: Search space, epochs, patience and folds.
        seed: The search's seed: it seeds every trial's weights and shuffles alike.
        trial: The oracle's proposal.

    Returns:
        The trial's score, metrics and per-epoch curves.
    """
    seed_everything(seed)
    curves = EpochCurves()
    hypermodel = ForecastHyperModel(data, config, seed, curves.callbacks_for)
    hyperparameters = kt.HyperParameters.from_config(trial.hyperparameters)
    started = time.perf_counter()
    results = []
    for _ in range(config.executions_per_trial):
        model = hypermodel.build(hyperparameters)
        results.append(hypermodel.fit(hyperparameters, model))
    summary, metrics = summarise_trial(
        trial.trial_id, trial.values, results, time.perf_counter() - started
    )
    return TrialOutcome(summary, metrics, curves.values)


class EpochCurves:
    """Collects every fit's per-epoch losses, to be logged where the tracking run lives."""

    def __init__(self) -> None:
        self.values: dict[str, list[float]] = {}

    def callbacks_for(self, fold: int) -> list[keras.callbacks.Callback]:
        """A recorder for one fit; walk-forward folds get a ``fold<i>_`` prefix."""
        return [_Recorder(self.values, f"fold{fold}_" if fold else "")]


class _Recorder(keras.callbacks.Callback):  # type: ignore[misc]
    def __init__(self, values: dict[str, list[float]], prefix: str) -> None:
        super().__init__()
        self.values = values
        self.prefix = prefix

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        # A trial with several executions keeps the curves of its last fit.
        for key in [key for key in self.values if _fold_prefix(key) == self.prefix]:
            del self.values[key]

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        for key, value in (logs or {}).items():
            self.values.setdefault(f"{self.prefix}{key}", []).append(float(value))


def _fold_prefix(key: str) -> str:
    head, _, _ = key.partition("_")
    return f"{head}_" if head.startswith("fold") and head[4:].isdigit() else ""
