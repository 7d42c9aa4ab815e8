"""A panel ready for the global model: its parts cut, its decisions made, its short series
handled by policy.

The parts come first (:func:`~lstm_model.modeling.panel_windows.split_panel`), so the analysis
reads training rows only; a series too short for one training window of the chosen lookback
and horizon is then reported by id and stops the run (``data.bad_series = fail``) or is left
out (``skip``), after which the parts and decisions are made again on the series kept.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from lstm_model.analysis.panel import PanelAnalysis, analyse_panel
from lstm_model.config import PipelineConfig
from lstm_model.data.panel import Panel, apply_policy
from lstm_model.errors import PipelineInputError
from lstm_model.modeling.panel_windows import PanelSplit, short_series, split_panel


@dataclass(frozen=True)
class PreparedPanel:
    """The series kept, their parts and the panel-wide decisions."""

    panel: Panel
    split: PanelSplit
    analysis: PanelAnalysis

    def without(self, problems: dict[str, str]) -> PreparedPanel:
        """The same parts and decisions for every series but those in ``problems`` (id -> why),
        which join the panel's ``excluded``; e.g. series whose own model could not be fitted.

        Raises:
            PipelineInputError: no series would be left.
        """
        keep = ~np.isin(self.panel.ids, list(problems))
        if not keep.any():
            raise PipelineInputError(f"no series is left: {'; '.join(problems.values())}")
        panel = self.panel.without(problems)
        split = self.split
        # Every series keeps its own row counts per part; only their places in the flat
        # arrays move.
        starts = panel.starts[:-1]
        offsets = {
            name: (bound - split.starts)[keep]
            for name, bound in (("validation", split.validation), ("test", split.test))
        }
        kept_split = PanelSplit(
            starts, starts + offsets["validation"], starts + offsets["test"], panel.starts[1:]
        )
        analysis = dataclasses.replace(
            self.analysis,
            seasonal_acf=self.analysis.seasonal_acf[keep],
            seasonal=self.analysis.seasonal[keep],
        )
        return PreparedPanel(panel, kept_split, analysis)


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
