"""``lstm-pipeline doctor``: find what crashed or killed runs left behind, repair what is safe.

- MLflow runs still RUNNING whose process is gone (it recorded its pid and host), or that
  started longer ago than a limit when the process cannot be checked (another host, an older
  build), are marked FAILED, with their RUNNING trial runs: nothing will ever end them.
- Versions without a ``blessed`` tag (a registration cut short, or made outside the pipeline)
  are reported: they count as not blessed everywhere, so they are harmless but deserve a look.
- Aliases that point at a version that no longer exists, a ``champion`` that is not blessed
  (nor promoted with ``--force``) and champion-history entries of deleted versions are reported.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass

from mlflow import MlflowClient
from mlflow.entities import Run
from mlflow.entities.model_registry import RegisteredModel

from lstm_model.delivery.registry import (
    CHAMPION,
    HISTORY_TAG,
    is_blessed,
    may_ship,
    registered_history,
)

PID_TAG = "lstm_pipeline.pid"
HOST_TAG = "lstm_pipeline.host"
_PARENT_TAG = "mlflow.parentRunId"


@dataclass(frozen=True)
class Finding:
    """One problem: what kind, which run/model/version, in words, and whether it was fixed."""

    kind: str
    subject: str
    detail: str
    fixed: bool = False


def examine(stale_after_hours: float) -> list[Finding]:
    """Check the tracking store and the registry; mark dead RUNNING runs FAILED.

    Args:
        stale_after_hours: A RUNNING run whose process cannot be checked (no pid tag, or
            another host) counts as dead once it started this many hours ago.

    Returns:
        Every finding, repaired or not; empty when all is well.
    """
    client = MlflowClient()
    findings = _stale_runs(client, stale_after_hours)
    for model in _registered_models(client):
        findings.extend(_registry_findings(client, model))
    return findings


def _stale_runs(client: MlflowClient, stale_after_hours: float) -> list[Finding]:
    experiments = [e.experiment_id for e in client.search_experiments()]
    if not experiments:
        return []
    running = client.search_runs(experiments, "attributes.status = 'RUNNING'", max_results=5000)
    by_id = {run.info.run_id: run for run in running}
    dead = {run_id for run_id, run in by_id.items() if _dead(run, stale_after_hours)}
    # Trial runs die with their retrain: a RUNNING child of a dead parent is dead too.
    dead |= {run_id for run_id, run in by_id.items() if run.data.tags.get(_PARENT_TAG) in dead}
    findings = []
    for run_id in sorted(dead):
        run = by_id[run_id]
        client.set_tag(run_id, "doctor", "marked FAILED: its process was gone")
        client.set_terminated(run_id, "FAILED")
        findings.append(
            Finding(
                "stale run",
                f"run {run_id} ({run.info.run_name})",
                f"was RUNNING since {_when(run.info.start_time)} but {_why_dead(run)}; "
                "marked FAILED",
                fixed=True,
            )
        )
    return findings


def _dead(run: Run, stale_after_hours: float) -> bool:
    tags = run.data.tags
    if tags.get(HOST_TAG) == socket.gethostname() and tags.get(PID_TAG, "").isdigit():
        return not process_alive(int(tags[PID_TAG]))
    if _PARENT_TAG in tags:
        return False  # decided by its parent
    age_hours = (time.time() * 1000 - run.info.start_time) / 3_600_000
    return bool(age_hours > stale_after_hours)


def process_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this machine (ours or another user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def _why_dead(run: Run) -> str:
    tags = run.data.tags
    if PID_TAG in tags and tags.get(HOST_TAG) == socket.gethostname():
        return f"its process {tags[PID_TAG]} no longer exists"
    if _PARENT_TAG in tags:
        return "its retrain run died"
    return "it is older than the stale limit and its process cannot be checked"


def _registered_models(client: MlflowClient) -> list[RegisteredModel]:
    models: list[RegisteredModel] = []
    token = None
    while True:
        page = client.search_registered_models(max_results=100, page_token=token)
        models.extend(page)
        token = page.token
        if not token:
            return models


def _registry_findings(client: MlflowClient, model: RegisteredModel) -> list[Finding]:
    name = model.name
    findings = []
    quoted = name.replace("'", "\\'")
    versions = {str(v.version): v for v in client.search_model_versions(f"name = '{quoted}'")}
    for number, version in sorted(versions.items(), key=lambda item: int(item[0])):
        if is_blessed(version) is None:
            findings.append(
                Finding(
                    "untagged version",
                    f"{name} v{number}",
                    "has no 'blessed' tag (registration cut short, or registered outside the "
                    "pipeline): it counts as not blessed; promote it with --force after a "
                    "review, or delete it",
                )
            )
    for alias, number in sorted(model.aliases.items()):
        target = versions.get(str(number))
        if target is None:
            findings.append(
                Finding(
                    "dangling alias",
                    f"{name}@{alias}",
                    f"points at v{number}, which does not exist; move it with "
                    f"`lstm-pipeline promote {name} VERSION` or delete the alias",
                )
            )
        elif alias == CHAMPION and not may_ship(target):
            findings.append(
                Finding(
                    "unblessed champion",
                    f"{name}@{alias}",
                    f"points at v{number}, which is not blessed and was not promoted with "
                    "--force: `push` and `serve` refuse it",
                )
            )
    missing = [v for v in registered_history(model) if v not in versions]
    if missing:
        findings.append(
            Finding(
                "dangling history",
                f"{name} {HISTORY_TAG}",
                f"lists deleted version(s) {', '.join('v' + v for v in missing)}; rollback "
                "would stop there",
            )
        )
    return findings


def _when(millis: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(millis / 1000))
