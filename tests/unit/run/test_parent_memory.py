"""The parent of a run does not grow with its replications' case rows (issue 20).

Each replication is reduced where it runs to its figures (`sim.run.figures`), queue
totals and busy days; the parent keeps case rows only for the replications asked for
(``cases="first"``: replication 0). Traced with `tracemalloc` (Python objects and NumPy
buffers) over a whole run and its summary, serially, so the replication's own peak is
in the figure too: what must not grow is the part that scales with the replications.
"""

from __future__ import annotations

import gc
import tracemalloc

import pytest

from sim import load_scenario
from sim.analysis import summarize_run
from sim.run.experiment import run_experiment
from tests.factories import FASTER_REVIEW, INTAKE_REVIEW, agencies, scenario_text, write_case

# About 960 case rows a replication (two variants), about 250 B each when kept.
BUSY = {"rate": 8.0, "days": 60, "drain": 30}


def _peak(scenario, replications: int, cases: str) -> tuple[int, int]:
    """Traced peak bytes of a run and its summary, and the case rows it kept."""
    gc.collect()
    tracemalloc.start()
    try:
        result = summarize_run(
            run_experiment(scenario, replications=replications, seed=3, cases=cases), workers=1
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, len(result.cases)


@pytest.mark.slow
def test_parent_memory_does_not_grow_with_the_replications_case_rows(tmp_path):
    text = scenario_text(agencies=agencies(desk=6, review=6), extra=FASTER_REVIEW, **BUSY)
    scenario = load_scenario(write_case(tmp_path, INTAKE_REVIEW, text))
    _peak(scenario, 2, "first")  # imports and caches out of the figures
    five, kept_five = _peak(scenario, 5, "first")
    fifty, kept_fifty = _peak(scenario, 50, "first")
    assert kept_five == kept_fifty > 800  # replication 0's rows only
    # What every replication adds (figures, queue totals, busy days, and their frames):
    # about 50 kB, whatever its cases.
    per_replication = (fifty - five) / 45
    assert per_replication < 120_000, per_replication
    # The bound can fail: keeping every replication's case rows grows several times as
    # fast (about 300 kB a replication).
    everything, kept_all = _peak(scenario, 20, "all")
    assert kept_all > 19 * kept_five
    assert (everything - five) / 15 > 3 * per_replication
