"""The memory of a run: the cycle collector paused while it runs, what it freed given back.

A run allocates rows (tuples), events and cases by the million. Most live until the run
ends and the rest are freed by reference counting; the engine drops what refers back to
the simulation when the run ends (`Simulation._drop_undone`), so that no cycle of its
objects is left. The cycle collector, which runs every few hundred allocations
and now and then walks every live object, finds nothing here to free, yet took a quarter
of the engine's time when profiled. It is paused for the run and resumed after, and
anything cyclic left over is collected then as usual.

What a run frees (its cases, events and row lists) mostly stays with the C library's
allocator, reused by the next allocations but still counted in the process's memory:
after a run of a million cases about 420 MB of it, and Arrow's pool (pandas' text) keeps
what it freed too. `release_freed_memory` hands both back where it can (glibc's
``malloc_trim``), so that the tables made next do not stack on top of them
(benchmarks/README.md, "Scale").

Arrow's own default pool (mimalloc) made the text of a table's first few runs in a
process up to eight times slower than later ones (fresh memory handed out and given
back again); `arrow_on_the_system_allocator` puts pandas' text on the C library's
allocator instead, unless the user chose a pool (``ARROW_DEFAULT_MEMORY_POOL``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cycle collector for the block; resume it after if it was running."""
    running = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if running:
            gc.enable()


def release_freed_memory() -> None:
    """Give the memory freed so far back to the system (glibc only; elsewhere nothing)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
    if "pyarrow" in sys.modules:  # pandas' text keeps a pool of its own
        sys.modules["pyarrow"].default_memory_pool().release_unused()


def arrow_on_the_system_allocator() -> None:
    """Make the C library's allocator Arrow's default pool (not if the user named one)."""
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    import pyarrow

    pyarrow.set_memory_pool(pyarrow.system_memory_pool())


@functools.cache
def _malloc_trim():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # no C library found, or not glibc (musl)
        return None
