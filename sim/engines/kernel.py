"""The event kernel: a heap of events fired in time order, ties in the order they were queued.

This is SimPy's order (its queue sorts by time, then by an event counter, every event
here having SimPy's normal priority), kept without SimPy's machinery: an `Event` is an
object with a ``fire`` method, and `Kernel.run_until` pops and fires them. The kernel is
compiled with the discrete-event engine (`sim.engines.des`); events compare by their
typed time and serial number, compiled and as Python alike.
"""

from __future__ import annotations

from heapq import heappop, heappush
from typing import Any

# Whether this module runs compiled (loaded from a C extension, not from its source).
COMPILED = not __file__.endswith(".py")


class Event:
    """Something that happens at a time: `fire` does it."""

    __slots__ = ("at", "serial")

    at: float
    serial: int

    def __lt__(self, other: Event) -> bool:
        return self.at < other.at or (self.at == other.at and self.serial < other.serial)

    def fire(self) -> None:
        """Do what happens at this event's time."""
        raise NotImplementedError


class Kernel:
    """The clock and the queue of events.

    Attributes:
        now: The current time.
        queue: Events not yet fired, a heap ordered by (time, serial).
        serial: How many events were queued (the serial of the last one).
    """

    # Times stay Python floats (Any): they go into rows and onto the queue as they are;
    # a typed float would be boxed again for every row.
    now: Any
    queue: list[Event]
    serial: int

    def __init__(self) -> None:
        self.now = 0.0
        self.queue = []
        self.serial = 0

    def push(self, at: Any, event: Event) -> None:
        """Queue an event at time ``at``."""
        self.serial += 1
        event.at = at
        event.serial = self.serial
        heappush(self.queue, event)

    def schedule(self, event: Event, delay: float) -> None:
        """Queue an event ``delay`` after now."""
        self.push(self.now + delay, event)

    def run_until(self, end: float) -> None:
        """Fire the events before ``end`` in order; events at ``end`` itself stay queued."""
        queue = self.queue
        event: Event
        while queue:
            event = queue[0]
            if event.at >= end:
                break
            heappop(queue)
            self.now = event.at
            event.fire()
        self.now = end
