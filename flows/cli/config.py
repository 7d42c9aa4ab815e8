"""``--config FILE``: a PipelineConfig from JSON, for every command that takes one."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from lstm_model.config import PipelineConfig
from lstm_model.errors import PipelineInputError


def load_config(path: str | None) -> PipelineConfig:
    """PipelineConfig from a JSON file, or the defaults."""
    if path is None:
        return PipelineConfig()
    try:
        return PipelineConfig.model_validate_json(Path(path).read_text())
    except OSError as error:
        raise PipelineInputError(f"cannot read --config {path}: {error.strerror}") from error
    except ValidationError as error:
        raise PipelineInputError(
            f"--config {path} is not a valid configuration:\n{error}"
        ) from error
