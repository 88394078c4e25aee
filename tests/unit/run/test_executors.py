"""Executors: serial, a process pool and Dask give the same bytes; pool tasks are saved whole."""

from __future__ import annotations

import pytest

from sim import load_scenario
from sim.run.experiment import run_experiment
from tests.factories import table_bytes


def test_serial_process_and_dask_give_the_same_bytes(scenario_path):
    scenario = load_scenario(scenario_path)
    serial = run_experiment(scenario, replications=4, seed=9, executor="serial")
    pool = run_experiment(scenario, replications=4, seed=9, executor="process", workers=2)
    single = run_experiment(scenario, replications=4, seed=9, executor="process", workers=1)
    assert table_bytes(serial) == table_bytes(pool) == table_bytes(single)
    # The figures each replication is reduced to where it runs, too.
    figures = serial.figures.to_csv(index=False)
    assert figures == pool.figures.to_csv(index=False) == single.figures.to_csv(index=False)
    pytest.importorskip("distributed")
    dask = run_experiment(scenario, replications=4, seed=9, executor="dask", workers=2)
    assert table_bytes(serial) == table_bytes(dask)
    assert figures == dask.figures.to_csv(index=False)


def test_whole_replications_from_a_pool_are_saved_and_resumed(scenario_path, tmp_path):
    scenario = load_scenario(scenario_path)
    cache = tmp_path / "cache"
    # Four replications for one worker: a task is a whole replication.
    first = run_experiment(
        scenario, replications=4, seed=3, executor="process", workers=1, cache=cache
    )
    again = run_experiment(scenario, replications=4, seed=3, cache=cache)
    assert (first.computed, again.computed) == (4, 0)
    apart = run_experiment(scenario, replications=4, seed=3, executor="process", workers=2)
    assert table_bytes(first) == table_bytes(again) == table_bytes(apart)  # two workers: one variant a task
    assert first.queues.equals(again.queues) and first.queues.equals(apart.queues)
