"""Confidence intervals against theory: how often they cover the true value.

Coverage checks count how often the nominal-level intervals of many independent small
experiments cover the true value and accept counts inside the central 99.8% of the
binomial distribution of that count.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from scipy import optimize, stats

from sim import load_scenario
from sim.analysis.summary import summarize
from tests.theory.queueing import replicate, scenario_file

# --------------------------------------------------------------------------- coverage

# Two steps in series, exponential with means 1 and 2, unlimited staff: no queue, so the
# elapsed time is exactly hypoexponential: P(T > t) = 2 exp(-t/2) - exp(-t).
SERIAL = """
id: proc
name: {zh: 测试, en: Test}
target: {working_days: 3, source: "test"}
steps:
  - id: a
    name: {zh: 甲, en: A}
    agency: desk
    handling: {type: exponential, mean: 1}
    source: "test"
  - id: b
    name: {zh: 乙, en: B}
    agency: review
    handling: {type: exponential, mean: 2}
    after: [a]
    source: "test"
"""


def serial_survival(t: float) -> float:
    return 2 * math.exp(-t / 2) - math.exp(-t)


def serial_quantile(q: float) -> float:
    return optimize.brentq(lambda t: 1 - serial_survival(t) - q, 0.0, 100.0)


def binomial_band(trials: int, nominal: float, mass: float = 0.998) -> tuple[int, int]:
    tail = (1 - mass) / 2
    return int(stats.binom.ppf(tail, trials, nominal)), int(
        stats.binom.ppf(1 - tail, trials, nominal)
    )


EXPERIMENTS = 120
REPLICATIONS = 5


@pytest.fixture(scope="module")
def coverage_runs(tmp_path_factory):
    """Per experiment: summaries over 5 replications and over the first one alone (90%).

    Each experiment is labelled as a variant of its own, so that one call of `summarize`
    treats them all (variants are summarised independently of each other).
    """
    folder = tmp_path_factory.mktemp("coverage")
    scenario = load_scenario(scenario_file(folder, SERIAL, rate=8.0, days=8, drain=120))
    runs = []
    for experiment in range(EXPERIMENTS):
        _, cases, _, _ = replicate(scenario, REPLICATIONS, seed=1000 + experiment, keep_steps=False)
        runs.append(cases.assign(variant=f"experiment{experiment}"))
    cases = pd.concat(runs, ignore_index=True)
    assert (cases.status == "completed").all()
    over_replications = summarize(cases, scenario, confidence=0.9)
    one_replication = summarize(cases[cases.replication == 0], scenario, confidence=0.9)
    assert len(over_replications) == len(one_replication) == EXPERIMENTS
    return over_replications, one_replication


def covered(table: pd.DataFrame, column: str, truth: float) -> int:
    return int(((table[f"{column}_low"] <= truth) & (truth <= table[f"{column}_high"])).sum())


def test_replication_intervals_cover_at_the_nominal_rate(coverage_runs):
    # 120 experiments of 5 replications (~32 cases each); the 90% t intervals of the
    # mean elapsed time (true mean 1 + 2 = 3) and of the share within the 3-day target
    # (true 1 - P(T > 3)). Tolerance: the count of covering intervals lies within the
    # central 99.8% of Binomial(120, 0.9), i.e. about 98..116.
    table, _ = coverage_runs
    assert (table.interval_basis == "replications").all()
    low, high = binomial_band(EXPERIMENTS, 0.9)
    assert low <= covered(table, "mean_days", 3.0) <= high
    assert low <= covered(table, "share_within_target", 1 - serial_survival(3.0)) <= high


def test_case_intervals_cover_at_the_nominal_rate(coverage_runs):
    # One replication (~32 independent cases): t for the mean, Wilson for the share,
    # order statistics for the median and the 90th percentile. The order-statistic
    # interval is conservative (at least 90%), so only its lower tail is checked.
    _, table = coverage_runs
    assert table.interval_basis.str.startswith("one replication").all()
    low, high = binomial_band(EXPERIMENTS, 0.9)
    assert low <= covered(table, "mean_days", 3.0) <= high
    assert low <= covered(table, "share_within_target", 1 - serial_survival(3.0)) <= high
    assert covered(table, "median_days", serial_quantile(0.5)) >= low
    # With few cases the 90th percentile may have no upper bound (NaN: the sample is too
    # small to give one); count coverage over the intervals that have both bounds.
    determinate = table[table.p90_days_low.notna() & table.p90_days_high.notna()]
    assert len(determinate) >= 0.9 * EXPERIMENTS
    low, _ = binomial_band(len(determinate), 0.9)
    assert covered(determinate, "p90_days", serial_quantile(0.9)) >= low
