"""Queues against theory: M/M/c (Erlang C) over many loads, one long M/M/1 queue by batch
means, M/G/1 with a lognormal step (Pollaczek-Khinchine), and a tandem of two M/M/1 queues
(Jackson).

Each check states its tolerance. Checks of a confidence interval against theory use a
99% interval, so a correct engine fails one by chance about once in a hundred seeds; the
seeds are fixed, so the outcome is reproducible. Means over replications (each
replication its own random numbers, i.e. many seeds) are compared through a 99% t
interval across replications: theory must lie inside it, and the relative error must
stay under a stated bound so that the check has teeth. The checks of `check` print their
estimate, the theory and the relative error (``pytest -s`` shows them). Time is scaled
as `tests.theory.queueing` says: handling rates of tens to hundreds a working day keep
many thousands of cases inside the calendar data without changing any queueing formula.
"""

from __future__ import annotations

import math

import pytest
from scipy import stats

from sim.analysis import intervals
from sim.analysis.agencies import agency_load
from sim.analysis.intervals import t_interval
from sim.analysis.summary import summarize
from tests.factories import one_step
from tests.theory.queueing import (
    MU,
    check,
    erlang_c_wait,
    per_replication,
    replicate,
    scenario_file,
)

# --------------------------------------------------------------------------- M/M/c, Erlang C


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
        one_step(f"{{type: exponential, mean: {1 / MU}}}"),
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
        one_step(f"{{type: exponential, mean: {1 / mu}}}"),
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


# --------------------------------------------------------------------------- M/M/c

# (servers, utilisation, handling rate per staff a working day, arrival days per
# replication, replications). Warm-up 20 working days (several relaxation times at
# these rates: 1/(mu (1 - sqrt(rho))^2) is under 4 working days even at rho = 0.9 with
# mu = 100), drain 10. The arrival rate is rho * c * mu; loads near 0.9 get the fastest
# handling so that more cases fit into the calendar. Low loads need more replications:
# most cases do not wait at all, so the mean wait is noisy relative to its size.
MMC = [
    (1, 0.3, 40.0, 100, 12),
    (1, 0.5, 40.0, 100, 10),
    (1, 0.9, 100.0, 120, 8),
    (2, 0.5, 40.0, 100, 10),
    (2, 0.9, 60.0, 120, 12),
    (3, 0.5, 40.0, 100, 12),
    (3, 0.85, 40.0, 120, 12),
    (4, 0.3, 40.0, 120, 16),
    (4, 0.6, 40.0, 80, 10),
    (4, 0.9, 40.0, 120, 12),
]


def _mmc_param(c, rho, mu, days, replications):
    # Heavy loads need many cases; M/M/1 at 0.9 (the fastest) runs by default, the
    # others with `-m slow`.
    marks = [pytest.mark.slow] if rho >= 0.85 and c > 1 else []
    return pytest.param(c, rho, mu, days, replications, id=f"M/M/{c} rho={rho}", marks=marks)


@pytest.mark.parametrize(
    ("servers", "rho", "mu", "days", "replications"), [_mmc_param(*row) for row in MMC]
)
def test_mmc_mean_wait_matches_erlang_c(tmp_path, servers, rho, mu, days, replications):
    # Poisson arrivals, exponential handling, `servers` staff, first come first served.
    # Mean wait in queue Wq from Erlang C. Tolerance: Wq inside the 99% interval across
    # replications of the per-replication mean queue time of the cases arriving after
    # the warm-up, an interval whose half-width is at most 25% of Wq (so the error is at
    # most that; it is typically a few per cent); the staff's busy share within 3% of
    # rho * days / (days + drain).
    arrival = rho * servers * mu
    theory = erlang_c_wait(servers, arrival, mu)
    path = scenario_file(
        tmp_path, one_step(f"{{type: exponential, mean: {1 / mu}}}"),
        rate=arrival, days=days, drain=10, warmup=20, staff=servers,
    )
    _, cases, steps, busy = replicate(path, replications, seed=100 + servers * 10 + int(rho * 10))
    assert (cases.status == "completed").all()
    waits = per_replication(steps, "queue_days", warmup=20)
    check(f"M/M/{servers} rho={rho} Wq", waits, theory, 0.25)
    handled = steps.handling_days.sum() / replications
    utilisation = handled / (servers * (days + 10))
    assert abs(utilisation / (rho * days / (days + 10)) - 1) < 0.03


# --------------------------------------------------------------------------- M/G/1


def test_mg1_lognormal_matches_pollaczek_khinchine(tmp_path):
    # One staff member, Poisson arrivals, lognormal handling (median m, p90 = 3m): M/G/1.
    # Pollaczek-Khinchine: Wq = lambda E[S^2] / (2 (1 - rho)), with E[S] = m exp(s^2/2),
    # E[S^2] = m^2 exp(2 s^2), s = ln(3) / z_0.9 (squared coefficient of variation ~1.09,
    # so the wait differs from M/M/1's at the same load by ~4%). rho = 0.7.
    # Tolerance: theory inside the 99% interval across 10 replications, whose half-width
    # is at most 20% of theory.
    median = 0.01
    sigma = math.log(3.0) / stats.norm.ppf(0.9)
    mean = median * math.exp(sigma**2 / 2)
    second = median**2 * math.exp(2 * sigma**2)
    rho = 0.7
    arrival = rho / mean
    theory = arrival * second / (2 * (1 - rho))
    path = scenario_file(
        tmp_path, one_step(f"{{type: lognormal, median: {median}, p90: {3 * median}}}"),
        rate=arrival, days=80, drain=10, warmup=20, staff=1,
    )
    _, cases, steps, _ = replicate(path, replications=10, seed=201)
    assert (cases.status == "completed").all()
    handling = steps.handling_days.to_numpy()
    assert abs(handling.mean() / mean - 1) < 0.02  # the step really is this lognormal
    check("M/G/1 lognormal Wq (Pollaczek-Khinchine)", per_replication(steps, "queue_days", 20),
          theory, 0.20)


# --------------------------------------------------------------------------- tandem

TANDEM = """
id: proc
name: {zh: 测试, en: Test}
target: {working_days: 1, source: "test"}
steps:
  - {id: a, name: {zh: 甲, en: A}, agency: desk, source: "test",
     handling: {type: exponential, mean: MEAN_A}}
  - {id: b, name: {zh: 乙, en: B}, agency: review, after: [a], source: "test",
     handling: {type: exponential, mean: MEAN_B}}
"""


def test_tandem_of_two_mm1_queues_matches_jackson(tmp_path):
    # Two M/M/1 queues in series (desk then review, one staff member each). By Burke's
    # theorem the desk's departures are Poisson, so (Jackson) each station is an M/M/1
    # of its own and the mean time in the system is 1/(mu1 - lambda) + 1/(mu2 - lambda).
    # mu1 = 40, mu2 = 50, lambda = 30 a working day (loads 0.75 and 0.6). Tolerance: for
    # each station's sojourn and for the case's elapsed time, theory inside the 99%
    # interval across 10 replications, whose half-width is at most 20% of theory.
    mu1, mu2, arrival = 40.0, 50.0, 30.0
    procedure = TANDEM.replace("MEAN_A", str(1 / mu1)).replace("MEAN_B", str(1 / mu2))
    path = scenario_file(tmp_path, procedure, rate=arrival, days=80, drain=10, warmup=20,
                          staff=1, review=1)
    _, cases, steps, _ = replicate(path, replications=10, seed=301)
    assert (cases.status == "completed").all()
    steps = steps.assign(sojourn=steps.end_day - steps.ready_day)
    arrivals = cases.set_index(["replication", "case_id"]).arrival_day
    steps = steps.join(arrivals.rename("arrived"), on=["replication", "case_id"])
    for step, mu in (("a", mu1), ("b", mu2)):
        rows = steps[steps.step == step]
        check(f"tandem station {step} sojourn", per_replication(rows, "sojourn", 20, "arrived"),
              1 / (mu - arrival), 0.20)
    check(
        "tandem elapsed (Jackson sum)",
        per_replication(cases, "elapsed_working_days", 20, "arrival_day"),
        1 / (mu1 - arrival) + 1 / (mu2 - arrival),
        0.20,
    )
