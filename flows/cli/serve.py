"""``lstm-pipeline serve``: the HTTP inference service for a registered model."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from flows.cli.config import load_config
from flows.cli.console import Terminal


def add_commands(commands: argparse._SubParsersAction) -> dict[str, Callable]:
    """Add the ``serve`` subcommand; returns ``command -> handler``."""
    serve = commands.add_parser(
        "serve", help="HTTP inference service for a registered model; follows its alias"
    )
    serve.add_argument(
        "--model-uri",
        required=True,
        help="models:/NAME@ALIAS (followed as it moves), models:/NAME/VERSION, or a SavedModel "
        "directory",
    )
    serve.add_argument("--host", help="bind address (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: 8080)")
    serve.add_argument("--poll-seconds", type=float, help="registry poll interval (default: 30)")
    serve.add_argument("--config", help="JSON file with PipelineConfig fields (serve, registry)")
    return {"serve": _serve}


def _serve(args: argparse.Namespace, terminal: Terminal) -> None:
    from pydantic import ValidationError

    from lstm_model.errors import PipelineInputError
    from lstm_model.service.server import serve

    try:
        config = load_config(args.config).with_overrides(
            serve__host=args.host, serve__port=args.port, serve__poll_seconds=args.poll_seconds
        )
    except ValidationError as error:
        raise PipelineInputError(f"invalid serve options:\n{error}") from error
    serve(args.model_uri, config.serve, config.registry.tracking_uri)
