"""The event kernel: events fired in time order, ties in the order they were queued.

This is SimPy's order (its queue sorts by time, then by an event counter, every event
here having SimPy's normal priority), kept without SimPy's machinery: an `Event` is an
object with a ``fire`` method, and `Kernel.run_until` fires them in order. Events due
later wait on a heap ordered by (time, serial number); an event queued for the current
instant (a staff member handed on, a zero delay) joins a plain list instead, fired
after the heap's events of this instant (which were queued before it) in the order it
was queued: the same order as the heap would give, without its cost.

The heap is three parallel columns, the times and serial numbers typed
(`librt.vecs.vec`) and the events in a list that is only moved, never compared: the
compiled kernel sifts by reading plain numbers, not each event's fields through a type
check. Each node has four children, which halves the moves of a sift for a few more
comparisons of plain numbers (benchmarks/README.md, "Scale", part 5). The kernel is
compiled with the discrete-event engine (`sim.engines.des`). Run as Python, where a
sift in Python code is slow and `heapq` is C, the heap is `heapq`'s list of (time,
serial, event) instead: the same order.
"""

from __future__ import annotations

from heapq import heappop, heappush
from math import inf
from typing import Final, cast

from librt.vecs import append, vec
from mypy_extensions import i64

# Whether this module runs compiled (loaded from a C extension, not from its source).
COMPILED: Final = not __file__.endswith(".py")


class Event:
    """Something that happens at a time: `fire` does it."""

    __slots__ = ()

    def fire(self) -> None:
        """Do what happens at this event's time."""
        raise NotImplementedError


class Kernel:
    """The clock and the queue of events.

    Attributes:
        clock: The current time.
        times: The heap's times (events due after now): ``times[i]`` is when
            ``events[i]`` is due, ``serials[i]`` its serial number; the first ``size``
            places are the heap, ordered by (time, serial).
        events: The heap's events; places from ``size`` on may still hold events
            already fired (overwritten as the heap grows again, dropped with it).
        size: How many events are on the heap.
        soon: Events queued for the current instant, in order; ``head`` is the next.
        serial: How many events went onto the heap (the serial of the last one).
        heap: Run as Python, the heap instead: `heapq`'s list of (time, serial, event).
    """

    clock: float
    times: vec[float]
    serials: vec[i64]
    events: list[object]
    size: i64
    soon: list[Event]
    head: i64
    serial: i64
    heap: list[tuple[float, int, Event]]

    def __init__(self) -> None:
        self.clock = 0.0
        self.times = vec[float]()
        self.serials = vec[i64]()
        self.events = []
        self.size = 0
        self.soon = []
        self.head = 0
        self.serial = 0
        self.heap = []

    def push(self, at: float, event: Event) -> None:
        """Queue an event at time ``at`` (not before now)."""
        if at == self.clock:
            self.soon.append(event)
            return
        self.serial += 1
        if not COMPILED:
            heappush(self.heap, (at, self.serial, event))
            return
        position = self.size
        self.size = position + 1
        if position == len(self.times):
            self.times = append(self.times, at)
            self.serials = append(self.serials, self.serial)
            self.events.append(event)
        self._rise(position, at, self.serial, event)

    def schedule(self, event: Event, delay: float) -> None:
        """Queue an event ``delay`` after now."""
        self.push(self.clock + delay, event)

    def run_until(self, end: float) -> None:
        """Fire the events before ``end`` in order; events at ``end`` itself stay queued."""
        soon = self.soon
        event: Event
        while True:
            if self.head < len(soon):
                # The heap's events of this instant were queued before these.
                if self._due() == self.clock:
                    event = self._pop()
                else:
                    event = soon[self.head]
                    self.head += 1
            else:
                if self.head:
                    soon.clear()
                    self.head = 0
                due = self._due()
                if due >= end:
                    break
                self.clock = due
                event = self._pop()
            event.fire()
        self.clock = end

    def clear(self) -> None:
        """Drop every queued event."""
        self.times = vec[float]()
        self.serials = vec[i64]()
        self.events.clear()
        self.size = 0
        self.soon.clear()
        self.head = 0
        self.heap.clear()

    def _due(self) -> float:
        """When the heap's first event is due (infinity when the heap is empty)."""
        if not COMPILED:
            return self.heap[0][0] if self.heap else inf
        return self.times[0] if self.size else inf

    def _pop(self) -> Event:
        """Take the first event off the heap (as `heapq.heappop`)."""
        if not COMPILED:
            return heappop(self.heap)[2]
        events = self.events
        top = events[0]
        last: i64 = self.size - 1
        self.size = last
        if last:
            self._sift_down(last, self.times[last], self.serials[last], events[last])
        return cast(Event, top)

    def _sift_down(self, size: i64, at: float, serial: i64, event: object) -> None:
        """Put an event at the root in place of the one popped, the heap ``size`` long."""
        times = self.times
        serials = self.serials
        events = self.events
        position: i64 = 0
        child: i64 = 1
        # Down to a leaf by the least of up to four children, then up to where the
        # event belongs.
        while child < size:
            least = child
            least_at = times[child]
            last = child + 4 if child + 4 < size else size
            other = child + 1
            while other < last:
                other_at = times[other]
                if other_at < least_at or (
                    other_at == least_at and serials[other] < serials[least]
                ):
                    least = other
                    least_at = other_at
                other += 1
            times[position] = least_at
            serials[position] = serials[least]
            events[position] = events[least]
            position = least
            child = 4 * position + 1
        self._rise(position, at, serial, event)

    def _rise(self, position: i64, at: float, serial: i64, event: object) -> None:
        """Move an event up from ``position`` to where it belongs, and put it there."""
        times = self.times
        serials = self.serials
        events = self.events
        while position > 0:
            parent: i64 = (position - 1) >> 2
            parent_at = times[parent]
            if at < parent_at or (at == parent_at and serial < serials[parent]):
                times[position] = parent_at
                serials[position] = serials[parent]
                events[position] = events[parent]
                position = parent
            else:
                break
        times[position] = at
        serials[position] = serial
        events[position] = event
