"""Where replications run: here one after another, in a process pool, or on a Dask cluster.

Every executor is a `concurrent.futures.Executor`; the numbers do not depend on which
one runs them (`sim.run.experiment`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor

from sim.domain.errors import InputError

EXECUTORS = ("serial", "process", "dask")


class SerialExecutor(Executor):
    """Runs each task at once in this process (the executor for notebooks and tests)."""

    def submit(self, fn, /, *args, **kwargs) -> Future:  # noqa: D102
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # noqa: BLE001 - handed to the caller via the future
            future.set_exception(error)
        return future


def make_executor(
    name: str | Executor, workers: int | None = None, scheduler: str | None = None
) -> tuple[Executor, Callable[[], None]]:
    """An executor by name and a function that shuts it down."""
    if isinstance(name, Executor):
        return name, lambda: None
    if name == "serial":
        return SerialExecutor(), lambda: None
    if name == "process":
        pool = ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1)
        return pool, lambda: pool.shutdown(wait=True, cancel_futures=True)
    if name == "dask":
        return _dask_executor(workers, scheduler)
    raise InputError(f"unknown executor '{name}'; use one of {', '.join(EXECUTORS)}")


def _dask_executor(workers: int | None, scheduler: str | None):
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise InputError(
            'the Dask executor needs the optional extra: pip install -e ".[dask]"'
        ) from None
    if scheduler:
        client = Client(scheduler)
        cluster = None
    else:
        # Loopback only and no dashboard: a laptop run must not open a port to the network.
        cluster = LocalCluster(
            n_workers=workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        client = Client(cluster)

    def close() -> None:
        client.close()
        if cluster is not None:
            cluster.close()

    return client.get_executor(), close


def worker_count(pool: Executor, workers: int | None) -> int:
    """How many tasks run at once (a guess for an executor given ready-made)."""
    if isinstance(pool, SerialExecutor):
        return 1
    return workers or getattr(pool, "_max_workers", None) or os.cpu_count() or 1
