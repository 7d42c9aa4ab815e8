"""Which model the service answers with: the model URI, the holder, the registry watcher.

The holder keeps one reference to the current :class:`LoadedModel`. A request reads it once
and answers with that model to the end, so a swap never mixes two versions in one answer and
never interrupts a request in flight; the old model is freed when its last request finishes.
"""

from __future__ import annotations

import logging
import re
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from lstm_model.errors import PipelineInputError
from lstm_model.service.forecaster import ServedForecaster, load_forecaster

log = logging.getLogger(__name__)

# The registered pyfunc carries the SavedModel as this artifact (lstm_model/tracking.py).
SAVED_MODEL_ARTIFACT = "saved_model"
_REGISTRY_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/@]+)|/(?P<version>\d+))$")


@dataclass(frozen=True)
class ModelSource:
    """Where the service's model comes from.

    Exactly one of ``alias`` (follow it), ``version`` (pinned) or ``directory`` (a local
    SavedModel, outside the registry) is set.
    """

    uri: str
    name: str
    alias: str | None = None
    version: str | None = None
    directory: Path | None = None

    @property
    def follows_alias(self) -> bool:
        return self.alias is not None


def parse_model_uri(uri: str) -> ModelSource:
    """``models:/NAME@ALIAS``, ``models:/NAME/VERSION`` or a local SavedModel directory.

    Raises:
        PipelineInputError: for anything else.
    """
    match = _REGISTRY_URI.match(uri)
    if match:
        return ModelSource(uri, match["name"], match["alias"], match["version"])
    if uri.startswith("models:/"):
        raise PipelineInputError(
            f"--model-uri {uri!r} is not a registry URI the service understands: use "
            "models:/NAME@ALIAS (follows the alias, e.g. models:/lstm-forecaster@champion) or "
            "models:/NAME/VERSION (pinned)"
        )
    directory = Path(uri)
    if not (directory / "saved_model.pb").is_file():
        raise PipelineInputError(
            f"--model-uri {uri!r} is neither models:/NAME@ALIAS, models:/NAME/VERSION nor a "
            "directory with a saved_model.pb"
        )
    return ModelSource(uri, directory.resolve().name, directory=directory)


@dataclass(frozen=True)
class LoadedModel:
    """One model version, loaded and ready to answer."""

    name: str
    version: str
    forecaster: ServedForecaster
    loaded_at: float  # time.time() when it became loadable


class ModelHolder:
    """The current model, replaced by one reference assignment under a lock."""

    def __init__(self, initial: LoadedModel) -> None:
        self._current = initial
        self._lock = threading.Lock()

    @property
    def current(self) -> LoadedModel:
        # Reading one attribute is atomic: a request gets the old or the new model, whole.
        return self._current

    def swap(self, new: LoadedModel) -> LoadedModel:
        """Make ``new`` current; returns the model it replaced."""
        with self._lock:
            old, self._current = self._current, new
        return old


def resolve_version(source: ModelSource) -> str:
    """The version the source points at now (an alias lookup in the registry)."""
    if source.version is not None:
        return source.version
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    try:
        alias = source.alias or ""
        return str(MlflowClient().get_model_version_by_alias(source.name, alias).version)
    except MlflowException as error:
        raise PipelineInputError(
            f"{source.uri}: the registry has no version of {source.name!r} with alias "
            f"{source.alias!r} ({error.message}). Check the name and MLFLOW_TRACKING_URI, or "
            "promote a version first."
        ) from error


def load_model(source: ModelSource, version: str | None = None) -> LoadedModel:
    """Load ``version`` of the source (default: what it points at now).

    A registered version's SavedModel is downloaded to a temporary folder, loaded into memory
    and the folder removed: nothing accumulates on disk as versions come and go.
    """
    if source.directory is not None:
        return LoadedModel(source.name, "local", load_forecaster(source.directory), time.time())
    import mlflow

    version = version or resolve_version(source)
    if source.follows_alias:
        _check_blessed(source, version)
    with tempfile.TemporaryDirectory(prefix="lstm-serve-") as tmp:
        root = Path(
            mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{source.name}/{version}", dst_path=tmp
            )
        )
        forecaster = load_forecaster(root / _saved_model_path(root, source.name, version))
    return LoadedModel(source.name, version, forecaster, time.time())


class NotBlessedError(PipelineInputError):
    """The alias points at a version that is not tagged ``blessed=true`` (nor promoted with
    ``--force``): the service does not serve it."""


def _check_blessed(source: ModelSource, version: str) -> None:
    """Refuse a version the alias reached without passing the blessing gate.

    A version without the ``blessed`` tag (a registration cut short, or one made outside the
    pipeline) counts as not blessed, as it does for ``promote`` and ``push``. A pinned
    ``models:/NAME/VERSION`` is the operator's explicit choice and is not checked.
    """
    from mlflow import MlflowClient

    tags = MlflowClient().get_model_version(source.name, version).tags or {}
    # The tag names of lstm_model.delivery.registry (the service imports no pipeline stage).
    if tags.get("blessed") == "true" or tags.get("promotion_forced") == "true":
        return
    state = f"blessed={tags['blessed']}" if "blessed" in tags else "no 'blessed' tag"
    raise NotBlessedError(
        f"{source.uri} points at v{version}, which has {state}: only blessed versions (or "
        "ones promoted with --force) are served. Promote a blessed version, or serve "
        f"models:/{source.name}/{version} to pin it deliberately."
    )


def _saved_model_path(model_root: Path, name: str, version: str) -> str:
    flavor = yaml.safe_load((model_root / "MLmodel").read_text())["flavors"]
    artifacts = flavor.get("python_function", {}).get("artifacts") or {}
    if SAVED_MODEL_ARTIFACT not in artifacts:
        raise PipelineInputError(
            f"version {version} of {name!r} carries no '{SAVED_MODEL_ARTIFACT}' artifact: it "
            "was not registered by this pipeline (lstm_model.delivery.pyfunc.log_forecaster)"
        )
    return str(artifacts[SAVED_MODEL_ARTIFACT]["path"])


class RegistryWatcher(threading.Thread):
    """Polls the alias; when it moves, loads the new version here and swaps it in.

    Loading happens on this thread while requests keep being answered by the current model.
    A failed poll or load is logged and counted and the current model keeps serving; the next
    poll tries again.
    """

    def __init__(
        self,
        source: ModelSource,
        holder: ModelHolder,
        poll_seconds: float,
        on_swap: Callable[[LoadedModel, LoadedModel], None] | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(name="registry-watcher", daemon=True)
        self.source = source
        self.holder = holder
        self.poll_seconds = poll_seconds
        self.on_swap = on_swap or (lambda old, new: None)
        self.on_error = on_error or (lambda kind: None)
        self._stop = threading.Event()

    def run(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            self.check()

    def check(self) -> bool:
        """One poll; returns whether the model was swapped."""
        try:
            version = resolve_version(self.source)
        except Exception as error:  # noqa: BLE001 - a flaky registry must not stop serving
            log.warning("registry poll failed: %s", error)
            self.on_error("registry_poll")
            return False
        if version == self.holder.current.version:
            return False
        try:
            new = load_model(self.source, version)
        except NotBlessedError as error:
            log.warning("%s", error)
            self.on_error("not_blessed")
            return False
        except Exception as error:  # noqa: BLE001 - keep serving the current model
            log.warning("loading %s v%s failed: %s", self.source.name, version, error)
            self.on_error("model_load")
            return False
        old = self.holder.swap(new)
        self.on_swap(old, new)
        return True

    def stop(self) -> None:
        self._stop.set()
