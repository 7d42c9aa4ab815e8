"""The end-of-retrain summary: one metric family, one table, the blessing checks in order.

The family is squared error, because the blessing policy's first rule compares test MSEs (and
its tests use squared loss by default): the table ranks every forecaster by test MSE and shows
RMSE (its square root, in the series' units) beside it; nothing else is mixed in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the flow module imports TensorFlow; the CLI imports it only to run it
    from flows.retrain import RetrainResult

LSTM = "model"
CHECK_LABELS = {
    "seasonal_naive": "beats seasonal naive",
    "best_baseline": "significantly better than the best baseline",
    "champion": "beats the champion",
}


def _label(name: str) -> str:
    return "LSTM" if name == LSTM else name.replace("_", " ")


def leaderboard_lines(metrics: dict[str, dict[str, float]]) -> list[str]:
    """The table: rank, forecaster, test MSE and RMSE, best (lowest MSE) first.

    Args:
        metrics: Per forecaster (``model`` is the LSTM) at least ``mse`` and ``rmse``.

    Returns:
        The header and one line per forecaster; the LSTM's line is marked.
    """
    ranked = sorted(metrics, key=lambda name: metrics[name]["mse"])
    width = max(len(_label(name)) for name in ranked)
    lines = [f"  {'#':>2}  {'forecaster':<{width}}  {'MSE':>10}  {'RMSE':>10}"]
    for rank, name in enumerate(ranked, 1):
        row = metrics[name]
        mark = "  <- this model" if name == LSTM else ""
        lines.append(
            f"  {rank:>2}  {_label(name):<{width}}  {row['mse']:>10.4g}  {row['rmse']:>10.4g}{mark}"
        )
    return lines


def baselines_ahead(metrics: dict[str, dict[str, float]]) -> str | None:
    """In words, the baselines with a lower test MSE than the LSTM; None when there are none."""
    ours = metrics[LSTM]["rmse"]
    ahead = sorted(
        (name for name in metrics if name != LSTM and metrics[name]["mse"] < metrics[LSTM]["mse"]),
        key=lambda name: metrics[name]["mse"],
    )
    if not ahead:
        return None
    listed = ", ".join(f"{_label(n)} (RMSE {metrics[n]['rmse']:.4g})" for n in ahead)
    return f"{listed} forecast the test part better than the LSTM (RMSE {ours:.4g})."


def format_summary(result: RetrainResult) -> str:
    """The text ``lstm-pipeline retrain`` prints when the flow finished.

    Args:
        result: What the flow returned.

    Returns:
        Several lines: run and version, the table, the baselines that beat the LSTM, the
        blessing checks with the deciding one, what happened to ``champion``, the push.
    """
    name, version = result.model_name, result.version
    lines = [
        f"{name} v{version} from {result.data_path}",
        f"mlflow run:     {result.run_id}",
        "",
        f"Backtest on the test part, {result.test_paths} paths of {result.horizon} "
        f"step{'s' if result.horizon > 1 else ''}, squared error over every step, best first "
        "(RMSE = sqrt(MSE), in the series' units):",
        *leaderboard_lines(result.test_metrics),
    ]
    if result.coverage:
        covered = ", ".join(
            f"{level:g} % covered {share:.0%}" for level, share in sorted(result.coverage.items())
        )
        lines.append(f"  intervals (calibrated on validation): {covered} of the backtest values")
    ahead = baselines_ahead(result.test_metrics)
    if ahead:
        lines.append(f"  note: {ahead}")
    lines += ["", "Blessing policy, each check in order:"]
    checks = list(result.blessing.checks.items())
    decided = next((i for i, (_, ok) in enumerate(checks) if not ok), None)
    for i, ((check, ok), why) in enumerate(zip(checks, result.blessing.reasons, strict=True)):
        mark = "  <- decided" if i == decided else ""
        lines.append(
            f"  {i + 1}. {CHECK_LABELS.get(check, check)}: {'pass' if ok else 'FAIL'} - {why}{mark}"
        )
    if decided is None:
        lines.append("blessed:        yes (every check passed)")
    else:
        lines.append(
            f"blessed:        no (decided by check {decided + 1}: "
            f"{CHECK_LABELS.get(checks[decided][0], checks[decided][0])})"
        )
    before = f"v{result.champion_before}" if result.champion_before else "none"
    if result.champion:
        lines.append(f"champion:       v{version} (was {before})")
        if ahead:
            lines.append(
                "                it ships, though a baseline above forecasts better: "
                "see the note and the advice below"
            )
    elif result.blessing.blessed:
        # Blessed against the champion it compared with, which then moved (another retrain).
        lines.append(f"champion:       {result.reason}")
    else:
        lines.append(f"champion:       unchanged ({before}); v{version} stays challenger")
    why = "blessed, stays challenger" if result.blessing.blessed else "not blessed"
    lines.append(f"pushed to:      {result.pushed_to or f'not pushed ({why})'}")
    if result.advice:
        lines.append(f"advice:         {result.advice}")
    return "\n".join(lines)
