"""Jobs done side by side in forked worker processes, for work on large in-memory tables.

Drawing a report's figures and formatting CSV text are slow, independent pieces of work
that read a run's tables. Forked workers see those tables without copying or pickling
them; only the results (text) come back. Results come in the order of the jobs, so the
output is the same however many workers drew it.

Forking is used only where the platform has it and the process runs no other thread
(a notebook kernel or a Dask client has some, and a lock one of them held would stay
held in the child); otherwise, and for few jobs, the jobs run here one after another.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from typing import Any

from sim.run.files import signals_held
from sim.run.workers import prepare_worker

_JOBS: tuple[Callable[[Any], Any], Sequence[Any]] | None = None


def can_fork() -> bool:
    """Whether jobs can run in forked workers here and now."""
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def _run(index: int) -> Any:
    assert _JOBS is not None
    function, items = _JOBS
    return function(items[index])


def map_forked(
    function: Callable[[Any], Any],
    items: Sequence[Any],
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    minimum: int = 2,
) -> list[Any]:
    """``[function(item) for item in items]``, in forked workers when it pays.

    Args:
        function: Any callable (it is not pickled; the workers inherit it).
        items: The jobs (not pickled either).
        workers: Worker processes (default: one a core); 1 runs everything here.
        progress: Called with (done, total) as results come in.
        minimum: Fewer jobs than this run here.

    Returns:
        The results, in the order of ``items`` (pickled back from the workers).
    """
    results: list[Any] = []
    if progress:
        progress(0, len(items))
    with closing(imap_forked(function, items, workers, minimum)) as found:
        for result in found:
            results.append(result)
            if progress:
                progress(len(results), len(items))
    return results


def imap_forked(
    function: Callable[[Any], Any],
    items: Sequence[Any],
    workers: int | None = None,
    minimum: int = 2,
) -> Iterator[Any]:
    """`map_forked` as a generator: each result as soon as it and those before it are done.

    Close it (``contextlib.closing``) if you may stop early: that stops the workers.
    """
    global _JOBS
    total = len(items)
    workers = min(os.cpu_count() or 1 if workers is None else workers, total)
    if workers < 2 or total < minimum or not can_fork():
        for item in items:
            yield function(item)
        return
    _JOBS = (function, items)
    try:
        # A Pool forks its workers before it starts its own threads. The workers leave
        # Ctrl-C to this process, which ends them (SIGTERM) when the pool closes, and die
        # with it; a handler inherited from it would print its message for each of them.
        context = multiprocessing.get_context("fork")
        with signals_held():  # a signal in a fork hook would be lost, with a traceback
            pool = context.Pool(workers, prepare_worker, (os.getpid(),))
        with pool:
            yield from pool.imap(_run, range(total))
    finally:
        _JOBS = None
