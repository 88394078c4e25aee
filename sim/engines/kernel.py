"""The event kernel: events fired in time order, ties in the order they were queued.

This is SimPy's order (its queue sorts by time, then by an event counter, every event
here having SimPy's normal priority), kept without SimPy's machinery: an `Event` is an
object with a ``fire`` method, and `Kernel.run_until` fires them in order. Events due
later wait on a heap ordered by (time, serial number); an event queued for the current
instant (a staff member handed on, a zero delay) joins a plain list instead, fired
after the heap's events of this instant (which were queued before it) in the order it
was queued: the same order as the heap would give, without its cost. The kernel is
compiled with the discrete-event engine (`sim.engines.des`), where the heap compares
the events' typed times and serial numbers itself; as Python it is `heapq`.
"""

from __future__ import annotations

from heapq import heappop, heappush
from typing import Any, Final

# Whether this module runs compiled (loaded from a C extension, not from its source).
COMPILED: Final = not __file__.endswith(".py")


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
        now: The current time, as the Python float that rows take as it is (boxed once
            an instant, not once a row).
        clock: The same time, typed.
        queue: Events due after now, a heap ordered by (time, serial).
        soon: Events queued for the current instant, in order; ``head`` is the next.
        serial: How many events went onto the heap (the serial of the last one).
    """

    now: Any
    clock: float
    queue: list[Event]
    soon: list[Event]
    head: int
    serial: int

    def __init__(self) -> None:
        self.now = 0.0
        self.clock = 0.0
        self.queue = []
        self.soon = []
        self.head = 0
        self.serial = 0

    def push(self, at: float, event: Event) -> None:
        """Queue an event at time ``at`` (not before now)."""
        event.at = at
        if at == self.clock:
            self.soon.append(event)
            return
        self.serial += 1
        event.serial = self.serial
        if COMPILED:
            self._sift_up(event)
        else:
            heappush(self.queue, event)

    def schedule(self, event: Event, delay: float) -> None:
        """Queue an event ``delay`` after now."""
        self.push(self.clock + delay, event)

    def run_until(self, end: float) -> None:
        """Fire the events before ``end`` in order; events at ``end`` itself stay queued."""
        queue = self.queue
        soon = self.soon
        event: Event
        while True:
            if self.head < len(soon):
                # The heap's events of this instant were queued before these.
                if queue and queue[0].at == self.clock:
                    event = self._pop()
                else:
                    event = soon[self.head]
                    self.head += 1
            else:
                if self.head:
                    soon.clear()
                    self.head = 0
                if not queue or queue[0].at >= end:
                    break
                event = self._pop()
                if event.at != self.clock:
                    self.clock = event.at
                    self.now = event.at
            event.fire()
        self.clock = end
        self.now = end

    def _pop(self) -> Event:
        if not COMPILED:
            return heappop(self.queue)
        queue = self.queue
        last = queue.pop()
        if not queue:
            return last
        top = queue[0]
        self._sift_down(last)
        return top

    def _sift_up(self, event: Event) -> None:
        """Put a new event on the heap (as `heapq.heappush`, comparing typed fields)."""
        queue = self.queue
        queue.append(event)
        self._rise(event, len(queue) - 1)

    def _sift_down(self, event: Event) -> None:
        """Put ``event`` at the root in place of the one popped (as `heapq.heappop`)."""
        queue = self.queue
        size = len(queue)
        position = 0
        child = 1
        # Down to a leaf by the smaller child, then up to where ``event`` belongs.
        while child < size:
            right = child + 1
            if right < size:
                a = queue[child]
                b = queue[right]
                if b.at < a.at or (b.at == a.at and b.serial < a.serial):
                    child = right
            queue[position] = queue[child]
            position = child
            child = 2 * position + 1
        self._rise(event, position)

    def _rise(self, event: Event, position: int) -> None:
        """Move ``event`` up from ``position`` to where it belongs, and put it there."""
        queue = self.queue
        at = event.at
        serial = event.serial
        while position > 0:
            parent_position = (position - 1) >> 1
            parent = queue[parent_position]
            if at < parent.at or (at == parent.at and serial < parent.serial):
                queue[position] = parent
                position = parent_position
            else:
                break
        queue[position] = event
