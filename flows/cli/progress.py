"""The progress display of ``retrain`` on a terminal (rich): stage, trial i/N with its
validation loss and the best so far, and the epochs of the current fit.

It draws the :class:`lstm_model.progress.ProgressEvent` records of the
``lstm_pipeline.progress`` logger; off when stderr is not a terminal or with ``--quiet``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from lstm_model.progress import LOGGER, ProgressEvent


class ProgressDisplay(logging.Handler):
    """A logging handler that turns progress events into one live rich line."""

    def __init__(self, progress: Progress) -> None:
        super().__init__(logging.DEBUG)
        self.progress = progress
        self.line = progress.add_task("starting", total=None)
        self.stage = "starting"
        self.trial = ""

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "progress", None)
        if not isinstance(event, ProgressEvent):
            return
        if event.kind == "stage":
            self.stage, self.trial = event.name, ""
            self.progress.update(self.line, total=None, completed=0)
        elif event.kind == "trial":
            self.trial = (
                f"trial {event.index}/{event.total} val_loss {event.value:.4g} "
                f"(best {event.best:.4g})"
            )
        elif event.kind == "series":
            self.trial = f"series {event.index}/{event.total} {event.name} fitted"
            self.progress.update(self.line, total=event.total, completed=event.index)
        else:
            self.progress.update(self.line, total=event.total or None, completed=event.index)
        parts = [f"[bold]{self.stage}[/bold]", self.trial]
        if event.kind == "epoch":
            parts.append("epochs")
        self.progress.update(self.line, description="  ".join(p for p in parts if p))


@contextlib.contextmanager
def progress_display(stream: TextIO, enabled: bool) -> Iterator[None]:
    """Show progress events on ``stream`` while the block runs (nothing when not enabled).

    Args:
        stream: The terminal (the command's own stderr).
        enabled: Draw at all (a terminal, and no ``--quiet``).
    """
    if not enabled:
        yield
        return
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        # Descriptors 1 and 2 go to the log file: rich must not wrap sys.stdout/stderr.
        console=Console(file=stream),
        redirect_stdout=False,
        redirect_stderr=False,
        transient=True,
    )
    handler = ProgressDisplay(progress)
    level = LOGGER.level
    LOGGER.setLevel(logging.DEBUG)  # epochs are DEBUG records
    LOGGER.addHandler(handler)
    try:
        with progress:
            yield
    finally:
        LOGGER.removeHandler(handler)
        LOGGER.setLevel(level)
