"""The compiled engine and its Python source: the same numbers, and the right one runs.

`sim.engines.compiled` runs `sim.engines.des` (with its kernel) compiled by mypyc when
the install compiled it, and its Python sources otherwise. Both must give the same case and step tables, byte for
byte, on every bundled scenario and variant (reforms of every kind: parallel steps, joint
inspections, tolerated deficiencies with commitments, notification-commitment
post-checks with rework and revocation, fast lanes, added staff).
"""

from __future__ import annotations

import dataclasses
import gc
import os
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim import load_scenario
from sim.engines import compiled as engine
from sim.engines.records import union_length
from sim.reforms import resolve, resolve_variant

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((PROJECT_ROOT / "scenarios").glob("*.yaml"))
ENGINE_CLASSES = {"_Case", "_StepRun", "_Rework", "_Arrivals", "_StepPlan", "Simulation"}

needs_compiled = pytest.mark.skipif(
    not engine.core().COMPILED,
    reason="the engine is not compiled here (no C compiler at install, or "
    "APPROVALSIM_PURE_PYTHON set): nothing to compare",
)


def shortened(path: Path, arrival_days: float):
    """A bundled scenario with fewer days of arrivals (the same drain), for speed."""
    scenario = load_scenario(path)
    horizon = dataclasses.replace(scenario.horizon, arrival_days=arrival_days)
    return resolve(dataclasses.replace(scenario, horizon=horizon, models=()))


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


@pytest.mark.skipif(
    not os.environ.get("APPROVALSIM_EXPECT_COMPILED"),
    reason="only where the install is expected to compile the engine (CI sets this)",
)
def test_the_install_compiled_the_engine():
    assert engine.implementation() == "compiled"


@pytest.fixture
def fresh_choice():
    """Forget which engine module was chosen, before and after the test."""
    engine.core.cache_clear()
    yield
    engine.core.cache_clear()


def test_the_pure_python_setting_runs_the_source(monkeypatch, fresh_choice):
    monkeypatch.setenv("APPROVALSIM_PURE_PYTHON", "1")
    assert engine.core() is engine.python_core()
    assert engine.implementation() == "python"
    assert engine.python_core().__file__ == str(engine.SOURCES[-1])


@needs_compiled
def test_a_source_changed_after_the_install_runs_instead_with_a_warning(
    tmp_path, monkeypatch, fresh_choice
):
    edited = tmp_path / "kernel.py"
    edited.write_text(engine.SOURCES[0].read_text(encoding="utf-8"), encoding="utf-8")
    later = time.time() + 60
    os.utime(edited, (later, later))
    monkeypatch.setattr(engine, "SOURCES", (edited, *engine.SOURCES[1:]))
    with pytest.warns(UserWarning, match="changed after the engine was compiled"):
        chosen = engine.core()
    assert not chosen.COMPILED


@needs_compiled
def test_a_source_as_old_as_the_compiled_module_keeps_the_compiled_one(
    tmp_path, monkeypatch, fresh_choice
):
    copy = tmp_path / "des.py"
    copy.write_text(engine.SOURCES[-1].read_text(encoding="utf-8"), encoding="utf-8")
    compiled_at = engine.compiled_at(engine.MODULES[-1])
    os.utime(copy, (compiled_at + 1, compiled_at + 1))  # within the install's moment
    monkeypatch.setattr(engine, "SOURCES", (*engine.SOURCES[:-1], copy))
    assert engine.core().COMPILED


@pytest.mark.parametrize("which", ["chosen", "python"])
def test_a_run_leaves_no_cycles_of_engine_objects(which):
    """Cases, steps and plans are freed by reference counting (the collector is paused)."""
    core = engine.core() if which == "chosen" else engine.python_core()
    scenario = shortened(PROJECT_ROOT / "scenarios" / "xinxiang_2021.yaml", arrival_days=20)
    model = resolve_variant(scenario, scenario.variant_names[-1])
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        records = core.simulate(model, np.random.SeedSequence(5))
        assert records.cases
        del records
        gc.collect()
        left = {type(item).__name__ for item in gc.garbage}
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert not left & ENGINE_CLASSES


interval = st.tuples(
    st.floats(0, 1e4, allow_nan=False), st.floats(0, 50, allow_nan=False)
).map(lambda pair: (pair[0], pair[0] + pair[1]))


@given(st.lists(interval, max_size=12))
def test_the_engines_clock_days_are_the_records_union_length(intervals):
    """The engine's compiled copy adds up the same floats in the same order."""
    expected = union_length(intervals)
    assert engine.core().clock_days(intervals) == expected
    assert engine.python_core().clock_days(intervals) == expected
