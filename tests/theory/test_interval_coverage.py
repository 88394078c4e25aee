"""The engine and the statistics against queueing and probability theory.

Every check states its tolerance. Checks of a confidence interval against theory use a
99% interval, so a correct engine fails one by chance about once in a hundred seeds; the
seeds are fixed, so the outcome is reproducible. Coverage checks count how often the
nominal-level intervals of many independent small experiments cover the true value and
accept counts inside the central 99.8% of the binomial distribution of that count.

Time is scaled so that the runs stay short on the calendar: with handling rate ``mu`` =
10 per working day, queueing formulas are unchanged (every duration is a tenth), and a
few thousand cases fit into a few hundred working days from 2015 (the calendar data
covers 2004-2026).
"""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from sim import load_scenario
from sim.analysis import intervals
from sim.analysis.agencies import agency_load
from sim.analysis.intervals import t_interval
from sim.analysis.summary import summarize
from sim.domain.model import Model, Scenario
from sim.engines.compiled import simulate

MU = 10.0  # handling rate per staff member, per working day (mean handling 0.1 days)


def single_step(handling: str, target: float = 1.0) -> str:
    return f"""
    id: proc
    name: {{zh: 测试, en: Test}}
    target: {{working_days: {target}, source: "test"}}
    steps:
      - {{id: a, name: {{zh: 甲, en: A}}, agency: desk, handling: {handling}, source: "test"}}
    """


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
    (folder / "proc.yaml").write_text(textwrap.dedent(procedure), encoding="utf-8")
    text = f"""
    name: theory
    title: theory check
    seed: 1
    calendar: {{start: 2015-01-05}}
    horizon: {{working_days: {days}, drain_working_days: {drain}, warmup_working_days: {warmup}}}
    procedures:
      - {{procedure: proc, arrivals_per_day: {rate}, source: "test"}}
    agencies:
      - {{id: desk, name: {{zh: 窗口, en: Desk}}, staff: {staff}, source: "test"}}
      - {{id: review, name: {{zh: 审查, en: Review}}, staff: {review}, source: "test"}}
    """
    path = folder / "scenario.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


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


# --------------------------------------------------------------------------- queues


@pytest.mark.parametrize(
    ("servers", "rho", "replications", "days", "seed"),
    [(1, 0.8, 20, 430, 11), (2, 0.7, 10, 330, 12), (3, 0.7, 10, 330, 13)],
    ids=["M/M/1 rho=0.8", "M/M/2 rho=0.7", "M/M/3 rho=0.7"],
)
def test_queue_matches_erlang_c(tmp_path, servers, rho, replications, days, seed):
    # Poisson arrivals, exponential handling, `servers` staff, first come first served:
    # M/M/c. For c = 1, Erlang C reduces to Wq = rho / (mu - lambda). Replications of
    # ~3,000-7,000 cases after a warm-up of 30 working days (the queue forgets its empty
    # start within a few days at these loads: the M/M/1 relaxation time is
    # 1 / (mu (1 - sqrt(rho))^2), about 9 working days here).
    # Tolerance: theory lies inside the 99% interval over the replications (for the mean
    # elapsed time Wq + 1/mu from `summarize`, the mean queue Wq and the utilisation rho
    # from `agency_load`), and each interval's half-width is under 20% of theory, so
    # that the check has teeth. (Waits at rho = 0.8 are strongly correlated: a run of
    # 3,000 cases estimates Wq only to about +-25%.)
    arrival = rho * servers * MU
    wait = erlang_c_wait(servers, arrival, MU)
    path = scenario_file(
        tmp_path,
        single_step(f"{{type: exponential, mean: {1 / MU}}}"),
        rate=arrival,
        days=days,
        drain=20,
        warmup=30,
        staff=servers,
    )
    scenario, cases, steps, busy = replicate(path, replications, seed=seed)
    assert (cases.status != "open").all()
    summary = summarize(cases, scenario, confidence=0.99).iloc[0]
    assert summary["replications"] == replications
    sojourn = wait + 1 / MU
    assert summary["mean_days_low"] <= sojourn <= summary["mean_days_high"]
    assert summary["mean_days_high"] - summary["mean_days_low"] < 0.4 * sojourn
    load = agency_load(steps, busy, scenario, confidence=0.99).set_index("agency").loc["desk"]
    assert load["mean_queue_days_low"] <= wait <= load["mean_queue_days_high"]
    assert load["mean_queue_days_high"] - load["mean_queue_days_low"] < 0.4 * wait
    assert load["utilisation_low"] <= rho <= load["utilisation_high"]
    assert not load["overloaded"]


def test_one_long_queue_by_batch_means(tmp_path):
    # One replication of M/M/1 at rho = 0.8 with ~32,000 cases (time scaled four times
    # further, mu = 40 a day, to stay inside the calendar). The batch-means interval of
    # `agency_load` (20 batches in order of arrival) allows for the correlation between
    # neighbouring waits. Tolerance: theory inside the 99% batch-means interval, whose
    # half-width is under 30% of theory. The case-based interval of `summarize` (which
    # assumes independent cases, as its `interval_basis` says) is several times too
    # narrow here: checked as at least three times narrower than batch means.
    mu = 4 * MU
    arrival = 0.8 * mu
    wait = erlang_c_wait(1, arrival, mu)
    path = scenario_file(
        tmp_path,
        single_step(f"{{type: exponential, mean: {1 / mu}}}"),
        rate=arrival,
        days=1030,
        drain=20,
        warmup=30,
        staff=1,
    )
    scenario, cases, steps, busy = replicate(path, replications=1, seed=21)
    load = agency_load(steps, busy, scenario, confidence=0.99).set_index("agency").loc["desk"]
    assert load["replications"] == 1
    assert load["mean_queue_days_low"] <= wait <= load["mean_queue_days_high"]
    batch_width = load["mean_queue_days_high"] - load["mean_queue_days_low"]
    assert batch_width < 0.6 * wait
    # `summarize` uses batch means for the mean of one run too: it covers the sojourn
    # time W, and is at least three times wider than a t interval that wrongly treats
    # the cases as independent.
    summary = summarize(cases, scenario, confidence=0.99).iloc[0]
    assert summary["interval_basis"] == intervals.BASIS_ONE_RUN
    sojourn = wait + 1 / mu
    assert summary["mean_days_low"] <= sojourn <= summary["mean_days_high"]
    completed = cases[(cases.status == "completed") & (cases.arrival_day >= 30)]
    _, naive_low, naive_high = t_interval(completed.elapsed_working_days, 0.99)
    assert 3 * (naive_high - naive_low) < summary["mean_days_high"] - summary["mean_days_low"]


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


# --------------------------------------------------------------------------- paths


@pytest.mark.parametrize(
    ("means", "expected"),
    [
        # Three i.i.d. exponentials of mean 2: E[max] = 2 * H_3 = 2 * (1 + 1/2 + 1/3).
        ((2.0, 2.0, 2.0), 2.0 * (1 + 1 / 2 + 1 / 3)),
        # Rates 1, 1/2, 1/4 by inclusion-exclusion:
        # sum 1/l_i - sum 1/(l_i + l_j) + 1/(l_1 + l_2 + l_3).
        ((1.0, 2.0, 4.0), 7 - (1 / 1.5 + 1 / 1.25 + 1 / 0.75) + 1 / 1.75),
    ],
)
def test_parallel_steps_take_the_expected_maximum(tmp_path, means, expected):
    # Steps side by side with unlimited staff: the case ends with the longest. Tolerance:
    # the mean over ~3,000 independent cases is within 3 standard errors of theory.
    steps = "\n".join(
        f"  - {{id: s{i}, name: {{zh: 步{i}, en: S{i}}}, agency: review, "
        f'handling: {{type: exponential, mean: {m}}}, source: "test"}}'
        for i, m in enumerate(means)
    )
    procedure = (
        'id: proc\nname: {zh: 测试, en: Test}\ntarget: {working_days: 5, source: "test"}\n'
        "steps:\n" + steps + "\n"
    )
    path = scenario_file(tmp_path, procedure, rate=30.0, days=100, drain=120)
    _, cases, _, _ = replicate(path, replications=1, seed=31, keep_steps=False)
    elapsed = cases.elapsed_working_days.to_numpy()
    assert len(elapsed) > 2500 and (cases.status == "completed").all()
    error = abs(elapsed.mean() - expected)
    assert error <= 3 * stats.sem(elapsed), (elapsed.mean(), expected)


def test_send_backs_are_geometric(tmp_path):
    # A main material defective with probability p on every submission, independently;
    # with a cap of 20 resubmissions (withdrawal has probability p^21, negligible) the
    # number of send-backs is geometric: mean p / (1 - p), P(none) = 1 - p.
    # Tolerance: both within 3 standard errors over ~4,000 cases.
    p = 0.3
    procedure = f"""
    id: proc
    name: {{zh: 测试, en: Test}}
    target: {{working_days: 5, source: "test"}}
    steps:
      - id: a
        name: {{zh: 甲, en: A}}
        agency: desk
        handling: 0.1
        materials: [{{id: form, name: 申请表, kind: main, probability_defective: {p}}}]
        send_back: {{response: 0.5, max_resubmissions: 20}}
        source: "test"
    """
    path = scenario_file(tmp_path, procedure, rate=40.0, days=100, drain=30)
    _, cases, _, _ = replicate(path, replications=1, seed=41, keep_steps=False)
    assert (cases.status == "completed").all() and len(cases) > 3500
    send_backs = cases.send_backs.to_numpy(float)
    assert abs(send_backs.mean() - p / (1 - p)) <= 3 * stats.sem(send_backs)
    none = (send_backs == 0).mean()
    assert abs(none - (1 - p)) <= 3 * math.sqrt(p * (1 - p) / len(send_backs))
    # Each round is one handling (0.1) plus, after a defect, a correction (0.5).
    np.testing.assert_allclose(
        cases.elapsed_working_days, 0.1 * (1 + send_backs) + 0.5 * send_backs, atol=1e-9
    )
