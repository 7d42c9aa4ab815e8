"""Serving benchmark: latency p50/p99 and throughput of ``lstm-pipeline serve`` on loopback.

Run from the repository root (about a minute on 2 cores):

    .venv/bin/python bench/serve.py                      # trains a small demo model and serves it
    .venv/bin/python bench/serve.py --model-uri models:/lstm-forecaster@champion
    .venv/bin/python bench/serve.py --url http://127.0.0.1:8080   # a service already running

Every request is one window (``/invocations`` with one instance). Closed loop at concurrency
1, 8 and 32 (each client sends its next request when the last one is answered), then an open
loop at a fixed 100 requests per second, the goal's load: p99 under 20 ms. The service runs
in its own process (``lstm-pipeline serve``), the clients in this one. Prints a Markdown table
and writes bench/results/serve.json.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import CLI, ROOT, machine  # noqa: E402

GOAL_P99_MS = 20.0
GOAL_RPS = 100.0


def demo_model(directory: Path) -> Path:
    """Train a small LSTM (32 units, lookback 12, d=1) on a monthly series; export it."""
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import make_series

    from lstm_model.config import TrainingConfig
    from lstm_model.delivery.export import export_saved_model
    from lstm_model.modeling.network import Architecture
    from lstm_model.modeling.preparation import prepare
    from lstm_model.modeling.training import train_final

    values = make_series(240)["value"].to_numpy()
    data = prepare(values, 1, 12, 0.15, 0.15)
    model, _ = train_final(data, Architecture(units=32), TrainingConfig(epochs=3), seed=0)
    return export_saved_model(model, data.transform, directory / "export")


def start_service(model_uri: str, cwd: Path) -> tuple[subprocess.Popen, str]:
    """``lstm-pipeline serve`` in a child process on a free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [*CLI, "serve", "--model-uri", model_uri, "--port", str(port)],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        try:
            httpx.get(f"{url}/ping", timeout=1).raise_for_status()
            return process, url
        except httpx.HTTPError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"serve --model-uri {model_uri} did not start") from None
            time.sleep(0.25)


def _send(client: httpx.Client, body: bytes) -> tuple[float, bool]:
    started = time.perf_counter()
    try:
        ok = client.post("/invocations", content=body).status_code == 200
    except httpx.HTTPError:
        ok = False
    return time.perf_counter() - started, ok


def run_load(
    url: str, body: bytes, headers: dict, requests: int, concurrency: int, rate: float | None
) -> dict:
    """``requests`` requests from ``concurrency`` clients; at ``rate`` per second if given.

    With a rate, request i is due at start + i / rate and its latency counts from when it was
    due (so a slow service cannot hide its queueing by sending less).
    """
    latencies = np.full(requests, np.nan)
    failures = [0] * concurrency
    start = time.perf_counter() + 0.05

    def client_loop(worker: int) -> None:
        with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
            for i in range(worker, requests, concurrency):
                due = start + i / rate if rate else None
                if due is not None:
                    time.sleep(max(0.0, due - time.perf_counter()))
                seconds, ok = _send(client, body)
                if due is not None:
                    seconds = time.perf_counter() - due
                latencies[i] = seconds
                failures[worker] += not ok

    threads = [threading.Thread(target=client_loop, args=(w,)) for w in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    return {
        "requests": requests,
        "concurrency": concurrency,
        "target_rps": rate,
        "throughput_rps": requests / wall,
        "p50_ms": float(np.nanpercentile(latencies, 50) * 1000),
        "p99_ms": float(np.nanpercentile(latencies, 99) * 1000),
        "errors": sum(failures),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", help="benchmark a service that is already running")
    parser.add_argument("--model-uri", help="serve this model (default: a trained demo model)")
    parser.add_argument("--requests", type=int, default=1000, help="requests per closed loop")
    parser.add_argument("--seconds-at-rate", type=float, default=10.0, help="open-loop length")
    args = parser.parse_args()

    headers = {}
    if os.environ.get("LSTM_PIPELINE_API_KEY"):
        headers["Authorization"] = f"Bearer {os.environ['LSTM_PIPELINE_API_KEY']}"
    process = None
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        url = args.url
        if url is None:
            uri = args.model_uri or str(demo_model(Path(tmp)))
            process, url = start_service(uri, Path.cwd() if args.model_uri else Path(tmp))
        try:
            health = httpx.get(f"{url}/health", headers=headers).json()
            rng = np.random.default_rng(0)
            window = (50 + rng.normal(0, 5, (health["warmup"], len(health["columns"])))).tolist()
            body = json.dumps({"instances": [window]}).encode()
            run_load(url, body, headers, 200, 4, None)  # warm-up: connections, thread pool
            rows = [run_load(url, body, headers, args.requests, c, None) for c in (1, 8, 32)]
            at_rate = int(GOAL_RPS * args.seconds_at_rate)
            rows.append(run_load(url, body, headers, at_rate, 8, GOAL_RPS))
        finally:
            if process is not None:
                process.terminate()
                process.wait(timeout=30)

    results = {"machine": machine(), "model": health, "rows": rows}
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "serve.json").write_text(json.dumps(results, indent=2))
    print(
        f"{results['machine']}; model {health['model']} v{health['version']}, "
        f"window {health['warmup']} x {len(health['columns'])}, one window per request\n"
    )
    print("| load | requests | throughput (req/s) | p50 (ms) | p99 (ms) | errors |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        load = (
            f"{row['target_rps']:.0f} req/s, {row['concurrency']} clients"
            if row["target_rps"]
            else f"closed loop, concurrency {row['concurrency']}"
        )
        print(
            f"| {load} | {row['requests']} | {row['throughput_rps']:.0f} | "
            f"{row['p50_ms']:.2f} | {row['p99_ms']:.2f} | {row['errors']} |"
        )
    goal = rows[-1]["p99_ms"] < GOAL_P99_MS and rows[-1]["errors"] == 0
    print(
        f"\ngoal p99 < {GOAL_P99_MS:.0f} ms at {GOAL_RPS:.0f} req/s: {'met' if goal else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
