"""Shared fixtures: small procedure and scenario files written into tmp_path."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from sim import load_scenario
from sim.domain.model import Model
from sim.engines.compiled import simulate

AGENCIES = """
agencies:
  - {id: desk, name: {zh: 窗口, en: Desk}, staff: unlimited, source: "test"}
  - {id: review, name: {zh: 审查, en: Review}, staff: unlimited, source: "test"}
"""


def write_case(folder: Path, procedure: str, scenario: str) -> Path:
    """Write ``proc.yaml`` and ``scenario.yaml`` into ``folder``; return the scenario path."""
    (folder / "proc.yaml").write_text(textwrap.dedent(procedure), encoding="utf-8")
    path = folder / "scenario.yaml"
    path.write_text(textwrap.dedent(scenario), encoding="utf-8")
    return path


def scenario_text(
    agencies: str = AGENCIES,
    rate: float = 1.0,
    start: str = "2025-03-03",
    days: float = 5,
    drain: float = 60,
    extra: str = "",
) -> str:
    """A scenario running ``proc`` with the given agencies and arrivals."""
    return (
        textwrap.dedent(f"""
        name: test
        title: test scenario
        seed: 7
        calendar: {{start: {start}}}
        horizon: {{working_days: {days}, drain_working_days: {drain}}}
        procedures:
          - {{procedure: proc, arrivals_per_day: {rate}, source: "test"}}
        """)
        + textwrap.dedent(agencies)
        + textwrap.dedent(extra)
    )


def run(path: Path, variant: str = "baseline", seed: int = 0):
    """Load a scenario, run one variant once; return (scenario, cases, steps)."""
    scenario = load_scenario(path)
    if variant == "baseline":
        model = Model.baseline(scenario)
    else:
        from sim.reforms import resolve_variant

        model = resolve_variant(scenario, variant)
    records = simulate(model, np.random.SeedSequence(seed))
    cases, steps = records.frames(scenario.calendar)
    return scenario, cases, steps


@pytest.fixture
def write(tmp_path):
    """Write a procedure and a scenario into tmp_path; return the scenario path."""

    def _write(procedure: str, scenario: str | None = None) -> Path:
        return write_case(tmp_path, procedure, scenario or scenario_text())

    return _write
