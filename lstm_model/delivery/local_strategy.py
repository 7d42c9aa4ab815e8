"""The local strategy of a panel: one series' whole single-series procedure as one pure call.

A panel trained locally gets one LSTM per series, each by the procedure ``flows/retrain.py``
runs for a single series: analysis of the training part (statistics, then the candidate
preprocessings scored on validation folds), preparation with the panel's split, the
architecture search, the final fit, conformal intervals calibrated on the validation part, the
paths from the panel's backtest origins, the optional refit on every row and a SavedModel
export checked against the pipeline's own forecasts by plain TensorFlow.

:func:`fit_series` is meant to run as a mapped task, possibly in another process (a Dask
worker): it takes and returns plain picklable data (NumPy arrays, dataclasses, bytes, the
config) and calls neither MLflow nor Prefect. It lives in ``delivery``, not ``modeling``,
because it ends with the export and calibrates intervals: every stage it composes sits below
it, so every import still points down.

Seeds are process-global (``keras.utils.set_random_seed``, TensorFlow's op determinism), so a
worker must run one series at a time (one thread per worker process) for the answer to be
reproducible.
"""

from __future__ import annotations

import dataclasses
import functools
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np

from lstm_model.analysis.candidates import candidate_preprocessings
from lstm_model.analysis.decisions import analyze_series
from lstm_model.config import MIN_TRAIN_WINDOWS, PipelineConfig
from lstm_model.delivery.export import (
    ExportCheck,
    ExportVerificationError,
    FreshTensorFlow,
    LoadedTensorFlow,
    export_saved_model,
    verify_export,
)
from lstm_model.delivery.package import archive_directory
from lstm_model.errors import PipelineInputError
from lstm_model.evaluation.intervals import ConformalIntervals, calibrate_on_validation
from lstm_model.modeling.fitting import predict_windows
from lstm_model.modeling.forecast import path_forecasts
from lstm_model.modeling.preparation import SplitBounds, prepare
from lstm_model.modeling.search import search_architecture, seed_everything
from lstm_model.modeling.selection import select_preprocessing
from lstm_model.modeling.training import refit_on_full_history, train_ensemble, with_lookback
from lstm_model.modeling.transform import SeriesTransform


@dataclass(frozen=True)
class SeriesFit:
    """What one series' fit returns: picklable plain data, no Keras or MLflow objects.

    Attributes:
        series_id: The series.
        paths: (k, h) the evaluated LSTM's paths in original units from each backtest origin
            (in the order given), each from the series' values before its origin.
        lower: level -> (k, h) lower interval bound at each origin (conformal widths
            calibrated on the validation part only).
        upper: level -> (k, h) upper bound.
        architecture: The searched architecture (``dataclasses.asdict``).
        val_loss: The evaluated model's loss on the validation windows (``train/final_val_loss``
            of a single-series run).
        trials: Search trials run.
        seconds: Wall-clock seconds of the whole fit.
        saved_model: The shipped SavedModel folder (the refit when
            ``training.refit_on_full_history``, else the evaluated model) as gzipped tar bytes
            (:func:`~lstm_model.delivery.package.extract_archive` unpacks it).
        analysis: The preprocessing decided on the training part: ``differencing``,
            ``seasonal_differencing``, ``season``, ``lookback``, ``box_cox_lambda``,
            ``frequency``, ``reasons`` (the analysis' notes, the candidate choice last),
            ``candidates`` (each candidate's validation MAE) and ``refitted``.
        export_max_abs_difference: Largest difference between what the SavedModel serves (by
            plain TensorFlow) and the pipeline's own forecasts on its last histories.
    """

    series_id: str
    paths: np.ndarray
    lower: dict[float, np.ndarray]
    upper: dict[float, np.ndarray]
    architecture: dict[str, Any]
    val_loss: float
    trials: int
    seconds: float
    saved_model: bytes
    analysis: dict[str, Any]
    export_max_abs_difference: float = 0.0


def fit_series(
    series_id: str,
    values: np.ndarray,
    bounds: SplitBounds,
    origins: np.ndarray,
    horizon: int,
    frequency: str | None,
    config: PipelineConfig,
    seed: int,
    *,
    fresh_process_check: bool = False,
) -> SeriesFit:
    """Run the single-series procedure on one series of a panel.

    Args:
        series_id: The series' id (for messages and the result).
        values: The series' target values (n,), original units, time order.
        bounds: The series' train / validation / test rows (positions in ``values``), cut by
            the panel's split (every series has the same validation and test counts).
        origins: Backtest origins as positions in ``values``: the first forecast row of each
            path (``origin .. origin + h - 1``, from the rows before ``origin``), all in the
            test part with a whole path.
        horizon: Steps per path (h).
        frequency: The panel's pandas frequency alias (the analysis' calendar season).
        config: Analysis, tuning, training and forecast knobs; ``seed`` replaces ``config.seed``.
        seed: Seeds every fit, the search and the candidate scoring.
        fresh_process_check: Serve the export in a fresh TensorFlow process, as the
            single-series flow does (a second interpreter importing TensorFlow: 5-10 s per
            series on 2 cores); False reloads it with plain TensorFlow in this process.

    Returns:
        The backtest paths and interval bounds, the architecture, the shipped SavedModel as
        bytes and the analysis.

    Raises:
        PipelineInputError: the series is too short for the procedure (its id and what to do
            are in the message).
        ExportVerificationError: the SavedModel does not reproduce the pipeline (its id in
            the message).
        ValueError: ``values`` is not 1-D, or an origin lies outside the test part or has no
            whole path.
    """
    started = time.perf_counter()
    values = np.asarray(values, dtype=float)
    origins = np.asarray(origins, dtype=np.int64)
    _check_inputs(series_id, values, bounds, origins, horizon, config)
    seed_everything(seed)
    try:
        fit = _procedure(
            series_id,
            values,
            bounds,
            origins,
            horizon,
            frequency,
            config,
            seed,
            fresh_process_check,
        )
    except PipelineInputError as error:
        # Raised by prepare (the lookback the analysis chose needs more training rows) or by
        # the search (folds or lookbacks the training part cannot hold).
        raise _too_short(series_id, str(error)) from error
    except ExportVerificationError as error:
        raise ExportVerificationError(f"series {series_id!r}: {error}") from error
    return dataclasses.replace(fit, seconds=time.perf_counter() - started)


def _procedure(
    series_id: str,
    values: np.ndarray,
    bounds: SplitBounds,
    origins: np.ndarray,
    horizon: int,
    frequency: str | None,
    config: PipelineConfig,
    seed: int,
    fresh_process_check: bool,
) -> SeriesFit:
    """The stages of :func:`fit_series` in the order ``flows/retrain.py`` runs them."""
    train = values[slice(*bounds.train)]
    # Decided on the training part only, then checked against its alternatives on validation
    # folds (never the test part), exactly as tasks/analysis.py does.
    tested = analyze_series(train, frequency, config.analysis)
    selection = select_preprocessing(
        values,
        bounds,
        tested.season,
        candidate_preprocessings(train, tested, config.analysis),
        config.analysis.candidate_folds,
        seed,
        config.analysis.candidate_epochs,
        config.tuning.linear_skip,
        config.tuning.linear_start,
    )
    analysis = tested.with_preprocessing(selection.chosen, selection.reason)
    data = prepare(
        values,
        analysis.differencing,
        analysis.lookback,
        config.split.validation_fraction,
        config.split.test_fraction,
        seasonal_differencing=analysis.seasonal_differencing,
        season=analysis.season,
        box_cox_lambda=analysis.box_cox_lambda,
        horizon=horizon,
        bounds=bounds,
    )
    with tempfile.TemporaryDirectory(prefix="local-series-") as folder:
        work_dir = Path(folder)
        # Untracked: no trial scope, no callbacks; the caller records the result.
        search = search_architecture(data, config.tuning, work_dir / "tuner", seed)
        architecture = search.architecture
        data = with_lookback(data, architecture.lookback)
        evaluated = train_ensemble(
            data, architecture, config.training, seed, sgd_momentum=config.tuning.sgd_momentum
        )
        val_loss = float(evaluated.model.evaluate(data.x_validation, data.y_validation, verbose=0))

        # Conformal widths from the validation targets, on the variance-stabilised scale, as
        # tasks/evaluation.py ``calibrate`` does; the same paths give the backtest.
        paths = path_forecasts(
            functools.partial(predict_windows, evaluated.model), data.transform, data.values
        )
        intervals = calibrate_on_validation(paths, data, config.forecast.levels)
        backtest = paths[origins]
        bounds_by_level = intervals.bounds(backtest)

        # Evaluation judged the procedure; the shipped model repeats it on every row and keeps
        # the evaluated widths (the refit has no out-of-sample errors of its own).
        if config.training.refit_on_full_history:
            refitted = refit_on_full_history(
                data, architecture, evaluated, sgd_momentum=config.tuning.sgd_momentum
            )
            model, transform = refitted.model, refitted.transform
        else:
            model, transform = evaluated.model, data.transform
        check = _export_verified(
            model, transform, data.values, intervals, work_dir, fresh_process_check
        )
        archive = archive_directory(work_dir / "saved_model")

    return SeriesFit(
        series_id=series_id,
        paths=backtest,
        lower={level: lower for level, (lower, _) in bounds_by_level.items()},
        upper={level: upper for level, (_, upper) in bounds_by_level.items()},
        architecture=asdict(architecture),
        val_loss=val_loss,
        trials=len(search.trials),
        seconds=0.0,  # fit_series times the whole call
        saved_model=archive,
        analysis={
            "differencing": analysis.differencing,
            "seasonal_differencing": analysis.seasonal_differencing,
            "season": analysis.season,
            "lookback": analysis.lookback,
            "box_cox_lambda": analysis.box_cox_lambda,
            "frequency": frequency,
            "reasons": list(analysis.notes),
            "candidates": selection.rows(),
            "refitted": config.training.refit_on_full_history,
        },
        export_max_abs_difference=check.max_abs_difference,
    )


def _export_verified(
    model: keras.Model,
    transform: SeriesTransform,
    values: np.ndarray,
    intervals: ConformalIntervals,
    work_dir: Path,
    fresh_process: bool,
) -> ExportCheck:
    """Export to ``work_dir/saved_model`` and check its serving signature against the pipeline.

    Raises:
        ExportVerificationError: the SavedModel does not reproduce the pipeline's forecasts.
    """
    directory = work_dir / "saved_model"
    if not fresh_process:
        export_saved_model(model, transform, directory, intervals)
        return verify_export(
            directory, model, transform, values, fresh=LoadedTensorFlow(), intervals=intervals
        )
    with FreshTensorFlow() as fresh:  # imports TensorFlow while the export is written
        export_saved_model(model, transform, directory, intervals)
        return verify_export(directory, model, transform, values, fresh=fresh, intervals=intervals)


def _check_inputs(
    series_id: str,
    values: np.ndarray,
    bounds: SplitBounds,
    origins: np.ndarray,
    horizon: int,
    config: PipelineConfig,
) -> None:
    """Refuse what the procedure cannot run on, before any statistics or fitting.

    Raises:
        ValueError: a caller's mistake (2-D values, origins outside the test part).
        PipelineInputError: a series whose training part cannot hold the training windows of
            even the shortest lookback, or whose validation or test part is shorter than h.
    """
    if values.ndim != 1:
        raise ValueError(f"series {series_id!r}: values must be 1-D, got shape {values.shape}")
    first, end = bounds.test
    if len(origins) and (origins.min() < first or origins.max() + horizon > end):
        raise ValueError(
            f"series {series_id!r}: backtest origins must lie in the test part [{first}, {end}) "
            f"with {horizon} rows after them, got {origins.min()}..{origins.max()}"
        )
    for name, (start, stop) in (("validation", bounds.validation), ("test", bounds.test)):
        if stop - start < horizon:
            raise _too_short(
                series_id,
                f"its {name} part has {stop - start} rows, fewer than the {horizon}-step horizon",
            )
    # ``prepare`` needs MIN_TRAIN_WINDOWS training windows of the shortest lookback the analysis
    # may pick: below that no preprocessing would fit, so the statistics are not even run.
    needed = MIN_TRAIN_WINDOWS + config.analysis.min_lookback + horizon - 1
    rows = bounds.train[1] - bounds.train[0]
    if rows < needed:
        raise _too_short(
            series_id,
            f"its training part has {rows} rows, fewer than the {needed} the shortest lookback "
            f"({config.analysis.min_lookback}) and horizon {horizon} need",
        )


def _too_short(series_id: str, why: str) -> PipelineInputError:
    """The error for a series the single-series procedure cannot be run on, with what to do."""
    return PipelineInputError(
        f"series {series_id!r} cannot get a model of its own: {why.rstrip('.')}. Give it more "
        "history, leave it out of the panel, or train the panel with one global model."
    )
