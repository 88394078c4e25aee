"""The memory of a run: the cycle collector paused while it runs, what it freed given back.

A run allocates events, cases and their lists by the million. Most live until the run
ends and the rest are freed by reference counting; the engine drops what refers back to
the simulation when the run ends (`Simulation._drop_undone`), so that no cycle of its
objects is left. The cycle collector, which runs every few hundred allocations
and now and then walks every live object, finds nothing here to free, yet took a quarter
of the engine's time when profiled. It is paused for the run and resumed after, and
anything cyclic left over is collected then as usual.

What a run frees (its cases and events) mostly stays with the C library's
allocator, reused by the next allocations but still counted in the process's memory:
after a run of a million cases about 420 MB of it, and Arrow's pool (pandas' text) keeps
what it freed too. `release_freed_memory` hands both back where it can (glibc's
``malloc_trim``), so that the tables made next do not stack on top of them
(benchmarks/README.md, "Scale").

A table's first few runs in a process were up to eight times slower than later ones:
fresh memory, mapped from the system for each large array and given back when it was
freed, costs a page fault a page when first written. `tune_allocators` keeps arrays up
to 256 MB on the C library's heap, which the next table reuses (glibc's
``M_MMAP_THRESHOLD``; freed memory still goes back when `release_freed_memory` runs
or the heap's free top passes 256 MB), and puts pandas' text (Arrow's, whose own pool,
mimalloc, did the same) on that allocator too. A user's own choice (the
``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_`` or ``ARROW_DEFAULT_MEMORY_POOL``
variables) is left as it is. Figures: benchmarks/README.md, "Scale", part 5.
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


# glibc's `mallopt` parameters (malloc.h) and the values set.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
HEAP_ARRAYS_UP_TO = 256 * 2**20
TRIM_ABOVE = 256 * 2**20


def tune_allocators() -> None:
    """Large arrays on the C library's heap, Arrow's text on that allocator (see above)."""
    chosen = {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"} & set(os.environ)
    options = _mallopt()
    if options is not None and not chosen:
        options(M_MMAP_THRESHOLD, HEAP_ARRAYS_UP_TO)
        options(M_TRIM_THRESHOLD, TRIM_ABOVE)
    if not os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        import pyarrow

        pyarrow.set_memory_pool(pyarrow.system_memory_pool())


@functools.cache
def _malloc_trim():
    return _glibc("malloc_trim")


@functools.cache
def _mallopt():
    return _glibc("mallopt")


def _glibc(name: str):
    """A function of glibc, or None (not Linux, no C library found, or not glibc)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        library = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        library.gnu_get_libc_version  # noqa: B018 - glibc's alone (musl has no such tuning)
        return getattr(library, name)
    except (OSError, AttributeError):
        return None
