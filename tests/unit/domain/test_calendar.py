"""The working-day calendar: Chinese holidays, adjusted working weekends, clock and dates."""

import datetime as dt

import holidays
import numpy as np
import pytest

from sim.domain.calendar import CalendarError, WorkingCalendar, YearOverride

D = dt.date


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return WorkingCalendar.build(D(2024, 1, 1), D(2026, 12, 31))


@pytest.mark.parametrize(
    ("day", "worked"),
    [
        (D(2024, 2, 4), True),  # Sunday, 调休 for the 2024 Spring Festival
        (D(2025, 1, 26), True),  # Sunday, 调休 for the 2025 Spring Festival
        (D(2024, 9, 29), True),  # Sunday, 调休 for the 2024 National Day
        (D(2024, 3, 9), False),  # an ordinary Saturday
        (D(2024, 3, 11), True),  # an ordinary Monday
    ]
    + [(D(2025, 1, 28) + dt.timedelta(i), False) for i in range(8)]  # Spring Festival 2025
    + [(D(2024, 10, 1) + dt.timedelta(i), False) for i in range(7)],  # National Day 2024
)
def test_known_days(cal, day, worked):
    assert cal.is_workday(day) is worked


def test_matches_holidays_package_2024_2026(cal):
    # Two independent sources of the State Council notices must agree day by day.
    china = holidays.China(years=range(2024, 2027))
    days = np.arange("2024-01-01", "2027-01-01", dtype="datetime64[D]").tolist()
    disagree = [d for d in days if cal.is_workday(d) != china.is_working_day(d)]
    assert disagree == []
    assert len(cal) == sum(china.is_working_day(d) for d in days)


def test_year_without_data_names_the_year():
    with pytest.raises(CalendarError, match="2027") as info:
        WorkingCalendar.build(D(2026, 6, 1), D(2027, 3, 1))
    assert "override" in str(info.value)
    assert "2004-2026" in str(info.value)


def test_override_takes_precedence_over_chinesecalendar():
    # 2024-10-07 is a National Day holiday in chinesecalendar; an override can say otherwise.
    override = YearOverride(2024, holidays=(), working_weekends=())
    cal = WorkingCalendar.build(D(2024, 10, 1), D(2024, 10, 31), (override,))
    assert cal.is_workday(D(2024, 10, 7))
    assert not cal.is_workday(D(2024, 10, 5))  # Saturday stays off


def test_override_with_date_in_wrong_year():
    with pytest.raises(CalendarError, match="2025-10-01"):
        WorkingCalendar.build(
            D(2024, 1, 1), D(2024, 2, 1), (YearOverride(2024, (D(2025, 10, 1),), ()),)
        )


def test_round_trip(cal):
    for i, day in enumerate(cal.workdays.tolist()):
        assert cal.clock_of(day) == i
        assert cal.date_of(i + 0.5) == day
    assert cal.date_of(0.99) == cal.start_date == D(2024, 1, 2)


def test_start_on_holiday():
    cal = WorkingCalendar.build(D(2024, 1, 1), D(2024, 1, 31))  # New Year's Day is off
    assert cal.start_date == D(2024, 1, 2)
    assert cal.clock_of(D(2024, 1, 1)) == 0.0
    assert cal.clock_of(D(2024, 1, 6)) == cal.clock_of(D(2024, 1, 8))  # Saturday -> Monday


def test_across_national_day_2024():
    cal = WorkingCalendar.build(D(2024, 9, 27), D(2024, 12, 31))
    assert cal.clock_of(D(2024, 9, 27)) == 0
    # Sun 09-29 is a 调休 working day, so two working days after Fri 09-27 is Mon 09-30,
    # and the third is the first day after the holiday week.
    assert cal.date_of(1) == D(2024, 9, 29)
    assert cal.date_of(2) == D(2024, 9, 30)
    assert cal.date_of(3) == D(2024, 10, 8)
    assert cal.working_days_between(D(2024, 9, 27), D(2024, 10, 8)) == 3


def test_calendar_days_across_spring_festival_2025(cal):
    before = cal.clock_of(D(2025, 1, 27))  # last working day before the holiday
    assert cal.date_of(before + 1) == D(2025, 2, 5)
    assert cal.calendar_days(before + 1) - cal.calendar_days(before) == 9
    elapsed = cal.calendar_days(np.array([before + 1.5])) - cal.calendar_days(before + 0.5)
    np.testing.assert_allclose(elapsed, [9.0])
    dates = cal.dates_of(np.array([before, before + 1]))
    assert (dates[1] - dates[0]).astype(int) == 9


def test_vectorised_nan(cal):
    clock = np.array([[0.0, np.nan], [2.5, 746.9]])
    dates = cal.dates_of(clock)
    assert dates.dtype == np.dtype("datetime64[D]")
    assert dates.shape == (2, 2)
    assert np.isnat(dates[0, 1])
    assert dates[1, 1] == np.datetime64("2026-12-31")
    days = cal.calendar_days(clock)
    assert np.isnan(days[0, 1])
    assert days[1, 0] == pytest.approx(2.5)  # Tue 01-02 -> Thu 01-04 is two calendar days
    assert isinstance(cal.calendar_days(1.25), float)


def test_working_days_between(cal):
    assert cal.working_days_between(D(2025, 1, 27), D(2025, 2, 6)) == 2
    assert cal.working_days_between(D(2024, 1, 1), D(2027, 1, 1)) == len(cal)
    assert cal.working_days_between(D(2024, 3, 9), D(2024, 3, 9)) == 0


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda c: c.date_of(-0.5), "before"),
        (lambda c: c.date_of(len(c)), "past the calendar's end"),
        (lambda c: c.date_of(float("nan")), "NaN"),
        (lambda c: c.dates_of(np.array([1.0, np.inf])), "past the calendar's end"),
        (lambda c: c.calendar_days(np.array([1e6])), "past the calendar's end"),
        (lambda c: c.is_workday(D(2027, 1, 4)), "2027"),
        (lambda c: c.clock_of(D(2023, 12, 29)), "2023"),
    ],
)
def test_out_of_range(cal, call, match):
    with pytest.raises(CalendarError, match=match):
        call(cal)


def test_an_end_at_the_end_of_a_working_day_is_dated_that_day(cal):
    # Five working days from Monday 2025-03-03 end on Friday evening: dated Friday, and
    # 5 calendar days (the weekend after the end does not count; it used to: 7).
    monday = cal.clock_of(D(2025, 3, 3))
    assert cal.end_dates_of(np.array([monday + 5.0]), np.array([monday]))[0] == np.datetime64(
        "2025-03-07"
    )
    assert cal.calendar_span(monday, monday + 5.0) == 5.0
    assert cal.calendar_span(monday + 0.5, monday + 4.5) == 4.0  # within days: as before
    # 23 working days ending on Wednesday 2024-04-03, before the Qingming holiday
    # (04-04..06, Sunday 04-07 worked): from Monday 03-04, 31 calendar days (was 34).
    end = cal.clock_of(D(2024, 4, 3)) + 1.0
    assert cal.date_of(end - 23) == D(2024, 3, 4)
    assert cal.end_dates_of(np.array([end]), np.array([end - 23]))[0] == np.datetime64("2024-04-03")
    assert cal.calendar_span(end - 23, end) == 31.0
    # An end at its own start, at a day's beginning, is dated that day.
    assert cal.end_dates_of(np.array([monday, np.nan]), np.array([monday, monday])).tolist() == [
        D(2025, 3, 3),
        None,
    ]


def test_a_duration_in_calendar_days_runs_through_weekends_and_holidays(cal):
    monday = cal.clock_of(D(2025, 3, 3))
    assert cal.after_calendar_days(monday, 7.0) == monday + 5.0  # a week: the next Monday
    assert cal.after_calendar_days(monday + 4.5, 0.5) == monday + 5.0  # Friday evening
    assert cal.after_calendar_days(monday + 4.5, 1.0) == monday + 5.0  # Saturday noon: closed
    assert cal.after_calendar_days(monday + 4.5, 3.25) == monday + 5.75  # Monday afternoon
    # From Monday 2025-01-27, the last working day before the Spring Festival (01-28 to
    # 02-04): 9 calendar days reach Wednesday 02-05, the next working day.
    before = cal.clock_of(D(2025, 1, 27))
    assert cal.after_calendar_days(before, 9.0) == before + 1.0
    assert cal.after_calendar_days(before + 0.25, 2.0) == before + 1.0
    rng = np.random.default_rng(1)
    clock, days = rng.uniform(0, 600, 500), rng.uniform(0, 40, 500)
    expected = [cal.after_calendar_days(c, d) for c, d in zip(clock, days, strict=True)]
    assert cal.after_calendar_days_array(clock, days).tolist() == expected  # the same floats
