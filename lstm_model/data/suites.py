"""Expectation suites: where the base suite lives, and loading a suite JSON with its column
templates bound to the configured columns."""

from __future__ import annotations

import functools
import json
import sys
import uuid
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lstm_model.errors import PipelineInputError


def _base_suite_path() -> Path:
    """expectations/ of the source tree (editable installs, checkouts), else the copy that a
    regular install puts under ``sys.prefix`` (pyproject's data-files)."""
    in_tree = Path(__file__).resolve().parents[2] / "expectations" / "base_suite.json"
    installed = Path(sys.prefix) / "expectations" / "base_suite.json"
    return in_tree if in_tree.exists() or not installed.exists() else installed


BASE_SUITE_PATH = _base_suite_path()
# A long-format panel's suite: the same checks over all series at once (lstm_model.data.panel
# makes the per-series ones).
PANEL_SUITE_PATH = BASE_SUITE_PATH.with_name("panel_suite.json")


@functools.cache
def gx_module() -> Any:
    """Import GX on first use: it costs seconds, and commands such as --help do not need it."""
    with warnings.catch_warnings():
        # GX imports the deprecated sre_constants / sre_parse modules: silence only those, here.
        warnings.filterwarnings(
            "ignore", message=r"module .sre_\w+. is deprecated", category=DeprecationWarning
        )
        import great_expectations as gx
    # GX 1.24 has no usage-statistics code left (GX_ANALYTICS_ENABLED is only named in a
    # docstring), so nothing here can reach the network; no switch is needed.
    return gx


def read_suite(
    path: str | Path,
    time_column: str,
    target: str,
    exogenous: Sequence[str] = (),
    series_column: str | None = None,
) -> dict[str, Any]:
    """Read a suite JSON and bind its ``{time_column}`` / ``{target}`` column templates.

    Needs no GX: the CLI's early check (:mod:`lstm_model.data.rules`) evaluates the same
    definitions before GX is imported. An expectation with ``meta.each_feature: true`` is
    applied to the target and to every exogenous column: one copy per column.

    Args:
        path: The suite file (``json.dump(suite.to_json_dict())`` output, or hand-written).
        time_column: Replaces ``{time_column}`` in kwargs (also inside longer strings).
        target: Replaces ``{target}`` likewise.
        exogenous: Feature columns that ``each_feature`` expectations also check.
        series_column: Replaces ``{series_column}`` (a panel's series id column).

    Returns:
        The suite as a dict (``name``, ``expectations`` with bound kwargs and an ``id`` each).

    Raises:
        PipelineInputError: Missing file, invalid JSON, or no list of expectations.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise PipelineInputError(
            f"Expectation suite not found: {path}. Check the paths in data.extra_suites."
        ) from error
    except json.JSONDecodeError as error:
        raise PipelineInputError(
            f"Expectation suite {path} is not valid JSON (line {error.lineno}: {error.msg}). "
            "Fix the file, e.g. by writing it with json.dump(suite.to_json_dict(), f)."
        ) from error
    try:
        data["expectations"] = [
            # An id per expectation lets results be put back in suite order.
            {
                **item,
                "id": str(uuid.uuid4()) if each or not item.get("id") else item["id"],
                "kwargs": _bind(
                    item.get("kwargs", {}),
                    {
                        "{time_column}": time_column,
                        "{target}": column,
                        "{series_column}": series_column or "{series_column}",
                    },
                ),
            }
            for item in data.get("expectations", [])
            for each in [bool((item.get("meta") or {}).get("each_feature"))]
            for column in ([target, *exogenous] if each else [target])
        ]
    except (AttributeError, TypeError) as error:  # not a dict, or expectations not a list
        raise _invalid(path, error) from error
    return dict(data)


def load_suite(
    path: str | Path,
    time_column: str,
    target: str,
    exogenous: Sequence[str] = (),
    series_column: str | None = None,
) -> Any:
    """:func:`read_suite` as a ``great_expectations.ExpectationSuite``.

    Raises:
        PipelineInputError: Missing file, invalid JSON or invalid suite.
    """
    data = read_suite(path, time_column, target, exogenous, series_column)
    try:
        return gx_module().ExpectationSuite(**data)
    except Exception as error:  # GX raises pydantic, TypeError and its own errors here
        raise _invalid(Path(path), error) from error


def policy_severity(meta: dict[str, Any] | None, outliers: str) -> str | None:
    """The severity data.outliers gives an expectation marked ``meta.policy: outliers``.

    Returns:
        'warning' under ``outliers='warn'``, 'critical' under 'fail'; None for expectations
        without that policy (they keep their own severity).
    """
    if (meta or {}).get("policy") != "outliers":
        return None
    return "warning" if outliers == "warn" else "critical"


def _invalid(path: Path, error: Exception) -> PipelineInputError:
    return PipelineInputError(
        f"Expectation suite {path} is not a valid GX 1.x suite: {error}. It needs a 'name' "
        "and a list of 'expectations', each with a 'type' and 'kwargs'."
    )


def _bind(value: Any, templates: dict[str, str]) -> Any:
    """Replace template strings anywhere in an expectation's kwargs."""
    if isinstance(value, str):
        for template, name in templates.items():
            value = value.replace(template, name)
        return value
    if isinstance(value, list):
        return [_bind(item, templates) for item in value]
    if isinstance(value, dict):
        return {key: _bind(item, templates) for key, item in value.items()}
    return value
