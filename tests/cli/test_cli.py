"""The lstm-pipeline command: exit codes, messages, and the predict contract."""

from __future__ import annotations

import json
import subprocess
import sys

import mlflow
import numpy as np
import pandas as pd
import pytest
from conftest import good_rows, make_series, write_rows
from mlflow import MlflowClient

from flows.cli.main import main
from lstm_model.delivery.pyfunc import history_frame

TINY = {
    "analysis": {"max_lookback": 12, "candidate_folds": 1, "candidate_epochs": 3},
    "tuning": {"max_trials": 1, "epochs": 2, "units": [8]},
    "training": {"epochs": 3},
}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, prefect_harness):
    """A working directory with the default local MLflow store, as a user would have."""
    root = tmp_path_factory.mktemp("cli")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        make_series(120).to_csv(root / "series.csv", index=False)
        (root / "tiny.json").write_text(json.dumps(TINY))
        yield root


@pytest.fixture(scope="module")
def retrained(workspace):
    code = main(["retrain", "series.csv", "--model-name", "cli-model", "--config", "tiny.json"])
    assert code == 0
    return workspace


def assert_only_the_message(err: str) -> None:
    """stderr holds our ``error:`` message and nothing else: no traceback, no library logs."""
    assert err.startswith("error: "), err
    assert "Traceback" not in err
    for noise in ("I0000", "E0000", "absl", " | INFO", " | ERROR", "WARNING", "prefect"):
        assert noise not in err, err


def _write(path, header, rows):
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def _good_rows(n=60):
    frame = make_series(n)
    return [
        f"{t:%Y-%m-%d},{v:.3f}" for t, v in zip(frame["timestamp"], frame["value"], strict=True)
    ]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (_good_rows()[:-2] + ['2004-11-01,"12,3"', "2004-12-01,n/a"], ["numbers", "line"]),
        (_good_rows() + ["2000-01-01,5.0"], ["unique", "2000-01-01"]),
        (_good_rows(12), ["at least 40 rows"]),
    ],
    ids=["non-numeric", "duplicate-timestamps", "too-few-rows"],
)
def test_bad_csv_exits_2_and_registers_nothing(workspace, capsys, rows, expected):
    path = _write(workspace / "bad.csv", "timestamp,value", rows)
    code = main(["retrain", str(path), "--model-name", "bad-model", "--config", "tiny.json"])
    err = capsys.readouterr().err
    assert code == 2
    assert_only_the_message(err)
    assert "bad.csv" in err
    for text in expected:
        assert text in err
    mlflow.set_tracking_uri("sqlite:///mlflow.db")
    assert MlflowClient().search_model_versions("name = 'bad-model'") == []
    assert not (workspace / "model_store" / "bad-model").exists()


def test_missing_column_exits_2_with_a_suggestion(workspace, capsys):
    path = _write(workspace / "cols.csv", "timestamp,Value", _good_rows())
    assert main(["retrain", str(path), "--config", "tiny.json"]) == 2
    err = capsys.readouterr().err
    assert_only_the_message(err)
    assert "Value" in err


def test_retrain_on_unchanged_data_and_config_registers_nothing(retrained, capsys):
    code = main(["retrain", "series.csv", "--model-name", "cli-model", "--config", "tiny.json"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("skipped: cli-model v1 was trained on the same data")
    assert "--force" in out
    mlflow.set_tracking_uri("sqlite:///mlflow.db")
    assert len(MlflowClient().search_model_versions("name = 'cli-model'")) == 1


def test_retrain_prints_run_version_champion_and_destination(retrained, capsys):
    code = main(
        ["retrain", "series.csv", "--model-name", "cli-model", "--config", "tiny.json", "--force"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "mlflow run:" in out and "cli-model v2" in out
    assert "squared error" in out and "<- this model" in out
    assert "Blessing policy, each check in order:" in out
    assert "champion:" in out and "pushed to:" in out
    assert (retrained / "mlflow.db").exists()
    assert (retrained / "model_store" / "cli-model" / "1" / "model.tar.gz").exists()


def test_predict_writes_one_step_forecasts(retrained):
    output = retrained / "forecasts.csv"
    code = main(
        [
            "predict",
            "series.csv",
            "--model-uri",
            "models:/cli-model@champion",
            "--start",
            "2008-01-01",
            "--output",
            str(output),
        ]
    )
    assert code == 0
    forecasts = pd.read_csv(output)
    assert list(forecasts.columns) == ["timestamp", "prediction"]
    series = make_series(120)
    expected_times = series["timestamp"][series["timestamp"] >= "2008-01-01"]
    assert list(pd.to_datetime(forecasts["timestamp"])) == list(expected_times)
    model = mlflow.pyfunc.load_model("models:/cli-model@champion")
    expected = model.predict(history_frame(series["value"]))["prediction"].to_numpy()
    np.testing.assert_allclose(forecasts["prediction"], expected[-len(forecasts) :], rtol=1e-6)

    # Each forecast only sees earlier values: changing the last value changes no forecast.
    changed = series.copy()
    changed.loc[changed.index[-1], "value"] += 1000
    changed.to_csv(retrained / "changed.csv", index=False)
    main(
        [
            "predict",
            "changed.csv",
            "--model-uri",
            "models:/cli-model@champion",
            "--start",
            "2008-01-01",
            "--output",
            str(retrained / "changed_forecasts.csv"),
        ]
    )
    again = pd.read_csv(retrained / "changed_forecasts.csv")
    np.testing.assert_allclose(again["prediction"], forecasts["prediction"], rtol=1e-9)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model-uri", "models:/cli-model@champion", "--start", "2000-02-01"], "later --start"),
        (["--model-uri", "models:/cli-model@champion", "--start", "2030-01-01"], "after the last"),
        (["--model-uri", "models:/no-such-model@champion", "--start", "2008-01-01"], "cannot load"),
    ],
    ids=["start-too-early", "start-after-data", "unknown-model"],
)
def test_predict_bad_requests_exit_2(retrained, capsys, args, message):
    code = main(["predict", "series.csv", *args, "--output", "x.csv"])
    assert code == 2
    assert message in capsys.readouterr().err


def test_console_script_is_installed_and_maps_bad_input_to_exit_2(tmp_path):
    script = [sys.executable, "-c", "from flows.cli.main import main; raise SystemExit(main())"]
    result = subprocess.run(
        [
            *script,
            "predict",
            str(tmp_path / "missing.csv"),
            "--model-uri",
            "models:/m@champion",
            "--start",
            "2000-01-01",
            "--output",
            str(tmp_path / "out.csv"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 2
    assert "missing.csv" in result.stderr


def test_predict_reads_the_models_exogenous_columns_from_the_file(workspace, tmp_path):
    """A model trained with an exogenous column forecasts from the file's column of that name."""
    from lstm_model.delivery.export import export_saved_model
    from lstm_model.delivery.pyfunc import log_forecaster
    from lstm_model.modeling.forecast import one_step_forecasts
    from lstm_model.modeling.network import Architecture, build_lstm
    from lstm_model.modeling.preparation import prepare
    from lstm_model.tracking import configure_tracking

    series = make_series(80)
    temp = np.cos(np.arange(80) / 5.0) * 10 + 20
    matrix = np.column_stack([series["value"], temp])
    data = prepare(matrix, 1, 6, 0.15, 0.15, columns=("value", "temp"))
    model = build_lstm(6, 2, Architecture(units=4), seed=3)
    directory = export_saved_model(model, data.transform, tmp_path / "exog")
    configure_tracking(None, "lstm-pipeline")
    with mlflow.start_run():
        log_forecaster(
            directory, "cli-exog", matrix[:20], {"blessed": "true", "blessing_reason": "test"}
        )
    series.assign(temp=temp).to_csv(workspace / "exog.csv", index=False)

    code = main(
        [
            "predict",
            "exog.csv",
            "--model-uri",
            "models:/cli-exog@challenger",
            "--start",
            "2004-01-01",
            "--output",
            "exog_forecasts.csv",
        ]
    )
    assert code == 0
    forecasts = pd.read_csv(workspace / "exog_forecasts.csv")
    expected = one_step_forecasts(lambda w: model.predict(w, verbose=0), data.transform, matrix)
    np.testing.assert_allclose(forecasts["prediction"], expected[48:80], rtol=1e-5)


@pytest.mark.parametrize(
    ("rows", "header", "expected"),
    [
        (["2004-11-01,12.0"], "timestamp,value", "at least 43 rows"),
        (good_rows()[:-2] + ["2004-11-01,'?'"], "timestamp,value", "line 60: \"'?'\""),
        (good_rows(), "timestamp,vaule", "did you mean 'vaule'"),
        (good_rows()[:30] + good_rows()[33:], "timestamp,value", "regular frequency"),
    ],
    ids=["too-short", "non-numeric", "misspelled-column", "gap"],
)
def test_cli_exits_2_for_bad_input(tmp_path, monkeypatch, capsys, rows, header, expected):
    from flows.cli.main import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.json").write_text('{"analysis": {"min_lookback": 12, "max_lookback": 12}}')
    path = write_rows(tmp_path / "bad.csv", rows, header)
    code = main(["retrain", str(path), "--model-name", "never", "--config", "tiny.json"])
    err = capsys.readouterr().err
    assert code == 2 and "bad.csv" in err and expected in err
    assert_only_the_message(err)
    assert not (tmp_path / "model_store").exists()


def test_forecast_writes_the_next_steps_with_intervals(workspace, tmp_path, capsys):
    """``forecast`` writes the h steps after the file's last row, bounds from the SavedModel."""
    from lstm_model.delivery.export import export_saved_model
    from lstm_model.delivery.pyfunc import log_forecaster
    from lstm_model.evaluation.intervals import ConformalIntervals
    from lstm_model.modeling.forecast import path_forecasts
    from lstm_model.modeling.network import Architecture, build_lstm
    from lstm_model.modeling.preparation import prepare
    from lstm_model.tracking import configure_tracking

    series = make_series(80)
    values = series["value"].to_numpy()
    data = prepare(values, 1, 6, 0.15, 0.15, horizon=4)
    model = build_lstm(6, 1, Architecture(units=4), seed=3, horizon=4)
    errors = np.arange(1, 21)[:, np.newaxis] * np.array([1.0, 2.0, 3.0, 4.0])
    intervals = ConformalIntervals.calibrate(errors, (80.0, 95.0))
    directory = export_saved_model(model, data.transform, tmp_path / "paths", intervals)
    configure_tracking(None, "lstm-pipeline")
    with mlflow.start_run():
        log_forecaster(
            directory, "cli-paths", values[:20], {"blessed": "true", "blessing_reason": "test"}
        )
    series.to_csv(workspace / "paths.csv", index=False)
    uri = ["--model-uri", "models:/cli-paths@challenger"]

    assert main(["forecast", "paths.csv", *uri, "--output", "future.csv"]) == 0
    future = pd.read_csv(workspace / "future.csv", parse_dates=["timestamp"])
    assert list(future.columns) == ["timestamp", "prediction", "lo-80", "hi-80", "lo-95", "hi-95"]
    last = series["timestamp"].iloc[-1]
    assert list(future["timestamp"]) == list(pd.date_range(last, periods=5, freq="MS")[1:])
    expected = path_forecasts(lambda w: model.predict(w, verbose=0), data.transform, values)[-1]
    np.testing.assert_allclose(future["prediction"], expected, rtol=1e-5)
    np.testing.assert_allclose(future["hi-95"] - future["prediction"], intervals.half_widths[1])

    assert main(["forecast", "paths.csv", *uri, "--horizon", "2", "--output", "two.csv"]) == 0
    assert len(pd.read_csv(workspace / "two.csv")) == 2
    capsys.readouterr()
    assert main(["forecast", "paths.csv", *uri, "--horizon", "9", "--output", "x.csv"]) == 2
    err = capsys.readouterr().err
    assert "--horizon 9" in err and "at most 4" in err
    assert_only_the_message(err)
    assert not (workspace / "x.csv").exists()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda f: f.drop(index=[40]), "series 's0': after 2003-04-01 00:00:00 comes 2003-06-01"),
        (lambda f: f.assign(value=f["value"].astype(object)).replace({f["value"][100]: "x"}),
         "series 's1': value 'x'"),
        (lambda f: f.drop(columns="series_id"), "--series-column"),
    ],
    ids=["gap", "non-numeric", "no-id-column"],
)  # fmt: skip
def test_a_bad_panel_exits_2_naming_the_series_before_anything_starts(
    tmp_path, monkeypatch, capsys, change, expected
):
    from conftest import make_panel

    monkeypatch.chdir(tmp_path)
    path = tmp_path / "panel.csv"
    change(make_panel(3, 96)).to_csv(path, index=False)
    code = main(["retrain", str(path), "--series-column", "series_id", "--model-name", "never"])
    err = capsys.readouterr().err
    assert code == 2 and expected in err, err
    assert_only_the_message(err)
    assert not (tmp_path / "model_store").exists() and not (tmp_path / "mlflow.db").exists()
    if expected.startswith("series 's0'"):
        # Under --bad-series skip the same file passes the checks (s0 is left out); stop the
        # run right after them with a horizon no series can hold.
        code = main(
            ["retrain", str(path), "--series-column", "series_id", "--bad-series", "skip",
             "--horizon", "40", "--model-name", "never"]
        )  # fmt: skip
        err = capsys.readouterr().err
        assert code == 2 and "series 's0'" not in err and "lower --horizon" in err, err
