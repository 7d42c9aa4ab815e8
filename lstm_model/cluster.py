"""The Dask cluster a run's parallel work goes to: checked before anything is trained.

Only ``execution.runner: dask`` with an existing scheduler needs a check; a local cluster is
started by the run itself (:mod:`flows.execution`).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from lstm_model.config import ExecutionConfig
from lstm_model.errors import PipelineInputError

SCHEMES = ("tcp", "tls", "inproc", "ucx", "ws", "wss")


class ClusterUnreachableError(RuntimeError):
    """The scheduler did not answer: a fault outside the input (exit code 1)."""


def check_cluster(execution: ExecutionConfig, timeout: float = 10.0) -> int | None:
    """Refuse an address that cannot be a scheduler's; reach the scheduler when one is given.

    Args:
        execution: The run's execution settings.
        timeout: Seconds to wait for the scheduler.

    Returns:
        The scheduler's worker count, or None when no existing scheduler is used.

    Raises:
        PipelineInputError: A malformed ``execution.dask_address`` (exit code 2).
        ClusterUnreachableError: The scheduler did not answer in time (exit code 1).
    """
    address = execution.dask_address
    if execution.runner != "dask" or not address:
        return None
    parts = urlsplit(address)
    if parts.scheme not in SCHEMES or not parts.hostname or parts.port is None:
        raise PipelineInputError(
            f"execution.dask_address {address!r} is not a Dask scheduler address: "
            "give scheme://host:port, e.g. tcp://10.0.0.5:8786"
        )
    from distributed import Client

    try:
        with Client(address, timeout=timeout) as client:  # type: ignore[no-untyped-call]
            workers = len(client.scheduler_info(n_workers=-1)["workers"])
    except OSError as error:
        raise ClusterUnreachableError(
            f"no Dask scheduler answered at {address} within {timeout:.0f} s ({error}); start "
            f"it (`dask scheduler`) and its workers (`dask worker {address}`), or unset "
            "execution.dask_address to start a local cluster"
        ) from error
    if workers == 0:
        raise ClusterUnreachableError(
            f"the Dask scheduler at {address} has no workers; start some with "
            f"`dask worker {address}`"
        )
    return workers
