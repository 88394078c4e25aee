"""Reforms of the service: time limits, fee and certificate waivers, online handling, fast lanes.

Exact traces with fixed durations (see `tests.unit.reforms.helpers`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim import load_scenario
from sim.reforms import resolve_variant
from tests.factories import flag, procedure, reform, step, write_scenario
from tests.unit.reforms.helpers import both, elapsed, run


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
