"""The end-of-retrain summary: one metric family, one table, the blessing checks in order.

The family is squared error, because the blessing policy's first rule compares test MSEs (and
its tests use squared loss by default): the table ranks every forecaster by test MSE and shows
RMSE (its square root, in the series' units) beside it; nothing else is mixed in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the flow module imports TensorFlow; the CLI imports it only to run it
    from flows.retrain import RetrainResult
    from flows.retrain_panel import PanelRetrainResult

LSTM = "model"
CHECK_LABELS = {
    "seasonal_naive": "beats seasonal naive",
    "best_baseline": "significantly better than the best baseline",
    "champion": "beats the champion",
    "series_share": "not worse than seasonal naive on too many series",
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
    lines += decision_lines(result, ahead)
    if result.advice:
        lines.append(f"advice:         {result.advice}")
    return "\n".join(lines)


def decision_lines(result: RetrainResult | PanelRetrainResult, ahead: str | None) -> list[str]:
    """The blessing checks in order (the deciding one marked), the champion and the push."""
    version = result.version
    lines = ["", "Blessing policy, each check in order:"]
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
                "see the note above"
            )
    elif result.blessing.blessed:
        # Blessed against the champion it compared with, which then moved (another retrain).
        lines.append(f"champion:       {result.reason}")
    else:
        lines.append(f"champion:       unchanged ({before}); v{version} stays challenger")
    why = "blessed, stays challenger" if result.blessing.blessed else "not blessed"
    lines.append(f"pushed to:      {result.pushed_to or f'not pushed ({why})'}")
    return lines


def format_panel_summary(result: PanelRetrainResult) -> str:
    """The text ``lstm-pipeline retrain --series-column`` prints when the panel flow finished:
    the forecasters by mean MASE over the series, the LSTM's win share against each, the
    series where it is furthest behind, coverage, the blessing checks and the champion."""
    summary = result.summary
    names = sorted(
        {key.split("/")[0] for key in summary if key.endswith("/mean_mase")},
        key=lambda name: summary[f"{name}/mean_mase"],
    )
    width = max(len(_label(name)) for name in names)
    lines = [
        f"{result.model_name} v{result.version} from {result.data_path}",
        f"mlflow run:     {result.run_id}",
        "",
        f"Backtest of {result.series} series, paths of {result.horizon} steps from every test "
        "origin; MASE per series (scaled by its own training part), best mean first:",
        f"  {'#':>2}  {'forecaster':<{width}}  {'mean':>7}  {'median':>7}  LSTM better on",
    ]
    for rank, name in enumerate(names, 1):
        share = summary.get(f"lstm_beats/{name}")
        better = "" if share is None else f"{share:.0%} of series"
        mark = "  <- this model" if name == LSTM else ""
        lines.append(
            f"  {rank:>2}  {_label(name):<{width}}  {summary[f'{name}/mean_mase']:>7.3f}  "
            f"{summary[f'{name}/median_mase']:>7.3f}  {better}{mark}"
        )
    if result.coverage:
        covered = ", ".join(
            f"{level:g} % covered {share:.0%}" for level, share in sorted(result.coverage.items())
        )
        lines.append(f"  intervals (calibrated on validation): {covered} of the backtest values")
    worst = ", ".join(f"{sid} ({ratio:.2f}x)" for sid, ratio in result.worst)
    lines.append(f"  furthest behind {_label(result.best_baseline)}: {worst}")
    if result.excluded:
        listed = "; ".join(f"{sid}: {why}" for sid, why in list(result.excluded.items())[:5])
        more = len(result.excluded) - 5
        lines.append(
            f"  left out (data.bad_series = skip): {listed}"
            + (f"; and {more} more" if more > 0 else "")
        )
    ahead = None
    if summary["model/mean_mase"] > summary[f"{result.best_baseline}/mean_mase"]:
        ahead = (
            f"{_label(result.best_baseline)} has a lower mean MASE than the LSTM "
            f"({summary[f'{result.best_baseline}/mean_mase']:.3f} vs "
            f"{summary['model/mean_mase']:.3f})"
        )
        lines.append(f"  note: {ahead}.")
    lines += decision_lines(result, ahead)
    return "\n".join(lines)
