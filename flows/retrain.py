"""The retraining pipeline, visible in one function.

load -> validate -> analyze -> preprocess -> tune -> train -> evaluate -> diagnose -> compare
-> bless -> export -> register -> push (-> deploy) -> promote.

Push and promotion run under the model's registry lock, and only if the champion is still the
one the challenger was compared with: two retrains of one model never both become champion.

Export is verified before registering, and ``champion`` moves only after the package has been
pushed (and, when enabled, the SageMaker endpoint switched to it), so a failure at any step
leaves the registry's aliases and the push target as they were.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlflow
from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from flows.preflight import preflight
from flows.ship import ship
from lstm_model.config import PipelineConfig
from lstm_model.data.source import content_hash
from lstm_model.data.values import TimeSeries
from lstm_model.delivery.doctor import HOST_TAG, PID_TAG
from lstm_model.delivery.lock import model_lock
from lstm_model.delivery.registry import champion_moved
from lstm_model.delivery.shipping import push_metadata
from lstm_model.evaluation.blessing import advice_when_baselines_win
from lstm_model.redact import install_log_redaction, redact
from lstm_model.tracking import configure_tracking, killed_on_interrupt
from tasks.analysis import analyze
from tasks.data import load_data, validate_data
from tasks.delivery import export, promote_to_champion, register
from tasks.evaluation import bless_challenger, compare, diagnose, evaluate
from tasks.modeling import preprocess, refit, train, tune


@dataclass(frozen=True)
class RetrainResult:
    """What a retraining run produced."""

    run_id: str
    model_name: str
    version: str
    champion: bool
    reason: str
    pushed_to: str | None
    metrics: dict[str, float]
    advice: str | None = None


@flow(name="retrain", log_prints=True)
def retrain(data_path: str, config: PipelineConfig | None = None) -> RetrainResult:
    """Train, evaluate, register and ship an LSTM forecaster for the series in ``data_path``.

    Args:
        data_path: CSV or Parquet file with a timestamp and a target column.
        config: Every knob; the defaults run as they are.

    Returns:
        The MLflow run, the registered version, whether it became champion, and where it went.
    """
    config = config or PipelineConfig()
    name = config.registry.model_name
    install_log_redaction()  # scheduled and deployed runs do not go through the CLI
    # Bad input should fail now, not after minutes of tuning.
    preflight(data_path, config)
    configure_tracking(config.registry.tracking_uri, config.registry.experiment)
    with (
        mlflow.start_run(run_name=f"retrain-{name}") as run,
        killed_on_interrupt(),
        # Removed on any exit, an interrupt included (only kill -9 can leave it behind).
        tempfile.TemporaryDirectory(prefix="lstm-pipeline-") as tmp,
    ):
        work_dir = Path(tmp)
        _log_run_context(data_path, config)

        frame, ingestion = load_data(data_path, config)
        validate_data(frame, config, source=str(data_path))
        # One object for the series from here on; its frequency is the one ingestion inferred.
        series = TimeSeries.from_frame(frame, config.data, ingestion.frequency)

        analysis = analyze(series, config, work_dir)
        data = preprocess(series, analysis, config)
        # The search may pick another lookback: ``data`` comes back windowed for it.
        architecture, data = tune(data, config, work_dir)
        evaluated = train(data, architecture, config, work_dir)
        evaluation = evaluate(evaluated.model, data, analysis, series, config, work_dir)
        diagnose(evaluated.model, data, evaluation, config, work_dir)
        comparisons = compare(evaluation, data, config)
        blessing = bless_challenger(evaluation, comparisons, config)

        # Evaluation judged the procedure; the shipped model repeats it on every row.
        if config.training.refit_on_full_history:
            shipped = refit(data, architecture, evaluated, config)
            model, transform = shipped.model, shipped.transform
        else:
            model, transform = evaluated.model, data.transform
        saved_model = export(model, transform, data.values, work_dir)
        # Registered either way (tagged blessed=true/false); only a blessed one ships.
        version = str(register(saved_model, name, data, blessing).version)
        promoted, reason = blessing.blessed, blessing.reason
        pushed_to = None
        if promoted:
            # compare -> push -> promote must not interleave with another retrain of this
            # model: under its lock, promote only if the champion is still the compared one.
            logger = get_run_logger()
            with model_lock(
                mlflow.get_registry_uri(), name, config.registry.lock_timeout, logger.info
            ):
                moved = champion_moved(name, comparisons.champion_version)
                if moved is None:
                    metadata = push_metadata(run.info.run_id, version, evaluation.flat_metrics())
                    pushed_to = ship(saved_model, name, version, config, work_dir, metadata)
                    promote_to_champion(name, version, reason)
                else:
                    promoted, reason = False, moved
        if not promoted:
            get_run_logger().info("version %s stays challenger: %s", version, reason)
        mlflow.set_tags({"promotion_decision": reason, "pushed_to": pushed_to or "not pushed"})
        return RetrainResult(
            run.info.run_id,
            name,
            version,
            promoted,
            reason,
            pushed_to,
            evaluation.flat_metrics(),
            advice_when_baselines_win(evaluation.metrics),
        )


def _log_run_context(data_path: str, config: PipelineConfig) -> None:
    """Configuration, data fingerprint and orchestration ids, so runs compare side by side."""
    # A tracking URI with user:password in it must not be stored with the run.
    mlflow.log_params({key: redact(str(value)) for key, value in config.flat().items()})
    mlflow.log_dict(json.loads(redact(config.model_dump_json())), "config.json")
    mlflow.set_tags(
        {
            "data_path": redact(str(data_path)),
            "data_sha256": content_hash(data_path),
            "prefect_flow_run_id": str(flow_run.get_id() or ""),
            # Lets `lstm-pipeline doctor` tell a live run from one whose process died.
            PID_TAG: str(os.getpid()),
            HOST_TAG: socket.gethostname(),
        }
    )
