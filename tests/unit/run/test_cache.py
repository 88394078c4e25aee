"""Resuming: finished replications are read back, only what is missing is computed."""

from __future__ import annotations

from sim import load_scenario
from sim.run.experiment import run_experiment
from tests.factories import table_bytes


def test_resume_computes_only_what_is_missing(scenario_path, tmp_path):
    scenario = load_scenario(scenario_path)
    cache = tmp_path / "cache"
    first = run_experiment(scenario, replications=2, seed=1, cache=cache)
    assert first.computed == 2
    again = run_experiment(scenario, replications=3, seed=1, cache=cache)
    assert again.computed == 1
    fresh = run_experiment(scenario, replications=3, seed=1)
    assert table_bytes(again) == table_bytes(fresh)
    other_seed = run_experiment(scenario, replications=1, seed=2, cache=cache)
    assert other_seed.run_id != first.run_id and other_seed.computed == 1


def test_resume_recomputes_replications_saved_without_the_steps_now_wanted(
    scenario_path, tmp_path
):
    scenario = load_scenario(scenario_path)
    cache = tmp_path / "cache"
    run_experiment(scenario, replications=2, seed=1, cache=cache)
    again = run_experiment(scenario, replications=2, seed=1, cache=cache, steps="all")
    assert again.computed == 1
    assert set(again.steps.replication) == {0, 1}
