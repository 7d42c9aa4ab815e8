"""Trials planned by the oracle and fitted apart from it score as the in-process search does."""

from __future__ import annotations

import concurrent.futures
import multiprocessing

import numpy as np
import pytest

from lstm_model.config import TuningConfig
from lstm_model.modeling.search import search_architecture
from lstm_model.modeling.trials import TrialPlanner, run_trial

TINY = {"epochs": 2, "patience": 1, "units": (4, 8), "max_layers": 1}


def _plan_and_run(data, space, directory, seed, slots, executor=None):
    """Propose up to ``slots`` trials at a time, fit them (in ``executor`` when given) and
    record them in the order they were proposed."""
    planner = TrialPlanner(data, space, directory, seed)
    outcomes = []
    while True:
        batch = []
        while len(batch) < slots and (trial := planner.propose(f"slot{len(batch)}")):
            batch.append(trial)
        if not batch:
            break
        if executor is None:
            done = [run_trial(data, space, seed, trial) for trial in batch]
        else:
            fits = [executor.submit(run_trial, data, space, seed, t) for t in batch]
            done = [fit.result() for fit in fits]
        for outcome in done:
            planner.record(outcome)
            outcomes.append(outcome)
    return planner, outcomes


def test_planned_trials_in_other_processes_match_the_in_process_search(trained, tmp_path):
    _, data, _ = trained
    space = TuningConfig(max_trials=3, **TINY)
    local = search_architecture(data, space, tmp_path / "local", seed=7)
    spawn = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=spawn) as pool:
        planner, outcomes = _plan_and_run(data, space, tmp_path / "planned", 7, 2, pool)
    assert [o.summary.hyperparameters for o in outcomes] == [
        t.hyperparameters for t in local.trials
    ]
    np.testing.assert_allclose(
        [o.summary.val_loss for o in outcomes], [t.val_loss for t in local.trials], rtol=1e-5
    )
    assert planner.best() == local.architecture
    assert planner.in_flight == 0
    first = outcomes[0]
    assert len(first.curves["val_loss"]) == first.summary.epochs
    assert first.metrics["val_loss"] == first.summary.val_loss


def test_walk_forward_folds_travel_back_with_their_curves(trained, tmp_path):
    _, data, _ = trained
    space = TuningConfig(max_trials=1, cv_folds=2, **TINY)
    _, [outcome] = _plan_and_run(data, space, tmp_path, 3, 1)
    assert {"fold1_val_loss", "fold2_val_loss"} <= set(outcome.metrics)
    assert {"fold1_val_loss", "fold2_val_loss", "fold1_loss"} <= set(outcome.curves)
    assert outcome.summary.val_loss == pytest.approx(
        np.mean([outcome.metrics["fold1_val_loss"], outcome.metrics["fold2_val_loss"]])
    )


def test_a_failed_trial_is_ended_and_the_search_goes_on(trained, tmp_path):
    _, data, _ = trained
    space = TuningConfig(max_trials=2, **TINY)
    planner = TrialPlanner(data, space, tmp_path, 1)
    first = planner.propose("a")
    planner.fail(first.trial_id, "worker lost")
    second = planner.propose("a")
    assert second is not None and second.trial_id != first.trial_id
    with pytest.raises(RuntimeError, match="every search trial failed"):
        planner.best()
    planner.record(run_trial(data, space, 1, second))
    assert planner.best().units in space.units
    assert planner.propose("a") is None  # both trials are spent


def test_the_time_budget_stops_new_proposals(trained, tmp_path):
    _, data, _ = trained
    space = TuningConfig(max_trials=5, max_search_seconds=0.01, **TINY)
    planner, outcomes = _plan_and_run(data, space, tmp_path, 1, 1)
    assert len(outcomes) == 1 and planner.budget_exhausted
