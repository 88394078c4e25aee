"""Worker processes that leave Ctrl-C to their parent, die with it, and stop when told.

A terminal's Ctrl-C goes to every process of the foreground group: workers ignore it,
and the parent (the command line's handler) stops them, so that one process decides
what is kept. A worker also ends when its parent dies, even by ``kill -9``: on Linux
the kernel sends it SIGKILL (``prctl(PR_SET_PDEATHSIG)``); elsewhere a thread watches
the parent's process id.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable
from typing import Any

PR_SET_PDEATHSIG = 1
# How long a stopped worker has to end before it is killed.
STOP_SECONDS = 3.0


def prepare_worker(parent: int) -> None:
    """Set up a worker process (an executor's initializer): signals, death with ``parent``.

    Args:
        parent: The parent's process id, taken in the parent before the worker started.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):  # forked while the parent held them
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    if not _kernel_kills_orphans():
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # the parent died before the worker was set up
        os._exit(1)


def _kernel_kills_orphans() -> bool:
    """Ask Linux to SIGKILL this process when its parent ends; whether it agreed."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def stop_processes(processes: Iterable[Any]) -> None:
    """Stop worker processes (``multiprocessing.Process``): SIGTERM, then SIGKILL.

    Returns within about `STOP_SECONDS` whatever the workers are doing.
    """
    processes = [p for p in processes if p.is_alive()]
    for process in processes:
        process.terminate()
    deadline = time.monotonic() + STOP_SECONDS
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join(1.0)
