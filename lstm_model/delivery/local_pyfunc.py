"""The registered model of a panel trained locally: one SavedModel per series in one pyfunc.

Same contract as the global model's pyfunc (:mod:`lstm_model.delivery.global_pyfunc`), so the
``forecast`` command and the champion comparison use it the same way. Input: a long DataFrame
with the series id column the model was trained with and ``value``, each series' rows in time
order (series may be interleaved). The ``output`` parameter picks the answer:

- ``forecast`` (default): for every series, the ``steps`` (default h) values after its last
  row: ``<series column>``, ``step``, ``prediction`` and ``lo-<level>`` / ``hi-<level>``.
- ``paths``: one row per input row (in the input's order) with ``step_1`` ... ``step_h``: the
  path from that row's origin, from the rows of its series before it (NaN while that history
  is shorter than its model's ``warmup``).

Unlike the global model there is no cold start: a series id without a model of its own is
refused by name. Its artifact ``saved_model`` is a folder with one SavedModel folder per series
and :data:`INDEX_FILE` (series column, horizon, series id -> folder and warmup). SavedModels are
loaded on a series' first request, so a process serving a few series of a large panel loads
only those.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from mlflow.entities.model_registry import ModelVersion
from mlflow.pyfunc import PythonModel

from lstm_model.delivery.package import LOCAL_INDEX, extract_archive
from lstm_model.delivery.pyfunc import (
    check_steps,
    forecast_columns,
    panel_input,
    register_pyfunc,
)
from lstm_model.delivery.registry import KIND_TAG, LOCAL_STRATEGY, PANEL_KIND, STRATEGY_TAG
from lstm_model.errors import PipelineInputError

if TYPE_CHECKING:  # the fit module imports TensorFlow's stack; serving never needs it
    from lstm_model.delivery.local_strategy import SeriesFit

INDEX_FILE = LOCAL_INDEX
Serve = Callable[[np.ndarray], dict[str, np.ndarray]]


def write_local_models(fits: Iterable[SeriesFit], series_column: str, directory: Path) -> Path:
    """Unpack every series' SavedModel under ``directory`` and write the index.

    Folders are numbered (``series-0000``, ...) rather than named after ids, which may hold any
    character; the index maps each id to its folder.

    Args:
        fits: One fit per series (distinct ids, one horizon).
        series_column: The panel's series id column (the input the pyfunc reads).
        directory: Where to write (created).

    Returns:
        ``directory``, ready to be logged with :func:`log_local_forecaster`.

    Raises:
        ValueError: no fits, a repeated id, or fits of different horizons.
    """
    from lstm_model.delivery.export import load_transform  # Keras: training side only

    directory = Path(directory)
    series: dict[str, dict[str, Any]] = {}
    horizons = set()
    for i, fit in enumerate(sorted(fits, key=lambda f: f.series_id)):
        if fit.series_id in series:
            raise ValueError(f"series {fit.series_id!r} has two fits")
        folder = f"series-{i:04d}"
        transform = load_transform(extract_archive(fit.saved_model, directory / folder))
        series[fit.series_id] = {"folder": folder, "warmup": transform.warmup}
        horizons.add(transform.horizon)
    if not series:
        raise ValueError("no series' fit to write")
    if len(horizons) != 1:
        raise ValueError(f"the series' models need one horizon, got {sorted(horizons)}")
    index = {"series_column": series_column, "horizon": horizons.pop(), "series": series}
    (directory / INDEX_FILE).write_text(json.dumps(index, indent=1))
    return directory


class LocalPanelForecaster(PythonModel):
    """Serves each series from its own SavedModel's signature; needs no Keras."""

    def load_context(self, context: Any) -> None:
        self.root = Path(context.artifacts["saved_model"])
        index = json.loads((self.root / INDEX_FILE).read_text())
        self.series_column = str(index["series_column"])
        self.horizon = int(index["horizon"])
        self.folders = {sid: str(entry["folder"]) for sid, entry in index["series"].items()}
        self.warmups = {sid: int(entry["warmup"]) for sid, entry in index["series"].items()}
        # The most rows any series' model reads (what a caller checks a whole panel against,
        # as it checks the global model's ``lookback``).
        self.lookback = max(self.warmups.values())
        self._served: dict[str, Serve] = {}

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        rows = panel_input(model_input, self.series_column, params)
        self._check_known(rows.ids)
        if rows.output == "forecast":
            steps = rows.steps or self.horizon
            return self.forecast(rows.ids, rows.values, rows.starts, rows.stops, steps)
        paths = np.full((len(rows.values), self.horizon), np.nan)
        for sid, start, stop in zip(rows.ids, rows.starts, rows.stops, strict=True):
            paths[rows.order[start:stop]] = self.paths(str(sid), rows.values[start:stop])
        return pd.DataFrame(paths, columns=[f"step_{k}" for k in range(1, self.horizon + 1)])

    def paths(self, series_id: str, values: np.ndarray) -> np.ndarray:
        """Row t of one series: the path from origin t, from its rows before it."""
        warmup = self.warmups[series_id]
        paths = np.full((len(values), self.horizon), np.nan)
        if len(values) <= warmup:
            return paths
        # Row i of the view holds rows [i, i + warmup): the history of row i + warmup; the last
        # row is never an input (as in the single-series pyfunc).
        histories = np.lib.stride_tricks.sliding_window_view(values[:-1], warmup)
        served = self._serve(series_id)(np.ascontiguousarray(histories[:, :, np.newaxis]))
        paths[warmup:] = served["forecast"]
        return paths

    def forecast(
        self,
        ids: np.ndarray,
        values: np.ndarray,
        starts: np.ndarray,
        stops: np.ndarray,
        steps: int,
    ) -> pd.DataFrame:
        """Every series' ``steps`` values after its last row, with the interval bounds."""
        check_steps(steps, self.horizon)
        needs = np.array([self.warmups[str(sid)] for sid in ids])
        short = ids[stops - starts < needs]
        if len(short):
            detail = ", ".join(f"{sid!r} ({self.warmups[str(sid)]})" for sid in short[:10])
            raise PipelineInputError(
                f"series {detail} have fewer rows than their models read (in brackets): add "
                "history or leave them out"
            )
        tables = []
        for sid, stop, warmup in zip(ids, stops, needs, strict=True):
            history = values[stop - warmup : stop][np.newaxis, :, np.newaxis]
            tables.append(forecast_columns(self._serve(str(sid))(history), steps))
        columns = {name: np.concatenate([t[name] for t in tables]) for name in tables[0]}
        return pd.DataFrame(
            {
                self.series_column: np.repeat(ids, steps),
                "step": np.tile(np.arange(1, steps + 1), len(ids)),
                **columns,
            }
        )

    def _check_known(self, ids: np.ndarray) -> None:
        unknown = [str(sid) for sid in ids if str(sid) not in self.folders]
        if unknown:
            raise PipelineInputError(
                f"no model for series {', '.join(map(repr, unknown[:10]))}"
                f"{f' and {len(unknown) - 10} more' if len(unknown) > 10 else ''}: the local "
                "strategy has one model per trained series; retrain to add it"
            )

    def _serve(self, series_id: str) -> Serve:
        """The series' serving signature, loaded on its first request."""
        if series_id not in self._served:
            from lstm_model.delivery.export import load_serving

            self._served[series_id] = load_serving(self.root / self.folders[series_id])
        return self._served[series_id]


def log_local_forecaster(
    models_dir: Path,
    model_name: str,
    example: pd.DataFrame,
    tags: dict[str, str],
    description: str | None = None,
) -> ModelVersion:
    """Log the locally trained panel's pyfunc to the active run and register one version.

    Args:
        models_dir: The folder :func:`write_local_models` wrote (every series' SavedModel).
        model_name: Registered model name.
        example: A few rows of the panel: series id column and ``value``.
        tags: Version tags, ``blessed`` and ``blessing_reason`` among them; the panel kind and
            the local strategy are added.
        description: The version's description.

    Returns:
        The registered model version (alias ``challenger``).
    """
    index = json.loads((Path(models_dir) / INDEX_FILE).read_text())
    return register_pyfunc(
        Path(__file__).with_name("local_forecaster_model.py"),
        models_dir,
        model_name,
        example,
        "forecast",
        {
            **tags,
            KIND_TAG: PANEL_KIND,
            STRATEGY_TAG: LOCAL_STRATEGY,
            "local_series": str(len(index["series"])),
        },
        None,
        description,
    )
