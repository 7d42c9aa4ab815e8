"""``lstm-pipeline``: the command-line runner of the flows.

Exit codes: 0 success, 2 bad input or failed validation, 130 interrupted (Ctrl-C or
SIGTERM), 1 anything else. Quiet by default (third-party output goes to a log file, see
:mod:`flows.cli.console`); ``--verbose`` shows everything, tracebacks included.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path

from flows.api_server import prefect_api
from flows.cli.config import load_config, override
from flows.cli.console import Terminal, session
from flows.cli.delivery import add_commands as add_delivery_commands
from flows.cli.serve import add_commands as add_serve_commands
from flows.cli.summary import format_panel_summary, format_summary

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report an interrupted command


def _offline_defaults() -> None:
    """Keep MLflow, Prefect and TF offline and quiet unless the user configured otherwise."""
    defaults = {
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "PREFECT_HOME": str(Path.cwd() / ".prefect"),
        "GX_ANALYTICS_ENABLED": "false",
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lstm-pipeline",
        description="Train, evaluate, register and ship LSTM time-series forecasters.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    retrain = commands.add_parser("retrain", help="run the retraining flow on a series")
    retrain.add_argument("data", help="CSV or Parquet file with a timestamp and a target column")
    retrain.add_argument("--time-column", help="timestamp column (default: timestamp)")
    retrain.add_argument("--target", help="target column (default: value)")
    retrain.add_argument("--model-name", help="registered model name (default: lstm-forecaster)")
    retrain.add_argument(
        "--series-column",
        help="series id column of a long-format panel: train one global model on every series",
    )
    retrain.add_argument(
        "--bad-series",
        choices=("fail", "skip"),
        help="a panel series failing its checks stops the run (fail, default) or is left out",
    )
    retrain.add_argument(
        "--strategy",
        choices=("global", "local"),
        help="a panel's models: one global LSTM (default) or one LSTM per series",
    )
    retrain.add_argument("--max-trials", type=int, help="Keras Tuner trials (default: 8)")
    retrain.add_argument(
        "--runner",
        choices=("local", "dask"),
        help="where trials run: this process (local, default) or a Dask cluster",
    )
    retrain.add_argument(
        "--dask-address", help="existing Dask scheduler, e.g. tcp://host:8786 (implies dask)"
    )
    retrain.add_argument(
        "--dask-workers", type=int, help="worker processes of a local Dask cluster (default: 2)"
    )
    retrain.add_argument(
        "--horizon", type=int, help="steps forecast at once (default: by the data's cadence)"
    )
    retrain.add_argument("--push-uri", help="s3://bucket/prefix; default: copy to ./model_store")
    retrain.add_argument(
        "--config", help="JSON file with any PipelineConfig fields; the flags above override it"
    )
    retrain.add_argument(
        "--force",
        action="store_true",
        help="retrain even if the newest version was trained on the same data and config",
    )

    predict = commands.add_parser(
        "predict", help="one-step-ahead forecasts with a registered model"
    )
    predict.add_argument("data", help="CSV or Parquet file with the series")
    predict.add_argument("--model-uri", required=True, help="e.g. models:/lstm-forecaster@champion")
    predict.add_argument("--start", required=True, help="first timestamp to forecast")
    predict.add_argument("--output", required=True, help="CSV file to write")
    predict.add_argument("--time-column", default="timestamp")
    predict.add_argument("--target", default="value")
    forecast = commands.add_parser(
        "forecast", help="the next steps after the data, with prediction intervals"
    )
    forecast.add_argument("data", help="CSV or Parquet file with the series' history")
    forecast.add_argument(
        "--model-uri", required=True, help="e.g. models:/lstm-forecaster@champion"
    )
    forecast.add_argument(
        "--horizon", type=int, help="steps to write (default: the model's horizon)"
    )
    forecast.add_argument("--output", required=True, help="CSV file to write")
    forecast.add_argument("--time-column", default="timestamp")
    forecast.add_argument("--target", default="value")
    parser.set_defaults(
        handlers={**add_delivery_commands(commands), **add_serve_commands(commands)}
    )
    _add_output_flags(parser)
    return parser


def _add_output_flags(parser: argparse.ArgumentParser, default: bool | str = False) -> None:
    """``-v/--verbose`` and ``-q/--quiet`` on every command, before or after its name.

    Args:
        parser: The program's parser (then, recursively, each subcommand's).
        default: False on the program; ``argparse.SUPPRESS`` on the subcommands, so that a
            flag given before the command's name is not reset by the subcommand's default.
    """
    subparsers = [
        action for action in parser._actions if isinstance(action, argparse._SubParsersAction)
    ]
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=default,
        help="show third-party logs (TensorFlow, Prefect, MLflow, GX) and tracebacks",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", default=default, help="no progress display"
    )
    for action in subparsers:
        for child in action.choices.values():
            _add_output_flags(child, argparse.SUPPRESS)


def _retrain(args: argparse.Namespace, terminal: Terminal) -> None:
    from flows.cli.progress import progress_display
    from flows.preflight import preflight
    from lstm_model.data.check import check_panel, check_series
    from lstm_model.modeling.panel_preparation import prepare_panel
    from lstm_model.progress import stage

    config = override(
        load_config(args.config),
        {
            "--time-column": ("data__time_column", args.time_column),
            "--target": ("data__target", args.target),
            "--model-name": ("registry__model_name", args.model_name),
            "--series-column": ("data__series_column", args.series_column),
            "--bad-series": ("data__bad_series", args.bad_series),
            "--strategy": ("panel__strategy", args.strategy),
            "--max-trials": ("tuning__max_trials", args.max_trials),
            "--runner": (
                "execution__runner",
                args.runner or ("dask" if args.dask_address else None),
            ),
            "--dask-address": ("execution__dask_address", args.dask_address),
            "--dask-workers": ("execution__dask_workers", args.dask_workers),
            "--horizon": ("forecast__horizon", args.horizon),
            "--push-uri": ("push__push_uri", args.push_uri),
        },
    )
    with progress_display(terminal.err, terminal.progress):
        stage("check-data")
        # Cheap checks first: model name, file, push target, deploy settings.
        preflight(args.data, config)
        # Fail fast: the file is read and validated before TensorFlow, MLflow or Prefect load.
        if config.data.series_column:
            # Every series checked by id, and each long enough for the model's window.
            prepare_panel(check_panel(args.data, config)[1], config)
        else:
            check_series(args.data, config)
        stage("start")
        # Prefect's temporary server starts while TensorFlow and MLflow are imported.
        with prefect_api() as server:
            from prefect import tags

            from flows.retrain import retrain
            from flows.retrain_panel import PanelRetrainResult
            from flows.runs import SkippedRetrain, run_tags

            if server is not None:
                server.wait()
            # Tags of the flow run: which model, which file, started by hand.
            with tags(*run_tags(config.registry.model_name, args.data, "cli")):
                result = retrain(args.data, config, force=args.force)
    if isinstance(result, SkippedRetrain):
        print(result.message, file=terminal.out)
        return
    if isinstance(result, PanelRetrainResult):
        print(format_panel_summary(result), file=terminal.out)
        return
    print(format_summary(result), file=terminal.out)


def _predict(args: argparse.Namespace, terminal: Terminal) -> None:
    from flows.predict import write_forecasts

    rows = write_forecasts(
        args.data, args.model_uri, args.start, Path(args.output), args.time_column, args.target
    )
    print(f"wrote {rows} forecasts to {args.output}", file=terminal.out)


def _forecast(args: argparse.Namespace, terminal: Terminal) -> None:
    from flows.predict import write_future_forecast

    rows = write_future_forecast(
        args.data, args.model_uri, Path(args.output), args.horizon, args.time_column, args.target
    )
    print(f"wrote {rows} future rows with intervals to {args.output}", file=terminal.out)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    """Run one command.

    Args:
        argv: The arguments after the program name (default: ``sys.argv[1:]``).

    Returns:
        The exit code: 0 success, 2 bad input, 130 interrupted, 1 any other failure.
    """
    args = build_parser().parse_args(argv)
    _offline_defaults()
    from lstm_model.errors import PipelineInputError
    from lstm_model.redact import install_log_redaction, redact

    install_log_redaction()
    # SIGTERM unwinds like Ctrl-C: the MLflow run ends KILLED, temporary folders are removed
    # and Prefect's temporary server is stopped (the default action would orphan it).
    signal.signal(signal.SIGTERM, _interrupt)

    logger = logging.getLogger("lstm_pipeline.cli")
    with session(
        args.command, verbose=args.verbose, quiet=args.quiet, capture=args.command != "serve"
    ) as terminal:
        try:
            handlers = {
                "retrain": _retrain,
                "predict": _predict,
                "forecast": _forecast,
                **args.handlers,
            }
            handlers[args.command](args, terminal)
        except KeyboardInterrupt:
            terminal.error(
                "interrupted: nothing was promoted; a started MLflow run was marked KILLED "
                "(if it still shows RUNNING, run `lstm-pipeline doctor`)"
            )
            return EXIT_INTERRUPTED
        except PipelineInputError as error:
            # The message says what, where and how to fix it: no traceback unless asked for.
            logger.info("bad input", exc_info=args.verbose)
            terminal.error(redact(str(error)))
            return EXIT_BAD_INPUT
        except Exception as error:  # noqa: BLE001 - the CLI's last line of defence
            logger.error("%s failed", args.command, exc_info=True)
            terminal.error(f"{type(error).__name__}: {redact(str(error))}")
            if terminal.log_path is not None:
                print(
                    f"the traceback and every log line are in {terminal.log_path} "
                    "(or run again with --verbose)",
                    file=terminal.err,
                )
            return EXIT_FAILURE
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
