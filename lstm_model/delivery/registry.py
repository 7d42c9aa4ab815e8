"""Registry operations on MLflow aliases: list versions, promote, roll back.

``champion`` is the version in production. Every promotion records who, when and why as tags
on the version, and keeps the order of champions in a registered-model tag, so
:func:`rollback` can put the previous champion back (the ``previous-champion`` alias shows
which one that is). Registry stages are deprecated and never used.
"""

from __future__ import annotations

import getpass
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion, RegisteredModel
from mlflow.exceptions import MlflowException

from lstm_model.config import RegistryConfig
from lstm_model.delivery.lock import model_lock
from lstm_model.errors import PipelineInputError
from lstm_model.evaluation.blessing import BLESSED_TAG
from lstm_model.redact import redact

CHAMPION = "champion"
CHALLENGER = "challenger"
PREVIOUS_CHAMPION = "previous-champion"
HISTORY_TAG = "champion_history"  # JSON list of versions, oldest first
FORCED_TAG = "promotion_forced"  # set when --force promoted a version that is not blessed
DATA_TAG, CONFIG_TAG = "data_sha256", "config_sha256"  # what a version was trained from
# What a version forecasts: "panel" (the global model of many series, input with a series id
# column) or, when absent, one series. A champion is only compared with its own kind.
KIND_TAG, PANEL_KIND, SERIES_KIND = "forecaster_kind", "panel", "series"
# How a panel's version forecasts: one global model, or one model per series ("local"). Both
# take the same input and answer the same tables, so they share PANEL_KIND and a champion of
# either strategy can be compared with a challenger of the other.
STRATEGY_TAG, GLOBAL_STRATEGY, LOCAL_STRATEGY = "panel_strategy", "global", "local"
HEADLINE_METRICS = ("test/rmse", "test/mase")
USER_ENV = "LSTM_PIPELINE_USER"  # who, when the OS user is a shared CI account
LOCK_TIMEOUT = RegistryConfig.model_fields["lock_timeout"].default


@dataclass(frozen=True)
class VersionSummary:
    """One registered version as ``models list`` shows it.

    ``blessed`` is None when the version carries no ``blessed`` tag.
    """

    version: str
    aliases: tuple[str, ...]
    run_id: str | None
    created: datetime
    metrics: dict[str, float]
    blessed: bool | None
    promotion: str | None


@dataclass(frozen=True)
class Promotion:
    """What a promotion or rollback did."""

    model_name: str
    version: str
    previous: str | None
    who: str
    when: str
    reason: str


def use_registry(tracking_uri: str | None = None) -> str:
    """Point MLflow's tracking and registry at ``tracking_uri``, ``MLFLOW_TRACKING_URI`` or the
    local default store, without creating an experiment.

    Returns:
        The URI in use.
    """
    import mlflow

    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or "sqlite:///mlflow.db"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


def parse_model_ref(ref: str) -> tuple[str, str]:
    """``NAME@ALIAS`` -> (name, alias); ``NAME/VERSION`` -> (name, version).

    Raises:
        PipelineInputError: Neither form.
    """
    for sep in ("@", "/"):
        name, found, rest = ref.rpartition(sep)
        if found and name and rest:
            return name, rest
    raise PipelineInputError(
        f"{ref!r} names no version: use NAME@ALIAS (e.g. lstm-forecaster@champion) or "
        "NAME/VERSION (e.g. lstm-forecaster/3)."
    )


def resolve(model_name: str, alias_or_version: str) -> ModelVersion:
    """The version an alias points at, or the version with that number.

    Raises:
        PipelineInputError: Unknown model, alias or version; the message lists what exists.
    """
    client = MlflowClient()
    aliases = _aliases(client, model_name)
    try:
        if alias_or_version.isdigit():
            return client.get_model_version(model_name, alias_or_version)
        return client.get_model_version_by_alias(model_name, alias_or_version)
    except MlflowException:
        raise PipelineInputError(
            f"{model_name} has no version or alias {alias_or_version!r}; aliases: "
            f"{_describe_aliases(aliases)}. See `lstm-pipeline models list {model_name}`."
        ) from None


def champion_version(model_name: str) -> ModelVersion | None:
    """The version holding the ``champion`` alias, or None."""
    try:
        return MlflowClient().get_model_version_by_alias(model_name, CHAMPION)
    except MlflowException:
        return None


def check_champion_kind(model_name: str, kind: str) -> None:
    """Refuse a retrain whose model would be compared with a champion of the other kind (a
    panel's global model against a single series' model, or the reverse).

    Args:
        model_name: Registered model name.
        kind: ``panel`` or ``series``: what this run trains.

    Raises:
        PipelineInputError: the champion forecasts the other kind of input.
    """
    champion = champion_version(model_name)
    if champion is None:
        return
    theirs = (champion.tags or {}).get(KIND_TAG, SERIES_KIND)
    if theirs != kind:
        what = {PANEL_KIND: "a panel (many series)", SERIES_KIND: "one series"}
        raise PipelineInputError(
            f"{model_name}'s champion (v{champion.version}) forecasts {what[theirs]}, this run "
            f"trains a model of {what[kind]}: they cannot be compared. Register it under "
            "another name with --model-name (registry.model_name)."
        )


def is_blessed(version: ModelVersion) -> bool | None:
    """The version's ``blessed`` tag as a bool; None when it has none."""
    value = (version.tags or {}).get(BLESSED_TAG)
    if value is None:
        return None
    return value.strip().lower() in ("true", "1", "yes")


def may_ship(version: ModelVersion) -> bool:
    """Whether a version may be promoted, pushed or served: tagged ``blessed=true``, or
    promoted with ``--force`` by an operator. A version without the tag (a registration that
    did not finish, or one made outside the pipeline) counts as not blessed."""
    forced = (version.tags or {}).get(FORCED_TAG) == "true"
    return is_blessed(version) is True or forced


def not_blessed_reason(model_name: str, version: ModelVersion) -> str:
    """Why ``version`` counts as not blessed, in words, for refusals."""
    if is_blessed(version) is False:
        return (
            f"{model_name} v{version.version} is tagged blessed=false: its evaluation did not "
            "pass the blessing policy"
        )
    return (
        f"{model_name} v{version.version} has no '{BLESSED_TAG}' tag (its registration did "
        "not finish, or it was registered outside the pipeline), so it counts as not blessed"
    )


def list_versions(model_name: str) -> list[VersionSummary]:
    """Every version of ``model_name``, newest first, with aliases and headline metrics.

    Raises:
        PipelineInputError: No registered model of that name.
    """
    client = MlflowClient()
    aliases = _aliases(client, model_name)
    by_version: dict[str, list[str]] = {}
    for alias, version in aliases.items():
        by_version.setdefault(str(version), []).append(alias)
    summaries = []
    for mv in client.search_model_versions(f"name = '{_quote(model_name)}'"):
        metrics: dict[str, float] = {}
        if mv.run_id:
            try:
                run_metrics = client.get_run(mv.run_id).data.metrics
            except MlflowException:  # the run was deleted; the version stays listable
                run_metrics = {}
            metrics = {k: run_metrics[k] for k in HEADLINE_METRICS if k in run_metrics}
        summaries.append(
            VersionSummary(
                version=str(mv.version),
                aliases=tuple(sorted(by_version.get(str(mv.version), []))),
                run_id=mv.run_id,
                created=datetime.fromtimestamp(mv.creation_timestamp / 1000, tz=UTC),
                metrics=metrics,
                blessed=is_blessed(mv),
                promotion=(mv.tags or {}).get("promotion_reason"),
            )
        )
    return sorted(summaries, key=lambda s: int(s.version), reverse=True)


def newest_version_from(model_name: str, data_sha256: str, config_sha256: str) -> str | None:
    """The newest registered version, if it was trained on this data with this configuration.

    Args:
        model_name: Registered model name (unknown names have no versions).
        data_sha256: SHA-256 of the data file.
        config_sha256: :meth:`PipelineConfig.sha256` of the run's configuration.

    Returns:
        That version's number, or None (no versions, or the newest differs in either).
    """
    versions = MlflowClient().search_model_versions(f"name = '{_quote(model_name)}'")
    newest = max(versions, key=lambda mv: int(mv.version), default=None)
    if newest is None:
        return None
    tags = newest.tags or {}
    same = tags.get(DATA_TAG) == data_sha256 and tags.get(CONFIG_TAG) == config_sha256
    return str(newest.version) if same else None


def promote(
    model_name: str,
    version: str,
    reason: str,
    *,
    who: str | None = None,
    force: bool = False,
    lock_timeout: float = LOCK_TIMEOUT,
) -> Promotion:
    """Move ``champion`` to ``version``, recording who, when and why on the version.

    The outgoing champion takes the ``previous-champion`` alias and stays in the champion
    history, so :func:`rollback` can return to it. Promoting the current champion changes
    nothing.

    Args:
        model_name: Registered model name.
        version: Version number to promote.
        reason: Why; stored as the ``promotion_reason`` tag.
        who: Who promoted; default ``$LSTM_PIPELINE_USER`` or the OS user.
        force: Promote even a version that is not tagged ``blessed=true``; the version is
            then tagged ``promotion_forced=true``.
        lock_timeout: Seconds to wait for the model's registry lock.

    Returns:
        The promotion, with the previous champion (None if there was none).

    Raises:
        PipelineInputError: Unknown model or version, or a version not tagged blessed=true.
    """
    client = MlflowClient()
    target = resolve(model_name, str(version))
    if is_blessed(target) is not True and not force:
        raise PipelineInputError(
            f"{not_blessed_reason(model_name, target)}, so it may not be promoted. Promote a "
            "blessed version, or pass --force to override (and say why in --reason)."
        )
    with model_lock(_tracking_uri(), model_name, lock_timeout):
        return _move_champion(client, model_name, target, reason, who)


def _move_champion(
    client: MlflowClient, model_name: str, target: ModelVersion, reason: str, who: str | None
) -> Promotion:
    """The alias moves and history update of :func:`promote`; the caller holds the lock."""
    current = champion_version(model_name)
    previous = str(current.version) if current is not None else None
    record = Promotion(model_name, str(target.version), previous, *_who_when(who), reason)
    if previous == record.version:
        return record
    if is_blessed(target) is not True:
        client.set_model_version_tag(model_name, record.version, FORCED_TAG, "true")
    history = _history(client, model_name)
    history.append(record.version)
    # previous-champion first: if the champion move fails, rollback still points right.
    if previous is not None:
        client.set_registered_model_alias(model_name, PREVIOUS_CHAMPION, previous)
    _tag_promotion(client, record)
    client.set_registered_model_tag(model_name, HISTORY_TAG, json.dumps(history))
    client.set_registered_model_alias(model_name, CHAMPION, record.version)
    return record


def rollback(
    model_name: str,
    reason: str = "",
    *,
    who: str | None = None,
    lock_timeout: float = LOCK_TIMEOUT,
) -> Promotion:
    """Move ``champion`` back to the previous champion and forget the rolled-back one.

    Rolling back twice goes two champions back; ``previous-champion`` follows.

    Returns:
        The rollback as a promotion of the restored version (``previous`` = rolled back).

    Raises:
        PipelineInputError: No champion, or no previous champion recorded.
    """
    with model_lock(_tracking_uri(), model_name, lock_timeout):
        return _roll_back(MlflowClient(), model_name, reason, who)


def _roll_back(client: MlflowClient, model_name: str, reason: str, who: str | None) -> Promotion:
    """The alias moves and history update of :func:`rollback`; the caller holds the lock."""
    current = champion_version(model_name)
    if current is None:
        _aliases(client, model_name)  # unknown model -> its own clear error
        raise PipelineInputError(f"{model_name} has no champion: there is nothing to roll back.")
    current_version = str(current.version)  # MLflow 3 returns ints here
    history = [v for v in _history(client, model_name) if v != current_version]
    if not history:
        raise PipelineInputError(
            f"{model_name} has no previous champion recorded (champion is v{current_version}). "
            "Promote a specific version instead: `lstm-pipeline promote NAME VERSION`."
        )
    restored = history[-1]
    why = f"rollback from v{current_version}" + (f": {reason}" if reason else "")
    record = Promotion(model_name, restored, current_version, *_who_when(who), why)
    _tag_promotion(client, record)
    client.set_model_version_tag(model_name, current_version, "rolled_back_at", record.when)
    client.set_registered_model_tag(model_name, HISTORY_TAG, json.dumps(history))
    client.set_registered_model_alias(model_name, CHAMPION, restored)
    if len(history) > 1:
        client.set_registered_model_alias(model_name, PREVIOUS_CHAMPION, history[-2])
    else:
        client.delete_registered_model_alias(model_name, PREVIOUS_CHAMPION)
    return record


def champion_moved(model_name: str, compared: str | None) -> str | None:
    """Why a challenger compared with champion ``compared`` may no longer be promoted.

    Call it holding :func:`~lstm_model.delivery.lock.model_lock`: a champion that moved after
    the comparison (another retrain or a manual promotion) was never beaten by this one.

    Args:
        model_name: Registered model name.
        compared: The champion version the challenger was compared with (None: there was none).

    Returns:
        None when the champion is still ``compared``; else the reason, in words.
    """
    current = champion_version(model_name)
    now = str(current.version) if current is not None else None
    if now == compared:
        return None
    before = f"v{compared}" if compared else "none"
    return (
        f"not promoted: the champion changed from {before} to v{now} while this run was "
        f"training, so this version was never compared with v{now}. It stays challenger; "
        "retrain to compare with the new champion, or promote it by hand."
    )


def _who_when(who: str | None) -> tuple[str, str]:
    if not who:
        try:
            who = os.environ.get(USER_ENV) or getpass.getuser()
        except (KeyError, OSError):  # no user name in a bare container
            who = "unknown"
    return who, datetime.now(UTC).isoformat(timespec="seconds")


def _tag_promotion(client: MlflowClient, record: Promotion) -> None:
    tags = {"promoted_by": record.who, "promoted_at": record.when}
    tags["promotion_reason"] = record.reason
    for key, value in tags.items():
        client.set_model_version_tag(record.model_name, record.version, key, value)


def registered_history(model: RegisteredModel) -> list[str]:
    """The champion history recorded on a registered model, oldest first (empty if none)."""
    raw = (model.tags or {}).get(HISTORY_TAG)
    return [str(v) for v in json.loads(raw)] if raw else []


def _history(client: MlflowClient, model_name: str) -> list[str]:
    """Champions oldest first; seeded with the current champion when no history exists."""
    raw = client.get_registered_model(model_name).tags.get(HISTORY_TAG)
    if raw:
        return [str(v) for v in json.loads(raw)]
    current = champion_version(model_name)
    return [str(current.version)] if current is not None else []


def _aliases(client: MlflowClient, model_name: str) -> dict[str, str]:
    try:
        return dict(client.get_registered_model(model_name).aliases)
    except MlflowException:
        names = sorted(m.name for m in client.search_registered_models(max_results=50))
        raise PipelineInputError(
            f"No registered model {model_name!r} in {redact(_tracking_uri())}; registered models: "
            f"{', '.join(names) or 'none'}. Set MLFLOW_TRACKING_URI to the right store."
        ) from None


def _describe_aliases(aliases: dict[str, str]) -> str:
    return ", ".join(f"{a} -> v{v}" for a, v in sorted(aliases.items())) or "none"


def _quote(name: str) -> str:
    return name.replace("'", "\\'")


def _tracking_uri() -> str:
    import mlflow

    return mlflow.get_tracking_uri()
