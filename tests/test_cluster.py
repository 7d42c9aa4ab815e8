"""The Dask scheduler check: a malformed address is bad input, a silent one a fault."""

from __future__ import annotations

import pytest
from conftest import free_port

from lstm_model.cluster import ClusterUnreachableError, check_cluster
from lstm_model.config import ExecutionConfig
from lstm_model.errors import PipelineInputError


def test_nothing_to_check_without_an_existing_scheduler():
    assert check_cluster(ExecutionConfig()) is None
    assert check_cluster(ExecutionConfig(runner="dask", dask_workers=3)) is None


@pytest.mark.parametrize("address", ["scheduler:8786", "tcp://host", "http://host:8786"])
def test_a_malformed_address_is_refused_with_the_form_to_use(address):
    with pytest.raises(PipelineInputError, match="give scheme://host:port"):
        check_cluster(ExecutionConfig(runner="dask", dask_address=address))


def test_a_scheduler_that_does_not_answer_is_a_fault_with_what_to_start():
    address = f"tcp://127.0.0.1:{free_port()}"
    with pytest.raises(ClusterUnreachableError, match="dask scheduler"):
        check_cluster(ExecutionConfig(runner="dask", dask_address=address), timeout=2)


def test_a_running_scheduler_reports_its_workers():
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, processes=False, protocol="tcp", host="127.0.0.1", dashboard_address=None
    ) as cluster:
        config = ExecutionConfig(runner="dask", dask_address=cluster.scheduler_address)
        assert check_cluster(config) == 2
