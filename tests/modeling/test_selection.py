"""Choosing the preprocessing on validation folds: original-unit errors, never the test part."""

from __future__ import annotations

import numpy as np

from lstm_model.analysis.decisions import Preprocessing
from lstm_model.modeling.preparation import chronological_split
from lstm_model.modeling.selection import fold_blocks, select_preprocessing

CANDIDATES = [
    Preprocessing(0.0, 1, 0, 4),
    Preprocessing(None, 1, 0, 4),
    Preprocessing(0.0, 0, 1, 5),
]


def _series(n=160, seed=3):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return np.exp(2 + 0.015 * t + 0.35 * np.sin(2 * np.pi * t / 4) + rng.normal(0, 0.04, n))


def test_fold_blocks_are_as_long_as_the_validation_part_and_end_with_it():
    bounds = chronological_split(200, 0.15, 0.15)
    blocks = fold_blocks(bounds, 3)
    assert blocks[-1] == bounds.validation
    assert [stop - start for start, stop in blocks] == [30, 30, 30]
    assert [b[1] for b in blocks[:-1]] == [b[0] for b in blocks[1:]]
    assert all(stop <= bounds.test[0] for _, stop in blocks)


def test_selection_scores_every_candidate_and_keeps_the_lowest_error():
    values = _series()
    bounds = chronological_split(len(values), 0.15, 0.15)
    selection = select_preprocessing(values, bounds, 4, CANDIDATES, folds=2, seed=0, epochs=5)
    assert [s.preprocessing for s in selection.scores] == CANDIDATES
    assert all(len(s.fold_errors) == 2 and np.isfinite(s.error) for s in selection.scores)
    assert selection.chosen == min(selection.scores, key=lambda s: s.error).preprocessing
    # Errors are in original units, comparable across scales: on the log scale they would be
    # about the noise's 0.04, in original units the noise times the level (~1-2 here).
    best = min(s.error for s in selection.scores)
    assert 0.5 < best < 0.25 * np.std(values)
    assert "validation picked" in selection.reason
    assert sum(row["chosen"] for row in selection.rows()) == 1


def test_selection_never_reads_the_test_part():
    values = _series()
    bounds = chronological_split(len(values), 0.15, 0.15)
    first = select_preprocessing(values, bounds, 4, CANDIDATES, folds=1, seed=0, epochs=4)
    changed = values.copy()
    changed[bounds.test[0] :] *= 100
    second = select_preprocessing(changed, bounds, 4, CANDIDATES, folds=1, seed=0, epochs=4)
    assert first == second


def test_a_single_candidate_is_not_fitted():
    values = _series()
    bounds = chronological_split(len(values), 0.15, 0.15)
    selection = select_preprocessing(values, bounds, 4, CANDIDATES[:1], folds=3, seed=0)
    assert selection.chosen == CANDIDATES[0] and selection.scores[0].fold_errors == []
    assert "not compared" in selection.reason
