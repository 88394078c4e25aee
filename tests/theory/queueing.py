"""Helpers of the checks against theory: scenario files, replications, Erlang C, intervals.

Time is scaled so that the runs stay short on the calendar: with handling rate ``mu`` =
10 per working day, queueing formulas are unchanged (every duration is a tenth), and a
few thousand cases fit into a few hundred working days from 2015 (the calendar data
covers 2004-2026).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from sim import load_scenario
from sim.domain.model import Model, Scenario
from sim.engines.compiled import simulate
from tests.factories import agencies, scenario_text, write_case

MU = 10.0  # handling rate per staff member, per working day (mean handling 0.1 days)


def scenario_file(
    folder,
    procedure: str,
    rate: float,
    days: float,
    drain: float,
    warmup: float = 0.0,
    staff: str | int = "unlimited",
    review: str | int = "unlimited",
):
    """``procedure`` with a scenario from 2015-01-05; the desk and the review office staffed."""
    text = scenario_text(
        agencies(desk=staff, review=review),
        rate,
        start="2015-01-05",
        days=days,
        drain=drain,
        seed=1,
        warmup=warmup,
        name="theory",
        title="theory check",
    )
    return write_case(folder, procedure, text)


def replicate(path_or_scenario, replications: int, seed: int, keep_steps: bool = True):
    """Run the baseline ``replications`` times; return (scenario, cases, steps, busy)."""
    scenario = path_or_scenario
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(path_or_scenario)
    model = Model.baseline(scenario)
    cases, steps, busy = [], [], []
    for replication, sequence in enumerate(np.random.SeedSequence(seed).spawn(replications)):
        records = simulate(model, sequence, replication)
        case_frame, step_frame = records.frames(scenario.calendar)
        cases.append(case_frame)
        if keep_steps:
            steps.append(step_frame)
        busy.extend(
            (replication, "baseline", agency, days) for agency, days in records.agency_busy.items()
        )
    return (
        scenario,
        pd.concat(cases, ignore_index=True),
        pd.concat(steps, ignore_index=True) if steps else pd.DataFrame(),
        pd.DataFrame(busy, columns=["replication", "variant", "agency", "busy_days"]),
    )


def erlang_c_wait(servers: int, arrival: float, service: float) -> float:
    """Mean wait in queue of M/M/c (Erlang C)."""
    load = arrival / service
    rho = load / servers
    terms = sum(load**k / math.factorial(k) for k in range(servers))
    last = load**servers / math.factorial(servers) / (1 - rho)
    waiting_probability = last / (terms + last)
    return waiting_probability / (servers * service - arrival)


def per_replication(frame, column: str, warmup: float, day_column: str = "ready_day"):
    """Mean of ``column`` per replication over rows that began after the warm-up."""
    kept = frame[frame[day_column] >= warmup]
    return kept.groupby("replication")[column].mean().to_numpy(float)


def interval(values: np.ndarray, confidence: float = 0.99) -> tuple[float, float, float]:
    mean = float(values.mean())
    half = float(stats.t.ppf(0.5 + confidence / 2, len(values) - 1) * stats.sem(values))
    return mean, mean - half, mean + half


def check(name: str, values: np.ndarray, theory: float, max_half_width: float) -> float:
    """Theory inside the 99% interval across replications, whose half-width is bounded.

    The bound on the half-width (relative to theory) gives the check its teeth: with
    theory inside the interval, the relative error is at most that much.
    """
    mean, low, high = interval(values)
    error = (mean - theory) / theory
    half = (high - low) / 2 / theory
    print(
        f"\n[theory] {name}: estimate {mean:.5g}, theory {theory:.5g}, error {100 * error:+.2f}% "
        f"(99% interval +-{100 * half:.1f}%, {len(values)} replications)"
    )
    assert low <= theory <= high, (name, mean, low, high, theory)
    assert half <= max_half_width, (name, half)
    return error
