"""Limits on the resolved variants: every source of arrivals, staff after reforms, the
replication count, and the memory a run would keep (estimated before it runs)."""

from __future__ import annotations

import pytest

from sim import load_scenario
from sim.domain.errors import InputError
from sim.run.limits import CASE_ROW_BYTES, check_run, expected_cases, run_memory


def test_memory_grows_with_variants_replications_and_kept_steps(scenario_path):
    scenario = load_scenario(scenario_path)
    one = run_memory(scenario, ["baseline"], 1, "first")
    assert one >= expected_cases(scenario.model("baseline")) * CASE_ROW_BYTES
    assert run_memory(scenario, ["baseline"], 10, "first") > one
    assert run_memory(scenario, ["baseline"], 10, "all") > run_memory(scenario, ["baseline"], 10, "first")


def test_a_run_over_the_memory_is_refused_with_the_estimate(scenario_path):
    scenario = load_scenario(scenario_path)
    needed = run_memory(scenario, ["baseline"], 4, "all")
    check_run(scenario, ["baseline"], 4, "all", memory=needed * 2)
    with pytest.raises(InputError, match=r"GB of tables in memory .* this machine has"):
        check_run(scenario, ["baseline"], 4, "all", memory=needed)


def test_replications_above_the_limit_are_refused(scenario_path):
    scenario = load_scenario(scenario_path)
    with pytest.raises(InputError, match="100,000,000 replications") as caught:
        check_run(scenario, ["baseline"], 100_000_000, "first", memory=10**15)
    assert caught.value.field == "--replications"
