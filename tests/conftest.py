"""Fixtures shared across the suite; the builders they use are in `tests.factories`."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

import sim
from sim import load_scenario
from sim.analysis.contributions import reform_contributions
from tests.factories import (
    AGENCIES,
    four_step_scenario,
    intake_review_scenario,
    run,
    scenario_text,
    write_case,
)

# Tests written before tests/factories.py import these from here; new tests import them
# from tests.factories.
__all__ = ["AGENCIES", "run", "scenario_text", "write_case"]

# Hypothesis keeps failing examples in ./.hypothesis by default; tests leave the working
# directory alone, so it keeps them nowhere: a failure prints the seed to rerun it with,
# and the example itself (`@reproduce_failure`), which a rare one needs.
settings.register_profile("approvalsim", database=None, print_blob=True)
settings.load_profile("approvalsim")


@pytest.fixture
def write(tmp_path):
    """Write a procedure and a scenario into tmp_path; return the scenario path."""

    def _write(procedure: str, scenario: str | None = None) -> Path:
        return write_case(tmp_path, procedure, scenario or scenario_text())

    return _write


@pytest.fixture
def scenario_path(tmp_path):
    """`INTAKE_REVIEW` with two staff an agency and the variant ``faster_review``."""
    return intake_review_scenario(tmp_path)


# A variant of three reforms (time limit, online, added staff) whose title carries markup.
PACKAGE = """
variants:
  - name: package
    title: "Package B <script>alert('v')</script>"
    reforms:
      - {type: time_limit, procedure: proc, steps: [review], scale: 0.5, source: "test"}
      - {type: online, procedure: proc, steps: all, source: "test"}
      - {type: add_staff, agency: review, add: 1, source: "test"}
"""


@pytest.fixture(scope="session")
def small_run(tmp_path_factory):
    """`FOUR_STEP_PROCEDURE` with the variant ``package``: the run and its contributions.

    Two replications, seed 11; the scenario's title carries markup too.
    """
    folder = tmp_path_factory.mktemp("small_run")
    path = four_step_scenario(
        folder, PACKAGE, title="\"<script>alert('title')</script> 报告测试\""
    )
    scenario = load_scenario(path)
    result = sim.run(scenario, replications=2, seed=11)
    contributions = reform_contributions(scenario, replications=2, seed=11)
    return result, contributions
