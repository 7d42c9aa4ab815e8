"""Levers of the global model on one panel, against baselines computed once and cached.

Each variant refits the global model with the pipeline's own preparation (season vote,
lookback, parts) and scores it like the flow (MASE per series, panel means):

    .venv/bin/python bench/panel_levers.py fertility "" "loss=mae" "loss=mae,seeds=3" "lookback=8"

Keys: loss (mse, mae, huber), seeds (models averaged), lookback, units, lr. Panels: macro,
fertility, gen (60 x 240 from the generator of bench/panel.py). Not a pipeline component: the
README's loss table comes from it.
"""

import pickle
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.panel import fertility_panel, generated_panel, macro_panel  # noqa: E402
from lstm_model.config import PipelineConfig  # noqa: E402
from lstm_model.data.panel import panel_from_frame  # noqa: E402
from lstm_model.evaluation.panel_backtest import (  # noqa: E402
    backtest_origins,
    naive_paths,
    score_panel,
    statistical_paths,
)
from lstm_model.modeling.global_model import fit_global, global_paths  # noqa: E402
from lstm_model.modeling.network import Architecture  # noqa: E402
from lstm_model.modeling.panel_preparation import prepare_panel  # noqa: E402


def main(name: str, variants: list[str]) -> None:
    makers = {
        "macro": macro_panel,
        "fertility": fertility_panel,
        "gen": lambda: generated_panel(60, 240),
    }
    config = PipelineConfig().with_overrides(data__series_column="series_id")
    prepared = prepare_panel(panel_from_frame(makers[name](), "series_id"), config)
    panel, split, analysis = prepared.panel, prepared.split, prepared.analysis
    horizon, season = analysis.horizon, analysis.season
    origins = backtest_origins(split, analysis.lookback, horizon)
    cache = Path(tempfile.gettempdir()) / f"panel_levers_{name}.pkl"
    if not cache.exists():
        cache.write_bytes(pickle.dumps(statistical_paths(panel, split, horizon, season)))
    baselines = {
        **naive_paths(panel.values, origins, horizon, season),
        **pickle.loads(cache.read_bytes()),
    }
    for variant in variants:
        started = time.perf_counter()
        knobs = dict(part.split("=") for part in variant.split(",")) if variant else {}
        lookback = int(knobs.get("lookback", analysis.lookback))
        architecture = Architecture(
            units=int(knobs.get("units", 32)),
            linear_skip=True,
            batch_size=64,
            learning_rate=float(knobs.get("lr", 1e-3)),
        )
        fits = [
            fit_global(
                panel,
                split,
                architecture,
                lookback=lookback,
                horizon=horizon,
                epochs=100,
                patience=10,
                seed=42 + k,
                loss=knobs.get("loss", "mse"),
            )
            for k in range(int(knobs.get("seeds", 1)))
        ]
        paths = np.mean([global_paths(fit, panel.values, origins) for fit in fits], axis=0)
        summary = score_panel(
            panel, split, origins, {"model": paths, **baselines}, season
        ).summary()
        best = min(("ets", "arima", "theta"), key=lambda m: summary[f"{m}/mean_mase"])
        ratio = summary["model/mean_mase"] / summary[f"{best}/mean_mase"]
        print(
            f"{name} {variant or 'default'}: LSTM {summary['model/mean_mase']:.3f} / {best} "
            f"{summary[f'{best}/mean_mase']:.3f} = {ratio:.3f}; beats seasonal naive "
            f"{summary['lstm_beats/seasonal_naive']:.0%}; {time.perf_counter() - started:.0f} s",
            flush=True,
        )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
