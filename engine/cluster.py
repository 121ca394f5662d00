"""A Dask client for parallel studies: the scheduler at an address, or a local cluster."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def dask_client(address: str | None = None, *, workers: int = 2) -> Iterator:
    """A ``distributed.Client`` on the scheduler at ``address`` (a cluster, or a local one
    someone started), else on a local cluster of ``workers`` single-threaded processes;
    closed (with the local cluster) on exit. The same code runs on one machine or many."""
    from dask.distributed import Client, LocalCluster  # noqa: PLC0415 - optional

    cluster = None
    if address:
        client = Client(address)
    else:
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            host="127.0.0.1",
        )
        client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
