"""The retraining pipeline of a panel (many series), visible in one function.

load and check every series -> analyze the panel -> train one LSTM on all series (global) or
one per series (local, fanned out by execution.runner) -> calibrate intervals -> backtest every
series against the baselines -> compare -> bless -> export -> register -> push (-> deploy) ->
promote.

One registered version serves the whole panel (the global model also series it never saw,
from their history alone). Registration, push and promotion follow the single-series flow:
verified export before registering, ``champion`` moved under the model's lock only after the
push.
"""

from __future__ import annotations

from dataclasses import dataclass

import mlflow
from prefect import flow

from flows.execution import fit_series_models
from flows.runs import (
    SkippedRetrain,
    checked_inputs,
    flow_run_name,
    ship_and_promote,
    tracked_run,
)
from lstm_model.config import PipelineConfig
from lstm_model.delivery.registry import PANEL_KIND
from lstm_model.delivery.shipping import push_metadata
from lstm_model.evaluation.blessing import BlessingDecision
from lstm_model.evaluation.panel_backtest import PanelBacktest
from tasks.panel import (
    backtest_global,
    bless_panel,
    calibrate,
    compare,
    evaluate,
    export,
    fit,
    load_panel,
    prepare,
    register,
)
from tasks.panel_local import export_local, record_fits, register_local


@dataclass(frozen=True)
class PanelRetrainResult:
    """What a panel's retraining run produced.

    ``summary`` holds the panel's mean and median MASE per forecaster and the LSTM's win
    shares (:meth:`PanelBacktest.summary`); ``excluded`` the series left out, with why.
    """

    run_id: str
    model_name: str
    version: str
    champion: bool
    reason: str
    pushed_to: str | None
    series: int
    excluded: dict[str, str]
    horizon: int
    summary: dict[str, float]
    best_baseline: str
    worst: list[tuple[str, float]]
    coverage: dict[float, float]
    blessing: BlessingDecision
    champion_before: str | None
    data_path: str


@flow(name="retrain-panel", log_prints=True, flow_run_name=flow_run_name)
def retrain_panel(
    data_path: str, config: PipelineConfig, force: bool = False
) -> PanelRetrainResult | SkippedRetrain:
    """Train, evaluate, register and ship one global LSTM for every series in ``data_path``.

    Args:
        data_path: Long-format CSV or Parquet: ``data.series_column``, the time column and the
            target, one row per series and timestamp.
        config: Every knob; ``data.series_column`` must be set.
        force: Retrain even when the newest version was trained on the same data and config.

    Returns:
        The MLflow run, the registered version, whether it became champion and where it went;
        or, when nothing changed, which version already covers this data.
    """
    name = config.registry.model_name
    inputs = checked_inputs(data_path, config, PANEL_KIND, force)
    if isinstance(inputs, SkippedRetrain):
        return inputs
    with tracked_run(data_path, config, inputs) as (run, work_dir):
        panel = load_panel(data_path, config)
        prepared = prepare(panel, config)
        if config.panel.strategy == "global":
            model = fit(prepared, config)
            intervals = calibrate(model, prepared, config)
            lstm = backtest_global(model, prepared, intervals)
        else:
            # One model per series, fanned out by execution.runner; a series that cannot be
            # fitted stops the run or is left out (data.bad_series).
            local = fit_series_models(prepared, config)
            prepared = local.prepared
            lstm = record_fits(local.fits, prepared, local.origins, local.seconds)
        evaluation, coverage = evaluate(lstm, prepared, config, work_dir)
        comparisons = compare(evaluation, prepared, config)
        blessing = bless_panel(evaluation, comparisons, config)
        description = describe_panel_version(data_path, evaluation, blessing, config)
        if config.panel.strategy == "global":
            saved_model = export(model, intervals, prepared, config, work_dir)
            registered = register(
                saved_model, model, prepared, blessing, config, description, inputs
            )
        else:
            saved_model = export_local(local.fits, config, work_dir)
            registered = register_local(
                saved_model, prepared, blessing, config, description, inputs
            )
        version = str(registered.version)
        summary = evaluation.summary()
        promoted, reason, pushed_to = ship_and_promote(
            saved_model,
            version,
            blessing,
            comparisons.champion_version,
            config,
            work_dir,
            push_metadata(run.info.run_id, version, {"test/mase": summary["model/mean_mase"]}),
        )
        mlflow.set_tag("mlflow.note.content", f"{name} v{version}: {description}")
        best = evaluation.best_baseline()
        return PanelRetrainResult(
            run.info.run_id,
            name,
            version,
            promoted,
            reason,
            pushed_to,
            len(prepared.panel.ids),
            prepared.panel.excluded,
            evaluation.horizon,
            summary,
            best,
            evaluation.worst(best, 5),
            coverage,
            blessing,
            comparisons.champion_version,
            str(data_path),
        )


def describe_panel_version(
    data_path: str, evaluation: PanelBacktest, blessing: BlessingDecision, config: PipelineConfig
) -> str:
    """The version's description: strategy, data, the panel's mean MASE against the best
    baseline's, the win share and the decision."""
    summary = evaluation.summary()
    best = evaluation.best_baseline()
    kind = "Global LSTM forecaster" if config.panel.strategy == "global" else "One LSTM per series"
    return (
        f"{kind} of the {len(evaluation.ids)} series in {data_path}; mean "
        f"MASE {summary['model/mean_mase']:.4g} (best baseline {best}: "
        f"{summary[f'{best}/mean_mase']:.4g}; better than seasonal naive on "
        f"{summary['lstm_beats/seasonal_naive']:.0%} of series) over paths of "
        f"{evaluation.horizon} steps. {blessing.reason[:1000]}"
    )
