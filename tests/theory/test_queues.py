"""More checks of the engine against theory: M/M/c over ten parameter sets, M/G/1 with a
lognormal step (Pollaczek-Khinchine), a tandem of two M/M/1 queues (Jackson), the
critical path of a series-parallel procedure, and capped geometric rework.

These extend tests/test_theory.py (M/M/1, M/M/2, M/M/3 at one load each, the maximum of
parallel exponentials, uncapped geometric send-backs) and use its helpers and its time
scaling: handling rates of tens to hundreds a working day keep many thousands of cases
inside the calendar data (2015-2026) without changing any queueing formula.

Each check states its tolerance. Means over replications (each replication its own
random numbers, i.e. many seeds) are compared through a 99% t interval across
replications: theory must lie inside it, and the relative error must stay under a stated
bound so that the check has teeth. Every check prints its estimate, the theory and the
relative error (``pytest -s`` shows them).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from tests.test_theory import erlang_c_wait, replicate, scenario_file

# --------------------------------------------------------------------------- helpers


def write_scenario(folder, procedure: str, rate: float, days: float, drain: float,
                   warmup: float, desk: str | int, review: str | int = "unlimited"):
    return scenario_file(folder, procedure, rate, days, drain, warmup, staff=desk, review=review)


def one_step(handling: str, agency: str = "desk") -> str:
    return f"""
    id: proc
    name: {{zh: 测试, en: Test}}
    target: {{working_days: 1, source: "test"}}
    steps:
      - {{id: a, name: {{zh: 甲, en: A}}, agency: {agency}, handling: {handling}, source: "test"}}
    """


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
    path = write_scenario(
        tmp_path, one_step(f"{{type: exponential, mean: {1 / mu}}}"),
        rate=arrival, days=days, drain=10, warmup=20, desk=servers,
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
    path = write_scenario(
        tmp_path, one_step(f"{{type: lognormal, median: {median}, p90: {3 * median}}}"),
        rate=arrival, days=80, drain=10, warmup=20, desk=1,
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
    path = write_scenario(tmp_path, procedure, rate=arrival, days=80, drain=10, warmup=20,
                          desk=1, review=1)
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


# --------------------------------------------------------------------------- critical path

SERIES_PARALLEL = """
id: proc
name: {zh: 测试, en: Test}
target: {working_days: 5, source: "test"}
steps:
  - {id: a, name: {zh: 甲, en: A}, agency: review, source: "test",
     handling: {type: uniform, min: 0, max: 1}}
  - {id: b, name: {zh: 乙, en: B}, agency: review, after: [a], source: "test",
     handling: {type: exponential, mean: 1}}
  - {id: c, name: {zh: 丙, en: C}, agency: review, after: [a], source: "test",
     handling: {type: exponential, mean: 2}}
  - {id: d, name: {zh: 丁, en: D}, agency: review, after: [b, c], source: "test",
     handling: {type: triangular, min: 0, mode: 1, max: 2}}
"""


def test_series_parallel_critical_path_is_the_sum_of_its_parts(tmp_path):
    # a, then b and c side by side, then d; unlimited staff, so no queue. The elapsed time
    # is a + max(b, c) + d: mean 0.5 + (1 + 2 - 1/(1 + 1/2)) + 1 = 23/6, and (independent
    # parts) variance 1/12 + Var(max) + 1/6 with Var(max) = E[max^2] - E[max]^2,
    # E[max^2] = 2*1 + 2*4 - 2/(1.5^2). Tolerance: the mean within 3 standard errors over
    # ~3,000 cases in each of 5 replications (as one sample) and the variance within 8%.
    mean_max = 1 + 2 - 1 / 1.5
    var_max = (2 + 8 - 2 / 1.5**2) - mean_max**2
    theory_mean = 0.5 + mean_max + 1
    theory_var = 1 / 12 + var_max + 1 / 6
    path = write_scenario(tmp_path, SERIES_PARALLEL, rate=30.0, days=100, drain=60,
                          warmup=0, desk="unlimited")
    _, cases, _, _ = replicate(path, replications=5, seed=401, keep_steps=False)
    assert (cases.status == "completed").all()
    elapsed = cases.elapsed_working_days.to_numpy()
    error = (elapsed.mean() - theory_mean) / theory_mean
    print(f"\n[theory] series-parallel critical path mean: estimate {elapsed.mean():.5g}, "
          f"theory {theory_mean:.5g}, error {100 * error:+.2f}% ({len(elapsed)} cases)")
    assert abs(elapsed.mean() - theory_mean) <= 3 * stats.sem(elapsed)
    variance_error = elapsed.var(ddof=1) / theory_var - 1
    print(f"[theory] series-parallel critical path variance: estimate {elapsed.var(ddof=1):.5g}, "
          f"theory {theory_var:.5g}, error {100 * variance_error:+.2f}%")
    assert abs(variance_error) < 0.08
    per_case = cases.groupby("replication").elapsed_working_days.mean().to_numpy()
    check("series-parallel mean over replications", per_case, theory_mean, 0.03)


# --------------------------------------------------------------------------- capped rework


def test_capped_send_backs_follow_the_truncated_geometric(tmp_path):
    # A main material defective with probability p on every submission and at most k
    # resubmissions: a case is sent back j times and then accepted with probability
    # p^j (1 - p) for j = 0..k, and withdrawn after k + 1 defective submissions with
    # probability p^(k+1). p = 0.5, k = 2: 1/2, 1/4, 1/8 accepted after 0, 1, 2
    # send-backs and 1/8 withdrawn. Tolerance: a chi-square goodness-of-fit test over the
    # four outcomes does not reject at the 0.1% level (~4,000 cases), and the withdrawn
    # share is within 15% of 1/8.
    p, cap = 0.5, 2
    procedure = f"""
    id: proc
    name: {{zh: 测试, en: Test}}
    target: {{working_days: 5, source: "test"}}
    steps:
      - id: a
        name: {{zh: 甲, en: A}}
        agency: review
        handling: 0.1
        materials: [{{id: form, name: 申请表, kind: main, probability_defective: {p}}}]
        send_back: {{response: 0.5, max_resubmissions: {cap}}}
        source: "test"
    """
    path = write_scenario(tmp_path, procedure, rate=40.0, days=100, drain=20, warmup=0,
                          desk="unlimited")
    _, cases, _, _ = replicate(path, replications=1, seed=501, keep_steps=False)
    assert set(cases.status) == {"completed", "withdrawn"}
    completed = cases[cases.status == "completed"]
    observed = [int((completed.send_backs == j).sum()) for j in range(cap + 1)]
    observed.append(int((cases.status == "withdrawn").sum()))
    expected_shares = [p**j * (1 - p) for j in range(cap + 1)] + [p ** (cap + 1)]
    expected = np.array(expected_shares) * len(cases)
    _, p_value = stats.chisquare(observed, expected)
    withdrawn = observed[-1] / len(cases)
    error = withdrawn / p ** (cap + 1) - 1
    print(f"\n[theory] capped geometric rework: outcomes {observed}, expected "
          f"{np.round(expected).astype(int).tolist()}, chi-square p = {p_value:.3f}; "
          f"withdrawn share error {100 * error:+.2f}%")
    assert p_value > 0.001
    assert abs(error) < 0.15
