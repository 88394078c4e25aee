"""The cycle collector is paused for a run and resumed after, nested or not; the
allocators are tuned for the tables unless the user set them."""

from __future__ import annotations

import gc

import pytest

from sim import load_scenario
from sim.engines.collector import collector_paused
from sim.run.experiment import run_experiment


def test_the_cycle_collector_is_paused_for_a_run_and_resumed_after(scenario_path):
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner block leaves the outer one's pause alone
    assert gc.isenabled()
    with pytest.raises(KeyError), collector_paused():
        raise KeyError("an error inside")
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # paused by the caller: left paused
    finally:
        gc.enable()
    run_experiment(load_scenario(scenario_path), replications=1, seed=2)
    assert gc.isenabled()


def test_allocators_tuned_unless_the_user_chose(monkeypatch):
    """Large arrays kept on glibc's heap and Arrow's text on it, unless set by the user."""
    import pyarrow

    from sim.engines import collector

    calls = []
    monkeypatch.setattr(collector, "_mallopt", lambda: lambda *pair: calls.append(pair))
    for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "ARROW_DEFAULT_MEMORY_POOL"):
        monkeypatch.delenv(name, raising=False)
    collector.tune_allocators()
    assert calls == [
        (collector.M_MMAP_THRESHOLD, collector.HEAP_ARRAYS_UP_TO),
        (collector.M_TRIM_THRESHOLD, collector.TRIM_ABOVE),
    ]
    assert pyarrow.default_memory_pool().backend_name == "system"

    calls.clear()
    pyarrow.set_memory_pool(pyarrow.mimalloc_memory_pool())
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "131072")
    monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", "mimalloc")
    try:
        collector.tune_allocators()
        assert calls == []  # the user's own settings stand
        assert pyarrow.default_memory_pool().backend_name == "mimalloc"
    finally:
        pyarrow.set_memory_pool(pyarrow.system_memory_pool())
