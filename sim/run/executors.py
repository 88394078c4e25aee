"""Where replications run: here one after another, in a process pool, or on a Dask cluster.

Every executor is a `concurrent.futures.Executor`; the numbers do not depend on which
one runs them (`sim.run.experiment`). Pool workers leave Ctrl-C to the parent and die
with it (`sim.run.workers`); an interrupted run stops them at once rather than waiting
for their replications. A local Dask cluster listens on loopback only, speaks TLS with
credentials made for it (`Security.temporary`: another local process cannot join it or
send it work), and serves no HTTP; a cluster given with ``--scheduler`` is joined with
the security the Dask configuration sets (README, "Running on a Dask cluster").
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any

from sim.domain.errors import InputError
from sim.run.files import signals_held
from sim.run.workers import STOP_SECONDS, prepare_worker, stop_processes

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


Close = Callable[..., None]
# How long joining a Dask scheduler may take before the run gives up.
CONNECT_SECONDS = 30


def make_executor(
    name: str | Executor, workers: int | None = None, scheduler: str | None = None
) -> tuple[Executor, Close]:
    """An executor by name and a function that shuts it down.

    The function takes ``abort``: True (a run interrupted or failed) stops the workers
    at once, whatever they are doing; False waits for them to finish.
    """
    if isinstance(name, Executor):
        return name, _nothing
    if name == "serial":
        return SerialExecutor(), _nothing
    if name == "process":
        pool = ProcessPoolExecutor(
            max_workers=workers or os.cpu_count() or 1,
            initializer=prepare_worker,
            initargs=(os.getpid(),),
        )
        # The first task forks the workers: with Ctrl-C held, which would otherwise land
        # in a fork hook (and be lost, with a traceback).
        with signals_held():
            pool.submit(int)
        return pool, lambda abort=False: _close_pool(pool, abort)
    if name == "dask":
        return _dask_executor(workers, scheduler)
    raise InputError(f"unknown executor '{name}'; use one of {', '.join(EXECUTORS)}")


def _nothing(abort: bool = False) -> None:
    pass


def _close_pool(pool: ProcessPoolExecutor, abort: bool) -> None:
    if not abort:
        pool.shutdown(wait=True, cancel_futures=True)
        return
    processes = list((getattr(pool, "_processes", None) or {}).values())
    manager = getattr(pool, "_executor_manager_thread", None)
    pool.shutdown(wait=False, cancel_futures=True)
    stop_processes(processes)
    # The pool's manager thread notices its workers are gone and closes its pipes; wait
    # for it, or the interpreter's exit hook may write into a pipe it is closing.
    if manager is not None:
        manager.join(STOP_SECONDS)


def _dask_executor(workers: int | None, scheduler: str | None) -> tuple[Executor, Close]:
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:
        raise InputError(
            'the Dask executor needs the optional extra: pip install -e ".[dask]"'
        ) from None
    cluster = None
    if scheduler:
        client = _join(Client, scheduler)
    else:
        # Loopback only, TLS with credentials made for this cluster, no HTTP server: a
        # laptop run opens no port to the network, and no other process can use it.
        routes = {"distributed.scheduler.http.routes": [], "distributed.worker.http.routes": []}
        try:
            with dask.config.set(routes):
                cluster = LocalCluster(
                    n_workers=workers or os.cpu_count() or 1,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    worker_dashboard_address=None,
                    security=True,
                    silence_logs=logging.ERROR,
                )
        except ImportError as error:  # Security.temporary needs `cryptography`
            raise InputError(
                f"the local Dask cluster needs {error.name or 'cryptography'}: "
                'pip install -e ".[dask]"'
            ) from None
        client = Client(cluster)
        cluster.scheduler.http_server.stop()
        client.run(_stop_http_server)

    def close(abort: bool = False) -> None:
        client.close()
        if cluster is not None:
            cluster.close()

    return client.get_executor(), close


def _stop_http_server(dask_worker: Any) -> None:
    dask_worker.http_server.stop()


def _join(client_type: Any, address: str) -> Any:
    """A client of the scheduler at ``address``, or an `InputError` naming it."""
    try:
        return client_type(address, timeout=CONNECT_SECONDS)
    except (OSError, ValueError) as error:  # no such scheduler, or not an address
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise InputError(
            f"cannot join the Dask scheduler at '{address}' ({reason}); give its address "
            "as tls://HOST:PORT or tcp://HOST:PORT, and the cluster's credentials in the "
            "Dask configuration (README)",
            field="--scheduler",
        ) from None


def planned_workers(executor: str | Executor, workers: int | None) -> int:
    """How many tasks will run at once, before the pool is made (for the memory check)."""
    if executor == "serial" or isinstance(executor, SerialExecutor):
        return 1
    return workers or getattr(executor, "_max_workers", None) or os.cpu_count() or 1


def worker_count(pool: Executor, workers: int | None) -> int:
    """How many tasks run at once (a guess for an executor given ready-made)."""
    if isinstance(pool, SerialExecutor):
        return 1
    return workers or getattr(pool, "_max_workers", None) or os.cpu_count() or 1
