"""Shared fixtures: offline settings, a real Prefect test server, a moto server over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from hypothesis import settings

from lstm_model.config import PipelineConfig

# Property tests draw the same examples on every run and machine: a red CI is reproducible.
settings.register_profile("deterministic", derandomize=True, database=None)
settings.load_profile("deterministic")

# Set before Prefect, MLflow or TensorFlow are imported anywhere in the session.
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="lstm-pipeline-tests-"))
for _key, _value in {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_HOME": str(_SESSION_DIR / "prefect"),
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "TMPDIR": str(_SESSION_DIR / "tmp"),
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}.items():
    os.environ[_key] = _value
(_SESSION_DIR / "tmp").mkdir(exist_ok=True)
tempfile.tempdir = None  # re-read TMPDIR
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("MLFLOW_TRACKING_URI", None)


@pytest.fixture(scope="session")
def prefect_harness():
    """A real, temporary Prefect server shared by every test that runs tasks or flows."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(command: list[str], probe: str, timeout: float) -> subprocess.Popen:
    """Start a server process and wait until ``probe`` answers over HTTP."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(probe, timeout=2)
            return process
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError(f"{' '.join(command[:4])} did not start") from None
            time.sleep(0.2)


@pytest.fixture(scope="session")
def moto_endpoint():
    """moto's server on 127.0.0.1, spoken to over real HTTP by boto3."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    process = start_server(command, f"{url}/moto-api/", 30)
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    """``mlflow server`` on 127.0.0.1 with its own sqlite store and artifact folder."""
    root = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [
        *(sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port)),
        *("--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}"),
        *("--artifacts-destination", str(root / "artifacts"), "--workers", "1"),
    ]
    process = start_server(command, f"{base}/health", 120)
    yield base
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture
def s3_bucket(moto_endpoint, monkeypatch):
    """A fresh bucket on the moto server, with AWS_ENDPOINT_URL pointing at it."""
    import uuid

    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    name = f"models-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=moto_endpoint).create_bucket(Bucket=name)
    return name


@pytest.fixture
def mlflow_tracking(tmp_path, monkeypatch):
    """A temporary sqlite MLflow store with its own artifact folder."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)
    return uri


def make_series(n: int = 120, seed: int = 7, freq: str = "MS"):
    """A monthly series with trend, a 12-step season and noise: what our users retrain on."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    t = np.arange(n)
    values = 50 + 0.3 * t + 8 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1.0, n)
    return pd.DataFrame(
        {"timestamp": pd.date_range("2000-01-01", periods=n, freq=freq), "value": values}
    )


def make_panel(count: int = 6, points: int = 72, seed: int = 3):
    """A long-format monthly panel (``series_id``, ``timestamp``, ``value``): series on levels
    from 10 to 1000 with trends, a 12-step season and noise."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    t = np.arange(points)[np.newaxis]
    level = 10 ** rng.uniform(1, 3, (count, 1))
    slope = rng.uniform(-0.002, 0.006, (count, 1))
    season = rng.uniform(0.05, 0.3, (count, 1)) * np.sin(2 * np.pi * t / 12)
    noise = rng.normal(0, 0.03, (count, points))
    values = level * (1 + slope * t + season + noise)
    return pd.DataFrame(
        {
            "series_id": np.repeat([f"s{i}" for i in range(count)], points),
            "timestamp": np.tile(pd.date_range("2000-01-01", periods=points, freq="MS"), count),
            "value": values.reshape(-1),
        }
    )


def as_series(values, frequency: str | None = "MS", exogenous: tuple[str, ...] | None = None):
    """A validated ``TimeSeries`` of ``values`` (monthly timestamps from 2000-01); the columns
    after the target are named ``exogenous``, or ``x1``, ``x2``... when not given."""
    import numpy as np
    import pandas as pd

    from lstm_model.data.values import TimeSeries

    values = np.asarray(values, dtype=float)
    if exogenous is None:
        exogenous = tuple(f"x{i}" for i in range(1, values.shape[1])) if values.ndim == 2 else ()
    timestamps = pd.Series(pd.date_range("2000-01-01", periods=len(values), freq="MS"))
    return TimeSeries(values, timestamps, frequency, tuple(exogenous))


# --- series files for the data-stage tests ----------------------------------------------


def monthly_csv(path: Path, n: int = 48, values: list | None = None) -> Path:
    """A clean monthly series, ``n`` rows, header ``timestamp,value``."""
    import pandas as pd

    values = values if values is not None else [10.0 + i * 0.5 for i in range(n)]
    stamps = pd.date_range("2015-01-01", periods=len(values), freq="MS")
    lines = ["timestamp,value"] + [
        f"{stamp:%Y-%m-%d},{value}" for stamp, value in zip(stamps, values, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def validate_file(path: Path, min_rows: int = 40, **kwargs):
    """Load a CSV and run the base suite on it."""
    from lstm_model.data.load import load_series
    from lstm_model.data.validation import validate_series

    frame = load_series(path)
    return validate_series(frame, "timestamp", "value", min_rows, source=str(path), **kwargs)


# A smallest lookback of 12 needs ceil((12 + 2 + 16) / 0.7) = 43 rows.
TINY = PipelineConfig().with_overrides(analysis__min_lookback=12, analysis__max_lookback=12)


def write_rows(path, rows, header="timestamp,value"):
    """A CSV file of ``rows`` (text lines) under ``header``."""
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def good_rows(n=60, start=0):
    """CSV lines of the seasonal monthly series."""
    frame = make_series(n)
    return [
        f"{t:%Y-%m-%d},{v:.3f}" for t, v in zip(frame["timestamp"], frame["value"], strict=True)
    ][start:]


def ingest(path, config=TINY):
    """Load a file and apply the ingestion policies: (frame, report)."""
    from lstm_model.data.load import load_series
    from lstm_model.data.policies import apply_policies

    data = config.data
    frame = load_series(path, data.time_column, data.target, data.exogenous)
    return apply_policies(frame, data, source=str(path))


def check(path, config=TINY):
    """Ingest a file and validate it: the validation report."""
    from lstm_model.data.validation import validate_frame

    frame, _ = ingest(path, config)
    return validate_frame(frame, config, source=str(path))


@pytest.fixture
def series_csv(tmp_path):
    """A valid seasonal monthly CSV of 120 rows."""
    path = tmp_path / "series.csv"
    make_series().to_csv(path, index=False)
    return path


@pytest.fixture
def tiny_config():
    """A configuration small enough for tests: 2 trials, few epochs, small windows."""
    from lstm_model.config import PipelineConfig

    return PipelineConfig().with_overrides(
        analysis__max_lookback=12,
        analysis__candidate_folds=1,
        analysis__candidate_epochs=3,
        tuning__max_trials=2,
        tuning__epochs=3,
        tuning__patience=2,
        tuning__units=(8,),
        tuning__max_layers=2,
        training__epochs=4,
        training__patience=2,
    )


@pytest.fixture
def active_run(mlflow_tracking):
    """An active MLflow run in a temporary store, as the flow provides to its tasks."""
    import mlflow

    from lstm_model.tracking import configure_tracking

    configure_tracking(None, "tests")
    with mlflow.start_run() as run:
        yield run


@pytest.fixture(scope="session")
def trained():
    """A tiny LSTM fitted on the seasonal series: (model, prepared data, analysis)."""
    from lstm_model.analysis.decisions import analyze_series
    from lstm_model.config import AnalysisConfig, TrainingConfig
    from lstm_model.modeling.network import Architecture
    from lstm_model.modeling.preparation import prepare
    from lstm_model.modeling.training import train_final

    values = make_series(120)["value"].to_numpy()
    data = prepare(values, 1, 12, 0.15, 0.15)
    analysis = analyze_series(values[: data.bounds.train[1]], "MS", AnalysisConfig())
    model, _ = train_final(data, Architecture(units=8), TrainingConfig(epochs=5), seed=1)
    return model, data, analysis


PATH_HORIZON = 3


@pytest.fixture(scope="session")
def trained_paths():
    """A tiny LSTM forecasting 3 steps at once: (model, prepared data, analysis)."""
    from lstm_model.analysis.decisions import analyze_series
    from lstm_model.config import AnalysisConfig, TrainingConfig
    from lstm_model.modeling.network import Architecture
    from lstm_model.modeling.preparation import prepare
    from lstm_model.modeling.training import train_final

    values = make_series(120)["value"].to_numpy()
    data = prepare(values, 1, 12, 0.15, 0.15, horizon=PATH_HORIZON)
    analysis = analyze_series(values[: data.bounds.train[1]], "MS", AnalysisConfig())
    model, _ = train_final(data, Architecture(units=8), TrainingConfig(epochs=5), seed=1)
    return model, data, analysis


# One series of a panel as the local strategy sees it: 120 monthly points whose last 18 are
# the test part and the 18 before them the validation part; 6-step paths from every test row
# with a whole path after it.
LOCAL_BOUNDS = ((0, 84), (84, 102), (102, 120))
LOCAL_HORIZON = 6
LOCAL_ORIGINS = tuple(range(102, 120 - LOCAL_HORIZON + 1))


def local_config(refit: bool = False, compare_candidates: bool = True):
    """The smallest configuration that runs the whole single-series procedure."""
    from lstm_model.config import PipelineConfig

    return PipelineConfig().with_overrides(
        analysis__compare_candidates=compare_candidates,
        analysis__max_lookback=12,
        analysis__candidate_folds=1,
        analysis__candidate_epochs=3,
        tuning__max_trials=1,
        tuning__epochs=3,
        tuning__patience=2,
        tuning__units=(4,),
        tuning__max_layers=1,
        tuning__batch_sizes=(16,),
        training__epochs=3,
        training__patience=2,
        training__refit_on_full_history=refit,
    )


def fit_local(series_id: str, values, refit: bool = False, compare_candidates: bool = True):
    """``fit_series`` on one generated series with the bounds and origins above."""
    import numpy as np

    from lstm_model.delivery.local_strategy import fit_series
    from lstm_model.modeling.preparation import SplitBounds

    bounds = SplitBounds(*LOCAL_BOUNDS)
    origins = np.array(LOCAL_ORIGINS)
    return fit_series(
        series_id,
        values,
        bounds,
        origins,
        LOCAL_HORIZON,
        "MS",
        local_config(refit, compare_candidates),
        seed=0,
    )


@pytest.fixture(scope="session")
def local_fits():
    """Two series fitted by the local strategy: ``s1`` ships its evaluated model, ``s2`` the
    refit on every row (and keeps the analysis' preprocessing without scoring alternatives,
    which halves its time). Returns {id: (values, SeriesFit)}."""
    first = make_series(120)["value"].to_numpy()
    second = 3 * make_series(120, seed=11)["value"].to_numpy()
    return {
        "s1": (first, fit_local("s1", first)),
        "s2": (second, fit_local("s2", second, refit=True, compare_candidates=False)),
    }


@pytest.fixture(scope="session")
def tiny_export(tmp_path_factory):
    """A tiny real SavedModel from ``keras.Model.export`` and the model that made it.

    The folder also carries a preprocessing.json, as the pipeline's exports do.
    """
    import keras

    window = keras.Input(shape=(4, 1), name="window")
    model = keras.Model(window, keras.layers.Dense(1)(keras.layers.Flatten()(window)))
    folder = tmp_path_factory.mktemp("export") / "saved_model"
    model.export(str(folder), verbose=False)
    (folder / "preprocessing.json").write_text('{"lookback": 4}')
    return folder, model


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, computed independently of the code under test."""
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture
def saved_model(tiny_export):
    """The tiny SavedModel folder and the model that made it."""
    return tiny_export


@pytest.fixture
def package(saved_model, tmp_path) -> Path:
    """A SageMaker-layout package of the tiny SavedModel: lstm-forecaster version 3."""
    from lstm_model.delivery.package import package_model

    return package_model(saved_model[0], "lstm-forecaster", 3, tmp_path / "pkg")


@pytest.fixture
def clients(moto_endpoint):
    """boto3 SageMaker and S3 clients on moto's server over HTTP."""
    import boto3

    sagemaker = boto3.client("sagemaker", endpoint_url=moto_endpoint, region_name="us-east-1")
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    return sagemaker, s3


@pytest.fixture
def package_url(clients, s3_bucket):
    """A pushed package (the bytes do not matter to SageMaker's control plane)."""
    _, s3 = clients
    key = "models/lstm-forecaster/3/model.tar.gz"
    s3.put_object(Bucket=s3_bucket, Key=key, Body=b"package")
    return f"s3://{s3_bucket}/{key}"
