"""Confidence intervals against theory: how often they cover the true value.

Coverage checks count how often the nominal-level intervals of many independent small
experiments cover the true value and accept counts inside the central 99.8% of the
binomial distribution of that count.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from sim import load_scenario
from sim.analysis.comparison import compare
from sim.analysis.summary import summarize
from sim.engines.compiled import simulate
from tests.factories import agencies, one_step, scenario_text, write_case
from tests.theory.queueing import MU, erlang_c_wait, replicate, scenario_file

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


@pytest.mark.slow
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


# --------------------------------------------------------------------------- one run, paired

QUEUE = one_step("{type: exponential, mean: 0.1}")
SECOND_OFFICER = """
variants:
  - name: two
    reforms:
      - {type: add_staff, agency: desk, add: 1, source: "test"}
"""
PAIRS = 100


@pytest.mark.slow
def test_one_replications_paired_difference_covers_the_queueing_difference(tmp_path):
    # M/M/1 against M/M/2 (arrival 5 a day, mean handling 0.1 day): the true difference
    # of the mean time taken is the difference of the Erlang C waits. 100 pairs of one
    # replication each (about 1,500 cases after a warm-up of 20 days); each paired 95%
    # interval is batch means on the per-case differences in order of arrival. Cases
    # that queue together are correlated: the plain t interval on them covers the truth
    # far less often (issue 17: 9 times in 100 for a pair under heavier load; here about
    # 4 in 10). Tolerance: the count lies within the central 99.8% of Binomial(100,
    # 0.95), about 88..100. (Under heavier load the batches, a twentieth of the run each,
    # must be longer than the queue's memory: at arrival 7 a day it takes some 6,000
    # cases to come near 95%; run replications there.)
    arrival = 5.0
    truth = erlang_c_wait(2, arrival, MU) - erlang_c_wait(1, arrival, MU)
    text = scenario_text(
        agencies(desk=1),
        arrival,
        start="2015-01-05",
        days=320,
        drain=20,
        warmup=20,
        extra=SECOND_OFFICER,
    )
    scenario = load_scenario(write_case(tmp_path, QUEUE, text))
    covering = plain = 0
    for pair in range(PAIRS):
        seed = np.random.SeedSequence(4000 + pair)
        frames = [
            simulate(scenario.model(name), seed).frames(scenario.calendar)[0]
            for name in ("baseline", "two")
        ]
        days = compare(pd.concat(frames), scenario).set_index("metric").loc["mean_days"]
        covering += bool(days["difference_low"] <= truth <= days["difference_high"])
        elapsed = [f[f.arrival_day >= 20].set_index("case_id").elapsed_working_days for f in frames]
        differences = (elapsed[1] - elapsed[0]).dropna()
        low, high = stats.t.interval(
            0.95, len(differences) - 1, differences.mean(), stats.sem(differences)
        )
        plain += bool(low <= truth <= high)
    low, high = binomial_band(PAIRS, 0.95)
    print(
        f"\n[theory] M/M/1 vs M/M/2, one replication: batch means cover {truth:.4f} "
        f"{covering}/{PAIRS} times, a plain t interval {plain}/{PAIRS}"
    )
    assert low <= covering <= high
    assert plain < low
