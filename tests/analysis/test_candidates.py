"""Candidate preprocessings: the tests' choice first, then the Box-Cox and seasonal alternatives."""

from __future__ import annotations

import numpy as np

from lstm_model.analysis.candidates import candidate_preprocessings
from lstm_model.analysis.decisions import (
    analyze_series,
)
from lstm_model.config import AnalysisConfig

RNG = np.random.default_rng(0)


def _growing_season(n=160, seed=9):
    """Like UK quarterly gas: a trend and a season whose amplitude grows with the level."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return np.exp(2 + 0.015 * t + 0.35 * np.sin(2 * np.pi * t / 4) + rng.normal(0, 0.04, n))


def test_candidates_are_the_tests_choice_then_box_cox_and_seasonal_alternatives():
    values = _growing_season()
    analysis = analyze_series(values, "QS", AnalysisConfig())
    candidates = candidate_preprocessings(values, analysis, AnalysisConfig())
    assert candidates[0] == analysis.preprocessing
    assert len(set(candidates)) == len(candidates) == 4
    assert {(c.box_cox_lambda is None, c.seasonal_differencing) for c in candidates} == {
        (False, 1),
        (True, 1),
        (False, 0),
        (True, 0),
    }
    assert all(c.lookback >= 4 for c in candidates)
    off = AnalysisConfig(compare_candidates=False)
    assert candidate_preprocessings(values, analysis, off) == [analysis.preprocessing]
    # No season and no positive values: nothing to toggle.
    noise = RNG.normal(size=200)
    plain = analyze_series(noise, None, AnalysisConfig())
    assert candidate_preprocessings(noise, plain, AnalysisConfig()) == [plain.preprocessing]
