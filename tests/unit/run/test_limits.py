"""Limits on the resolved variants: every source of arrivals, staff after reforms, the
replication count, and the memory a run would keep (estimated before it runs)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sim import load_scenario
from sim.domain.errors import InputError
from sim.reforms import resolve
from sim.run.limits import (
    CASE_ROW_BYTES,
    MEMORY_SHARE,
    RUNNING_CASE_BYTES,
    check_run,
    expected_cases,
    run_memory,
)


def test_memory_grows_with_variants_replications_and_kept_steps(scenario_path):
    scenario = load_scenario(scenario_path)
    one = run_memory(scenario, ["baseline"], 1, "first")
    assert one >= expected_cases(scenario.model("baseline")) * CASE_ROW_BYTES
    assert run_memory(scenario, ["baseline"], 10, "first") > one
    assert run_memory(scenario, ["baseline"], 10, "all") > run_memory(
        scenario, ["baseline"], 10, "first"
    )


def test_a_run_over_the_memory_is_refused_with_the_estimate(scenario_path):
    scenario = load_scenario(scenario_path)
    needed = run_memory(scenario, ["baseline"], 4, "all")
    check_run(scenario, ["baseline"], 4, "all", memory=needed * 2)
    with pytest.raises(InputError, match=r"GB of memory .* this machine has"):
        check_run(scenario, ["baseline"], 4, "all", memory=needed)


def test_replications_above_the_limit_are_refused(scenario_path):
    scenario = load_scenario(scenario_path)
    with pytest.raises(InputError, match="100,000,000 replications") as caught:
        check_run(scenario, ["baseline"], 100_000_000, "first", memory=10**15)
    assert caught.value.field == "--replications"


def test_ten_million_cases_are_checked_against_the_memory_not_a_fixed_cap(scenario_path):
    # The old cap (1M cases a replication) is now a memory check: the same large run is
    # accepted on a machine with the memory and refused, naming what to change, without.
    scenario = load_scenario(scenario_path)
    cases = expected_cases(scenario.model("baseline"))
    scale = 10_000_000 / cases
    large = replace(
        scenario,
        demands=tuple(
            replace(d, arrivals_per_day=d.arrivals_per_day * scale) for d in scenario.demands
        ),
        models=(),
    )
    large = resolve(large)
    assert expected_cases(large.model("baseline")) == pytest.approx(10_000_000)
    needed = run_memory(large, ["baseline"], 1, "first")
    assert 10_000_000 * RUNNING_CASE_BYTES < needed < 10_000_000 * 10_000
    check_run(large, ["baseline"], 1, "first", memory=int(needed / MEMORY_SHARE) + 1)
    with pytest.raises(InputError, match="10,000,000 cases a replication") as caught:
        check_run(large, ["baseline"], 1, "first", memory=int(needed / MEMORY_SHARE) - 1)
    assert "shorten the horizon" in str(caught.value)


def test_replications_running_at_once_count_against_the_memory(scenario_path):
    scenario = load_scenario(scenario_path)
    one = run_memory(scenario, ["baseline"], 8, "first", "first", running=1)
    assert run_memory(scenario, ["baseline"], 8, "first", "first", running=2) > one
    # No more running at once than there are replications.
    assert run_memory(scenario, ["baseline"], 1, "first", "first", running=4) == run_memory(
        scenario, ["baseline"], 1, "first", "first", running=1
    )
    with pytest.raises(InputError, match="--workers 1"):
        check_run(scenario, ["baseline"], 8, "first", memory=one, cases="first", running=2)
