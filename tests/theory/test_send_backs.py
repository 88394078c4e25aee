"""Send-backs against theory: geometric rework, and truncated geometric with a cap.

Each check states its tolerance.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from tests.theory.queueing import replicate, scenario_file


def one_form(p: float, resubmissions: int, agency: str) -> str:
    """One step of 0.1 days whose form is defective with probability ``p`` every time;
    a correction takes 0.5 days."""
    return f"""
    id: proc
    name: {{zh: 测试, en: Test}}
    target: {{working_days: 5, source: "test"}}
    steps:
      - id: a
        name: {{zh: 甲, en: A}}
        agency: {agency}
        handling: 0.1
        materials: [{{id: form, name: 申请表, kind: main, probability_defective: {p}}}]
        send_back: {{response: 0.5, max_resubmissions: {resubmissions}}}
        source: "test"
    """


# --------------------------------------------------------------------------- uncapped


def test_send_backs_are_geometric(tmp_path):
    # A main material defective with probability p on every submission, independently;
    # with a cap of 20 resubmissions (withdrawal has probability p^21, negligible) the
    # number of send-backs is geometric: mean p / (1 - p), P(none) = 1 - p.
    # Tolerance: both within 3 standard errors over ~4,000 cases.
    p = 0.3
    procedure = one_form(p, resubmissions=20, agency="desk")
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
    procedure = one_form(p, resubmissions=cap, agency="review")
    path = scenario_file(
        tmp_path, procedure, rate=40.0, days=100, drain=20, warmup=0, staff="unlimited"
    )
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
    print(
        f"\n[theory] capped geometric rework: outcomes {observed}, expected "
        f"{np.round(expected).astype(int).tolist()}, chi-square p = {p_value:.3f}; "
        f"withdrawn share error {100 * error:+.2f}%"
    )
    assert p_value > 0.001
    assert abs(error) < 0.15


# --------------------------------------------------------------------------- one notice, every defect


def two_forms(resubmissions: int) -> str:
    """One step checking two main materials, each with its own chance of being wrong
    again after a send-back listed it."""
    return f"""
    id: proc
    name: {{zh: 测试, en: Test}}
    target: {{working_days: 5, source: "test"}}
    steps:
      - id: a
        name: {{zh: 甲, en: A}}
        agency: review
        handling: 0.1
        materials:
          - {{id: plan, name: 图纸, kind: main, probability_defective: 0.4,
              probability_still_defective: 0.5}}
          - {{id: form, name: 申请表, kind: main, probability_defective: 0.3,
              probability_still_defective: 0.2}}
        send_back: {{response: 0.5, max_resubmissions: {resubmissions}}}
        source: "test"
    """


def test_a_resubmission_is_checked_for_the_listed_defects_only(tmp_path):
    # A send-back lists every defect (一次性告知); the resubmission is checked for those
    # only, each still wrong with its own chance q. A material first wrong with chance
    # p is wrong in every one of rounds 0..r with chance p q^r, so the file is sent back
    # in round r with chance S(r) = 1 - (1 - 0.4 * 0.5^r)(1 - 0.3 * 0.2^r): accepted
    # after j send-backs with S(j-1) - S(j), withdrawn after the cap k = 2 with S(2) =
    # 0.1108 (redrawing both every round would give 0.58^3 = 0.195). Tolerance: a
    # chi-square test over the four outcomes does not reject at the 0.1% level (~4,000
    # cases), and the withdrawn share is within 15% of S(2).
    cap = 2

    def sent_back(round_: int) -> float:
        return 1 - (1 - 0.4 * 0.5**round_) * (1 - 0.3 * 0.2**round_) if round_ >= 0 else 1.0

    path = scenario_file(tmp_path, two_forms(cap), rate=40.0, days=100, drain=20)
    _, cases, _, _ = replicate(path, replications=1, seed=77, keep_steps=False)
    completed = cases[cases.status == "completed"]
    observed = [int((completed.send_backs == j).sum()) for j in range(cap + 1)]
    observed.append(int((cases.status == "withdrawn").sum()))
    shares = [sent_back(j - 1) - sent_back(j) for j in range(cap + 1)] + [sent_back(cap)]
    expected = np.array(shares) * len(cases)
    _, p_value = stats.chisquare(observed, expected)
    error = observed[-1] / len(cases) / sent_back(cap) - 1
    print(
        f"\n[theory] listed defects rechecked: outcomes {observed}, expected "
        f"{np.round(expected).astype(int).tolist()}, chi-square p = {p_value:.3f}; "
        f"withdrawn share error {100 * error:+.2f}%"
    )
    assert p_value > 0.001
    assert abs(error) < 0.15
