"""The retraining pipeline, visible in one function.

load -> validate -> analyze -> preprocess -> tune -> train -> calibrate intervals -> backtest
-> diagnose -> compare -> bless -> (refit) -> export -> register -> push (-> deploy) -> promote.

Push and promotion run under the model's registry lock, and only if the champion is still the
one the challenger was compared with: two retrains of one model never both become champion.

Export is verified before registering, and ``champion`` moves only after the package has been
pushed (and, when enabled, the SageMaker endpoint switched to it), so a failure at any step
leaves the registry's aliases and the push target as they were.
"""

from __future__ import annotations

from dataclasses import dataclass

import mlflow
from prefect import flow

from flows.execution import dask_workers, search
from flows.retrain_panel import PanelRetrainResult, retrain_panel
from flows.runs import (
    SkippedRetrain,
    checked_inputs,
    flow_run_name,
    ship_and_promote,
    tracked_run,
)
from lstm_model.config import PipelineConfig
from lstm_model.data.values import TimeSeries
from lstm_model.delivery.registry import SERIES_KIND
from lstm_model.delivery.shipping import push_metadata
from lstm_model.evaluation.backtest import Backtest
from lstm_model.evaluation.blessing import BlessingDecision, advice_when_baselines_win
from tasks.analysis import analyze
from tasks.data import load_data, validate_data
from tasks.delivery import export, register
from tasks.evaluation import (
    bless_challenger,
    calibrate,
    chart_forecast,
    compare,
    diagnose,
    evaluate,
)
from tasks.modeling import preprocess, refit, train


@dataclass(frozen=True)
class RetrainResult:
    """What a retraining run produced.

    ``test_metrics`` holds every forecaster's metrics over the backtest's ``test_paths`` paths
    of ``horizon`` steps (``model`` is the LSTM that was evaluated); ``coverage`` the share of
    backtest values inside each interval level; ``blessing`` each check of the policy in order;
    ``champion_before`` the version that was champion when the run started.
    """

    run_id: str
    model_name: str
    version: str
    champion: bool
    reason: str
    pushed_to: str | None
    test_metrics: dict[str, dict[str, float]]
    blessing: BlessingDecision
    champion_before: str | None
    test_paths: int
    horizon: int
    coverage: dict[float, float]
    data_path: str
    advice: str | None = None


@flow(name="retrain", log_prints=True, flow_run_name=flow_run_name)
def retrain(
    data_path: str, config: PipelineConfig | None = None, force: bool = False
) -> RetrainResult | PanelRetrainResult | SkippedRetrain:
    """Train, evaluate, register and ship an LSTM forecaster for the series in ``data_path``
    (for every series of a panel when ``data.series_column`` is set).

    Args:
        data_path: CSV or Parquet file with a timestamp and a target column.
        config: Every knob; the defaults run as they are.
        force: Retrain even when the newest version was trained on the same data (same
            SHA-256) with the same configuration; otherwise such a run is skipped.

    Returns:
        The MLflow run, the registered version, whether it became champion, and where it
        went; or, when nothing changed, which version already covers this data.
    """
    config = config or PipelineConfig()
    if config.data.series_column:
        # A panel: one global model for every series, its own pipeline (schedules and
        # deployments of this flow train panels too).
        return retrain_panel(data_path, config, force)
    name = config.registry.model_name
    inputs = checked_inputs(data_path, config, SERIES_KIND, force)
    if isinstance(inputs, SkippedRetrain):
        return inputs
    with tracked_run(data_path, config, inputs) as (run, work_dir):
        # Dask workers (execution.runner) start now, while the data are loaded and analysed.
        with dask_workers(config) as search_config:
            frame, ingestion = load_data(data_path, config)
            validate_data(frame, config, source=str(data_path))
            # One object for the series from here on; its frequency is the one ingestion found.
            series = TimeSeries.from_frame(frame, config.data, ingestion.frequency)

            analysis = analyze(series, config, work_dir)
            data = preprocess(series, analysis, config)
            # The search (in this process or on the workers) may pick another lookback:
            # ``data`` comes back windowed for it.
            architecture, data = search(data, search_config, work_dir)
        evaluated = train(data, architecture, config, work_dir)
        intervals = calibrate(evaluated.model, data, config)
        evaluation = evaluate(evaluated.model, data, analysis, intervals, config, work_dir)
        diagnose(evaluated.model, data, config, work_dir)
        comparisons = compare(evaluation, data, config)
        blessing = bless_challenger(evaluation, comparisons, config)

        # Evaluation judged the procedure; the shipped model repeats it on every row.
        if config.training.refit_on_full_history:
            shipped = refit(data, architecture, evaluated, config)
            model, transform = shipped.model, shipped.transform
        else:
            model, transform = evaluated.model, data.transform
        # The refit has no out-of-sample errors of its own: it ships the evaluated widths.
        saved_model = export(model, transform, data.values, intervals, work_dir)
        chart_forecast(model, transform, series, evaluation, intervals, work_dir)
        # Registered either way (tagged blessed=true/false); only a blessed one ships.
        description = describe_version(data_path, evaluation, blessing)
        version = str(
            register(saved_model, name, data, blessing, model, description, inputs).version
        )
        promoted, reason, pushed_to = ship_and_promote(
            saved_model,
            version,
            blessing,
            comparisons.champion_version,
            config,
            work_dir,
            push_metadata(run.info.run_id, version, evaluation.flat_metrics()),
        )
        # The run's description in the MLflow UI.
        mlflow.set_tag("mlflow.note.content", f"{name} v{version}: {description}")
        return RetrainResult(
            run.info.run_id,
            name,
            version,
            promoted,
            reason,
            pushed_to,
            evaluation.metrics,
            blessing,
            comparisons.champion_version,
            len(evaluation.origins),
            evaluation.horizon,
            intervals.coverage(evaluation.actual, evaluation.forecasts["model"]),
            str(data_path),
            advice_when_baselines_win(evaluation.metrics),
        )


def describe_version(data_path: str, evaluation: Backtest, blessing: BlessingDecision) -> str:
    """The version's (and the run's) description: data, headline metric, the decision.

    Args:
        data_path: The series trained on.
        evaluation: Backtest metrics of the LSTM and the baselines.
        blessing: The blessing decision.

    Returns:
        A few sentences in words, e.g. for the registry page.
    """
    ours = evaluation.metrics["model"]["rmse"]
    best = evaluation.best_baseline()
    theirs = evaluation.metrics[best]["rmse"]
    return (
        f"LSTM forecaster of {data_path}; test RMSE {ours:.4g} "
        f"(best baseline {best}: {theirs:.4g}) over {len(evaluation.origins)} backtest paths "
        f"of {evaluation.horizon} steps. {blessing.reason[:1000]}"
    )
