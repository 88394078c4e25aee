"""The Doing Business method: fixed step times, the critical path and its three rules."""

from __future__ import annotations

import datetime

import numpy as np
import pytest

from sim import load_procedure, load_scenario
from sim.domain.model import Model
from sim.engines.deterministic import schedule as critical_path
from sim.engines.deterministic import simulate
from sim.output.console import format_schedule as format_critical_path
from tests.factories import PROCEDURE_HEAD as HEAD
from tests.factories import scenario_text, write_case, write_procedure
from tests.factories import step_line as step


def procedure(tmp_path, steps: str):
    return load_procedure(write_procedure(tmp_path, HEAD + steps))


def path_of(result):
    return [(item.step, item.start_day, item.end_day, item.days) for item in result.path]


def test_serial_steps_add_up_with_typical_times_and_the_one_day_minimum(tmp_path):
    proc = procedure(
        tmp_path,
        step("a", 0.2)
        + step("b", 2, ["a"], ", waiting: 1.5")
        + step("c", "{type: triangular, min: 1, mode: 3, max: 9}", ["b"])
        + step("d", "{type: lognormal, median: 2, p90: 6}", ["c"]),
    )
    result = critical_path(proc)
    # a: 0.2 -> 1 day; b: 2 + 1.5 waiting; c: the mode; d: the median.
    assert path_of(result) == [
        ("a", 0.0, 1.0, 1.0),
        ("b", 1.0, 4.5, 3.5),
        ("c", 4.5, 7.5, 3.0),
        ("d", 7.5, 9.5, 2.0),
    ]
    assert result.total_working_days == pytest.approx(9.5)
    # Without the minimum, b could start on day 0.2, the day a started: it waits a day.
    assert critical_path(proc, minimum_one_day=False).total_working_days == pytest.approx(9.5)
    free = critical_path(proc, minimum_one_day=False, consecutive_starts=False)
    assert free.total_working_days == pytest.approx(8.7)


def test_parallel_steps_take_the_longest_branch_and_start_on_consecutive_days(tmp_path):
    proc = procedure(
        tmp_path,
        step("a", 1) + step("b", 2, ["a"]) + step("c", 3, ["a"]) + step("d", 1, ["b", "c"]),
    )
    result = critical_path(proc)
    # b starts on day 1; c could too, but starts the next day, so it ends on day 5.
    assert path_of(result) == [
        ("a", 0.0, 1.0, 1.0),
        ("c", 2.0, 5.0, 3.0),
        ("d", 5.0, 6.0, 1.0),
    ]
    together = critical_path(proc, consecutive_starts=False)
    assert path_of(together) == [("a", 0.0, 1.0, 1.0), ("c", 1.0, 4.0, 3.0), ("d", 4.0, 5.0, 1.0)]
    # With the longer branch first in the file, it keeps the first day.
    swapped = procedure(
        tmp_path,
        step("a", 1) + step("c", 3, ["a"]) + step("b", 2, ["a"]) + step("d", 1, ["b", "c"]),
    )
    assert critical_path(swapped).total_working_days == pytest.approx(5.0)


def test_a_step_done_online_takes_half_a_day_and_may_share_its_start(tmp_path):
    proc = procedure(
        tmp_path,
        step("a", 0.1, extra=", online: true")
        + step("b", 0.1, ["a"], ", online: true")
        + step("c", 0.3, ["a"]),
    )
    result = critical_path(proc)
    # a: half a day; b (online) and c start together at 0.5, c taking its one day.
    assert path_of(result) == [("a", 0.0, 0.5, 0.5), ("c", 0.5, 1.5, 1.0)]
    assert [item.start_day for item in result.steps] == [0.0, 0.5, 0.5]
    # A whole day each; c still starts with b, which is done online.
    assert critical_path(proc, online_half_day=False).total_working_days == pytest.approx(2.0)
    no_minimum = critical_path(proc, online_half_day=False, minimum_one_day=False)
    assert no_minimum.total_working_days == pytest.approx(0.4)


def test_a_declared_fixed_time_replaces_the_distribution(tmp_path):
    proc = procedure(
        tmp_path,
        step("a", "{type: exponential, mean: 4}", extra=", fixed_days: 2.5") + step("b", 3, ["a"]),
    )
    assert path_of(critical_path(proc)) == [("a", 0.0, 2.5, 2.5), ("b", 2.5, 5.5, 3.0)]


def test_steps_with_conditions_are_included_unless_asked(tmp_path):
    proc = procedure(
        tmp_path, step("a", 1) + step("b", 4, ["a"], ', when: "big"') + step("c", 1, ["b"])
    )
    included = critical_path(proc)
    assert included.total_working_days == pytest.approx(6.0)
    assert included.conditional == ("b",)
    dropped = critical_path(proc, include_conditional=False)
    assert path_of(dropped) == [("a", 0.0, 1.0, 1.0), ("c", 1.0, 2.0, 1.0)]
    assert "b" in format_critical_path(included, "en")


def test_calendar_days_across_the_national_day_holiday(tmp_path):
    # From Friday 2024-09-27: 9-29 (Sunday) and 9-30 were worked, 10-01..07 were off.
    proc = procedure(tmp_path, step("a", 1) + step("b", 2, ["a"]))
    path = write_case(tmp_path, HEAD + step("a", 1), scenario_text(start="2024-09-27", days=5))
    calendar = load_scenario(path).calendar
    result = critical_path(proc, calendar=calendar, start=datetime.date(2024, 9, 27))
    assert result.total_working_days == pytest.approx(3.0)
    assert result.end_date == datetime.date(2024, 10, 8)
    assert result.calendar_days == pytest.approx(11.0)
    # Starting on a holiday: the days until the first working day count too.
    later = critical_path(proc, calendar=calendar, start=datetime.date(2024, 10, 3))
    assert later.end_date == datetime.date(2024, 10, 11)
    assert later.calendar_days == pytest.approx(8.0)


def test_simulate_gives_one_representative_case_per_procedure(write):
    text = HEAD + step("a", 1) + step("b", 2, ["a"], ", waiting: 1, waiting_on_clock: false")
    path = write(text.replace("agency: desk", "agency: desk"), scenario_text())
    scenario = load_scenario(path)
    records = simulate(Model.baseline(scenario), np.random.SeedSequence(0))
    cases, steps = records.frames(scenario.calendar)
    assert len(cases) == 1
    row = cases.iloc[0]
    assert row.status == "completed"
    assert row.elapsed_working_days == pytest.approx(4.0)
    assert row.approval_clock_days == pytest.approx(3.0)
    assert list(steps.step) == ["a", "b"]
    assert row.steps == 2
