"""Prefect tasks of a panel's retrain: load and check every series, decide, fit one global
model, calibrate, backtest every series against the baselines, compare, bless, export and
register.

Thin wrappers over :mod:`lstm_model` (``data.panel``, ``analysis.panel``,
``modeling.global_model``, ``evaluation.panel_backtest``, ``delivery.global_export``): they add
MLflow records, Prefect artifacts and logging. Errors of series on different levels are pooled
only after dividing each by its series' MASE scale.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.entities.model_registry import ModelVersion
from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from lstm_model.config import PipelineConfig
from lstm_model.data.check import read_panel
from lstm_model.data.panel import Panel
from lstm_model.data.validation import validate_panel_frame
from lstm_model.delivery.export import FreshTensorFlow
from lstm_model.delivery.global_export import (
    calibrate_global,
    export_global,
    global_lstm_paths,
    verify_global_export,
)
from lstm_model.delivery.global_pyfunc import log_global_forecaster
from lstm_model.delivery.registry import (
    GLOBAL_STRATEGY,
    KIND_TAG,
    PANEL_KIND,
    STRATEGY_TAG,
    champion_version,
)
from lstm_model.evaluation.blessing import BlessingDecision, bless
from lstm_model.evaluation.comparison import Comparisons, compare_forecasts
from lstm_model.evaluation.intervals import ConformalIntervals, level_name
from lstm_model.evaluation.panel_backtest import (
    STATISTICAL_MODELS,
    LstmPaths,
    PanelBacktest,
    backtest_origins,
    naive_paths,
    plot_mase_ratios,
    score_panel,
    statistical_paths,
)
from lstm_model.modeling.global_model import GlobalFit, fit_global
from lstm_model.modeling.network import Architecture
from lstm_model.modeling.panel_preparation import PreparedPanel, prepare_panel
from lstm_model.modeling.panel_windows import window_origins
from lstm_model.progress import stage
from lstm_model.tracking import EpochMetricsLogger, EpochProgress

# Histories served by the fresh-process export check.
EXPORT_SAMPLES = 16


@task(name="load-panel", cache_policy=NO_CACHE)
def load_panel(path: str, config: PipelineConfig) -> Panel:
    """Read the panel, check every series (by id, under ``data.bad_series``) and validate the
    whole file with the panel suite in GX; the reports go to MLflow and Prefect.

    Raises:
        PipelineInputError: the file is unusable, a series fails under ``fail``, or a
            critical expectation failed.
    """
    stage("load-data")
    frame, panel = read_panel(path, config)
    report = validate_panel_frame(frame, config, source=str(path))
    create_markdown_artifact(
        key="data-validation",
        markdown=report.to_markdown(),
        description=f"Great Expectations validation of the panel {path}",
    )
    mlflow.log_dict(report.raw, "data/validation_result.json")
    report.raise_for_failures()
    mlflow.log_params(
        {
            "data.series": len(panel.ids),
            "data.rows": len(panel.values),
            "data.frequency_inferred": panel.frequency,
        }
    )
    _report_excluded(panel.excluded, "data checks", "data/excluded_series.json")
    get_run_logger().info(
        "loaded %d series (%d rows, frequency %s) from %s",
        len(panel.ids),
        len(panel.values),
        panel.frequency,
        path,
    )
    return panel


@task(name="analyze", cache_policy=NO_CACHE)
def prepare(panel: Panel, config: PipelineConfig) -> PreparedPanel:
    """Cut each series' parts, decide the season, lookback and horizon, and apply the policy to
    series too short for them; the decisions and per-series votes are logged."""
    stage("analyze")
    before = set(panel.excluded)
    prepared = prepare_panel(panel, config)
    analysis = prepared.analysis
    mlflow.log_params(
        {
            "panel.season": analysis.season,
            "panel.lookback": analysis.lookback,
            "forecast.horizon_used": analysis.horizon,
            "panel.series_used": len(prepared.panel.ids),
        }
    )
    mlflow.set_tag("panel_decisions", " | ".join(analysis.reasons)[:5000])
    kept = prepared.panel
    mlflow.log_table(
        pd.DataFrame(
            {
                "series_id": kept.ids,
                "rows": kept.lengths,
                "training_rows": prepared.split.validation - prepared.split.starts,
                "seasonal_acf": analysis.seasonal_acf,
                "seasonal": analysis.seasonal,
            }
        ),
        "analysis/per_series.json",
    )
    _report_excluded(
        {k: v for k, v in kept.excluded.items() if k not in before},
        "too short for the model's window",
        "analysis/excluded_series.json",
    )
    for reason in analysis.reasons:
        get_run_logger().info(reason)
    return prepared


@task(name="train", cache_policy=NO_CACHE)
def fit(prepared: PreparedPanel, config: PipelineConfig) -> GlobalFit:
    """One LSTM on the training windows of every series, early-stopped on their validation
    windows (the pooled validation loss); epochs are logged as curves."""
    stage("train")
    settings = config.panel
    architecture = Architecture(
        layers=settings.layers,
        units=settings.units,
        batch_size=settings.batch_size,
        linear_skip=config.tuning.linear_skip,
    )
    result = fit_global(
        prepared.panel,
        prepared.split,
        architecture,
        lookback=prepared.analysis.lookback,
        horizon=prepared.analysis.horizon,
        epochs=settings.epochs,
        patience=settings.patience,
        seed=config.seed,
        callbacks=[EpochMetricsLogger(), EpochProgress()],
        loss=settings.loss,
    )
    mlflow.log_metrics(
        {"train/best_epoch": result.best_epoch, "train/windows": result.train_windows}
    )
    get_run_logger().info(
        "global model: %d training windows, best epoch %d (val_loss %.4g)",
        result.train_windows,
        result.best_epoch,
        min(result.history["val_loss"]),
    )
    return result


@task(name="calibrate intervals", cache_policy=NO_CACHE)
def calibrate(
    model: GlobalFit, prepared: PreparedPanel, config: PipelineConfig
) -> ConformalIntervals:
    """Conformal widths per step from the scaled errors of every series' validation paths
    (the test part untouched)."""
    stage("calibrate")
    split = prepared.split
    origins = window_origins(split.starts, *split.part("validation"), model.lookback, model.horizon)
    intervals = calibrate_global(model, prepared.panel.values, origins, config.forecast.levels)
    mlflow.log_dict(intervals.to_dict(), "evaluation/intervals.json")
    return intervals


@task(name="backtest LSTM", cache_policy=NO_CACHE)
def backtest_global(
    model: GlobalFit, prepared: PreparedPanel, intervals: ConformalIntervals
) -> LstmPaths:
    """The global model's paths and bounds from every test origin of every series."""
    origins = backtest_origins(prepared.split, model.lookback, prepared.analysis.horizon)
    return global_lstm_paths(model, prepared.panel.values, origins, intervals)


@task(name="evaluate", cache_policy=NO_CACHE)
def evaluate(
    lstm: LstmPaths, prepared: PreparedPanel, config: PipelineConfig, work_dir: Path
) -> tuple[PanelBacktest, dict[float, float]]:
    """Backtest every series from the LSTM's origins (global or local models alike): naive,
    seasonal naive and statsforecast's AutoETS / AutoARIMA / AutoTheta (fitted per series on
    the rows before the test part) beside the LSTM; MASE per series, panel summaries, interval
    coverage, a table and a plot.

    Returns:
        The scored backtest, and the share of its values inside each interval level.
    """
    stage("evaluate")
    panel, split, analysis = prepared.panel, prepared.split, prepared.analysis
    horizon, season = analysis.horizon, analysis.season
    origins = lstm.origins
    methods = tuple(m for m in STATISTICAL_MODELS if m in config.evaluation.baselines)
    naive = naive_paths(panel.values, origins, horizon, season)
    forecasts: dict[str, np.ndarray] = {
        "model": lstm.paths,
        **{name: paths for name, paths in naive.items() if name in config.evaluation.baselines},
        **(statistical_paths(panel, split, horizon, season, methods) if methods else {}),
    }
    backtest = score_panel(panel, split, origins, forecasts, season)
    coverage, widths = lstm.coverage(panel.values)
    summary = backtest.summary()
    metrics = {f"panel/{key}": value for key, value in summary.items()}
    for level in coverage:
        metrics[f"test/coverage_{level_name(level)}"] = coverage[level]
        metrics[f"test/relative_width_{level_name(level)}"] = widths[level]
    mlflow.log_metrics(
        {**metrics, "test/paths": len(origins), "test/mase": summary["model/mean_mase"]}
    )
    table = backtest.table()
    mlflow.log_table(table, "evaluation/per_series.json")
    best = backtest.best_baseline()
    shown = ["seasonal_naive", best] if best != "seasonal_naive" else [best]
    plot = plot_mase_ratios(backtest, shown, work_dir / "plots" / "panel_mase_ratio.png")
    mlflow.log_artifact(str(plot), "plots")
    worst = backtest.worst(best, 10)
    create_table_artifact(
        [{"series_id": sid, f"LSTM MASE / {best} MASE": round(r, 4)} for sid, r in worst],
        key="worst-series",
        description=f"The 10 series where the global LSTM is furthest behind {best}",
    )
    get_run_logger().info(
        "backtest of %d series, %d paths of %d steps: mean MASE LSTM %.4g, %s %.4g, seasonal "
        "naive %.4g; LSTM beats seasonal naive on %.0f%% of series; coverage %s",
        len(panel.ids),
        len(origins),
        horizon,
        summary["model/mean_mase"],
        best,
        summary[f"{best}/mean_mase"],
        summary["seasonal_naive/mean_mase"],
        100 * summary["lstm_beats/seasonal_naive"],
        {f"{level:g}": round(value, 3) for level, value in coverage.items()},
    )
    return backtest, coverage


@task(name="compare", cache_policy=NO_CACHE)
def compare(
    backtest: PanelBacktest, prepared: PreparedPanel, config: PipelineConfig
) -> Comparisons:
    """Diebold–Mariano (HLN) and paired t on the pooled scaled errors: the global model against
    the best statistical baseline, and against the champion's paths from the same origins."""
    stage("compare")
    best = backtest.best_baseline()
    ours = backtest.scaled_errors()
    vs_baseline = compare_forecasts(ours, backtest.scaled_errors(best), best)
    mlflow.log_metrics(vs_baseline.metrics("compare/best_baseline"))
    mlflow.set_tag("best_baseline", best)
    name = config.registry.model_name
    champion = champion_version(name)
    if champion is None:
        mlflow.set_tag("comparison", "no champion")
        return Comparisons(vs_baseline, None, None)
    panel = prepared.panel
    loaded = mlflow.pyfunc.load_model(f"models:/{name}/{champion.version}")
    ids = panel.ids[panel.series_of_row]
    # A local champion has models of its own series only: it is compared on those.
    known = getattr(loaded.unwrap_python_model(), "folders", None)
    rows = np.isin(ids, list(known)) if known is not None else np.ones(len(ids), dtype=bool)
    frame = pd.DataFrame({_series_column(config): ids[rows], "value": panel.values[rows]})
    served = loaded.predict(frame, params={"output": "paths"}).to_numpy(dtype=float)
    paths = np.full((len(ids), served.shape[1]), np.nan)
    paths[rows] = served
    # A champion trained for another horizon is compared on the steps both forecast.
    steps = min(paths.shape[1], backtest.horizon)
    shared = rows[backtest.origins]
    theirs = backtest.scaled_errors_of(paths[backtest.origins, :steps])[shared]
    vs_champion = compare_forecasts(ours[shared, :steps], theirs, f"champion v{champion.version}")
    mlflow.log_metrics(vs_champion.metrics("compare/champion"))
    mlflow.set_tags({"compared_champion_version": champion.version, "comparison": "compared"})
    return Comparisons(vs_baseline, vs_champion, str(champion.version))


@task(name="bless", cache_policy=NO_CACHE)
def bless_panel(
    backtest: PanelBacktest, comparisons: Comparisons, config: PipelineConfig
) -> BlessingDecision:
    """The blessing policy on the pooled scaled errors, plus the panel's rule: the LSTM may be
    worse than seasonal naive on at most ``panel.max_series_worse_than_seasonal_naive`` of the
    series."""
    stage("bless")
    pooled = bless(
        float(np.mean(backtest.scaled_errors() ** 2)),
        float(np.mean(backtest.scaled_errors("seasonal_naive") ** 2)),
        comparisons.best_baseline,
        comparisons.champion,
        config.blessing,
    )
    worse = float(np.mean(backtest.mase["model"] > backtest.mase["seasonal_naive"]))
    allowed = config.panel.max_series_worse_than_seasonal_naive
    passed = worse <= allowed
    decision = BlessingDecision(
        pooled.blessed and passed,
        {**pooled.checks, "series_share": passed},
        [
            *pooled.reasons,
            f"worse than seasonal naive on {worse:.0%} of series (allowed {allowed:.0%})",
        ],
    )
    mlflow.set_tags(decision.run_tags())
    mlflow.log_dict(decision.to_dict(), "comparison/blessing.json")
    get_run_logger().info(decision.reason)
    return decision


@task(name="export", cache_policy=NO_CACHE)
def export(
    model: GlobalFit,
    intervals: ConformalIntervals,
    prepared: PreparedPanel,
    config: PipelineConfig,
    work_dir: Path,
) -> Path:
    """The SavedModel (normalisation and intervals in the graph), served in a fresh TensorFlow
    process on the last window of up to 16 series and checked against the pipeline."""
    stage("export")
    panel = prepared.panel
    stops = panel.starts[1:][:EXPORT_SAMPLES]
    histories = panel.values[stops[:, np.newaxis] - model.lookback + np.arange(model.lookback)]
    with FreshTensorFlow() as fresh:
        directory = export_global(
            model, work_dir / "saved_model", intervals, _series_column(config)
        )
        worst = verify_global_export(
            directory, model, histories[:, :, np.newaxis], intervals, fresh
        )
    mlflow.log_metric("export/max_rel_difference", worst)
    get_run_logger().info(
        "exported %s; a fresh TensorFlow process matches the pipeline on %d histories within %.2g",
        directory,
        len(histories),
        worst,
    )
    return directory


@task(name="register", cache_policy=NO_CACHE)
def register(
    saved_model: Path,
    model: GlobalFit,
    prepared: PreparedPanel,
    decision: BlessingDecision,
    config: PipelineConfig,
    description: str,
    tags: dict[str, str],
) -> ModelVersion:
    """A new version of the panel's pyfunc (tags, ``kind=panel`` and the ``.keras`` file
    included), alias ``challenger``."""
    stage("register")
    panel = prepared.panel
    rows = slice(int(panel.starts[0]), int(panel.starts[0]) + model.lookback + 2)
    example = pd.DataFrame(
        {
            _series_column(config): panel.ids[panel.series_of_row[rows]],
            "value": panel.values[rows],
        }
    )
    version_tags = {
        **tags,
        KIND_TAG: PANEL_KIND,
        STRATEGY_TAG: GLOBAL_STRATEGY,
        **decision.tags(),
    }
    with tempfile.TemporaryDirectory(prefix="keras-") as folder:
        keras_file = Path(folder) / "model.keras"
        model.model.save(keras_file)
        version = log_global_forecaster(
            saved_model, config.registry.model_name, example, version_tags, keras_file, description
        )
    mlflow.set_tag("registered_version", version.version)
    get_run_logger().info(
        "registered %s version %s as challenger", config.registry.model_name, version.version
    )
    return version


def _series_column(config: PipelineConfig) -> str:
    """The panel's series id column (a panel run always has one)."""
    if config.data.series_column is None:
        raise ValueError("a panel's retrain needs data.series_column")
    return config.data.series_column


def _report_excluded(excluded: dict[str, str], by: str, artifact: str) -> None:
    """Series left out under ``data.bad_series = skip``: a warning each, a table, a record
    (MLflow artifact ``artifact``)."""
    if not excluded:
        return
    logger = get_run_logger()
    for series_id, why in excluded.items():
        logger.warning("series %r left out (data.bad_series = skip): %s", series_id, why)
    mlflow.log_dict(excluded, artifact)
    create_table_artifact(
        [{"series_id": k, "why": v} for k, v in excluded.items()],
        key="excluded-series",
        description=f"Series left out by {by} (data.bad_series = skip)",
    )
