"""Registry commands (models list, promote, rollback, push NAME@ALIAS) on a real sqlite MLflow
registry, and a push that fails mid-way (after the upload, at verification) on moto over HTTP."""

from __future__ import annotations

import hashlib
import io
import tarfile

import boto3
import mlflow
import pytest
from botocore.exceptions import ClientError
from mlflow import MlflowClient

from flows.cli.main import main
from lstm_model.delivery.registry import (
    PREVIOUS_CHAMPION,
    champion_version,
    list_versions,
    parse_model_ref,
    promote,
    rollback,
)
from lstm_model.delivery.shipping import PromotionBlockedError
from lstm_model.errors import PipelineInputError

MODEL = "promo-model"


class _Identity(mlflow.pyfunc.PythonModel):
    """The registry only stores it; serving is tested elsewhere."""

    def predict(self, context, model_input, params=None):
        return model_input


@pytest.fixture
def saved_model(tiny_export):
    return tiny_export[0]


def _register(name: str, saved_model, rmse: float, blessed: str | None = None) -> str:
    """A real registered version, logged the way the pipeline logs its pyfunc."""
    with mlflow.start_run():
        mlflow.log_metrics({"test/rmse": rmse, "test/mase": rmse / 2, "baseline/naive/rmse": 9.0})
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=_Identity(),
            artifacts={"saved_model": str(saved_model)},
            pip_requirements=["mlflow"],
            registered_model_name=name,
        )
    version = str(info.registered_model_version)
    client = MlflowClient()
    client.set_registered_model_alias(name, "challenger", version)
    if blessed is not None:
        client.set_model_version_tag(name, version, "blessed", blessed)
    return version


@pytest.fixture
def registry(mlflow_tracking, saved_model):
    """Three versions: v1 and v2 blessed, v3 not blessed; v1 is champion."""
    from lstm_model.tracking import configure_tracking

    configure_tracking(None, "promotion-tests")
    versions = [
        _register(MODEL, saved_model, 1.5, "true"),
        _register(MODEL, saved_model, 1.2, "true"),
        _register(MODEL, saved_model, 1.1, "false"),
    ]
    promote(MODEL, versions[0], "first version")
    return versions


def _aliases() -> dict[str, str]:
    return {k: str(v) for k, v in MlflowClient().get_registered_model(MODEL).aliases.items()}


def test_promote_records_who_when_why_and_keeps_the_previous_champion(registry, monkeypatch):
    monkeypatch.setenv("LSTM_PIPELINE_USER", "ana")
    done = promote(MODEL, "2", "beats v1 on the backtest")
    assert (done.version, done.previous, done.who) == ("2", "1", "ana")
    assert _aliases() == {"champion": "2", PREVIOUS_CHAMPION: "1", "challenger": "3"}
    tags = MlflowClient().get_model_version(MODEL, "2").tags
    assert tags["promoted_by"] == "ana"
    assert tags["promotion_reason"] == "beats v1 on the backtest"
    assert tags["promoted_at"].startswith("20") and tags["promoted_at"].endswith("+00:00")


def test_rollback_goes_back_one_champion_at_a_time(registry):
    promote(MODEL, "2", "better")
    with pytest.raises(PipelineInputError, match="blessed=false"):
        promote(MODEL, "3", "looks good")
    assert str(champion_version(MODEL).version) == "2"  # the refused promotion changed nothing
    promote(MODEL, "3", "override after review", force=True)

    assert rollback(MODEL, "alerts").version == "2"
    assert _aliases()["champion"] == "2" and _aliases()[PREVIOUS_CHAMPION] == "1"
    assert MlflowClient().get_model_version(MODEL, "2").tags["promotion_reason"] == (
        "rollback from v3: alerts"
    )
    assert rollback(MODEL).version == "1"
    assert PREVIOUS_CHAMPION not in _aliases()
    with pytest.raises(PipelineInputError, match="no previous champion"):
        rollback(MODEL)
    assert str(champion_version(MODEL).version) == "1"


def test_list_versions_shows_aliases_metrics_and_blessing(registry):
    rows = {row.version: row for row in list_versions(MODEL)}
    assert [r.version for r in list_versions(MODEL)] == ["3", "2", "1"]
    assert rows["1"].aliases == ("champion",) and rows["3"].aliases == ("challenger",)
    assert rows["2"].metrics == {"test/rmse": 1.2, "test/mase": 0.6}
    assert (rows["1"].blessed, rows["3"].blessed) == (True, False)


def test_unknown_names_are_input_errors_that_say_what_exists(registry):
    with pytest.raises(PipelineInputError, match=f"registered models: {MODEL}"):
        list_versions("nope")
    with pytest.raises(PipelineInputError, match="champion -> v1"):
        promote(MODEL, "9", "typo")
    with pytest.raises(PipelineInputError, match="NAME@ALIAS"):
        parse_model_ref("just-a-name")


def test_cli_models_list_promote_rollback(registry, capsys):
    assert main(["models", "list", MODEL]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["version", "aliases", "rmse", "mase", "blessed", "created"]
    assert out[3].split()[:5] == ["1", "champion", "1.5", "0.75", "yes"]
    assert out[1].split()[:5] == ["3", "challenger", "1.1", "0.55", "no"]

    assert main(["promote", MODEL, "2", "--reason", "weekly review"]) == 0
    assert "champion v2 (was v1)" in capsys.readouterr().out
    assert main(["promote", MODEL, "3"]) == 2
    assert "blessed=false" in capsys.readouterr().err
    assert main(["rollback", MODEL]) == 0
    assert "champion back to v1 (from v2)" in capsys.readouterr().out
    assert main(["models", "list", "missing-model"]) == 2


def test_cli_push_of_a_registered_version(
    prefect_harness, registry, s3_bucket, moto_endpoint, capsys
):
    promote(MODEL, "2", "better")
    assert main(["push", f"{MODEL}@champion", "--push-uri", f"s3://{s3_bucket}/prod"]) == 0
    obj = boto3.client("s3", endpoint_url=moto_endpoint).get_object(
        Bucket=s3_bucket, Key=f"prod/{MODEL}/2/model.tar.gz"
    )
    body = obj["Body"].read()
    assert obj["Metadata"]["sha256"] == hashlib.sha256(body).hexdigest()
    assert obj["Metadata"]["model-version"] == "2"
    assert obj["Metadata"]["model-rmse"] == "1.2" and obj["Metadata"]["model-mase"] == "0.6"
    assert obj["Metadata"]["run-id"] == MlflowClient().get_model_version(MODEL, "2").run_id
    with tarfile.open(fileobj=io.BytesIO(body)) as archive:
        assert f"{MODEL}/2/saved_model.pb" in archive.getnames()
    # A version that failed its blessing is not pushed, unless forced (promoted with --force).
    assert main(["push", f"{MODEL}/3", "--push-uri", f"s3://{s3_bucket}/prod"]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["push", f"{MODEL}/3", "--push-uri", f"s3://{s3_bucket}/prod", "--force"]) == 0
    assert f"pushed {MODEL} v3" in capsys.readouterr().out


@pytest.fixture
def fail_verification():
    """Refuse the read-back (HeadObject) after the upload went through: a failure mid-push."""
    import boto3

    def deny(**kwargs):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "injected"}}, "HeadObject")

    events = boto3._get_default_session().events
    events.register("before-call.s3.HeadObject", deny, unique_id="inject-mid-push")
    yield
    events.unregister("before-call.s3.HeadObject", unique_id="inject-mid-push")


# Outside a flow run Prefect warns that it cannot ship the failure's log lines to the API.
@pytest.mark.filterwarnings("ignore:Logger 'prefect.task_runs' attempted:UserWarning")
def test_failed_push_leaves_aliases_and_says_so(
    prefect_harness, registry, saved_model, s3_bucket, moto_endpoint, fail_verification, tmp_path
):
    from flows.ship import ship
    from lstm_model.config import PipelineConfig

    config = PipelineConfig().with_overrides(push__push_uri=f"s3://{s3_bucket}/prod")
    before = _aliases()
    with pytest.raises(PromotionBlockedError) as caught:
        ship(saved_model, MODEL, "2", config, tmp_path, {"run-id": "r"})
    message = str(caught.value)
    assert "Access denied" in message
    assert "registry aliases were left as they were: champion is still v1" in message
    assert _aliases() == before
    # The upload itself went through: the failure came mid-push, at verification.
    listed = boto3.client("s3", endpoint_url=moto_endpoint).list_objects_v2(Bucket=s3_bucket)
    assert [o["Key"] for o in listed["Contents"]] == [f"prod/{MODEL}/2/model.tar.gz"]
