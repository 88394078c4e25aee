"""The cycle collector is paused for a run and resumed after, nested or not."""

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
