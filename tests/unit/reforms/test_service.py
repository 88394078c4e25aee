"""Reforms of the service: time limits, fee and certificate waivers, online handling, fast lanes.

Exact traces with fixed durations (see `tests.unit.reforms.helpers`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim import load_scenario
from sim.engines.deterministic import step_days
from sim.reforms import resolve_variant
from tests.factories import flag, procedure, reform, step, write_scenario
from tests.unit.reforms.helpers import both, elapsed, rounded, run


def test_time_limit_scale_and_cap(tmp_path):
    two = procedure("p", [step("a", 4), step("b", 1, ["a"])])
    path = write_scenario(tmp_path, [two], [reform("time_limit", procedure="p", steps="all", scale=0.5)])
    assert elapsed(run(path)[0]) == {2.5}
    path = write_scenario(tmp_path, [two], [reform("time_limit", procedure="p", steps=["a"], cap=2)])
    assert elapsed(run(path)[0]) == {3.0}


def test_time_limit_keeps_the_random_numbers(tmp_path):
    spread = {"type": "triangular", "min": 1, "mode": 2, "max": 6}
    path = write_scenario(
        tmp_path,
        [procedure("p", [step("a", spread)])],
        [reform("time_limit", procedure="p", steps=["a"], scale=0.5)],
    )
    (base, _), (cases, _) = both(path)
    ratio = (
        cases.set_index("case_id")["elapsed_working_days"]
        / base.set_index("case_id")["elapsed_working_days"]
    )
    assert np.allclose(ratio, 0.5)  # the same case draws the same uniform in both variants


def test_time_limit_cuts_on_clock_waiting_but_not_public_notice(tmp_path):
    signoff = step("a", 1, waiting=4, waiting_on_clock=True)
    notice = step("b", 1, ["a"], waiting=10)
    two = procedure("p", [signoff, notice])
    path = write_scenario(tmp_path, [two], [reform("time_limit", procedure="p", steps="all", scale=0.5)])
    (base, _), (cases, _) = both(path)
    assert elapsed(base) == {16.0}
    assert elapsed(cases) == {0.5 + 2 + 0.5 + 10}
    kept = reform("time_limit", procedure="p", steps="all", scale=0.5, waiting_on_clock=False)
    path = write_scenario(tmp_path, [two], [kept])
    assert elapsed(run(path)[0]) == {0.5 + 4 + 0.5 + 10}


def test_fee_and_certificate_waivers(tmp_path):
    paid = procedure("p", [step("a", 1, fees_cny=300, certificates=2), step("b", 1, ["a"])])
    waivers = [
        reform("fee_waiver", procedure="p", steps="all"),
        reform("certificate_waiver", procedure="p", steps=["a"]),
    ]
    path = write_scenario(tmp_path, [paid], waivers)
    (base, _), (cases, _) = both(path)
    assert set(base["fees_cny"]) == {300.0} and set(base["certificates"]) == {2}
    assert set(cases["fees_cny"]) == {0.0} and set(cases["certificates"]) == {0}
    assert cases["reforms_fired"].str.contains("fee_waiver#1").all()


def test_online_sets_trips_and_scales_handling(tmp_path):
    one = procedure("p", [step("a", 2, trips=2), step("b", 2, ["a"], trips=1)])
    online = reform("online", procedure="p", steps="all", handling_scale=0.5)
    path = write_scenario(tmp_path, [one], [online])
    (base, _), (cases, _) = both(path)
    assert set(base["trips"]) == {3.0} and set(cases["trips"]) == {0.0}
    assert elapsed(cases) == {2.0}
    assert all(s.online for s in resolve_variant(load_scenario(path), "v").demands[0].version().steps)


def test_fast_lane_cases_go_first(tmp_path):
    queue = procedure("p", [step("a", 0.5)], attributes=[flag("urgent", 0.3)])
    fast = reform("fast_lane", procedure="p", when="urgent")
    path = write_scenario(tmp_path, [queue], [fast], staff={"office": 1}, arrivals=3.0)
    (_, base), (cases, steps) = both(path)
    urgent = set(cases.loc[cases["attributes"].str.contains('"urgent": true'), "case_id"])

    def overtaken(frame: pd.DataFrame) -> int:
        first = frame[frame["case_id"].isin(urgent)]
        later = frame[~frame["case_id"].isin(urgent)]
        # A normal case that started while an urgent one was already waiting.
        return sum(
            ((first["ready_day"] < row.start_day) & (first["start_day"] > row.start_day)).sum()
            for row in later.itertuples()
            if row.start_day > row.ready_day
        )

    assert overtaken(steps) == 0
    assert overtaken(base) > 0  # first come, first served in the baseline
    normal = ~steps["case_id"].isin(urgent)
    assert steps.loc[~normal, "queue_days"].mean() < steps.loc[normal, "queue_days"].mean()


def test_a_time_limit_cap_limits_the_steps_time_on_the_clock_once(tmp_path):
    # Handling 0.4, then a sign-off of 1.5 on the approval clock; a cap of 1 day limits
    # the two together: 0.4 + 0.6 (each part capped alone, it was 0.4 + 1 = 1.4).
    signoff = procedure("p", [step("a", 0.4, waiting=1.5, waiting_on_clock=True)])
    capped = reform("time_limit", procedure="p", steps=["a"], cap=1)
    path = write_scenario(tmp_path, [signoff], [capped])
    cases, steps = run(path)
    assert elapsed(cases) == {1.0}
    assert rounded(steps["waiting_days"]) == {0.6}
    assert rounded(cases["approval_clock_days"]) == {1.0}
    # Handling 1.5 is cut to the cap, which leaves nothing of the sign-off.
    slow = procedure("p", [step("a", 1.5, waiting=1.5, waiting_on_clock=True)])
    path = write_scenario(tmp_path, [slow], [capped])
    assert elapsed(run(path)[0]) == {1.0}
    # Waiting off the clock (public notice) is not limited; nor, if asked, the sign-off.
    notice = procedure("p", [step("a", 0.4, waiting=1.5)])
    path = write_scenario(tmp_path, [notice], [capped])
    assert elapsed(run(path)[0]) == {1.9}
    kept = reform("time_limit", procedure="p", steps=["a"], cap=1, waiting_on_clock=False)
    path = write_scenario(tmp_path, [signoff], [kept])
    assert elapsed(run(path)[0]) == {1.9}


def test_a_time_limit_cap_counts_the_queue_on_the_clock(tmp_path):
    # One officer, cases arriving together: a case that queued has less of its cap left
    # for the sign-off; once its queue and handling reach the cap it has none.
    signoff = procedure("p", [step("a", 0.25, waiting=2, waiting_on_clock=True)])
    capped = reform("time_limit", procedure="p", steps=["a"], cap=1)
    path = write_scenario(tmp_path, [signoff], [capped], staff={"office": 1}, arrivals=8.0)
    cases, steps = run(path)
    on_clock = steps["end_day"] - steps["ready_day"]
    expected = np.maximum(1.0, steps["queue_days"] + 0.25)
    np.testing.assert_allclose(on_clock, expected, atol=1e-9)
    assert (steps["queue_days"] > 0.75).any() and (steps["queue_days"] < 0.75).any()


def test_reforms_of_a_steps_time_change_its_fixed_time(tmp_path):
    # The deterministic method's declared time follows the step's typical time.
    timed = procedure(
        "p",
        [
            step("a", 2, waiting=2, waiting_on_clock=True, fixed_days=8),
            step("b", 2, ["a"], waiting=2, fixed_days=8),
            step("c", 1, ["b"], waiting=3, waiting_on_clock=True, fixed_days=4),
        ],
    )
    reforms = [
        reform("time_limit", procedure="p", steps=["a"], scale=0.5),  # 2 + 2 -> 1 + 1
        reform("online", procedure="p", steps=["b"], handling_scale=0.5),  # 2 + 2 -> 1 + 2
        reform("time_limit", procedure="p", steps=["c"], cap=1),
    ]
    version = resolve_variant(load_scenario(write_scenario(tmp_path, [timed], reforms)), "v")
    steps = version.demands[0].version().step_index
    assert steps["a"].fixed_days == 4.0 and steps["b"].fixed_days == 6.0
    # A cap leaves the declared time, and limits it as it limits a case: 4 split as
    # the typical 1 + 3 is 1 of handling, then nothing of the sign-off.
    assert steps["c"].fixed_days == 4 and steps["c"].time_limit.days == 1
    assert step_days(steps["c"], minimum_one_day=False) == (1.0, 1.0)
