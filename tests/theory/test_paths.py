"""Paths through a procedure against theory: the maximum of parallel steps and the
critical path of a series-parallel procedure, with unlimited staff (no queue).

Each check states its tolerance.
"""

from __future__ import annotations

import pytest
from scipy import stats

from tests.theory.queueing import check, replicate, scenario_file

# --------------------------------------------------------------------------- parallel


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
    path = scenario_file(tmp_path, SERIES_PARALLEL, rate=30.0, days=100, drain=60,
                          warmup=0, staff="unlimited")
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
