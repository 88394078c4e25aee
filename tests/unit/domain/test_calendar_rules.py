"""Working-day calendars beyond China's: a holidays country, weekdays, every day; the clock of date-times."""

from __future__ import annotations

import datetime as dt

import holidays
import numpy as np
import pytest

from sim.domain.calendar import (
    OFFICE_HOURS,
    OFFICE_START_HOUR,
    CalendarError,
    DayRule,
    WorkingCalendar,
)

D = dt.date


def test_country_calendar_matches_the_holidays_package():
    calendar = WorkingCalendar.build(D(2005, 1, 1), D(2006, 12, 31), rule=DayRule.parse("IT"))
    italy = holidays.country_holidays("IT", years=[2005, 2006])
    days = np.arange("2005-01-01", "2007-01-01", dtype="datetime64[D]").tolist()
    assert [d for d in days if calendar.is_workday(d) != italy.is_working_day(d)] == []
    assert not calendar.is_workday(D(2005, 4, 25))  # Liberation Day, a Monday
    assert calendar.rule == DayRule("country", "IT")


def test_weekdays_and_all():
    weekdays = WorkingCalendar.build(D(2025, 1, 1), D(2025, 12, 31), rule=DayRule.parse("weekdays"))
    every = WorkingCalendar.build(D(2025, 1, 1), D(2025, 12, 31), rule=DayRule.parse("all"))
    assert len(weekdays) == 261 and len(every) == 365
    assert weekdays.is_workday(D(2025, 1, 1))  # New Year's Day: no holidays here
    assert every.is_workday(D(2025, 1, 4))  # a Saturday


def test_default_and_cn_are_chinese():
    assert DayRule.parse("china") == DayRule() == DayRule.parse("CN")


def test_unknown_country_is_refused_with_the_closest():
    with pytest.raises(CalendarError, match="unknown country 'ITX'"):
        DayRule.parse("ITX")


def test_years_the_holidays_package_only_guesses_are_refused():
    # The package computes any year by its rules; years outside its range are refused.
    first = holidays.country_holidays("IT").start_year
    with pytest.raises(CalendarError, match=f"covers IT for {first}"):
        WorkingCalendar.build(D(first - 1, 6, 1), D(first, 6, 1), rule=DayRule.parse("IT"))


def test_clock_of_moments_inverts_the_event_log_convention():
    calendar = WorkingCalendar.build(D(2025, 3, 3), D(2025, 3, 31))  # Monday 3 March is clock 0
    half = OFFICE_START_HOUR + OFFICE_HOURS / 2
    moments = np.array(
        [
            f"2025-03-04T{int(half):02d}:{int(60 * (half % 1)):02d}",  # half of working day 1
            "2025-03-04T07:00",  # before opening: the day's start
            "2025-03-04T20:00",  # after closing: the next day's start
            "2025-03-08T12:00",  # a Saturday: Monday's start
            "2025-03-03",  # a date alone: the day's start
            "NaT",
        ],
        dtype="datetime64[m]",
    )
    clock = calendar.clock_of_moments(moments)
    assert clock[:5].tolist() == [1.5, 1.0, 2.0, 5.0, 0.0]
    assert np.isnan(clock[5])
    with pytest.raises(CalendarError):
        calendar.clock_of_moments(np.array(["2025-05-01T09:00"], dtype="datetime64[m]"))
