"""Two retrains of one model started together on the default sqlite store: the registry ends
consistent (one champion, the champion history complete) and each run's verdict is true."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from conftest import make_series
from mlflow import MlflowClient

TINY = {
    "analysis": {"max_lookback": 12, "compare_candidates": False},
    "tuning": {"max_trials": 1, "epochs": 2, "units": [8]},
    "training": {"epochs": 3, "refit_on_full_history": False},
    # Promote the second run too when it is not worse, so both orders of events are possible.
    "blessing": {"champion_rule": "not_worse"},
}


@pytest.fixture
def prefect_api_url(prefect_harness):
    """The test Prefect server, shared with the child processes (no server start-up each)."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value()


def _verdict(stdout: str) -> tuple[str, bool]:
    """(version, became champion) from the retrain's summary."""
    version = re.search(r"^race v(\d+) from", stdout, flags=re.M)
    champion = re.search(r"^champion:\s+(.*)$", stdout, flags=re.M)
    assert version and champion, stdout
    return version.group(1), champion.group(1).startswith(f"v{version.group(1)} (was")


def test_two_retrains_started_together_leave_one_champion_and_true_verdicts(
    tmp_path, prefect_api_url
):
    make_series(120).to_csv(tmp_path / "series.csv", index=False)
    (tmp_path / "tiny.json").write_text(json.dumps(TINY))
    env = {**os.environ, "PREFECT_API_URL": prefect_api_url}
    env.pop("MLFLOW_TRACKING_URI", None)  # the default store: ./mlflow.db
    command = [
        sys.executable,
        "-c",
        "from flows.cli.main import main; raise SystemExit(main())",
        "retrain",
        "series.csv",
        "--model-name",
        "race",
        "--config",
        "tiny.json",
        "--force",  # the same file twice: retrain, do not skip as unchanged data
    ]
    runs = [
        subprocess.Popen(
            command,
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=900) for run in runs]
    for run, (_, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, err[-3000:]
    verdicts = dict(_verdict(out) for out, _ in outputs)

    # Both URIs: a registry URI set earlier in this process would otherwise win.
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=store, registry_uri=store)
    model = client.get_registered_model("race")
    history = json.loads(model.tags["champion_history"])
    promoted = sorted(version for version, yes in verdicts.items() if yes)
    # Every "champion: yes" is in the history, every "no" is not, and the last one holds it.
    assert sorted(history) == promoted and len(set(history)) == len(history)
    assert promoted, "the first version beats no champion: one run must have promoted"
    assert str(model.aliases["champion"]) == history[-1]
    for version in verdicts:
        tags = client.get_model_version("race", version).tags
        assert tags["blessed"] in ("true", "false") and tags["blessing_reason"]
