"""Screenshots of the MLflow and Prefect UIs after a small retrain, for the README.

    .venv/bin/python docs/screenshots.py [--browser chromium]

Starts ``mlflow server`` and ``prefect server start`` on free ports on 127.0.0.1, runs two
small retrains of the bundled unemployment series against them (the second is compared with
the first one's champion), and saves, with a headless Chromium (``apt-get install chromium``):

- ``docs/images/mlflow-run.png``: the first run's page (parameters, grouped metrics, dataset);
- ``docs/images/mlflow-experiment.png``: the experiment on its training runs (the script fails
  if the page shows no run name). MLflow 3.17's UI chooses between its GenAI and its model
  training views with a browser-wide toggle (stored in the browser, GenAI by default), not
  with the experiment's ``mlflow.experimentKind`` tag; ``?workflowType=machine_learning`` in
  the URL selects training, and the script reports what a fresh browser opens without it;
- ``docs/images/mlflow-registry.png``: the registered model with its aliases.

The Prefect server runs so that the retrains' flow runs are real ones; a screenshot of its UI
is not taken: headless Chromium gets Prefect 3.8's "Oops. Something went wrong" page.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"
MODEL = "lstm-forecaster"
SMALL = {
    "analysis": {"candidate_folds": 1, "candidate_epochs": 10},
    "tuning": {"max_trials": 3, "epochs": 10},
    "training": {"epochs": 20},
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, process: subprocess.Popen, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer")


def _json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as answer:
        return json.load(answer)


def _browser(browser: str, url: str, *args: str) -> str:
    """Run headless Chromium on ``url``; the DOM after 15 s of page time (scripts run)."""
    result = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1440,1000",
            "--virtual-time-budget=15000",
            *args,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    return result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--browser", default="chromium", help="Chromium executable")
    args = parser.parse_args()
    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lstm-screens-") as tmp:
        work = Path(tmp)
        mlflow_port, prefect_port = _free_port(), _free_port()
        mlflow_url = f"http://127.0.0.1:{mlflow_port}"
        prefect_url = f"http://127.0.0.1:{prefect_port}"
        env = {
            **os.environ,
            "PREFECT_HOME": str(work / "prefect"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "true",
            "MLFLOW_DISABLE_TELEMETRY": "true",
        }
        bin_dir = Path(sys.executable).parent
        servers = [
            subprocess.Popen(
                [str(bin_dir / "mlflow"), "server", "--host", "127.0.0.1", "--port",
                 str(mlflow_port), "--backend-store-uri", f"sqlite:///{work / 'mlflow.db'}",
                 "--artifacts-destination", str(work / "artifacts"), "--workers", "1"],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            ),
            subprocess.Popen(
                [str(bin_dir / "prefect"), "server", "start", "--host", "127.0.0.1",
                 "--port", str(prefect_port)],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            ),
        ]  # fmt: skip
        try:
            _wait(f"{mlflow_url}/health", servers[0])
            _wait(f"{prefect_url}/api/health", servers[1])
            env |= {"MLFLOW_TRACKING_URI": mlflow_url, "PREFECT_API_URL": f"{prefect_url}/api"}
            (work / "small.json").write_text(json.dumps(SMALL))
            for seed in (1, 2):
                config = {**SMALL, "seed": seed}
                (work / "small.json").write_text(json.dumps(config))
                data = ROOT / "data" / "us_unemployment_quarterly.csv"
                subprocess.run(
                    [
                        str(bin_dir / "lstm-pipeline"),
                        "retrain",
                        str(data),
                        "--config",
                        "small.json",
                    ],
                    cwd=work,
                    env=env,
                    check=True,
                )
            _shoot(args.browser, mlflow_url)
        finally:
            for server in servers:
                server.terminate()
                server.wait(timeout=30)


def _shoot(browser: str, mlflow_url: str) -> None:
    api = f"{mlflow_url}/api/2.0/mlflow"
    experiment = _json(f"{api}/experiments/get-by-name?experiment_name=lstm-pipeline")
    experiment_id = experiment["experiment"]["experiment_id"]
    runs = json.loads(
        urllib.request.urlopen(
            urllib.request.Request(
                f"{api}/runs/search",
                data=json.dumps(
                    {"experiment_ids": [experiment_id], "filter": "tags.mlflow.parentRunId IS NULL"}
                ).encode(),
                headers={"Content-Type": "application/json"},
            ),
            timeout=30,
        ).read()
    )["runs"]
    first = sorted(runs, key=lambda run: run["info"]["start_time"])[-2]
    training = "?workflowType=machine_learning"
    experiment_url = f"{mlflow_url}/#/experiments/{experiment_id}"
    plain = _browser(browser, experiment_url, "--dump-dom")
    print(
        "a fresh browser opens the experiment on "
        + ("its training runs" if first["info"]["run_name"] in plain else "the GenAI overview")
    )
    if first["info"]["run_name"] not in _browser(browser, experiment_url + training, "--dump-dom"):
        raise SystemExit("the experiment page shows no run: it did not open on training runs")
    shots = {
        "mlflow-experiment.png": experiment_url + training,
        "mlflow-run.png": f"{experiment_url}/runs/{first['info']['run_id']}{training}",
        "mlflow-registry.png": f"{mlflow_url}/#/models/{MODEL}{training}",
    }
    for name, url in shots.items():
        _browser(browser, url, f"--screenshot={IMAGES / name}")
        print(f"{IMAGES / name}: {url}")


if __name__ == "__main__":
    main()
