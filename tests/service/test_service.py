"""The HTTP inference service, started for real on 127.0.0.1 and called over HTTP.

Two registered versions of a tiny model (different weights) live in a temporary sqlite
registry; every expected forecast is the pipeline's own (Keras model + transform in NumPy).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient

from lstm_model.config import ServeConfig
from lstm_model.delivery.export import export_saved_model
from lstm_model.delivery.pyfunc import log_forecaster
from lstm_model.errors import PipelineInputError
from lstm_model.evaluation.intervals import ConformalIntervals
from lstm_model.modeling.forecast import path_forecasts
from lstm_model.service import BackgroundServer, build_service
from lstm_model.service.server import JsonLogFormatter
from lstm_model.service.source import parse_model_uri
from lstm_model.tracking import configure_tracking

NAME = "serve-test"
# Half-widths growing along the path: 80 % -> (16, 32, 48), 95 % -> (20, 40, 60).
INTERVALS = ConformalIntervals.calibrate(
    np.arange(1, 21)[:, np.newaxis] * np.array([1.0, 2.0, 3.0]), (80.0, 95.0)
)


def _forecasts(predictions: list[dict]) -> np.ndarray:
    """The ``forecast`` paths of a TF Serving answer, (count, h)."""
    return np.array([p["forecast"] for p in predictions])


ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def registry(trained_paths, tmp_path_factory):
    """Versions 1 and 2 of NAME (v2: scaled weights, so its answers differ); v1 is champion.

    Returns the tracking URI and, per version, the pipeline's path from every origin.
    """
    import keras

    model, data, _ = trained_paths
    tmp = tmp_path_factory.mktemp("serve-registry")
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    second = keras.models.clone_model(model)
    second.set_weights([w * 0.5 for w in model.get_weights()])
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        patch.chdir(tmp)
        configure_tracking(uri, "serve-tests")
        expected = {}
        with mlflow.start_run():
            for index, keras_model in enumerate((model, second), start=1):
                saved = export_saved_model(
                    keras_model, data.transform, tmp / f"export-{index}", INTERVALS
                )
                version = log_forecaster(
                    saved, NAME, data.values, {"blessed": "true", "blessing_reason": "test"}
                )
                assert version.version == index
                expected[str(index)] = path_forecasts(
                    lambda w, m=keras_model: m.predict(w, verbose=0), data.transform, data.values
                )
        MlflowClient().set_registered_model_alias(NAME, "champion", "1")
        yield uri, expected


@pytest.fixture
def tracking(registry, monkeypatch):
    uri, _ = registry
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


@pytest.fixture(scope="module")
def served(registry):
    """The champion served without auth; (base URL, service)."""
    uri, _ = registry
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    config = ServeConfig(max_body_bytes=64 * 1024, max_instances=50)
    service = build_service(f"models:/{NAME}@champion", config, api_key=None)
    with BackgroundServer(service.app) as server:
        yield server.url, service


def _windows(data, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The last ``count`` raw histories and the indices they forecast."""
    histories = data.transform.histories(data.values)[-count:]
    targets = np.arange(data.transform.warmup, len(data.values) + 1)[-count:]
    return histories[:, :, 0], targets


def test_invocations_speaks_tf_serving(served, registry, trained_paths):
    url, _ = served
    _, data, _ = trained_paths
    windows, targets = _windows(data, 5)
    response = httpx.post(f"{url}/invocations", json={"instances": windows.tolist()})
    assert response.status_code == 200, response.text
    assert response.headers["X-Model-Version"] == "1"
    assert set(response.json()) == {"predictions"}
    # As TF Serving answers a signature with several outputs: one object per window.
    answer = response.json()["predictions"]
    assert set(answer[0]) == {"forecast", "lower_80", "upper_80", "lower_95", "upper_95"}
    predictions = _forecasts(answer)
    expected = registry[1]["1"][targets]
    np.testing.assert_allclose(predictions, expected, rtol=1e-5, atol=1e-5)
    widths = np.array(INTERVALS.half_widths[1])
    np.testing.assert_allclose(np.array(answer[2]["upper_95"]) - predictions[2], widths)
    np.testing.assert_allclose(predictions[2] - np.array(answer[2]["lower_95"]), widths)
    # Rows of one value ([[v], ...]) are the same windows.
    rows = httpx.post(f"{url}/invocations", json={"instances": windows[:, :, None].tolist()})
    np.testing.assert_allclose(_forecasts(rows.json()["predictions"]), predictions)
    # Fewer steps than the model's horizon.
    two = httpx.post(f"{url}/invocations", json={"instances": windows.tolist(), "steps": 2})
    np.testing.assert_allclose(_forecasts(two.json()["predictions"]), predictions[:, :2])
    four = httpx.post(f"{url}/invocations", json={"instances": windows.tolist(), "steps": 4})
    assert four.status_code == 422 and "horizon 3" in four.json()["error"]


def test_predict_returns_the_next_path_with_timestamps_and_intervals(
    served, registry, trained_paths
):
    from conftest import make_series

    url, _ = served
    _, data, _ = trained_paths
    stamps = make_series(120)["timestamp"].dt.strftime("%Y-%m-%d").tolist()
    body = {"values": data.values[:100].tolist(), "timestamps": stamps[:100]}
    response = httpx.post(f"{url}/predict", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["model"], answer["version"]) == (NAME, "1")
    [forecast] = answer["forecasts"]
    assert forecast["timestamp"].startswith(stamps[100])
    path = registry[1]["1"][100]
    assert forecast["value"] == pytest.approx(path[0], rel=1e-5)
    assert [step["timestamp"][:10] for step in forecast["path"]] == stamps[100:103]
    assert [step["value"] for step in forecast["path"]] == pytest.approx(path, rel=1e-5)
    last = forecast["path"][-1]
    assert last["upper_80"] - last["value"] == pytest.approx(INTERVALS.half_widths[0][-1])

    # Every one-step forecast the history allows (the served fixture allows 50 per request).
    short = {"values": data.values[:60].tolist(), "timestamps": stamps[:60], "all": True}
    every = httpx.post(f"{url}/predict", json=short).json()["forecasts"]
    warmup = data.transform.warmup
    assert len(every) == 60 - warmup + 1
    assert every[0]["timestamp"].startswith(stamps[warmup])
    assert every[-1]["timestamp"].startswith(stamps[60])
    np.testing.assert_allclose(
        [f["value"] for f in every], registry[1]["1"][warmup:61, 0], rtol=1e-5, atol=1e-5
    )
    too_many = httpx.post(f"{url}/predict", json={**body, "all": True})
    assert too_many.status_code == 413 and "at most 50" in too_many.json()["error"]


def test_health_and_metrics(served):
    url, service = served
    assert httpx.get(f"{url}/ping").status_code == 200
    health = httpx.get(f"{url}/health").json()
    warmup = service.holder.current.forecaster.warmup
    assert (health["model"], health["version"], health["warmup"]) == (NAME, "1", warmup)
    assert health["columns"] == ["value"] and health["age_seconds"] >= 0
    assert health["horizon"] == 3
    httpx.post(f"{url}/invocations", json={"instances": [[1.0] * warmup]})
    httpx.post(f"{url}/invocations", json={"instances": [[1.0]]})
    text = httpx.get(f"{url}/metrics").text
    for line in (
        'lstm_service_requests_total{endpoint="/invocations",status="200"}',
        'lstm_service_requests_total{endpoint="/invocations",status="422"}',
        'lstm_service_request_duration_seconds_bucket{endpoint="/invocations",le="0.02"}',
        'lstm_service_errors_total{kind="bad_shape"}',
        f'lstm_service_model_info{{name="{NAME}",version="1"}} 1.0',
        "lstm_service_model_version 1.0",
    ):
        assert line in text, line


def _bad_requests(warmup: int) -> list[tuple[str, bytes | dict, int, str]]:
    window = [1.0] * warmup

    def last_is(token: str) -> bytes:
        return ('{"instances": [[' + "1.0, " * (warmup - 1) + token + "]]}").encode()

    return [
        ("wrong length", {"instances": [window[:-1]]}, 422, f"exactly the last {warmup} raw"),
        ("second window short", {"instances": [window, window[:3]]}, 422, "instances[1] has 3"),
        ("NaN", last_is("NaN"), 422, f"instances[0][{warmup - 1}] is nan"),
        ("huge", last_is("1e400"), 422, f"instances[0][{warmup - 1}] is inf"),
        ("string", {"instances": [["1.5", *window[1:]]]}, 422, "instances[0][0] is a string"),
        ("boolean", {"instances": [[*window[:-1], True]]}, 422, "is a boolean"),
        ("null", {"instances": [[None, *window[1:]]]}, 422, "instances[0][0] is null"),
        ("not a list", {"instances": [{"a": 1}]}, 422, "instances[0] must be a list"),
        ("no instances", {"rows": [window]}, 422, '"instances"'),
        ("empty", {"instances": []}, 422, "non-empty list"),
        ("too many", {"instances": [window] * 51}, 413, "at most 50"),
        ("oversized", b'{"instances": [' + b"1.0," * 40_000 + b"1.0]}", 413, "limit of 65536"),
        ("not json", b"instances=1,2,3", 400, "not valid JSON"),
        ("not an object", b"[1, 2, 3]", 400, "must be a JSON object"),
        ("empty body", b"", 400, "empty"),
        ("deep", b"[" * 30_000 + b"]" * 30_000, 400, "nested too deeply"),
    ]


def test_bad_requests_get_precise_4xx_and_the_service_survives(served):
    url, service = served
    warmup = service.holder.current.forecaster.warmup
    with httpx.Client(base_url=url) as client:
        for label, body, status, message in _bad_requests(warmup):
            if isinstance(body, dict):
                response = client.post("/invocations", json=body)
            else:
                response = client.post("/invocations", content=body)
            assert response.status_code == status, (label, response.text)
            assert message in response.json()["error"], (label, response.text)
        bad_predict = [
            ({"values": [1.0] * (warmup - 1)}, f"at least the last {warmup}"),
            ({"values": [1.0] * warmup, "exogenous": {"x": [1.0] * warmup}}, "target only"),
            ({"value": [1.0] * warmup}, "unknown field(s) ['value']"),
            ({"values": [1.0] * warmup, "timestamps": ["2020-01-01"] * warmup}, "not after"),
            ({"values": [1.0] * warmup, "timestamps": ["soon"] * warmup}, "ISO 8601"),
            ({"values": [1.0] * warmup, "all": "yes"}, '"all" must be true or false'),
        ]
        for body, message in bad_predict:
            response = client.post("/predict", json=body)
            assert response.status_code == 422, response.text
            assert message in response.json()["error"], response.text
        assert client.get("/ping").status_code == 200
        ok = client.post("/invocations", json={"instances": [[1.0] * warmup]})
        assert ok.status_code == 200


def test_api_key(registry, tracking, caplog):
    secret, marker = "s3cret-key-value", 4242.4242
    service = build_service(f"models:/{NAME}/1", ServeConfig(), api_key=secret)
    window = [marker] * service.holder.current.forecaster.warmup
    body = {"instances": [window]}
    with (
        caplog.at_level(logging.INFO, logger="lstm_model.service.access"),
        BackgroundServer(service.app) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        missing = client.post("/invocations", json=body)
        wrong = client.post("/invocations", json=body, headers={"X-API-Key": "guess"})
        bearer = client.post(
            "/invocations", json=body, headers={"Authorization": f"Bearer {secret}"}
        )
        header = client.post("/predict", json={"values": window}, headers={"X-API-Key": secret})
        probe = client.get("/ping")
    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    assert (bearer.status_code, header.status_code, probe.status_code) == (200, 200, 200)
    lines = [JsonLogFormatter().format(r) for r in caplog.records]
    entries = [json.loads(line) for line in lines]
    assert [e["status"] for e in entries if e["path"] == "/invocations"] == [401, 401, 200]
    assert all(secret not in line and str(marker) not in line for line in lines)


def test_unauthenticated_without_key(served, trained_paths):
    url, service = served
    window = [1.0] * service.holder.current.forecaster.warmup
    response = httpx.post(f"{url}/invocations", json={"instances": [window]})
    assert response.status_code == 200


def test_alias_move_mid_traffic_drops_nothing(registry, tracking, trained_paths):
    _, expected = registry
    _, data, _ = trained_paths
    windows, targets = _windows(data, 2)
    service = build_service(f"models:/{NAME}@champion", ServeConfig(poll_seconds=0.1), None)
    results: list[tuple[int, str | None, list[float]]] = []
    stop = threading.Event()

    def traffic(url: str) -> None:
        with httpx.Client(base_url=url, timeout=30) as client:
            while not stop.is_set():
                response = client.post("/invocations", json={"instances": windows.tolist()})
                predictions = response.json().get("predictions", [])
                results.append(
                    (response.status_code, response.headers.get("X-Model-Version"), predictions)
                )

    service.watcher.start()
    try:
        with BackgroundServer(service.app) as server:
            sender = threading.Thread(target=traffic, args=(server.url,))
            sender.start()
            time.sleep(0.5)
            MlflowClient().set_registered_model_alias(NAME, "champion", "2")
            deadline = time.monotonic() + 60
            while service.holder.current.version != "2" and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.5)  # traffic answered by version 2
            stop.set()
            sender.join(timeout=30)
            metrics = httpx.get(f"{server.url}/metrics").text
    finally:
        stop.set()
        service.watcher.stop()
        MlflowClient().set_registered_model_alias(NAME, "champion", "1")
    assert all(status == 200 for status, _, _ in results), {s for s, _, _ in results}
    versions = [version for _, version, _ in results]
    assert versions[0] == "1" and versions[-1] == "2"
    switch = versions.index("2")
    assert set(versions[:switch]) == {"1"} and set(versions[switch:]) == {"2"}
    for _, version, predictions in results:
        np.testing.assert_allclose(
            _forecasts(predictions), expected[version][targets], rtol=1e-5, atol=1e-5
        )
    assert "lstm_service_model_swaps_total 1.0" in metrics
    assert 'lstm_service_model_info{name="serve-test",version="2"} 1.0' in metrics
    assert 'version="1"' not in metrics.split("lstm_service_model_info", 1)[1]


def test_bad_model_uris(tracking):
    with pytest.raises(PipelineInputError, match="models:/NAME@ALIAS"):
        parse_model_uri("models:/only-a-name")
    with pytest.raises(PipelineInputError, match="no version of 'serve-test' with alias 'gold'"):
        build_service(f"models:/{NAME}@gold", ServeConfig(), None)


def test_cli_serves_a_pinned_version(registry, tmp_path):
    """``lstm-pipeline serve`` as a user runs it: a separate process on a free port."""
    import socket

    uri, expected = registry
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "flows.cli", "serve", "--model-uri", f"models:/{NAME}/2"]
    process = subprocess.Popen(
        [*command, "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).json()
                break
            except httpx.HTTPError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(process.communicate()[1][-3000:]) from None
                time.sleep(0.25)
        assert health["version"] == "2"
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    events = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert any(e["message"] == "model_loaded" and e["version"] == "2" for e in events)


@pytest.fixture
def restore_logging():
    """``serve`` configures JSON logging for the process; put the loggers back afterwards."""
    names = ("lstm_model.service", "uvicorn", "uvicorn.error")
    saved = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).propagate) for n in names}
    yield
    for name, (handlers, propagate) in saved.items():
        logging.getLogger(name).handlers[:] = handlers
        logging.getLogger(name).propagate = propagate


def test_cli_serve_exits_2_on_bad_input(tracking, tmp_path, monkeypatch, capsys, restore_logging):
    from flows.cli.main import main

    assert main(["serve", "--model-uri", "models:/nope@champion"]) == 2
    assert "no version of 'nope' with alias 'champion'" in capsys.readouterr().err
    assert main(["serve", "--model-uri", "models:/x", "--port", "1"]) == 2
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'missing.db'}")
    assert main(["serve", "--model-uri", f"models:/{NAME}@champion"]) == 2
    assert "no MLflow store at" in capsys.readouterr().err
    assert not (tmp_path / "missing.db").exists()


def test_serves_a_local_savedmodel_directory(registry, trained_paths):
    """Outside the registry: a SavedModel folder (e.g. unpacked from model.tar.gz)."""
    uri, expected = registry
    _, data, _ = trained_paths
    directory = Path(uri.removeprefix("sqlite:///")).parent / "export-2"
    windows, targets = _windows(data, 3)
    service = build_service(str(directory), ServeConfig(), None)
    assert service.watcher is None
    with BackgroundServer(service.app) as server:
        response = httpx.post(
            f"{server.url}/invocations",
            json={"instances": windows.tolist()},
            headers={"X-Request-Id": "trace-42"},
        )
    assert response.headers["X-Model-Version"] == "local"
    assert response.headers["X-Request-Id"] == "trace-42"
    np.testing.assert_allclose(
        _forecasts(response.json()["predictions"]), expected["2"][targets], rtol=1e-5, atol=1e-5
    )
