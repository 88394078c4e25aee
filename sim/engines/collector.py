"""Pausing Python's cycle collector while a run builds millions of small objects.

A run allocates rows (tuples), events and cases by the million. Most live until the run
ends and the rest are freed by reference counting; the engine drops what refers back to
the simulation when the run ends (`Simulation._drop_undone`), so that no cycle of its
objects is left. The cycle collector, which runs every few hundred allocations
and now and then walks every live object, finds nothing here to free, yet took a quarter
of the engine's time when profiled. It is paused for the run and resumed after, and
anything cyclic left over is collected then as usual.
"""

from __future__ import annotations

import gc
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
