"""A registration cut short (a version without its ``blessed`` tag, as ``kill -9`` between
creating a version and tagging it used to leave) is never promoted, pushed or served without
an explicit override; the pipeline's own registration writes the tags in the creating call."""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient

from flows.cli.main import main
from lstm_model.delivery.pyfunc import log_forecaster

MODEL = "cut-short"


class _Identity(mlflow.pyfunc.PythonModel):
    """The registry only stores it."""

    def predict(self, context, model_input, params=None):
        return model_input


@pytest.fixture
def registry(mlflow_tracking, tiny_export):
    """v1 blessed and champion; v2 created the old way and never tagged (the crash)."""
    from lstm_model.delivery.registry import promote
    from lstm_model.tracking import configure_tracking

    configure_tracking(None, "fault-tests")
    client = MlflowClient()
    for blessed in ("true", None):
        with mlflow.start_run():
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=_Identity(),
                artifacts={"saved_model": str(tiny_export[0])},
                pip_requirements=["mlflow"],
                registered_model_name=MODEL,
            )
        if blessed is not None:
            client.set_model_version_tag(MODEL, info.registered_model_version, "blessed", blessed)
    promote(MODEL, "1", "first")
    return client


def _state(client) -> tuple[dict[str, str], list[str]]:
    model = client.get_registered_model(MODEL)
    aliases = {alias: str(version) for alias, version in model.aliases.items()}
    return aliases, json.loads(model.tags["champion_history"])


def test_an_untagged_version_is_not_promoted_without_force(registry, capsys):
    before = _state(registry)
    assert main(["promote", MODEL, "2"]) == 2
    err = capsys.readouterr().err
    assert "v2 has no 'blessed' tag" in err and "--force" in err
    assert _state(registry) == before

    assert main(["promote", MODEL, "2", "--force", "--reason", "reviewed"]) == 0
    assert _state(registry) == ({"champion": "2", "previous-champion": "1"}, ["1", "2"])
    assert registry.get_model_version(MODEL, "2").tags["promotion_forced"] == "true"


def test_an_untagged_version_is_not_pushed(prefect_harness, registry, tmp_path):
    from flows.ship import push_registered
    from lstm_model.config import PipelineConfig
    from lstm_model.errors import PipelineInputError

    before = _state(registry)
    config = PipelineConfig().with_overrides(push__push_uri=str(tmp_path / "store"))
    with pytest.raises(PipelineInputError, match="no 'blessed' tag"):
        push_registered(f"{MODEL}/2", config)
    assert not (tmp_path / "store").exists() and _state(registry) == before


def test_the_service_does_not_follow_an_alias_to_an_untagged_version(registry):
    from lstm_model.service.source import NotBlessedError, load_model, parse_model_uri

    registry.set_registered_model_alias(MODEL, "champion", "2")  # moved by hand, outside us
    with pytest.raises(NotBlessedError, match="v2, which has no 'blessed' tag"):
        load_model(parse_model_uri(f"models:/{MODEL}@champion"))


def test_the_pipeline_creates_a_version_with_its_blessing_tags(active_run, tmp_path):
    from lstm_model.delivery.export import export_saved_model
    from lstm_model.modeling.network import Architecture, build_lstm
    from lstm_model.modeling.preparation import prepare

    data = prepare(np.sin(np.arange(60) / 3.0), 0, 4, 0.15, 0.15)
    model = build_lstm(4, 1, Architecture(units=2), seed=1)
    saved = export_saved_model(model, data.transform, tmp_path / "export")
    tags = {"blessed": "false", "blessing_reason": "not blessed: worse than seasonal naive"}
    created = log_forecaster(saved, "tagged-at-birth", data.values[:20], tags)
    # The version came back from the creating call with its tags: there is no moment at
    # which it exists untagged.
    assert {key: created.tags[key] for key in tags} == tags
