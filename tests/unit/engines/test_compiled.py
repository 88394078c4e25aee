"""Which engine module runs: compiled when the install compiled it, else the Python source.

`sim.engines.compiled` chooses; a source edited after the install runs instead, with a
warning. Either way a run frees its engine objects by reference counting.
"""

import gc
import os
import time

import numpy as np
import pytest

from sim.engines import compiled as engine
from sim.reforms import resolve_variant
from tests.factories import PROJECT_ROOT, needs_compiled, shortened

ENGINE_CLASSES = {"_Case", "_StepRun", "_Rework", "_Arrivals", "_StepPlan", "Simulation"}


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
        assert records.case_count
        del records
        gc.collect()
        left = {type(item).__name__ for item in gc.garbage}
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert not left & ENGINE_CLASSES
