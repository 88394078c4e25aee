"""Pausing Python's cycle collector while a run builds millions of small objects.

A run allocates rows (tuples), events and cases by the million. Most live until the run
ends and the rest are freed by reference counting; none of the engine's reference cycles
outlive their event (an event's callback list, which refers back to it, is dropped when
the event is processed). The cycle collector, which runs every few hundred allocations
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
