"""Pre-flight: bad input that used to surface only after training (or as a raw traceback)
is refused before any training, with exit code 2 and one message naming what, where and how
to fix it; nothing is tracked, registered or pushed."""

from __future__ import annotations

import json

import pytest
from conftest import make_series

from flows.cli.main import main


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """An empty working directory with a valid series, as a user starts a retrain from."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    make_series(120).to_csv(tmp_path / "series.csv", index=False)
    return tmp_path


def _refused(workspace, capsys, args: list[str]) -> str:
    """Run ``retrain`` with ``args``; assert exit 2, no traceback and nothing left behind."""
    code = main(["retrain", *args])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and err.startswith("error: ")
    # Refused before tracking started: no store, no run, no package.
    assert not (workspace / "mlflow.db").exists()
    assert not (workspace / "mlruns").exists() and not (workspace / "model_store").exists()
    return err


def test_a_missing_data_file_is_named_with_the_working_directory(workspace, capsys):
    err = _refused(workspace, capsys, ["nowhere.csv"])
    assert "Data file not found: nowhere.csv" in err and str(workspace) in err


def test_a_folder_is_not_a_data_file(workspace, capsys):
    folder = workspace / "exports"
    folder.mkdir()
    (folder / "sales.csv").write_text("timestamp,value\n")
    err = _refused(workspace, capsys, ["exports"])
    assert "is a folder, not a data file" in err and "sales.csv" in err


def test_an_out_of_range_flag_names_the_flag_and_the_field(workspace, capsys):
    err = _refused(workspace, capsys, ["series.csv", "--max-trials", "0"])
    assert "--max-trials (tuning.max_trials) = 0" in err and "greater than or equal to 1" in err


def test_an_invalid_config_file_names_every_bad_field(workspace, capsys):
    (workspace / "bad.json").write_text(
        json.dumps({"tuning": {"epochs": 0}, "split": {"test_fraction": 0.9}})
    )
    err = _refused(workspace, capsys, ["series.csv", "--config", "bad.json"])
    assert "tuning.epochs = 0" in err and "split.test_fraction = 0.9" in err


@pytest.mark.parametrize("name", ["my model", "team/a", "a@b"])
def test_a_model_name_unusable_in_the_registry_or_s3_is_refused(workspace, capsys, name):
    err = _refused(workspace, capsys, ["series.csv", "--model-name", name])
    assert repr(name) in err and "--model-name" in err


def test_a_series_longer_than_max_rows_is_refused_with_a_hint(workspace, capsys):
    (workspace / "small.json").write_text(json.dumps({"data": {"max_rows": 100}}))
    err = _refused(workspace, capsys, ["series.csv", "--config", "small.json"])
    assert "120 data rows; data.max_rows is 100" in err and "resample" in err


def test_a_single_1e12_spike_is_refused_before_training(workspace, capsys):
    """A value a trillion times the series' scale is a typing or unit error: training on it
    gave a validation loss of 1e21 and exit 0. Ordinary outliers still only warn."""
    frame = make_series(120)
    frame.loc[60, "value"] = 1e12
    frame.to_csv(workspace / "spiked.csv", index=False)
    err = _refused(workspace, capsys, ["spiked.csv"])
    assert "'value' lie more than 10000 robust standard deviations" in err
    assert "line 62: 1e+12" in err and "correct or remove" in err


def test_a_push_folder_that_cannot_be_created_is_refused(workspace, capsys):
    (workspace / "blocker").write_text("a file where the push folder would go")
    err = _refused(workspace, capsys, ["series.csv", "--push-uri", "blocker/models"])
    assert "blocker" in err and "is not a folder" in err


def test_a_missing_bucket_is_refused_before_training(workspace, capsys, moto_endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    err = _refused(workspace, capsys, ["series.csv", "--push-uri", "s3://no-such-bucket/models"])
    assert "bucket 'no-such-bucket' does not exist" in err
