"""The event kernel fires events in SimPy's order: by time, ties in the order queued.

Checked against a plain `heapq` of (time, order queued) over random event trees with
many ties and zero delays, on the kernel's Python source both ways it keeps its heap:
as run compiled (typed columns, four children a node) and as run as Python (`heapq`).
The compiled kernel itself gives the engine's rows that the conformance tests compare
with the source's.
"""

from __future__ import annotations

import heapq
import types
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim.engines.kernel

SOURCE = Path(sim.engines.kernel.__file__).with_name("kernel.py")
AS_RUN = 'COMPILED: Final = not __file__.endswith(".py")'


@cache
def kernel_source(typed_heap: bool) -> types.ModuleType:
    """The kernel's source as a module, keeping its heap as compiled or as Python."""
    text = SOURCE.read_text(encoding="utf-8")
    assert AS_RUN in text
    module = types.ModuleType(f"kernel_typed_{typed_heap}")
    module.__file__ = str(SOURCE)
    exec(
        compile(text.replace(AS_RUN, f"COMPILED: Final = {typed_heap}"), SOURCE, "exec"),
        module.__dict__,
    )
    return module


both_heaps = pytest.mark.parametrize("typed_heap", [True, False], ids=["typed", "heapq"])

DELAYS = (0.0, 0.5, 1.0, 2.0)
# An event tree: per event in the order made, the delays of the events it queues when it
# fires (by index into DELAYS); events made beyond the list queue nothing.
trees = st.lists(st.lists(st.integers(0, len(DELAYS) - 1), max_size=3), min_size=1, max_size=60)


def kernel_order(core, roots: list[float], children: list[list[int]], end: float) -> list[tuple]:
    """The (time, event) fired by the kernel, each event queuing its children in turn."""
    fired: list[tuple] = []
    kernel = core.Kernel()
    counter = iter(range(10**6))

    class Recorder(core.Event):
        def __init__(self, number: int) -> None:
            self.number = number

        def fire(self) -> None:
            fired.append((kernel.clock, self.number))
            for delay in children[self.number] if self.number < len(children) else ():
                kernel.schedule(Recorder(next(counter)), DELAYS[delay])

    for at in roots:
        kernel.push(at, Recorder(next(counter)))
    kernel.run_until(end)
    assert kernel.clock == end
    return fired


def reference_order(roots: list[float], children: list[list[int]], end: float) -> list[tuple]:
    """The same with `heapq` on (time, order queued), which is SimPy's order."""
    fired: list[tuple] = []
    heap: list[tuple[float, int, int]] = []
    counter = iter(range(10**6))
    queued = iter(range(10**6))
    for at in roots:
        heapq.heappush(heap, (at, next(queued), next(counter)))
    while heap and heap[0][0] < end:
        now, _, number = heapq.heappop(heap)
        fired.append((now, number))
        for delay in children[number] if number < len(children) else ():
            heapq.heappush(heap, (now + DELAYS[delay], next(queued), next(counter)))
    return fired


@both_heaps
@settings(max_examples=200, deadline=None)
@given(
    roots=st.lists(st.sampled_from([0.0, 1.0, 1.5, 2.0, 3.0]), min_size=1, max_size=8),
    children=trees,
    end=st.sampled_from([2.0, 3.0, 6.0]),
)
def test_kernel_fires_in_time_then_queued_order(typed_heap, roots, children, end):
    """Same instant: heap events queued earlier first, then zero-delay ones in order."""
    core = kernel_source(typed_heap)
    assert kernel_order(core, roots, children, end) == reference_order(roots, children, end)


@both_heaps
def test_events_at_the_end_stay_queued_and_run_later(typed_heap):
    """`run_until` stops before events due at its end; a later call fires them."""
    core = kernel_source(typed_heap)
    kernel = core.Kernel()
    fired = []

    class Recorder(core.Event):
        def __init__(self, number: int) -> None:
            self.number = number

        def fire(self) -> None:
            fired.append((kernel.clock, self.number))

    for number, at in enumerate([2.0, 1.0, 2.0, 3.0]):
        kernel.push(at, Recorder(number))
    kernel.run_until(2.0)
    assert fired == [(1.0, 1)]
    kernel.run_until(5.0)
    assert fired == [(1.0, 1), (2.0, 0), (2.0, 2), (3.0, 3)]
    kernel.clear()
    kernel.push(6.0, Recorder(9))
    kernel.run_until(7.0)
    assert fired[-1] == (6.0, 9)
