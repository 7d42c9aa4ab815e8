"""A panel ready for the global model: its parts cut, its decisions made, its short series
handled by policy.

The parts come first (:func:`~lstm_model.modeling.panel_windows.split_panel`), so the analysis
reads training rows only; a series too short for one training window of the chosen lookback
and horizon is then reported by id and stops the run (``data.bad_series = fail``) or is left
out (``skip``), after which the parts and decisions are made again on the series kept.
"""

from __future__ import annotations

from dataclasses import dataclass

from lstm_model.analysis.panel import PanelAnalysis, analyse_panel
from lstm_model.config import PipelineConfig
from lstm_model.data.panel import Panel, apply_policy
from lstm_model.modeling.panel_windows import PanelSplit, short_series, split_panel


@dataclass(frozen=True)
class PreparedPanel:
    """The series kept, their parts and the panel-wide decisions."""

    panel: Panel
    split: PanelSplit
    analysis: PanelAnalysis


def prepare_panel(panel: Panel, config: PipelineConfig) -> PreparedPanel:
    """Cut every series' parts and decide the season, lookback and horizon.

    Args:
        panel: The series that passed the data checks.
        config: Split fractions, analysis bounds, horizon and ``data.bad_series``.

    Returns:
        The panel (short series removed under ``skip``), its parts and the decisions.

    Raises:
        PipelineInputError: a series is too short under ``fail``, no series is long enough,
            or the common validation/test part is shorter than the horizon.
    """
    # Dropping series moves the median length and so the parts: repeat until none is short.
    # Each pass removes a series or returns, and removing the last one raises.
    while True:
        split = split_panel(panel, config.split.validation_fraction, config.split.test_fraction)
        room = int(min((split.test - split.validation)[0], (split.stops - split.test)[0]))
        analysis = analyse_panel(panel, split.validation, room, config)
        short = short_series(panel, split, analysis.lookback, analysis.horizon)
        if not short:
            return PreparedPanel(panel, split, analysis)
        panel = apply_policy(panel, short, config.data.bad_series)
