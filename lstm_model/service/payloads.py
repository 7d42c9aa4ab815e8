"""Request bodies -> validated arrays, or a :class:`RequestError` that says exactly what is wrong.

Nothing here trusts the client: JSON that does not parse, the wrong nesting, the wrong window
length, strings or booleans where numbers belong, NaN or infinities all become a 4xx with the
position of the first offending value. Values are never coerced (``"1.5"`` is not 1.5, ``true``
is not 1), and messages name positions and types, never echo the payload.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from lstm_model.service.forecaster import ServedForecaster, ServedPaths


class RequestError(Exception):
    """A bad request: HTTP ``status``, a metrics ``kind`` and a message for the client."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message


def parse_json(body: bytes) -> dict[str, Any]:
    """The body as a JSON object.

    Raises:
        RequestError: 400 when the body is empty, not UTF-8 JSON, or not an object.
    """
    if not body:
        raise RequestError(400, "bad_json", "the request body is empty; send a JSON object")
    try:
        payload = json.loads(body)
    except UnicodeDecodeError:
        raise RequestError(400, "bad_json", "the request body is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise RequestError(
            400,
            "bad_json",
            f"the request body is not valid JSON: {error.msg} at line {error.lineno} "
            f"column {error.colno}",
        ) from None
    except RecursionError:
        raise RequestError(400, "bad_json", "the request body is nested too deeply") from None
    if not isinstance(payload, dict):
        raise RequestError(
            400, "bad_json", f"the request body must be a JSON object, got {_kind(payload)}"
        )
    return payload


def instances_to_windows(
    payload: dict[str, Any], forecaster: ServedForecaster, max_instances: int
) -> np.ndarray:
    """SageMaker / TF Serving ``{"instances": [...]}`` -> windows (batch, warmup, features).

    Each instance is one window of the last ``warmup`` raw values, oldest first: a list of
    numbers for a target-only model (``[[v], ...]`` works too), else a list of rows
    ``[value, exogenous...]``. The columnar ``{"inputs": [...]}`` form is accepted alike.
    """
    key = "instances" if "instances" in payload else "inputs"
    if key not in payload:
        raise RequestError(
            422,
            "bad_shape",
            'the body needs "instances": a list of windows, each the last '
            f"{_window_description(forecaster)}",
        )
    instances = payload[key]
    _check_batch(key, instances, max_instances)
    return _windows(key, instances, forecaster)


def requested_steps(payload: dict[str, Any], horizon: int) -> int:
    """The optional ``"steps"`` of a body: how many of the model's h steps to answer (default h)."""
    steps = payload.get("steps", horizon)
    if not isinstance(steps, int) or isinstance(steps, bool) or not 1 <= steps <= horizon:
        raise RequestError(
            422,
            "bad_value",
            f'"steps" must be a whole number from 1 to the model\'s horizon {horizon}, '
            f"got {steps!r}",
        )
    return steps


@dataclass(frozen=True)
class PredictRequest:
    """A validated ``/predict`` body."""

    windows: np.ndarray  # (count, warmup, features)
    steps: int  # of each path
    # Per forecast path, the ISO 8601 time of each step, when timestamps were sent.
    timestamps: list[list[str]] | None


PREDICT_FIELDS = ("values", "exogenous", "timestamps", "all", "steps")


def predict_request(
    payload: dict[str, Any], forecaster: ServedForecaster, max_instances: int
) -> PredictRequest:
    """``{"values": [...], "exogenous": {...}, "timestamps": [...], "all": false, "steps": k}``.

    ``values`` is the recent history in time order (at least ``warmup`` of them); by default
    the answer is the path of the ``steps`` (default: the model's h) values after the last one,
    with ``"all": true`` also the path from every value that has ``warmup`` values before it.
    """
    unknown = sorted(set(payload) - set(PREDICT_FIELDS))
    if unknown:
        raise RequestError(
            422, "bad_shape", f"unknown field(s) {unknown}; /predict takes {list(PREDICT_FIELDS)}"
        )
    if "values" not in payload:
        raise RequestError(
            422,
            "bad_shape",
            f'the body needs "values": at least the last {forecaster.warmup} '
            "raw values of the series, oldest first",
        )
    every = payload.get("all", False)
    if not isinstance(every, bool):
        raise RequestError(422, "bad_value", f'"all" must be true or false, got {_kind(every)}')
    # Only the last warmup values matter for the next step; the body limit bounds the rest.
    values = _vector("values", payload["values"], forecaster.warmup)
    columns = [values, *_exogenous(payload.get("exogenous"), forecaster, len(values))]
    matrix = np.column_stack(columns)
    histories = sliding_window_view(matrix, forecaster.warmup, axis=0).transpose(0, 2, 1)
    if not every:
        histories = histories[-1:]
    if len(histories) > max_instances:
        raise RequestError(
            413,
            "too_many_instances",
            f'"all": true asks for {len(histories)} forecasts; at most {max_instances} per '
            "request. Send a shorter history or split it.",
        )
    steps = requested_steps(payload, forecaster.horizon)
    stamps = None
    if payload.get("timestamps") is not None:
        stamps = _forecast_timestamps(payload["timestamps"], len(values), len(histories), steps)
    return PredictRequest(np.ascontiguousarray(histories), steps, stamps)


def predict_answer(
    forecasts: ServedPaths, outside: np.ndarray, timestamps: list[list[str]] | None
) -> list[dict[str, Any]]:
    """The ``forecasts`` of a ``/predict`` answer: per path, its first step's ``timestamp`` and
    ``value``, ``out_of_range``, and ``path`` with every step and its interval bounds."""
    count, steps = forecasts.paths.shape
    answers = []
    for i in range(count):
        path: list[dict[str, Any]] = []
        for k in range(steps):
            entry: dict[str, Any] = {
                "step": k + 1,
                "timestamp": timestamps[i][k] if timestamps else None,
                "value": float(forecasts.paths[i, k]),
            }
            for name, (lower, upper) in forecasts.bounds.items():
                entry[f"lower_{name}"] = float(lower[i, k])
                entry[f"upper_{name}"] = float(upper[i, k])
            path.append(entry)
        first = path[0]
        answers.append(
            {
                "timestamp": first["timestamp"],
                "value": first["value"],
                "out_of_range": bool(outside[i]),
                "path": path,
            }
        )
    return answers


def _check_batch(key: str, instances: Any, max_instances: int) -> None:
    if not isinstance(instances, list) or not instances:
        raise RequestError(
            422, "bad_shape", f'"{key}" must be a non-empty list of windows, got {_kind(instances)}'
        )
    if len(instances) > max_instances:
        raise RequestError(
            413,
            "too_many_instances",
            f'"{key}" has {len(instances)} windows; at most {max_instances} per request',
        )


def _windows(key: str, instances: list[Any], forecaster: ServedForecaster) -> np.ndarray:
    warmup, features = forecaster.warmup, forecaster.n_features
    try:
        array = np.asarray(instances)
    except (ValueError, TypeError):  # ragged nesting
        array = None
    ok = (
        array is not None
        and array.dtype.kind in "iuf"
        and (
            array.shape[1:] == (warmup, features)
            or (features == 1 and array.shape[1:] == (warmup,))
        )
    )
    # Booleans hide in a numeric array as 0/1: look for them only when the fast path passed.
    if array is None or not ok or _has_bool(instances):
        _explain_structure(key, instances, warmup, features)
        raise RequestError(  # pragma: no cover - _explain_structure always raises
            422, "bad_shape", f'"{key}" must be windows of shape ({warmup}, {features})'
        )
    array = array.astype(np.float64).reshape(len(instances), warmup, features)
    _check_finite(key, array)
    return array


def _has_bool(instances: list[Any]) -> bool:
    # Any Python loop over values runs only here, on the (small) request, never in the model.
    stack = [instances]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, bool):
            return True
    return False


def _explain_structure(key: str, instances: list[Any], warmup: int, features: int) -> None:
    """Raise a RequestError for the first instance that is not a valid window."""
    row = "a number" if features == 1 else f"a row of {features} numbers [value, exogenous...]"
    for i, window in enumerate(instances):
        where = f"{key}[{i}]"
        if not isinstance(window, list):
            raise RequestError(
                422,
                "bad_shape",
                f"{where} must be a list of {warmup} time steps, got {_kind(window)}",
            )
        if len(window) != warmup:
            raise RequestError(
                422,
                "bad_shape",
                f"{where} has {len(window)} time steps; the model needs exactly the last "
                f"{warmup} raw values of the series (oldest first)",
            )
        for j, step in enumerate(window):
            cells = step if isinstance(step, list) else [step]
            if (features > 1 or isinstance(step, list)) and (
                not isinstance(step, list) or len(step) != features
            ):
                raise RequestError(
                    422, "bad_shape", f"{where}[{j}] must be {row}, got {_kind(step)}"
                )
            for cell in cells:
                if not _is_number(cell):
                    raise RequestError(
                        422,
                        "bad_value",
                        f"{where}[{j}] is {_kind(cell)}; values must be JSON numbers",
                    )
    raise RequestError(422, "bad_shape", f'"{key}" must be windows of shape ({warmup}, {features})')


def _check_finite(key: str, array: np.ndarray) -> None:
    bad = np.argwhere(~np.isfinite(array))
    if len(bad):
        i, j, k = (int(v) for v in bad[0])
        where = f"{key}[{i}][{j}]" + (f"[{k}]" if array.shape[2] > 1 else "")
        raise RequestError(
            422,
            "bad_value",
            f"{where} is {array[i, j, k]}; values must be finite numbers (fill or drop "
            f"missing values before asking for a forecast), {len(bad)} non-finite in all",
        )


def _vector(name: str, values: Any, minimum: int) -> np.ndarray:
    """A list of at least ``minimum`` finite numbers, as float64."""
    if not isinstance(values, list):
        raise RequestError(
            422, "bad_shape", f'"{name}" must be a list of numbers, got {_kind(values)}'
        )
    if len(values) < minimum:
        raise RequestError(
            422,
            "bad_shape",
            f'"{name}" has {len(values)} values; the model needs at least the last {minimum} '
            "raw values of the series (oldest first)",
        )
    array = np.asarray(values) if all(_is_number(v) for v in values) else None
    if array is None or array.ndim != 1:
        position = next(i for i, v in enumerate(values) if not _is_number(v))
        raise RequestError(
            422,
            "bad_value",
            f'"{name}"[{position}] is {_kind(values[position])}; values must be JSON numbers',
        )
    array = array.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(array))
    if len(bad):
        raise RequestError(
            422,
            "bad_value",
            f'"{name}"[{bad[0]}] is {array[bad[0]]}; values must be finite numbers, '
            f"{len(bad)} non-finite in all",
        )
    return array


def _exogenous(exogenous: Any, forecaster: ServedForecaster, n: int) -> list[np.ndarray]:
    names = list(forecaster.columns[1:])
    if not names:
        if exogenous:
            raise RequestError(
                422, "bad_shape", '"exogenous" was sent but this model uses the target only'
            )
        return []
    if not isinstance(exogenous, dict) or set(exogenous) != set(names):
        got = sorted(exogenous) if isinstance(exogenous, dict) else _kind(exogenous)
        raise RequestError(
            422,
            "bad_shape",
            f'"exogenous" must be an object with exactly the columns {names}, one value per '
            f'entry of "values"; got {got}',
        )
    for name in names:
        column = exogenous[name]
        if not isinstance(column, list) or len(column) != n:
            size = len(column) if isinstance(column, list) else _kind(column)
            raise RequestError(
                422,
                "bad_shape",
                f'"exogenous.{name}" must have one value per entry of "values" ({n}), got {size}',
            )
    return [_vector(f"exogenous.{name}", exogenous[name], n) for name in names]


def _forecast_timestamps(timestamps: Any, n: int, count: int, steps: int) -> list[list[str]]:
    """Timestamps of the ``count`` paths of ``steps``: path i starts at the i-th of the last
    ``count - 1`` sent ones (the last path right after the data) and continues the frequency."""
    import pandas as pd

    if not isinstance(timestamps, list) or len(timestamps) != n:
        size = len(timestamps) if isinstance(timestamps, list) else _kind(timestamps)
        raise RequestError(
            422, "bad_timestamps", f'"timestamps" must be a list of {n} (one per value), got {size}'
        )
    if not all(isinstance(t, str) for t in timestamps):
        position = next(i for i, t in enumerate(timestamps) if not isinstance(t, str))
        raise RequestError(
            422, "bad_timestamps", f'"timestamps"[{position}] must be an ISO 8601 string'
        )
    try:
        index = pd.DatetimeIndex(pd.to_datetime(timestamps, format="ISO8601"))
    except (ValueError, TypeError) as error:
        raise RequestError(
            422, "bad_timestamps", f'"timestamps" are not all ISO 8601 dates: {error}'
        ) from None
    spacing = np.diff(index.asi8)
    if len(spacing) and (spacing <= 0).any():
        position = int(np.flatnonzero(spacing <= 0)[0]) + 1
        raise RequestError(
            422,
            "bad_timestamps",
            f'"timestamps"[{position}] is not after the one before it; send them strictly '
            "increasing, oldest first",
        )
    frequency = pd.infer_freq(index) if len(index) >= 3 else None
    if frequency is None:
        raise RequestError(
            422,
            "bad_timestamps",
            '"timestamps" have no regular step to place the next one (need at least 3, evenly '
            'spaced on a calendar frequency); leave "timestamps" out to get the values only',
        )
    extended = pd.date_range(index[0], periods=n + steps, freq=frequency)
    first = np.arange(n - count + 1, n + 1)
    return [[stamp.isoformat() for stamp in extended[i : i + steps]] for i in first]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _kind(value: Any) -> str:
    """A payload value described by its JSON type, never its content."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _window_description(forecaster: ServedForecaster) -> str:
    if forecaster.n_features == 1:
        return f"{forecaster.warmup} raw values of the series, oldest first"
    return f"{forecaster.warmup} rows {list(forecaster.columns)} of the series, oldest first"
