"""``lstm-pipeline`` delivery commands: models list, promote, rollback, push, schedule, doctor.

Registry commands touch only MLflow (no TensorFlow or Prefect import), so they answer in
about a second. Every handler raises PipelineInputError for bad input (exit code 2).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from flows.api_server import prefect_api, stop_stale_servers
from flows.cli.config import load_config, override
from flows.cli.console import Terminal


def add_commands(commands: argparse._SubParsersAction) -> dict[str, Callable]:
    """Add the delivery subcommands; returns ``command -> handler``."""
    models = commands.add_parser("models", help="registry: list the versions of a model")
    models_commands = models.add_subparsers(dest="models_command", required=True)
    listing = models_commands.add_parser(
        "list", help="versions, aliases, headline metrics, blessed or not"
    )
    listing.add_argument("name", help="registered model name")

    promote = commands.add_parser("promote", help="move the champion alias to a version")
    promote.add_argument("name", help="registered model name")
    promote.add_argument("version", help="version number")
    promote.add_argument("--reason", default="manual promotion", help="why (stored as a tag)")
    promote.add_argument("--force", action="store_true", help="promote even if not blessed")

    rollback = commands.add_parser("rollback", help="champion back to the previous champion")
    rollback.add_argument("name", help="registered model name")
    rollback.add_argument("--reason", default="", help="why (stored as a tag)")

    push = commands.add_parser("push", help="push a registered version: NAME@ALIAS")
    push.add_argument("ref", help="NAME@ALIAS or NAME/VERSION, e.g. lstm-forecaster@champion")
    push.add_argument("--push-uri", help="s3://bucket/prefix; default: copy to ./model_store")
    push.add_argument("--config", help="JSON file with PipelineConfig fields (push, deploy)")
    push.add_argument(
        "--force", action="store_true", help="push even a version tagged blessed=false"
    )

    schedule = commands.add_parser("schedule", help="serve the retrain flow on a cron schedule")
    schedule.add_argument("data", help="CSV or Parquet file to retrain on at every run")
    schedule.add_argument("--cron", required=True, help='e.g. "0 3 * * 1" (Mondays 03:00)')
    schedule.add_argument("--timezone", default="UTC", help="IANA zone of the cron (UTC)")
    schedule.add_argument("--model-name", help="registered model name (default: lstm-forecaster)")
    schedule.add_argument("--push-uri", help="s3://bucket/prefix")
    schedule.add_argument("--config", help="JSON file with any PipelineConfig fields")
    doctor = commands.add_parser(
        "doctor",
        help="stop Prefect servers of killed commands; mark dead RUNNING runs FAILED; report "
        "untagged versions, bad aliases",
    )
    doctor.add_argument(
        "--stale-hours",
        type=float,
        default=24.0,
        help="a RUNNING run whose process cannot be checked counts as dead after this (24)",
    )
    return {
        "doctor": _doctor,
        "models": _models,
        "promote": _promote,
        "rollback": _rollback,
        "push": _push,
        "schedule": _schedule,
    }


def _models(args: argparse.Namespace, terminal: Terminal) -> None:
    from lstm_model.delivery.registry import list_versions, use_registry

    use_registry()
    rows = list_versions(args.name)
    print(
        f"{'version':>7}  {'aliases':<28} {'rmse':>9} {'mase':>7}  {'blessed':<7}  created",
        file=terminal.out,
    )
    for row in rows:
        blessed = {True: "yes", False: "no", None: "-"}[row.blessed]
        rmse, mase = (row.metrics.get(f"test/{k}") for k in ("rmse", "mase"))
        print(
            f"{row.version:>7}  {','.join(row.aliases) or '-':<28} {_num(rmse):>9} "
            f"{_num(mase):>7}  {blessed:<7}  {row.created:%Y-%m-%d %H:%M}",
            file=terminal.out,
        )


def _doctor(args: argparse.Namespace, terminal: Terminal) -> None:
    from lstm_model.delivery.doctor import examine
    from lstm_model.delivery.registry import use_registry
    from lstm_model.redact import redact

    uri = use_registry()
    findings = stop_stale_servers() + examine(args.stale_hours)
    for finding in findings:
        state = "fixed" if finding.fixed else "found"
        print(f"{state}: {finding.kind}: {finding.subject} {finding.detail}", file=terminal.out)
    fixed = sum(f.fixed for f in findings)
    print(f"{redact(uri)}: {len(findings)} finding(s), {fixed} fixed", file=terminal.out)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _promote(args: argparse.Namespace, terminal: Terminal) -> None:
    from lstm_model.delivery.registry import promote, use_registry

    use_registry()
    done = promote(args.name, args.version, args.reason, force=args.force)
    before = f"v{done.previous}" if done.previous else "none"
    print(
        f"{done.model_name}: champion v{done.version} (was {before}), by {done.who}",
        file=terminal.out,
    )
    print(f"push it with: lstm-pipeline push {done.model_name}@champion", file=terminal.out)


def _rollback(args: argparse.Namespace, terminal: Terminal) -> None:
    from lstm_model.delivery.registry import rollback, use_registry

    use_registry()
    done = rollback(args.name, args.reason)
    print(
        f"{done.model_name}: champion back to v{done.version} (from v{done.previous})",
        file=terminal.out,
    )
    print(f"push it with: lstm-pipeline push {done.model_name}@champion", file=terminal.out)


def _push(args: argparse.Namespace, terminal: Terminal) -> None:
    config = override(load_config(args.config), {"--push-uri": ("push__push_uri", args.push_uri)})
    with prefect_api() as server:
        from flows.ship import push_registered

        if server is not None:
            server.wait()
        result = push_registered(args.ref, config, force=args.force)
    print(f"pushed {result.model_name} v{result.version} to {result.pushed_to}", file=terminal.out)
    if result.deployed:
        print(
            f"endpoint {config.deploy.endpoint_name} now serves v{result.version}",
            file=terminal.out,
        )


def _schedule(args: argparse.Namespace, terminal: Terminal) -> None:
    from flows.schedule import serve_retrain

    config = override(
        load_config(args.config),
        {
            "--model-name": ("registry__model_name", args.model_name),
            "--push-uri": ("push__push_uri", args.push_uri),
        },
    )
    serve_retrain(args.data, args.cron, config, timezone=args.timezone)
