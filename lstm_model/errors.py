"""Errors that mean "the input is wrong": the CLI maps them to exit code 2."""

from __future__ import annotations

from typing import Any


class PipelineInputError(ValueError):
    """Bad input: the message says what is wrong, where, and how to fix it."""


class DataValidationError(PipelineInputError):
    """The series failed its expectation suite; ``failures`` lists each failed expectation."""

    def __init__(self, message: str, failures: list[Any] | None = None) -> None:
        super().__init__(message)
        self.failures = failures or []
