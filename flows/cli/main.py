"""``lstm-pipeline``: the command-line runner of the flows.

Exit codes: 0 success, 2 bad input or failed validation, 130 interrupted (Ctrl-C or
SIGTERM), 1 anything else.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from flows.cli.config import load_config, override
from flows.cli.delivery import add_commands as add_delivery_commands
from flows.cli.serve import add_commands as add_serve_commands

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
        "TF_CPP_MIN_LOG_LEVEL": "2",
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
    retrain.add_argument("--max-trials", type=int, help="Keras Tuner trials (default: 8)")
    retrain.add_argument("--push-uri", help="s3://bucket/prefix; default: copy to ./model_store")
    retrain.add_argument(
        "--config", help="JSON file with any PipelineConfig fields; the flags above override it"
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
    parser.set_defaults(
        handlers={**add_delivery_commands(commands), **add_serve_commands(commands)}
    )
    return parser


def _retrain(args: argparse.Namespace) -> None:
    from flows.preflight import preflight

    config = override(
        load_config(args.config),
        {
            "--time-column": ("data__time_column", args.time_column),
            "--target": ("data__target", args.target),
            "--model-name": ("registry__model_name", args.model_name),
            "--max-trials": ("tuning__max_trials", args.max_trials),
            "--push-uri": ("push__push_uri", args.push_uri),
        },
    )
    # Before the flow: a bad file, name or push target costs no Prefect server and no traceback.
    preflight(args.data, config)
    from flows.retrain import retrain

    result = retrain(args.data, config)
    print(f"mlflow run id:  {result.run_id}")
    print(f"model version:  {result.model_name} v{result.version}")
    print(f"champion:       {'yes' if result.champion else 'no'} ({result.reason})")
    print(f"pushed to:      {result.pushed_to or 'not pushed (stays challenger)'}")
    print(
        f"test RMSE:      {result.metrics['model_rmse']:.4g} "
        f"(naive {result.metrics['naive_rmse']:.4g}, "
        f"seasonal naive {result.metrics['seasonal_naive_rmse']:.4g})"
    )
    if result.advice:
        print(f"note:           {result.advice}")


def _predict(args: argparse.Namespace) -> None:
    from flows.predict import write_forecasts

    rows = write_forecasts(
        args.data, args.model_uri, args.start, Path(args.output), args.time_column, args.target
    )
    print(f"wrote {rows} forecasts to {args.output}")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _offline_defaults()
    from lstm_model.errors import PipelineInputError
    from lstm_model.redact import install_log_redaction, redact

    install_log_redaction()
    # SIGTERM unwinds like Ctrl-C: the MLflow run ends KILLED, temporary folders are removed
    # and Prefect's temporary server is stopped (the default action would orphan it).
    signal.signal(signal.SIGTERM, _interrupt)

    try:
        handlers = {"retrain": _retrain, "predict": _predict, **args.handlers}
        handlers[args.command](args)
    except KeyboardInterrupt:
        print(
            "error: interrupted: nothing was promoted; a started MLflow run was marked KILLED "
            "(if it still shows RUNNING, run `lstm-pipeline doctor`)",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    except PipelineInputError as error:
        print(f"error: {redact(str(error))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as error:  # noqa: BLE001 - the CLI's last line of defence
        print(f"error: {type(error).__name__}: {redact(str(error))}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
