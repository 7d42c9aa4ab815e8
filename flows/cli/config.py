"""``--config FILE`` and the flags that override it: one PipelineConfig, or exit code 2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from lstm_model.config import PipelineConfig
from lstm_model.errors import PipelineInputError


def load_config(path: str | None) -> PipelineConfig:
    """PipelineConfig from a JSON file, or the defaults.

    Raises:
        PipelineInputError: The file cannot be read, or a field is invalid (each one named).
    """
    if path is None:
        return PipelineConfig()
    try:
        return PipelineConfig.model_validate_json(Path(path).read_text())
    except OSError as error:
        raise PipelineInputError(f"cannot read --config {path}: {error.strerror}") from error
    except ValidationError as error:
        raise PipelineInputError(
            f"--config {path} is not a valid configuration:\n{describe(error)}\n"
            "Fix those fields (see README, Configuration)."
        ) from None


def override(config: PipelineConfig, flags: dict[str, tuple[str, Any]]) -> PipelineConfig:
    """``config`` with the command-line overrides applied.

    Args:
        config: The configuration from ``--config`` (or the defaults).
        flags: ``--flag -> (section__field, value)``; a None value means "not given".

    Returns:
        The overridden configuration.

    Raises:
        PipelineInputError: An override is out of range; the message names flag and field.
    """
    try:
        return config.with_overrides(**dict(flags.values()))
    except ValidationError as error:
        by_field = {field.replace("__", "."): flag for flag, (field, _) in flags.items()}
        raise PipelineInputError(
            f"invalid option:\n{describe(error, by_field)}\nFix the value and run again."
        ) from None


def describe(error: ValidationError, flags: dict[str, str] | None = None) -> str:
    """One line per invalid field: dotted name, the value given, what is allowed.

    Args:
        error: pydantic's error.
        flags: ``section.field -> --flag`` for fields that came from the command line.

    Returns:
        The lines, each starting with ``  - ``.
    """
    lines = []
    for item in error.errors(include_url=False):
        field = ".".join(str(part) for part in item["loc"]) or "configuration"
        flag = (flags or {}).get(field)
        where = f"{flag} ({field})" if flag else field
        given = (
            f" = {item['input']!r}"
            if "input" in item and not isinstance(item["input"], dict)
            else ""
        )
        lines.append(f"  - {where}{given}: {item['msg']}")
    return "\n".join(lines)
