"""Working-day calendars: map the simulation clock (working days) to dates.

The simulation clock counts working days as a float. Working day 0 is the first working
day on or after the scenario's start date. Which days are worked is a `DayRule`: by
default the Chinese calendar of the `chinesecalendar` package (holidays and the adjusted
working weekends, 调休); for records from elsewhere a country of the `holidays` package,
Monday to Friday (``weekdays``), or every day (``all``). Years a source does not know
are refused unless the user supplies year overrides (`sim.inputs.overrides` reads them
from a file), which take precedence over any rule.

A moment within a working day is a fraction of an office day of `OFFICE_HOURS` hours
from `OFFICE_START_HOUR` o'clock: the clock value ``n + f`` is that far into working day
``n`` (`sim.output.eventlog` writes times this way, `clock_of_moments` reads them back).

Dates: an instant that starts something (an arrival, a step taking staff) at clock c is
dated working day floor(c); an end at clock c is dated the day it falls in, and an end
exactly at the end of a working day (a whole c) is dated that day, not the next
(`end_dates_of`). A span in calendar days counts from its start to its end and never
adds the non-working days that follow the end (`calendar_span`): five working days from
a Monday morning to Friday evening are 5 calendar days. A duration in calendar days runs
through weekends and holidays (`after_calendar_days`).
"""

from __future__ import annotations

import bisect
import datetime
import functools
import math
import re
from dataclasses import dataclass

import chinese_calendar
import numpy as np

from sim.domain.suggest import did_you_mean

_NAT = np.datetime64("NaT", "D")


class CalendarError(ValueError):
    """A date outside what the calendar knows; the message names the year and what to do."""


OFFICE_START_HOUR = 9
"""The hour an office day starts: the clock value ``n`` is this hour on working day ``n``."""
OFFICE_HOURS = 8
"""The length of an office day in hours: a clock fraction of 0.5 is four hours in."""

DAY_KINDS = ("china", "country", "weekdays", "all")


@dataclass(frozen=True)
class DayRule:
    """Which days are working days.

    Attributes:
        kind: ``china`` (chinesecalendar, the default), ``country`` (a country of the
            `holidays` package: its weekend and public holidays, and any weekend days it
            marks as worked), ``weekdays`` (Monday to Friday) or ``all`` (calendar days).
        country: The country code for ``country`` (ISO 3166, e.g. ``IT``).
    """

    kind: str = "china"
    country: str = ""

    def __post_init__(self) -> None:
        if self.kind not in DAY_KINDS:
            raise CalendarError(
                f"unknown calendar '{self.kind}'; use one of {', '.join(DAY_KINDS)}"
            )
        if (self.kind == "country") != bool(self.country):
            raise CalendarError("a country calendar needs a country code, and only it takes one")

    @classmethod
    def parse(cls, text: str) -> DayRule:
        """The rule a user names: ``china`` (or ``cn``), ``weekdays``, ``all`` or a country code.

        Raises:
            CalendarError: An unknown word or country code.
        """
        word = text.strip()
        if word.lower() in ("china", "cn", "chinese", ""):
            return cls()
        if word.lower() in ("weekdays", "all"):
            return cls(word.lower())
        return cls("country", check_country(word))

    def describe(self) -> str:
        """A short description for messages and fitted files."""
        return {
            "china": "the Chinese working-day calendar (chinesecalendar)",
            "country": f"the working days of {self.country} (holidays package)",
            "weekdays": "Monday to Friday, no holidays",
            "all": "every calendar day",
        }[self.kind]


CHINA = DayRule()


def check_country(code: str) -> str:
    """The `holidays` package's spelling of a country code.

    Raises:
        CalendarError: The package does not know the code (with the closest codes).
    """
    import holidays  # imported when a country is named: it loads every country's rules

    known = holidays.list_supported_countries()
    upper = code.strip().upper()
    if upper not in known:
        close = did_you_mean(upper, sorted(known), listing=None)
        raise CalendarError(
            f"unknown country '{code}' for the calendar{close} (the holidays package knows "
            f"{len(known)} countries by ISO 3166 code, such as IT, DE, US; or use "
            "'weekdays' or 'all')"
        )
    return upper


@dataclass(frozen=True)
class YearOverride:
    """The official working-day arrangement of one year, supplied by the user.

    Attributes:
        year: The calendar year this override covers.
        holidays: Weekdays (Monday to Friday) that are days off.
        working_weekends: Saturdays and Sundays that are worked (调休).
    """

    year: int
    holidays: tuple[datetime.date, ...]
    working_weekends: tuple[datetime.date, ...]


# --------------------------------------------------------------------------- year tables


def _days_of_year(year: int) -> np.ndarray:
    """Return every date of a year as datetime64[D]."""
    return np.arange(f"{year:04d}-01-01", f"{year + 1:04d}-01-01", dtype="datetime64[D]")


def _chinese_calendar_range() -> str:
    """Return the years chinesecalendar knows, as text like `2004-2026`."""
    try:
        years = [d.year for d in chinese_calendar.holidays]
        return f"{min(years)}-{max(years)}"
    except (AttributeError, TypeError, ValueError):  # internals changed: parse the error
        pass
    try:
        chinese_calendar.is_workday(datetime.date(1, 1, 1))
    except NotImplementedError as exc:
        found = re.search(r"(\d{4})\D+(\d{4})", str(exc))
        if found:
            return f"{found[1]}-{found[2]}"
    return "a limited range of years"


@functools.cache
def _chinese_year(year: int) -> np.ndarray:
    """Classify every day of a year with chinesecalendar (cached: it is slow per day).

    Args:
        year: The year.

    Returns:
        Read-only boolean array, True on working days, one entry per day of the year.

    Raises:
        CalendarError: chinesecalendar has no data for the year.
    """
    try:
        table = np.array(
            [chinese_calendar.is_workday(d) for d in _days_of_year(year).tolist()], dtype=bool
        )
    except NotImplementedError:
        raise CalendarError(
            f"the calendar has no data for {year} (chinesecalendar knows "
            f"{_chinese_calendar_range()}); add an override file listing {year}'s holidays "
            "and working weekends under `calendar: overrides:` in the scenario"
        ) from None
    table.flags.writeable = False
    return table


@functools.cache
def _country_year(country: str, year: int) -> np.ndarray:
    """Classify every day of a year with the `holidays` package (cached).

    The package computes holidays from rules for any year, so it would silently guess
    years before its data starts or after it ends: years outside the country's
    ``start_year``-``end_year`` are refused, as chinesecalendar refuses the years it lacks.

    Raises:
        CalendarError: The year is outside what the package covers for the country.
    """
    import holidays

    rules = holidays.country_holidays(country)
    first, last = int(rules.start_year), int(rules.end_year)
    if not first <= year <= last:
        raise CalendarError(
            f"the calendar has no data for {year} (the holidays package covers {country} for "
            f"{first}-{last}); add an override file listing {year}'s holidays and working "
            "weekends under `calendar: overrides:` in the scenario"
        )
    rules = holidays.country_holidays(country, years=year)
    days = _days_of_year(year)
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
    weekend = sorted(getattr(rules, "weekend", {5, 6}))
    table = ~np.isin(weekday, weekend)
    start = np.datetime64(f"{year:04d}-01-01", "D")
    for day in rules:
        if day.year == year:
            table[int((np.datetime64(day, "D") - start).astype(np.int64))] = False
    for day in getattr(rules, "weekend_workdays", ()):
        if day.year == year:
            table[int((np.datetime64(day, "D") - start).astype(np.int64))] = True
    table.flags.writeable = False
    return table


@functools.cache
def _plain_year(every_day: bool, year: int) -> np.ndarray:
    """Every day of a year worked (``all``), or Monday to Friday (``weekdays``)."""
    days = _days_of_year(year)
    table = np.ones(days.size, bool) if every_day else (days.astype(np.int64) + 3) % 7 < 5
    table.flags.writeable = False
    return table


def year_table(rule: DayRule, year: int) -> np.ndarray:
    """Working days of one year under a rule: a read-only boolean array, one entry a day.

    Raises:
        CalendarError: The rule's source has no data for the year.
    """
    if rule.kind == "china":
        return _chinese_year(year)
    if rule.kind == "country":
        return _country_year(rule.country, year)
    return _plain_year(rule.kind == "all", year)


def _override_year(override: YearOverride) -> np.ndarray:
    """Classify every day of an override's year: weekdays work unless listed, weekends don't."""
    days = _days_of_year(override.year)
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
    table = weekday < 5
    for dates, worked in ((override.holidays, False), (override.working_weekends, True)):
        for d in dates:
            if d.year != override.year:  # a wrong year would silently mark another day
                raise CalendarError(f"the override for {override.year} lists {d}")
            table[d.timetuple().tm_yday - 1] = worked
    return table


def _as_date(d: datetime.date) -> datetime.date:
    """Drop the time of a datetime, which would not compare with dates."""
    return d.date() if isinstance(d, datetime.datetime) else d


# --------------------------------------------------------------------------- calendar


@dataclass(frozen=True, eq=False)
class WorkingCalendar:
    """The working days of a scenario, indexed by the simulation clock.

    Build it with `WorkingCalendar.build`; the constructor only stores.

    Attributes:
        workdays: Every working day from the first working day on or after the start
            through the last working day on or before the end, sorted, datetime64[D].
        span: The (start, end) dates the calendar was built for, so that dates in the
            range but before the first or after the last working day can be answered.
            Defaults to the first and last working day.
        rule: Which days are worked (the Chinese calendar by default).
    """

    workdays: np.ndarray
    span: tuple[datetime.date, datetime.date] | None = None
    rule: DayRule = CHINA

    @classmethod
    def build(
        cls,
        start: datetime.date,
        end: datetime.date,
        overrides: tuple[YearOverride, ...] = (),
        rule: DayRule = CHINA,
    ) -> WorkingCalendar:
        """Classify every day in [start, end] once and keep the working days.

        A year covered by an override uses it; other years use the rule.

        Args:
            start: First date of the scenario.
            end: Last date the calendar must cover.
            overrides: Arrangements for years the rule's source does not know (or to
                correct it); they take precedence.
            rule: Which days are worked (default: the Chinese calendar).

        Returns:
            The calendar.

        Raises:
            CalendarError: A year in the range is known to neither the rule's source nor
                an override, end is before start, or the range holds no working day.
        """
        start, end = _as_date(start), _as_date(end)
        if end < start:
            raise CalendarError(f"the calendar end {end} is before its start {start}")
        by_year = {o.year: o for o in overrides}
        lo, hi = np.datetime64(start, "D"), np.datetime64(end, "D")
        parts = []
        for year in range(start.year, end.year + 1):
            days = _days_of_year(year)
            table = _override_year(by_year[year]) if year in by_year else year_table(rule, year)
            keep = table & (days >= lo) & (days <= hi)
            parts.append(days[keep])
        workdays = np.concatenate(parts)
        if workdays.size == 0:
            raise CalendarError(f"there is no working day between {start} and {end}")
        workdays.flags.writeable = False
        return cls(workdays, (start, end), rule)

    def __len__(self) -> int:
        """Return the number of working days."""
        return int(self.workdays.size)

    @property
    def start_date(self) -> datetime.date:
        """The first working day (clock 0)."""
        return self.workdays[0].item()

    @property
    def end_date(self) -> datetime.date:
        """The last working day (clock len - 1)."""
        return self.workdays[-1].item()

    @functools.cached_property
    def _offsets(self) -> np.ndarray:
        """Calendar days from the first working day to each working day, as float."""
        return (self.workdays - self.workdays[0]).astype(np.int64).astype(float)

    def _span(self) -> tuple[datetime.date, datetime.date]:
        return self.span if self.span is not None else (self.start_date, self.end_date)

    def _check_date(self, d: datetime.date, *, end_exclusive: bool = False) -> datetime.date:
        """Return d as a date, or raise CalendarError if the calendar does not cover it."""
        d = _as_date(d)
        first, last = self._span()
        if end_exclusive:
            last = last + datetime.timedelta(days=1)
        if not first <= d <= last:
            raise CalendarError(
                f"{d} is outside the calendar, which covers {first} to {last}; "
                f"extend the scenario's calendar to cover {d.year}"
            )
        return d

    def _clock_error(self, clock: float) -> CalendarError:
        """Explain why a clock value has no date."""
        if np.isnan(clock):
            return CalendarError("the clock is NaN, which has no date")
        if clock < 0:
            return CalendarError(
                f"clock {clock} is before the calendar's first working day {self.start_date}"
            )
        return CalendarError(
            f"clock {clock} runs past the calendar's end date: it has {len(self)} working "
            f"days, the last on {self.end_date}; extend the scenario's calendar beyond "
            f"{self._span()[1]}"
        )

    def _indices(self, clock: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return floor(clock) as indices (0 where NaN) and the NaN mask; check the range."""
        nan = np.isnan(clock)
        finite = np.isfinite(clock)
        index = np.floor(np.where(finite, clock, 0.0)).astype(np.int64)
        bad = ~nan & (~finite | (index < 0) | (index >= len(self)))
        if bad.any():
            raise self._clock_error(float(clock[bad][0]))
        return index, nan

    def is_workday(self, d: datetime.date) -> bool:
        """Tell whether a date is a working day.

        Args:
            d: A date within the range the calendar was built for.

        Returns:
            True if d is a working day.

        Raises:
            CalendarError: d is outside the calendar.
        """
        d = self._check_date(d)
        day = np.datetime64(d, "D")
        i = int(np.searchsorted(self.workdays, day))
        return i < len(self) and bool(self.workdays[i] == day)

    def date_of(self, clock: float) -> datetime.date:
        """Return the date of working day floor(clock).

        Args:
            clock: Simulation time in working days.

        Returns:
            The date.

        Raises:
            CalendarError: clock is NaN, negative, or past the last working day.
        """
        if np.isnan(clock):
            raise self._clock_error(clock)
        index, _ = self._indices(np.asarray([clock], dtype=float))
        return self.workdays[index[0]].item()

    def dates_of(self, clock: np.ndarray, unit: str = "D") -> np.ndarray:
        """Vectorised `date_of`: NaN becomes NaT.

        Args:
            clock: Simulation times in working days, any shape.
            unit: The datetime64 unit of the result (``"s"``: the unit pandas keeps
                dates in, so that a table takes them without converting).

        Returns:
            datetime64[unit] array of the same shape.

        Raises:
            CalendarError: A value is negative, infinite or past the last working day.
        """
        clock = np.asarray(clock, dtype=float)
        if clock.size and clock.min() >= 0 and clock.max() < len(self):  # no NaN either
            days = clock.astype(np.int64)  # floor, as the values are not negative
        else:
            days, nan = self._indices(clock)
            days[nan] = len(self)
        return self._dates_by_day(days, unit)

    def _dates_by_day(self, days: np.ndarray, unit: str) -> np.ndarray:
        """The dates of working-day numbers (int64, `len(self)` for NaT), written over them.

        One lookup a value, into the array of the numbers (a new one, made for this).
        """
        table = self._date_table(unit)
        # In range already: "clip" changes nothing, and lets numpy write over the numbers.
        return np.take(table, days, out=days.view(table.dtype), mode="clip")

    def _date_table(self, unit: str) -> np.ndarray:
        """The working days as datetime64[unit], and NaT after the last (the date of NaN).

        Dates are looked up by working-day number in it, one lookup a value.
        """
        table = self._dates_and_nat
        return table if unit == "D" else table.astype(f"datetime64[{unit}]")

    @functools.cached_property
    def _dates_and_nat(self) -> np.ndarray:
        return np.append(self.workdays, _NAT)

    def calendar_days(self, clock: np.ndarray | float) -> np.ndarray | float:
        """Continuous calendar-day position of clock values, counted from the first working day.

        Working day floor(c) sits at its calendar offset; the fraction of a working day is
        added as a fraction of a calendar day. The elapsed calendar days of an interval are
        therefore `calendar_days(end) - calendar_days(start)`.

        Args:
            clock: Simulation time(s) in working days.

        Returns:
            A float for a scalar, else a float array of the same shape; NaN stays NaN.

        Raises:
            CalendarError: A value is negative, infinite or past the last working day.
        """
        values = np.asarray(clock, dtype=float)
        index, _ = self._indices(values)
        position = self._offsets[index] + (values - np.floor(values))  # NaN propagates
        if np.ndim(clock) == 0 and not isinstance(clock, np.ndarray):
            return float(position)
        return position

    def end_dates_of(self, end: np.ndarray, start: np.ndarray, unit: str = "D") -> np.ndarray:
        """The dates of ends: an end at the end of a working day is dated that day.

        Args:
            end: Clock values of ends.
            start: Clock values of the matching starts (an end at its own start, a
                whole number, is dated that day).
            unit: The datetime64 unit of the result (as in `dates_of`).

        Returns:
            datetime64[unit] array; NaN ends give NaT.

        Raises:
            CalendarError: A value is negative, infinite or past the last working day.
        """
        end = np.asarray(end, dtype=float)
        start = np.asarray(start, dtype=float)
        if (
            end.size
            and start.size
            and start.min() >= 0  # every start's day, and so every end's, not before day 0
            and start.max() < len(self)
            and end.min() >= 0
            and end.max() <= len(self)  # NaN fails these, and takes the other way
        ):
            # `_end_indices` in one array of whole numbers: ceil(end) - 1, not before
            # floor(start) (for a whole d and s >= 0, max(d, floor(s)) is max(d, s) truncated).
            days = np.empty(end.shape, dtype=np.int64)
            np.ceil(end, out=days, casting="unsafe")
            days -= 1
            np.maximum(days, start, out=days, casting="unsafe")
        else:
            days, nan = self._end_indices(end, start)
            days[nan] = len(self)
        return self._dates_by_day(days, unit)

    def calendar_span(self, start: np.ndarray | float, end: np.ndarray | float):
        """Calendar days from starts to ends (clock values).

        An end's calendar position minus its start's: the non-working days after the end
        do not count.

        Returns:
            A float for scalars, else a float array; NaN stays NaN.

        Raises:
            CalendarError: A value is negative, infinite or past the last working day.
        """
        starts = np.asarray(start, dtype=float)
        ends = np.asarray(end, dtype=float)
        index, _ = self._indices(starts)
        begin = self._offsets[index] + (starts - np.floor(starts))
        last, _ = self._end_indices(ends, starts)
        finish = self._offsets[last] + (ends - last)
        span = finish - begin
        if np.ndim(start) == 0 and np.ndim(end) == 0 and not isinstance(end, np.ndarray):
            return float(span)
        return span

    def _end_indices(self, end: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The working day each end falls in: ceil(end) - 1, not before its start's day."""
        index = np.maximum(np.ceil(end) - 1.0, np.floor(start))  # NaN (no end) stays NaN
        nan = np.isnan(index)
        bad = ~nan & ((index < 0) | (index >= len(self)))
        if bad.any():
            raise self._clock_error(float(end[bad][0]))
        return np.where(nan, 0, index).astype(np.int64), nan

    @functools.cached_property
    def _offset_list(self) -> list[float]:
        return self._offsets.tolist()

    def after_calendar_days(self, clock: float, days: float) -> float:
        """The clock ``days`` calendar days after ``clock`` (through weekends and holidays).

        An end that falls on a non-working day is the end of the working day before it
        (the next working day's start, on the clock). Past the calendar's last working
        day, days count as working days (the run has stopped by then).

        Args:
            clock: Where the duration starts (working days).
            days: Its length in calendar days.

        Returns:
            Where it ends (working days).
        """
        offsets = self._offset_list
        day = math.floor(clock)
        if day >= len(offsets):
            return clock + days
        return self.clock_at(offsets[day] + (clock - day) + days)

    def position(self, clock: float) -> float:
        """The calendar position of a start at ``clock`` (`calendar_days` of one value).

        Calendar days from the first working day's beginning.
        """
        offsets = self._offset_list
        day = math.floor(clock)
        if day >= len(offsets):
            return offsets[-1] + (clock - (len(offsets) - 1))
        return offsets[day] + (clock - day)

    def end_position(self, end: float, start: float) -> float:
        """The calendar position of an end at ``end`` (of something started at ``start``).

        An end at the end of a working day sits at that day's end, not at the next
        working day's beginning.
        """
        offsets = self._offset_list
        day = max(math.ceil(end) - 1, math.floor(start))
        if day >= len(offsets):
            return offsets[-1] + (end - (len(offsets) - 1))
        return offsets[day] + (end - day)

    def clock_at(self, position: float) -> float:
        """The clock at a calendar position; on a day off, the next working day's start.

        Past the calendar's last working day, days count as working days.
        """
        offsets = self._offset_list
        last = len(offsets) - 1
        found = max(bisect.bisect_right(offsets, position) - 1, 0)
        rest = position - offsets[found]
        if found < last and rest >= 1.0:
            return found + 1.0
        return found + rest

    def position_of_date(self, day: datetime.date) -> float:
        """The calendar position of a date's beginning (negative before the first working day)."""
        return float((np.datetime64(_as_date(day), "D") - self.workdays[0]).astype(np.int64))

    def after_calendar_days_array(self, clock: np.ndarray, days: np.ndarray) -> np.ndarray:
        """`after_calendar_days` case by case (the same arithmetic)."""
        clock = np.asarray(clock, dtype=float)
        offsets = self._offsets
        last = len(offsets) - 1
        day = np.floor(clock)
        beyond = day > last
        day = np.minimum(day, last).astype(np.int64)
        position = offsets[day] + (clock - day) + days
        found = np.searchsorted(offsets, position, side="right") - 1
        rest = position - offsets[found]
        end = np.where((found < last) & (rest >= 1.0), found + 1.0, found + rest)
        return np.where(beyond, clock + days, end)

    def clock_of(self, d: datetime.date) -> float:
        """Return the working-day index of the first working day on or after a date.

        Args:
            d: A date within the range the calendar was built for.

        Returns:
            The clock value (a whole number, as float).

        Raises:
            CalendarError: d is outside the calendar, or no working day follows it in the
                calendar.
        """
        d = self._check_date(d)
        i = int(np.searchsorted(self.workdays, np.datetime64(d, "D")))
        if i >= len(self):
            raise CalendarError(
                f"no working day on or after {d} within the calendar (last working day "
                f"{self.end_date}); extend the scenario's calendar"
            )
        return float(i)

    def clock_of_moments(self, moments: np.ndarray) -> np.ndarray:
        """The working-day clock of date-times: the inverse of how event logs write clocks.

        A moment on a working day is that day's index plus the fraction of the office day
        (`OFFICE_START_HOUR`, `OFFICE_HOURS`) gone by, clipped to [0, 1]: before opening
        it is the day's start, after closing the next day's start. A moment on a day off
        is the start of the next working day. Date-only values (midnight) are the start
        of their day.

        Args:
            moments: Naive date-times (wall-clock), any datetime64 unit; NaT gives NaN.

        Returns:
            Float clock values of the same shape.

        Raises:
            CalendarError: A date is outside the calendar, or no working day follows it
                within the calendar.
        """
        moments = np.asarray(moments).astype("datetime64[s]")
        missing = np.isnat(moments)
        days = moments.astype("datetime64[D]")
        present = days[~missing]
        if present.size:
            low, high = present.min().item(), present.max().item()
            self._check_date(low)
            self._check_date(high)
            if np.datetime64(high, "D") > self.workdays[-1]:
                raise CalendarError(
                    f"no working day on or after {high} within the calendar (last working day "
                    f"{self.end_date}); extend the calendar"
                )
        safe = np.where(missing, self.workdays[0], days)
        index = np.searchsorted(self.workdays, safe)
        worked = self.workdays[np.minimum(index, len(self) - 1)] == safe
        seconds = (moments - days).astype(np.int64).astype(float)
        fraction = np.clip((seconds / 3600.0 - OFFICE_START_HOUR) / OFFICE_HOURS, 0.0, 1.0)
        clock = index + np.where(worked, fraction, 0.0)
        return np.where(missing, np.nan, clock)

    def working_days_between(self, a: datetime.date, b: datetime.date) -> int:
        """Count the working days in [a, b).

        Args:
            a: First date, counted.
            b: Last date, not counted; may be the day after the calendar's end.

        Returns:
            The count; negative (minus the count in [b, a)) if b is before a.

        Raises:
            CalendarError: a or b is outside the calendar.
        """
        a = self._check_date(a, end_exclusive=True)
        b = self._check_date(b, end_exclusive=True)
        lo, hi = np.searchsorted(self.workdays, np.array([a, b], dtype="datetime64[D]"))
        return int(hi - lo)
