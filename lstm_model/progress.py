"""Progress of a run as log records, for whoever wants to show it.

The core knows nothing about terminals: stages, tuner trials and epochs are reported as INFO
records on the ``lstm_pipeline.progress`` logger, each carrying a :class:`ProgressEvent` in
its ``progress`` attribute (epochs come from :class:`lstm_model.tracking.EpochProgress`).
The command line attaches a handler that draws them (rich, on a terminal); without one they
are ordinary log lines.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

LOGGER = logging.getLogger("lstm_pipeline.progress")


@dataclass(frozen=True)
class ProgressEvent:
    """One step forward: a stage began, a trial, an epoch or a series' whole fit ended.

    ``index``/``total`` count trials, epochs or series (1-based); ``value`` is the trial's or
    the epoch's validation loss, ``best`` the lowest trial loss so far; ``name`` the stage or
    the series.
    """

    kind: Literal["stage", "trial", "epoch", "series"]
    name: str = ""
    index: int = 0
    total: int = 0
    value: float | None = None
    best: float | None = None

    def describe(self) -> str:
        """The event in words, for log files."""
        if self.kind == "stage":
            return f"stage {self.name}"
        if self.kind == "series":
            return f"series {self.index}/{self.total} {self.name} fitted"
        loss = "" if self.value is None else f" val_loss {self.value:.4g}"
        best = "" if self.best is None else f" (best {self.best:.4g})"
        return f"{self.kind} {self.index}/{self.total}{loss}{best}"


def report(event: ProgressEvent) -> None:
    """Emit ``event`` on the progress logger (epochs at DEBUG: too many for a log file).

    Args:
        event: What happened.
    """
    level = logging.DEBUG if event.kind == "epoch" else logging.INFO
    LOGGER.log(level, "%s", event.describe(), extra={"progress": event})


def stage(name: str) -> None:
    """Report that a pipeline stage begins.

    Args:
        name: The stage, e.g. ``tune`` (the Prefect task's name).
    """
    report(ProgressEvent("stage", name))


class TrialCounter:
    """Counts tuner trials and reports each with its validation loss and the best so far."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.best: float | None = None

    def trial_done(self, val_loss: float) -> None:
        """Report a finished trial.

        Args:
            val_loss: The trial's validation loss (its objective).
        """
        self.done += 1
        self.best = val_loss if self.best is None else min(self.best, val_loss)
        report(ProgressEvent("trial", "", self.done, self.total, val_loss, self.best))

    def around(self, scope: Callable[..., Any]) -> Callable[..., Any]:
        """A trial scope (``(trial_id, hyperparameters) -> context of record(metrics)``, as
        the search takes) that also reports each trial when ``scope`` records its metrics."""

        @contextlib.contextmanager
        def counted(trial_id: str, hyperparameters: dict[str, Any]) -> Iterator[Any]:
            with scope(trial_id, hyperparameters) as record:

                def record_and_report(metrics: dict[str, float]) -> None:
                    record(metrics)
                    self.trial_done(metrics["val_loss"])

                yield record_and_report

        return counted
