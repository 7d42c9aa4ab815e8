"""Forecasting with a registered model (no orchestration needed): the one-step backtest of a
file (``predict``) and the h steps after its end with their intervals (``forecast``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from lstm_model.config import PipelineConfig
from lstm_model.data.cadence import infer_frequency
from lstm_model.data.check import check_panel
from lstm_model.data.load import load_series
from lstm_model.data.source import check_source
from lstm_model.data.validation import validate_series
from lstm_model.data.values import TimeSeries, model_values
from lstm_model.delivery.pyfunc import OUTPUT_COLUMN, history_frame
from lstm_model.errors import PipelineInputError


def _load_model(model_uri: str):
    import mlflow
    from mlflow.exceptions import MlflowException

    from lstm_model.tracking import configure_tracking

    configure_tracking(None, "lstm-pipeline")
    try:
        return mlflow.pyfunc.load_model(model_uri)
    except MlflowException as error:
        raise PipelineInputError(
            f"cannot load model {model_uri!r}: {error.message}. Check the name and alias "
            "(e.g. models:/lstm-forecaster@champion) and MLFLOW_TRACKING_URI."
        ) from error


def model_columns(model) -> list[str]:
    """The registered model's input columns: ``value`` first, then its exogenous features."""
    return list(model.metadata.get_input_schema().input_names())


def forecast_from(
    frame: pd.DataFrame, model, start: str, time_column: str, target: str
) -> pd.DataFrame:
    """Forecasts for every row at or after ``start``, each from the true values before it.

    The model's exogenous columns are read from ``frame`` under the same names.

    Raises:
        PipelineInputError: when ``start`` is unparseable, after the data, or earlier than the
            model's window allows.
    """
    timestamps = frame[time_column]
    try:
        start_ts = pd.Timestamp(start)
    except ValueError as error:
        raise PipelineInputError(f"--start {start!r} is not a timestamp: {error}") from error
    if (start_ts.tzinfo is None) != (timestamps.dt.tz is None):
        raise PipelineInputError(
            f"--start {start!r} and column {time_column!r} disagree on time zones: give both "
            "with an offset or both without"
        )
    selected = (timestamps >= start_ts).to_numpy()
    if not selected.any():
        raise PipelineInputError(
            f"--start {start} is after the last timestamp {timestamps.iloc[-1]}: "
            "nothing to forecast"
        )
    columns = model_columns(model)
    values = model_values(frame, target, columns[1:])
    predictions = model.predict(history_frame(values, columns))[OUTPUT_COLUMN].to_numpy()
    missing = selected & np.isnan(predictions)
    if missing.any():
        earliest = timestamps[~np.isnan(predictions)]
        hint = f"the earliest is {earliest.iloc[0]}" if len(earliest) else "add more history"
        raise PipelineInputError(
            f"not enough history before {timestamps[missing].iloc[0]} for the model's window: "
            f"choose a later --start ({hint})"
        )
    return pd.DataFrame(
        {"timestamp": timestamps[selected].to_numpy(), "prediction": predictions[selected]}
    )


def _read_checked(
    data_path: str, model_uri: str, time_column: str, target: str, model=None
) -> tuple[pd.DataFrame, object]:
    """The validated file (with the model's exogenous columns) and the loaded model (loaded
    here unless given)."""
    # The file is checked before the (slower) model load, so a bad path fails first.
    frame = load_series(data_path, time_column, target)
    model = model or _load_model(model_uri)
    exogenous = model_columns(model)[1:]
    if exogenous:
        frame = load_series(data_path, time_column, target, exogenous=tuple(exogenous))
    validate_series(
        frame, time_column, target, min_rows=1, source=str(data_path), exogenous=exogenous
    ).raise_for_failures()
    return frame.reset_index(drop=True), model


def future_forecast(
    frame: pd.DataFrame, model, steps: int | None, time_column: str, target: str
) -> pd.DataFrame:
    """The ``steps`` values after the last row with their intervals, from the model's path.

    Returns:
        ``timestamp, prediction, lo-80, hi-80, lo-95, hi-95`` (one pair per exported level),
        the timestamps continuing the file's frequency.

    Raises:
        PipelineInputError: when the timestamps have no regular frequency, the history is
            shorter than the model's window, or ``steps`` exceeds the model's horizon.
    """
    columns = model_columns(model)
    values = model_values(frame, target, columns[1:])
    steps = _checked_steps(steps, model.unwrap_python_model().horizon)
    warmup = model.unwrap_python_model().warmup
    if len(values) < warmup:
        raise PipelineInputError(
            f"the file has {len(values)} rows; the model's window needs the last {warmup}"
        )
    series = TimeSeries(values, frame[time_column], infer_frequency(frame[time_column]))
    path = model.predict(
        history_frame(values, columns), params={"output": "forecast", "steps": steps}
    )
    return pd.DataFrame(
        {"timestamp": series.future_timestamps(steps), **path.drop(columns="step").to_dict("list")}
    )


def future_panel_forecast(
    data_path: str, model, steps: int | None, time_column: str, target: str
) -> pd.DataFrame:
    """Every series' ``steps`` values after its last row, from a panel's registered model.

    The file is a long-format panel with the model's series id column; each series is checked
    by id (gaps, duplicates, values, the shared frequency) before anything is forecast.

    Returns:
        ``<series column>, timestamp, prediction, lo-80, hi-80, ...``, series after series.

    Raises:
        PipelineInputError: a bad panel, a series shorter than the model's window, or
            ``steps`` beyond the model's horizon.
    """
    forecaster = model.unwrap_python_model()
    series_column = forecaster.series_column
    config = PipelineConfig().with_overrides(
        data__series_column=series_column, data__time_column=time_column, data__target=target
    )
    frame, panel = check_panel(data_path, config)
    steps = _checked_steps(steps, forecaster.horizon)
    # A local panel's pyfunc checks each series against its own model's window, by id.
    short = panel.ids[(panel.lengths < forecaster.lookback) & _is_global(forecaster)]
    if len(short):
        raise PipelineInputError(
            f"series {', '.join(map(repr, short[:10].tolist()))} have fewer rows than the "
            f"{forecaster.lookback} the model reads: add history or leave them out"
        )
    history = pd.DataFrame({series_column: panel.ids[panel.series_of_row], "value": panel.values})
    table = model.predict(history, params={"output": "forecast", "steps": steps})
    table.insert(1, "timestamp", panel.future_timestamps(steps))
    return table.drop(columns="step")


def _checked_steps(steps: int | None, horizon: int) -> int:
    """``steps`` (default the horizon), refused outside 1..horizon with what to do."""
    steps = horizon if steps is None else steps
    if not 1 <= steps <= horizon:
        longer = f", or retrain with forecast.horizon = {steps}" if steps > horizon else ""
        raise PipelineInputError(
            f"--horizon {steps}: this model forecasts 1 to {horizon} steps at once; ask for at "
            f"least 1 and at most {horizon}{longer}"
        )
    return steps


def write_future_forecast(
    data_path: str,
    model_uri: str,
    output: Path,
    steps: int | None = None,
    time_column: str = "timestamp",
    target: str = "value",
) -> int:
    """Load, validate, forecast the steps after the data and write them; returns the count
    (for a panel's model: every series' rows)."""
    # A bad path fails before the (slower) model load.
    check_source(data_path, None, panel=True)
    model = _load_model(model_uri)
    if is_panel_model(model):
        return _write(future_panel_forecast(data_path, model, steps, time_column, target), output)
    frame, model = _read_checked(data_path, model_uri, time_column, target, model)
    return _write(future_forecast(frame, model, steps, time_column, target), output)


def is_panel_model(model) -> bool:
    """Whether a loaded registered model is a panel's (global or local; reads a series id)."""
    from lstm_model.delivery.local_pyfunc import LocalPanelForecaster

    forecaster = model.unwrap_python_model()
    return _is_global(forecaster) or isinstance(forecaster, LocalPanelForecaster)


def _is_global(forecaster) -> bool:
    from lstm_model.delivery.global_pyfunc import GlobalForecaster

    return isinstance(forecaster, GlobalForecaster)


def write_forecasts(
    data_path: str,
    model_uri: str,
    start: str,
    output: Path,
    time_column: str = "timestamp",
    target: str = "value",
) -> int:
    """Load, validate, forecast and write ``timestamp,prediction``; returns the row count."""
    frame, model = _read_checked(data_path, model_uri, time_column, target)
    return _write(forecast_from(frame, model, start, time_column, target), output)


def _write(table: pd.DataFrame, output: Path) -> int:
    """``table`` as CSV at ``output`` (folders created); returns its row count."""
    output.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(output, index=False)
    return len(table)
