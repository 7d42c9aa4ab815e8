"""Prefect tasks: register a version as challenger; promote it to champion."""

from __future__ import annotations

from pathlib import Path

import mlflow
from mlflow.entities.model_registry import ModelVersion
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from lstm_model.evaluation import ChampionComparison
from lstm_model.preprocess import PreparedData
from lstm_model.tracking import log_forecaster, promote


def promotion_decision(comparison: ChampionComparison | None) -> tuple[bool, str]:
    """Champion when there is none yet, or when the challenger is significantly better."""
    if comparison is None:
        return True, "first version: no champion to beat"
    return comparison.challenger_wins, comparison.reason


@task(name="register", cache_policy=NO_CACHE)
def register(saved_model_dir: Path, model_name: str, data: PreparedData) -> ModelVersion:
    """A new registered version (signature and input example included), alias ``challenger``."""
    example = data.values[data.bounds.test[0] - data.transform.warmup : data.bounds.test[0] + 5]
    version = log_forecaster(saved_model_dir, model_name, example)
    mlflow.set_tag("registered_version", version.version)
    get_run_logger().info("registered %s version %s as challenger", model_name, version.version)
    return version


@task(name="promote", cache_policy=NO_CACHE)
def promote_to_champion(model_name: str, version: str, reason: str) -> None:
    """Move the ``champion`` alias to ``version``."""
    promote(model_name, version, reason)
    mlflow.set_tag("champion", "true")
    get_run_logger().info("%s version %s is the new champion: %s", model_name, version, reason)
