"""The service under hostile clients: a client that disconnects mid-body is not a 500, the API
description needs the key, and absurd inputs are answered but flagged and counted."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from lstm_model.config import ServeConfig
from lstm_model.delivery.export import export_saved_model
from lstm_model.service import BackgroundServer, build_service

KEY = "k-5TzQ8wLm2NvR7pXc"


@pytest.fixture(scope="module")
def served(trained, tmp_path_factory):
    """The tiny trained model, exported and served from its folder with an API key."""
    model, data, _ = trained
    directory = export_saved_model(model, data.transform, tmp_path_factory.mktemp("svc") / "m")
    service = build_service(str(directory), ServeConfig(), api_key=KEY)
    with BackgroundServer(service.app) as server:
        yield server.url, data


def _metric(url: str, name: str) -> float:
    text = httpx.get(f"{url}/metrics").text
    lines = [line for line in text.splitlines() if line.startswith(name + " ")]
    return float(lines[0].split()[-1]) if lines else 0.0


def test_a_client_disconnecting_mid_body_is_not_a_server_error(served):
    url, _ = served
    host, port = url.removeprefix("http://").split(":")
    before = _metric(url, 'lstm_service_errors_total{kind="client_disconnected"}')
    with socket.create_connection((host, int(port))) as client:
        client.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {KEY}\r\nContent-Length: 5000\r\n\r\n".encode()
            + b'{"instances": [[1.0, 2.0'
        )
    # Wait for the event (the request being counted), not for a fixed time.
    while _metric(url, 'lstm_service_errors_total{kind="client_disconnected"}') == before:
        time.sleep(0.05)
    metrics = httpx.get(f"{url}/metrics").text
    assert 'status="500"' not in metrics and 'kind="internal"' not in metrics


def test_the_api_description_needs_the_key(served):
    url, _ = served
    assert httpx.get(f"{url}/openapi.json").status_code == 401
    described = httpx.get(f"{url}/openapi.json", headers={"Authorization": f"Bearer {KEY}"})
    assert described.status_code == 200 and "/invocations" in described.json()["paths"]
    assert httpx.get(f"{url}/docs").status_code == 404


def test_absurd_inputs_are_flagged_and_counted(served):
    url, data = served
    auth = {"Authorization": f"Bearer {KEY}"}
    history = data.values[-data.transform.warmup :].tolist()
    before = _metric(url, "lstm_service_out_of_range_windows_total")

    normal = httpx.post(f"{url}/invocations", json={"instances": [history]}, headers=auth)
    assert normal.status_code == 200 and "X-Out-Of-Range" not in normal.headers

    spiked = [*history[:-1], 1e12]
    answer = httpx.post(f"{url}/invocations", json={"instances": [history, spiked]}, headers=auth)
    assert answer.headers["X-Out-Of-Range"] == "1"
    predicted = httpx.post(f"{url}/predict", json={"values": spiked}, headers=auth)
    assert [f["out_of_range"] for f in predicted.json()["forecasts"]] == [True]
    assert _metric(url, "lstm_service_out_of_range_windows_total") == before + 2
