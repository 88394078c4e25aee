"""The compiled engine and its Python source give the same numbers.

`sim.engines.compiled` runs `sim.engines.des` (with its kernel) compiled by mypyc when
the install compiled it, and its Python sources otherwise. Both must give the same case
and step tables, byte for byte, on every bundled scenario and variant (reforms of every kind: parallel steps, joint
inspections, tolerated deficiencies with commitments, notification-commitment
post-checks with rework and revocation, fast lanes, added staff).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from librt.vecs import vec

from sim import load_scenario
from sim.engines import compiled as engine
from sim.engines.records import union_length
from sim.reforms import resolve_variant
from tests.factories import PROJECT_ROOT, needs_compiled, shortened

SCENARIOS = sorted((PROJECT_ROOT / "scenarios").glob("*.yaml"))


def tables(core, scenario, variant: str, seed: int = 3):
    records = core.simulate(resolve_variant(scenario, variant), np.random.SeedSequence(seed), 1)
    cases, steps = records.frames(scenario.calendar)
    return cases, steps, records.agency_busy


def assert_same_runs(scenario) -> None:
    for variant in scenario.variant_names:
        compiled = tables(engine.core(), scenario, variant)
        python = tables(engine.python_core(), scenario, variant)
        assert compiled[0].equals(python[0]), f"{scenario.name} {variant}: case tables differ"
        assert compiled[1].equals(python[1]), f"{scenario.name} {variant}: step tables differ"
        assert compiled[2] == python[2], f"{scenario.name} {variant}: staff-days differ"


@needs_compiled
@pytest.mark.parametrize("path", SCENARIOS, ids=lambda path: path.stem)
def test_compiled_and_python_engines_give_the_same_tables(path):
    scenario = shortened(path, arrival_days=30)
    assert_same_runs(scenario)


@pytest.mark.slow
@needs_compiled
def test_compiled_and_python_engines_agree_on_the_whole_demo_year():
    assert_same_runs(load_scenario(PROJECT_ROOT / "scenarios" / "demo.yaml"))


# Starts and lengths from a few values as well, so that intervals share ends and starts.
interval = st.tuples(
    st.one_of(st.floats(0, 1e4, allow_nan=False), st.sampled_from([0.0, 1.0, 2.5])),
    st.one_of(st.floats(0, 50, allow_nan=False), st.sampled_from([0.0, 1.5])),
).map(lambda pair: (pair[0], pair[0] + pair[1]))


@given(st.lists(interval, max_size=30))
def test_the_engines_clock_days_are_the_records_union_length(intervals):
    """The engine's compiled copy adds up the same floats in the same order."""
    expected = union_length(intervals)
    pairs = vec[float]([time for interval in intervals for time in interval])
    assert engine.core().clock_days(pairs) == expected
    assert engine.python_core().clock_days(pairs) == expected
