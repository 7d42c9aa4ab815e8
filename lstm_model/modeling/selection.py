"""Choosing the preprocessing on validation data.

Each candidate (:mod:`lstm_model.analysis.candidates`) fits the same small, fixed LSTM on walk-
forward folds that end with the validation part, and is scored by its one-step mean absolute
error in *original units* on each fold's validation block: errors on different scales (log vs
original, differenced once or seasonally) only compare after the inverse transform. The test
part is never touched. The lowest mean error wins; a tie keeps the statistical tests' own
choice, listed first.

Why an LSTM and not a faster linear proxy: on the development series a ridge autoregression on
the same windows picked a worse preprocessing for the LSTM on 3 of 11 series (airline, CO2,
unemployment), the small LSTM on 2 — the two models like different inputs.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lstm_model.analysis.decisions import Preprocessing
from lstm_model.config import MIN_TRAIN_WINDOWS
from lstm_model.modeling.forecast import one_step_forecasts
from lstm_model.modeling.network import Architecture
from lstm_model.modeling.preparation import SplitBounds
from lstm_model.modeling.transform import SeriesTransform, as_matrix

# Small and fixed on purpose: the comparison is between inputs, not architectures.
SCORING_UNITS = 32
SCORING_LEARNING_RATE = 3e-3
SCORING_BATCH_SIZE = 32
SCORING_PATIENCE = 8


@dataclass(frozen=True)
class _ScoringFit:
    architecture: Architecture
    epochs: int


@dataclass(frozen=True)
class CandidateScore:
    """A candidate's validation errors: mean absolute one-step error per fold, original units."""

    preprocessing: Preprocessing
    fold_errors: list[float]

    @property
    def error(self) -> float:
        """Mean over the folds (infinite when no fold could be fitted)."""
        return float(np.mean(self.fold_errors)) if self.fold_errors else float("inf")


@dataclass(frozen=True)
class Selection:
    """The winning preprocessing and every candidate's score, the tests' choice first."""

    chosen: Preprocessing
    scores: list[CandidateScore]

    @property
    def reason(self) -> str:
        """One sentence for the log and the run's notes."""
        if len(self.scores) == 1:
            return f"preprocessing {self.chosen.describe()} (the tests' choice, not compared)"
        ranked = ", ".join(
            f"{score.preprocessing.describe()}: MAE {score.error:.4g}"
            for score in sorted(self.scores, key=lambda s: s.error)
        )
        kept = self.chosen == self.scores[0].preprocessing
        verdict = "the tests' choice confirmed" if kept else "overrides the tests' choice"
        return f"validation picked {self.chosen.describe()} ({verdict}); {ranked}"

    def rows(self) -> list[dict[str, object]]:
        """A table: one row per candidate."""
        return [
            {
                "candidate": score.preprocessing.describe(),
                "box_cox_lambda": score.preprocessing.box_cox_lambda,
                "seasonal_differencing": score.preprocessing.seasonal_differencing,
                "differencing": score.preprocessing.differencing,
                "lookback": score.preprocessing.lookback,
                "validation_mae": score.error,
                "chosen": score.preprocessing == self.chosen,
            }
            for score in self.scores
        ]


def fold_blocks(bounds: SplitBounds, folds: int) -> list[tuple[int, int]]:
    """``folds`` validation blocks as long as the validation part, the last one being it."""
    start, stop = bounds.validation
    length = stop - start
    blocks = [(stop - (folds - i) * length, stop - (folds - 1 - i) * length) for i in range(folds)]
    return [block for block in blocks if block[0] > 0]


def select_preprocessing(
    values: np.ndarray,
    bounds: SplitBounds,
    season: int,
    candidates: Sequence[Preprocessing],
    folds: int,
    seed: int,
    epochs: int = 80,
    linear_skip: bool = False,
    linear_start: bool = False,
) -> Selection:
    """Score every candidate on walk-forward folds and keep the best.

    Args:
        values: The whole series, (n,) or (n, 1 + k); only the target's rows before the
            validation part's end are read (the comparison is about the target's scale and
            differencing; exogenous columns are scaled the same way by every candidate).
        bounds: The chronological split; the test part is never used.
        season: Seasonal period for the candidates with D = 1.
        candidates: The tests' choice first, then its alternatives.
        folds: Walk-forward folds per candidate.
        seed: Seeds every fit (the same for every candidate).
        epochs: Most epochs per scoring fit; early stopping on the fold's block cuts it.
        linear_skip: Whether the scoring LSTM has the linear path the searched models have.
        linear_start: Whether its fits start at the ridge autoregression, as the searched do.

    Returns:
        The chosen preprocessing and each candidate's score.
    """
    matrix = as_matrix(values)[: bounds.validation[1], :1]
    architecture = Architecture(
        units=SCORING_UNITS,
        learning_rate=SCORING_LEARNING_RATE,
        batch_size=SCORING_BATCH_SIZE,
        linear_skip=linear_skip,
        linear_start=linear_skip and linear_start,
    )
    fit = _ScoringFit(architecture, epochs)
    if len(candidates) == 1:
        return Selection(candidates[0], [CandidateScore(candidates[0], [])])
    scores = [
        CandidateScore(candidate, _fold_errors(matrix, bounds, season, candidate, folds, seed, fit))
        for candidate in candidates
    ]
    best = min(scores, key=lambda score: score.error)  # min keeps the first of equals
    if not np.isfinite(best.error):
        best = scores[0]
    return Selection(best.preprocessing, scores)


def _fold_errors(
    matrix: np.ndarray,
    bounds: SplitBounds,
    season: int,
    candidate: Preprocessing,
    folds: int,
    seed: int,
    fit: _ScoringFit,
) -> list[float]:
    import keras

    from lstm_model.modeling.fitting import (
        fit_windows,
        initial_state,
        predict_windows,
        start_from_linear,
    )
    from lstm_model.modeling.network import build_lstm
    from lstm_model.modeling.search import seed_everything

    architecture = fit.architecture
    errors = []
    model, reset = None, None  # one model per candidate, reset for each fold (one tracing)
    for start, stop in fold_blocks(bounds, folds):
        transform = SeriesTransform.fit(
            matrix[:start],
            candidate.differencing,
            candidate.lookback,
            candidate.seasonal_differencing,
            season if candidate.seasonal_differencing else 1,
            box_cox_lambda=candidate.box_cox_lambda,
        )
        if start - transform.warmup < MIN_TRAIN_WINDOWS:
            continue  # too little history before this fold for this candidate
        x_train, y_train = transform.windows(matrix, 0, start)
        x_validation, y_validation = transform.windows(matrix, start, stop)
        seed_everything(seed)
        if model is None or reset is None:
            model = build_lstm(transform.lookback, matrix.shape[1], architecture, seed=seed)
            reset = initial_state(model)
        else:
            reset()
        if architecture.linear_start:
            start_from_linear(model, x_train, y_train)
        fit_windows(
            model,
            x_train,
            y_train,
            validation=(x_validation, y_validation),
            epochs=fit.epochs,
            batch_size=architecture.batch_size,
            seed=seed,
            callbacks=[
                keras.callbacks.EarlyStopping(patience=SCORING_PATIENCE, restore_best_weights=True)
            ],
        )
        forecasts = one_step_forecasts(
            functools.partial(predict_windows, model), transform, matrix[:stop]
        )[start:stop]
        errors.append(float(np.mean(np.abs(matrix[start:stop, 0] - forecasts))))
    return errors
