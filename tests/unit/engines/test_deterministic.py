"""The fixed-time methods: cn (committed working days) and db (Doing Business), their rules."""

from __future__ import annotations

import datetime

import numpy as np
import pytest

from sim import load_procedure, load_scenario
from sim.domain.calendar import WorkingCalendar
from sim.domain.model import Model
from sim.engines.deterministic import schedule as critical_path
from sim.engines.deterministic import simulate
from sim.output.console import format_schedule as format_critical_path
from tests.factories import PROCEDURE_HEAD as HEAD
from tests.factories import scenario_text, write_case, write_procedure
from tests.factories import step_line as step


def procedure(tmp_path, steps: str):
    return load_procedure(write_procedure(tmp_path, HEAD + steps))


def db(proc, **options):
    """The Doing Business rules, without a calendar: days counted as working days."""
    return critical_path(proc, method="db", **options)


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
    result = db(proc)
    # a: 0.2 -> 1 day; b: 2 + 1.5 waiting; c: the mode; d: the median.
    assert path_of(result) == [
        ("a", 0.0, 1.0, 1.0),
        ("b", 1.0, 4.5, 3.5),
        ("c", 4.5, 7.5, 3.0),
        ("d", 7.5, 9.5, 2.0),
    ]
    assert result.total_working_days == pytest.approx(9.5)
    # Without the minimum, b could start on day 0.2, the day a started: it waits a day.
    assert db(proc, minimum_one_day=False).total_working_days == pytest.approx(9.5)
    free = db(proc, minimum_one_day=False, consecutive_starts=False)
    assert free.total_working_days == pytest.approx(8.7)


def test_parallel_steps_take_the_longest_branch_and_start_on_consecutive_days(tmp_path):
    proc = procedure(
        tmp_path,
        step("a", 1) + step("b", 2, ["a"]) + step("c", 3, ["a"]) + step("d", 1, ["b", "c"]),
    )
    result = db(proc)
    # b starts on day 1; c could too, but starts the next day, so it ends on day 5.
    assert path_of(result) == [
        ("a", 0.0, 1.0, 1.0),
        ("c", 2.0, 5.0, 3.0),
        ("d", 5.0, 6.0, 1.0),
    ]
    together = db(proc, consecutive_starts=False)
    assert path_of(together) == [("a", 0.0, 1.0, 1.0), ("c", 1.0, 4.0, 3.0), ("d", 4.0, 5.0, 1.0)]
    # With the longer branch first in the file, it keeps the first day.
    swapped = procedure(
        tmp_path,
        step("a", 1) + step("c", 3, ["a"]) + step("b", 2, ["a"]) + step("d", 1, ["b", "c"]),
    )
    assert db(swapped).total_working_days == pytest.approx(5.0)


def test_a_step_done_online_takes_half_a_day_and_may_share_its_start(tmp_path):
    proc = procedure(
        tmp_path,
        step("a", 0.1, extra=", online: true")
        + step("b", 0.1, ["a"], ", online: true")
        + step("c", 0.3, ["a"]),
    )
    result = db(proc)
    # a: half a day; b (online) and c start together at 0.5, c taking its one day.
    assert path_of(result) == [("a", 0.0, 0.5, 0.5), ("c", 0.5, 1.5, 1.0)]
    assert [item.start_day for item in result.steps] == [0.0, 0.5, 0.5]
    # A whole day each; c still starts with b, which is done online.
    assert db(proc, online_half_day=False).total_working_days == pytest.approx(2.0)
    no_minimum = db(proc, online_half_day=False, minimum_one_day=False)
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
    # Friday 09-27, Sunday 09-29 and Monday 09-30: it ends on Monday evening, 4 calendar
    # days (the holiday after the end does not count; it used to: 10-08, 11 days).
    assert result.end_date == datetime.date(2024, 9, 30)
    assert result.calendar_days == pytest.approx(4.0)
    # Starting on a holiday: the days until the first working day count too (10-03 to
    # the evening of 10-10).
    later = critical_path(proc, calendar=calendar, start=datetime.date(2024, 10, 3))
    assert later.end_date == datetime.date(2024, 10, 10)
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


# --------------------------------------------------------------------------- the two methods

MONDAY = datetime.date(2025, 3, 3)
CALENDAR = WorkingCalendar.build(MONDAY, datetime.date(2025, 12, 31))


def test_cn_counts_committed_working_days_on_the_longest_path(tmp_path):
    # 承诺时限: a (1 day), then b (half a day, online) and c (no time) side by side, both
    # starting as a ends, then d (2 days): 1 + 0.5 + 2 = 3.5 working days, no minimum.
    proc = procedure(
        tmp_path,
        step("a", 1)
        + step("b", 0.5, ["a"], ", online: true")
        + step("c", 0, ["a"])
        + step("d", 2, ["b", "c"]),
    )
    result = critical_path(proc, CALENDAR, MONDAY)  # a target in working days: cn
    assert result.rules.method == "cn" and result.rules.unit == "working_days"
    assert [(i.step.id, i.start_day, i.end_day) for i in result.steps] == [
        ("a", 0.0, 1.0),
        ("b", 1.0, 1.5),
        ("c", 1.0, 1.0),
        ("d", 1.5, 3.5),
    ]
    assert path_of(result) == [("a", 0.0, 1.0, 1.0), ("b", 1.0, 1.5, 0.5), ("d", 1.5, 3.5, 2.0)]
    assert result.total_days == result.total_working_days == 3.5
    assert result.calendar_days == 3.5 and result.end_date == datetime.date(2025, 3, 6)
    # Any rule may be asked for: at least a day a step makes it 1 + 1 + 2.
    assert critical_path(proc, CALENDAR, MONDAY, minimum_one_day=True).total_days == 4.0


def test_db_counts_calendar_days_on_the_calendar(tmp_path):
    # From Monday 2025-03-03: a (3 working days) ends Wednesday; b (2) Friday; c (1) can
    # start on Saturday but the offices open on Monday 03-10: it ends that evening,
    # 8 calendar days from the start. b2, side by side with b, starts a day later
    # (consecutive starts); e is online (no day of its own, but it too waits for Monday:
    # ends at 7.1); f is no procedure (no time, not counted).
    proc = procedure(
        tmp_path,
        step("a", 3)
        + step("b", 2, ["a"])
        + step("b2", 1, ["a"])
        + step("c", 1, ["b", "b2"])
        + step("e", 0.1, ["b", "b2"], ", online: true")
        + step("f", 4, ["c", "e"], ", not_a_procedure: true"),
    )
    result = critical_path(proc, CALENDAR, MONDAY, method="db")
    assert [(i.step.id, i.start_day, i.end_day) for i in result.steps] == [
        ("a", 0.0, 3.0),
        ("b", 3.0, 5.0),
        ("b2", 4.0, 5.0),
        ("c", 5.0, 8.0),
        ("e", 5.0, 7.1),
        ("f", 8.0, 8.0),
    ]
    assert result.total_days == result.calendar_days == 8.0
    assert result.total_working_days == 6.0 and result.end_date == datetime.date(2025, 3, 10)
    cn = critical_path(proc, CALENDAR, MONDAY, method="cn")
    assert cn.total_working_days == 10.0  # 3 + 2 + 1 + 4: f counts as a step here


def test_db_editions_and_indicators(tmp_path):
    # The half-day rule came with the 2015 edition, and never held for getting electricity.
    proc = procedure(tmp_path, step("a", 0.1, extra=", online: true"))
    assert critical_path(proc, CALENDAR, MONDAY, method="db").total_days == 0.5
    assert critical_path(proc, CALENDAR, MONDAY, method="db", edition=2014).total_days == 1.0
    electricity = critical_path(proc, CALENDAR, MONDAY, method="db", indicator="getting_electricity")
    assert electricity.total_days == 1.0
    assert critical_path(proc, CALENDAR, MONDAY, method="db", online_half_day=False).total_days == 1.0


def test_fixed_times_in_calendar_days_and_the_default_method(tmp_path):
    # A fixed time of 7 calendar days: 7 under db; under cn, the working days it spans
    # from Monday (5, through Friday: the weekend after its end does not count). A target
    # in calendar days makes db the default.
    text = HEAD + step("a", 1, extra=", fixed_days: {calendar_days: 7}")
    proc = load_procedure(write_procedure(tmp_path, text))
    assert proc.step("a").fixed_days == 7 and proc.step("a").fixed_unit == "calendar_days"
    assert critical_path(proc, CALENDAR, MONDAY, method="db").total_days == 7.0
    cn = critical_path(proc, CALENDAR, MONDAY, method="cn")
    assert cn.total_working_days == 5.0 and cn.calendar_days == 5.0
    in_calendar_days = text.replace("target: {working_days: 5", "target: {calendar_days: 30")
    proc = load_procedure(write_procedure(tmp_path, in_calendar_days))
    assert proc.target_unit == "calendar_days"
    assert critical_path(proc, CALENDAR, MONDAY).rules.method == "db"


def test_the_scenario_says_how_to_count(write):
    text = HEAD + step("a", 0.25) + step("b", 0.25, ["a"])
    path = write(text, scenario_text(extra="counting: {method: db, edition: 2014}\n"))
    scenario = load_scenario(path)
    assert scenario.counting.method == "db" and scenario.counting.edition == 2014
    records = simulate(Model.baseline(scenario), np.random.SeedSequence(0))
    cases, _ = records.frames(scenario.calendar)
    # Two steps of a day each at least, from Monday 03-03: 2 calendar days.
    assert cases.elapsed_calendar_days.tolist() == [2.0]
    path = write(text, scenario_text(extra="counting: cn\n"))
    records = simulate(Model.baseline(load_scenario(path)), np.random.SeedSequence(0))
    assert records.cases[0][4] == 0.5
