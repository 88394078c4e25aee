"""Exact traces with fixed durations: the engine's arithmetic, step by step."""

from __future__ import annotations

import datetime

import numpy as np
import pytest

from tests.factories import agencies, run, scenario_text

SERIAL = """
id: proc
name: {zh: 测试, en: Test}
target: {working_days: 5, source: "test"}
steps:
  - {id: a, name: {zh: 甲, en: A}, agency: desk, handling: 1, source: "test"}
  - {id: b, name: {zh: 乙, en: B}, agency: review, handling: 2, after: [a], source: "test"}
  - {id: c, name: {zh: 丙, en: C}, agency: review, handling: 3, after: [b], source: "test"}
"""

PARALLEL = """
id: proc
name: {zh: 测试, en: Test}
target: {working_days: 5, source: "test"}
steps:
  - {id: a, name: {zh: 甲, en: A}, agency: desk, handling: 1, source: "test"}
  - {id: b, name: {zh: 乙, en: B}, agency: review, handling: 2, source: "test"}
  - {id: c, name: {zh: 丙, en: C}, agency: review, handling: 3, source: "test"}
"""

JOIN = """
id: proc
name: {zh: 测试, en: Test}
target: {working_days: 5, source: "test"}
steps:
  - {id: a, name: {zh: 甲, en: A}, agency: desk, handling: 1, source: "test"}
  - {id: b, name: {zh: 乙, en: B}, agency: review, handling: 4, after: [a], source: "test"}
  - {id: c, name: {zh: 丙, en: C}, agency: review, handling: 1, waiting: 1, after: [a], source: "test"}
  - {id: d, name: {zh: 丁, en: D}, agency: desk, handling: 0.5, after: [b, c], source: "test"}
"""


def test_serial_steps_add_up(write):
    _, cases, steps = run(write(SERIAL))
    assert len(cases) > 0
    assert (cases.status == "completed").all()
    np.testing.assert_allclose(cases.elapsed_working_days, 6.0)
    assert (steps.groupby("case_id").size() == 3).all()
    first = steps[steps.case_id == cases.case_id.iloc[0]].set_index("step")
    np.testing.assert_allclose(first.loc["b", "start_day"] - first.loc["a", "end_day"], 0)


def test_parallel_steps_take_the_longest(write):
    _, cases, _ = run(write(PARALLEL))
    np.testing.assert_allclose(cases.elapsed_working_days, 3.0)


def test_join_waits_for_every_predecessor(write):
    _, cases, steps = run(write(JOIN))
    np.testing.assert_allclose(cases.elapsed_working_days, 1 + 4 + 0.5)
    d = steps[steps.step == "d"]
    b = steps[steps.step == "b"].set_index("case_id").end_day
    np.testing.assert_allclose(d.set_index("case_id").ready_day, b.loc[d.case_id].to_numpy())


def test_send_back_loop_with_fixed_response(write):
    procedure = """
    id: proc
    name: {zh: 测试, en: Test}
    target: {working_days: 5, source: "test"}
    steps:
      - id: a
        name: {zh: 甲, en: A}
        agency: desk
        handling: 1
        trips: 1
        materials:
          - {id: form, name: 申请表, kind: main, probability_defective: 1.0}
        send_back: {response: 2, max_resubmissions: 2}
        source: "test"
    """
    _, cases, steps = run(write(procedure))
    # Always defective: three submissions of 1 day and two corrections of 2, then withdrawn.
    assert (cases.status == "withdrawn").all()
    np.testing.assert_allclose(cases.elapsed_working_days, 1 + 2 + 1 + 2 + 1)
    assert (cases.trips == 3).all() and (cases.send_backs == 3).all()
    outcomes = steps[steps.case_id == cases.case_id.iloc[0]].outcome.tolist()
    assert outcomes == ["sent_back", "sent_back", "withdrawn"]
    # The correction time is off the approval clock.
    np.testing.assert_allclose(cases.approval_clock_days, 3.0)


def test_public_notice_is_off_the_approval_clock(write):
    procedure = SERIAL.replace("handling: 3,", "handling: 3, waiting: 10,")
    _, cases, _ = run(write(procedure))
    np.testing.assert_allclose(cases.elapsed_working_days, 16.0)
    np.testing.assert_allclose(cases.approval_clock_days, 6.0)


def test_friday_before_national_day_lands_after_the_holiday(write):
    # Arrivals within the first working day (2024-09-27, a Friday); 2024-09-29 (Sunday)
    # was worked, 10-01..07 were off: three working days later is Tuesday 2024-10-08.
    procedure = SERIAL.replace("handling: 2,", "handling: 1,").replace("handling: 3,", "handling: 1,")
    scenario = scenario_text(start="2024-09-27", days=0.01, rate=1000)
    _, cases, _ = run(write(procedure, scenario))
    assert len(cases) > 0
    assert (cases.arrival_date == np.datetime64("2024-09-27")).all()
    assert (cases.end_date == np.datetime64("2024-10-08")).all()
    np.testing.assert_allclose(cases.elapsed_calendar_days, 11.0)


def test_step_when_condition_skips_for_some_cases(write):
    procedure = """
    id: proc
    name: {zh: 测试, en: Test}
    target: {working_days: 5, source: "test"}
    attributes:
      - {id: big, kind: boolean, probability: 0.5, source: "test"}
    steps:
      - {id: a, name: {zh: 甲, en: A}, agency: desk, handling: 1, source: "test"}
      - {id: b, name: {zh: 乙, en: B}, agency: review, handling: 2, after: [a], when: "big", source: "test"}
    """
    _, cases, _ = run(write(procedure, scenario_text(rate=20)))
    big = cases.attributes.str.contains('"big": true')
    assert big.any() and (~big).any()
    np.testing.assert_allclose(cases[big].elapsed_working_days, 3.0)
    np.testing.assert_allclose(cases[~big].elapsed_working_days, 1.0)


def test_single_staff_queue_is_first_come_first_served(write):
    procedure = PARALLEL.replace("handling: 1,", "handling: 0.5,")
    one_at_the_desk = agencies(desk=1)
    _, cases, steps = run(write(procedure, scenario_text(agencies=one_at_the_desk, rate=4, days=3)))
    desk = steps[steps.step == "a"].sort_values("start_day")
    starts = desk.start_day.to_numpy()
    ends = desk.handled_day.to_numpy()
    assert (starts[1:] >= ends[:-1] - 1e-9).all()
    assert desk.ready_day.is_monotonic_increasing


@pytest.mark.parametrize("seed", [1, 2])
def test_every_case_is_accounted_for(write, seed):
    procedure = """
    id: proc
    name: {zh: 测试, en: Test}
    target: {working_days: 5, source: "test"}
    steps:
      - id: a
        name: {zh: 甲, en: A}
        agency: desk
        handling: {type: exponential, mean: 0.3}
        materials: [{id: f, name: 表, kind: main, probability_defective: 0.4}]
        send_back: {response: {type: exponential, mean: 2}, max_resubmissions: 1}
        source: "test"
    """
    scenario = scenario_text(agencies=agencies(desk=1, review=None), rate=3, days=20, drain=1)
    _, cases, _ = run(write(procedure, scenario), seed=seed)
    counts = cases.status.value_counts()
    assert set(counts.index) <= {"completed", "withdrawn", "open"}
    assert counts.get("open", 0) > 0 and counts.get("withdrawn", 0) > 0
    assert cases.case_id.is_unique


def test_dates_are_working_days(write):
    _, cases, steps = run(write(SERIAL))
    import chinese_calendar

    for value in steps.end_date.dropna().unique():
        day = datetime.date.fromisoformat(str(value)[:10])
        assert chinese_calendar.is_workday(day)
