"""Prefect tasks: the blessing gate; register a version as challenger; promote it to champion."""

from __future__ import annotations

from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from lstm_model.config import PipelineConfig
from lstm_model.delivery.pyfunc import log_forecaster
from lstm_model.delivery.registry import promote
from lstm_model.evaluation.blessing import BlessingDecision, bless
from lstm_model.evaluation.metrics import TestEvaluation
from lstm_model.modeling.transform import PreparedData
from tasks.evaluation import Comparisons


@task(name="bless", cache_policy=NO_CACHE)
def bless_challenger(
    evaluation: TestEvaluation, comparisons: Comparisons, config: PipelineConfig
) -> BlessingDecision:
    """Apply the blessing policy; the decision and its reason in words become run tags."""
    decision = bless(
        evaluation.metrics["model"]["mse"],
        evaluation.metrics["seasonal_naive"]["mse"],
        comparisons.best_baseline,
        comparisons.champion,
        config.blessing,
    )
    mlflow.set_tags(
        {
            "blessed": str(decision.blessed).lower(),
            "blessing_reason": decision.reason[:5000],
            **{f"blessing_check_{k}": str(v).lower() for k, v in decision.checks.items()},
        }
    )
    mlflow.log_dict(decision.to_dict(), "comparison/blessing.json")
    get_run_logger().info(decision.reason)
    return decision


@task(name="register", cache_policy=NO_CACHE)
def register(
    saved_model_dir: Path,
    model_name: str,
    data: PreparedData,
    decision: BlessingDecision | None = None,
) -> ModelVersion:
    """A new registered version (signature and input example included), alias ``challenger``.

    With a blessing decision, the version gets tags ``blessed`` (true/false) and
    ``blessing_reason``, so unblessed versions are visible and comparable in the registry.
    """
    example = data.values[data.bounds.test[0] - data.transform.warmup : data.bounds.test[0] + 5]
    version = log_forecaster(saved_model_dir, model_name, example)
    if decision is not None:
        client = MlflowClient()
        client.set_model_version_tag(
            model_name, version.version, "blessed", str(decision.blessed).lower()
        )
        client.set_model_version_tag(
            model_name, version.version, "blessing_reason", decision.reason[:5000]
        )
    mlflow.set_tag("registered_version", version.version)
    get_run_logger().info("registered %s version %s as challenger", model_name, version.version)
    return version


@task(name="promote", cache_policy=NO_CACHE)
def promote_to_champion(model_name: str, version: str, reason: str) -> None:
    """Move the ``champion`` alias to ``version``."""
    promote(model_name, version, reason)
    mlflow.set_tag("champion", "true")
    get_run_logger().info("%s version %s is the new champion: %s", model_name, version, reason)
