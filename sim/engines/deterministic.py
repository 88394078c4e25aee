"""Fixed-time methods of counting a procedure's time: one representative case, no randomness.

Each step takes a fixed time (its declared ``fixed_days``, or else the typical value of
its handling plus its waiting: the mode, median or mean as `sim.domain.distributions`
defines ``typical``), steps run as soon as their predecessors are done, and the total is
the end of the longest path through the precedence graph. Two methods
(`sim.domain.model.Counting` chooses one per procedure; its `Rules` carry the options):

- ``cn``, the Chinese process maps (承诺时限): each step's committed working days, half
  and zero days allowed, steps side by side start the same day, the total is the longest
  path in working days;
- ``db``, the World Bank's Doing Business: calendar days, the steps placed on the real
  calendar from the start date (a step in working days lasts the calendar days it spans
  there); a step takes at least one day (``minimum_one_day``); a step done fully online
  half a day instead (``online_half_day``; from the 2015 edition, never for getting
  electricity); steps that could start together start on consecutive days, steps done
  online excepted (``consecutive_starts``); a step marked ``not_a_procedure`` takes no
  time and is not counted. Without a calendar, days are counted as working days.

What the methods leave out, so does this: no queue for staff, no send-backs (the file is
complete), no commitments or post-checks. Steps with a ``when:`` condition are included
(the representative case is taken to need them) unless ``include_conditional`` is off,
which drops them as a case that does not meet them would. A time limit on a step
(`sim.domain.model.TimeLimit`) limits its fixed time as it would a case's.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from sim.domain.model import CALENDAR_DAYS, Counting, Model, Procedure, Rules, Step
from sim.engines.records import Records, audit_trail, union_length

_EPSILON = 1e-9


class PathStep(NamedTuple):
    """One step on the critical path: its id, start and end (in the method's unit)."""

    step: str
    start_day: float
    end_day: float
    days: float


@dataclass(frozen=True)
class StepTime:
    """The fixed schedule of one step.

    Attributes:
        step: The step.
        ready_day, start_day, end_day: When its last predecessor ends, when it starts
            (later than ready when pushed to the next free day), when it ends: days of
            the method's unit from the schedule's start.
        days: Its fixed time, in the method's unit.
        handling_days: The part of ``days`` that is handling.
        ready_clock, start_clock, handled_clock, end_clock: The same moments on the
            working-day clock (an end on a day off: the next working day's start).
    """

    step: Step
    ready_day: float
    start_day: float
    end_day: float
    days: float
    handling_days: float
    ready_clock: float
    start_clock: float
    handled_clock: float
    end_clock: float


@dataclass(frozen=True)
class Schedule:
    """A procedure's time by a fixed-time method.

    Attributes:
        procedure: The procedure.
        steps: Every step that was scheduled, in the order scheduled.
        path: The critical path, first step first.
        rules: The method and options used.
        total_days: The total in the method's unit (``rules.unit``).
        total_working_days: The total on the working-day clock.
        calendar_days: The total in calendar days (None without a calendar).
        conditional: Steps with a ``when:`` condition that were included (or dropped).
        start_date: The first day.
        end_date: The day the last step ends.
        begin_clock: The working-day clock at the start.
    """

    procedure: Procedure
    steps: tuple[StepTime, ...]
    path: tuple[PathStep, ...]
    rules: Rules
    total_days: float
    total_working_days: float
    calendar_days: float | None = None
    conditional: tuple[str, ...] = ()
    start_date: datetime.date | None = None
    end_date: datetime.date | None = None
    begin_clock: float = 0.0

    @property
    def options(self) -> dict[str, bool]:
        """The rules as options (``minimum_one_day``, ... ``include_conditional``)."""
        rules = self.rules
        return {
            "minimum_one_day": rules.minimum_one_day,
            "online_half_day": rules.online_half_day,
            "consecutive_starts": rules.consecutive_starts,
            "include_conditional": rules.include_conditional,
        }


def working_time(step: Step, start: float = 0.0, calendar=None) -> tuple[float, float]:
    """A step's fixed time on the working-day clock when it starts at ``start``.

    Its declared fixed time, or its typical handling plus waiting; a time in calendar
    days is converted through the calendar from where it starts; a time limit cuts it as
    it would a case's.

    Returns:
        (working days, the part of them that is handling).
    """
    handling = step.handling.typical
    waiting = step.waiting.typical
    if step.waiting_unit == CALENDAR_DAYS and waiting > 0:
        waiting = _after(calendar, start + handling, waiting) - (start + handling)
    if step.fixed_days is None:
        days = handling + waiting
    elif step.fixed_unit == CALENDAR_DAYS:
        days = _after(calendar, start, step.fixed_days) - start if step.fixed_days > 0 else 0.0
    else:
        days = step.fixed_days
    raw = handling + waiting
    share = handling / raw if raw > 0 else 1.0
    limit = step.time_limit
    if limit is not None:
        # The fixed time split as the typical one is; the limit cuts it as it would a case.
        handled = min(days * share, limit.days)
        days = handled + limit.waiting_left(
            days - days * share, handled if step.handling_on_clock else 0.0
        )
        share = handled / days if days > 0 else 1.0
    return days, days * share


def _after(calendar, clock: float, days: float) -> float:
    if calendar is None:
        raise ValueError("a time in calendar days needs the scenario's calendar")
    return calendar.after_calendar_days(clock, days)


def step_days(
    step: Step, minimum_one_day: bool = True, online_half_day: bool = True
) -> tuple[float, float]:
    """A step's fixed time in working days under the two floor rules (from clock 0).

    Args:
        step: The step.
        minimum_one_day: At least one day a step.
        online_half_day: A step done online takes at least half a day instead of one.

    Returns:
        (days, handling days).
    """
    days, handling = working_time(step)
    floored = _floor(days, step, minimum_one_day, online_half_day)
    return floored, floored * (handling / days if days > 0 else 1.0)


def _floor(days: float, step: Step, minimum_one_day: bool, online_half_day: bool) -> float:
    if step.online and online_half_day:
        return max(days, 0.5)
    if minimum_one_day:
        return max(days, 1.0)
    return days


class _Axis:
    """Where the schedule counts: working days on the clock, or calendar days.

    A moment of the schedule is a number of days from its start; `clock` gives the
    working-day clock of a start there, `end_clock` of an end.
    """

    def __init__(self, rules: Rules, calendar, begin_clock: float, start_date):
        self.calendar = calendar
        self.begin = begin_clock
        self.in_calendar_days = rules.method == "db" and calendar is not None
        self.origin = 0.0
        if self.in_calendar_days:
            self.origin = (
                calendar.position_of_date(start_date)
                if start_date is not None
                else calendar.position(begin_clock)
            )

    def clock(self, day: float) -> float:
        if self.in_calendar_days:
            return self.calendar.clock_at(self.origin + day)
        return self.begin + day

    def days(self, step: Step, day: float) -> tuple[float, float]:
        """The step's time when it starts ``day`` into the schedule, and its handling part."""
        start = self.clock(day)
        working, handling = working_time(step, start, self.calendar)
        share = handling / working if working > 0 else 1.0
        if not self.in_calendar_days:
            return working, handling
        if step.fixed_days is not None and step.fixed_unit == CALENDAR_DAYS:
            return step.fixed_days, step.fixed_days * share
        if working == 0:
            return 0.0, 0.0
        end = self.calendar.end_position(start + working, start) - self.origin
        return end - day, (end - day) * share


def schedule(
    procedure: Procedure,
    calendar=None,
    start: datetime.date | None = None,
    counting: Counting | None = None,
    **options: bool | str | None,
) -> Schedule:
    """Schedule a procedure's steps at fixed times and find the critical path.

    Args:
        procedure: The procedure (any reformed version).
        calendar: A `sim.domain.calendar.WorkingCalendar`, for calendar days.
        start: The first day (default: the calendar's first working day).
        counting: The method and its options (default: by the unit of the target).
        options: Fields of `Counting` to set (``method``, ``minimum_one_day``,
            ``online_half_day``, ``consecutive_starts``, ``include_conditional``, ...).

    Returns:
        The schedule, the critical path and the totals.
    """
    counting = counting or Counting()
    if options:
        counting = Counting(**{**counting.__dict__, **options})
    rules = counting.rules(procedure)
    begin_clock = calendar.clock_of(start) if calendar is not None and start is not None else 0.0
    axis = _Axis(rules, calendar, begin_clock, start)
    conditional = tuple(step.id for step in procedure.steps if step.when is not None)
    dropped = set() if rules.include_conditional else set(conditional)
    db = rules.method == "db"
    position = {step.id: index for index, step in enumerate(procedure.steps)}
    ends: dict[str, float] = {}
    decided_by: dict[str, str | None] = {}
    taken_days: set[int] = set()
    timetable: list[StepTime] = []
    pending = {step.id: step for step in procedure.steps}
    # Schedule in order of readiness (file order on ties), so that of the steps that
    # could start together, the first in the file keeps its day.
    while pending:
        ready_steps = [
            step for step in pending.values() if all(before in ends for before in step.after)
        ]
        ready_at = {
            step.id: max((ends[b] for b in step.after), default=0.0) for step in ready_steps
        }
        step = min(ready_steps, key=lambda s: (ready_at[s.id], position[s.id]))
        del pending[step.id]
        ready = ready_at[step.id]
        decided_by[step.id] = max(step.after, key=lambda b: (ends[b], -position[b]), default=None)
        if step.id in dropped:
            ends[step.id] = ready
            continue
        counted = step.counted or not db
        begin = ready
        if rules.consecutive_starts and counted and not step.online:
            while math.floor(begin + _EPSILON) in taken_days:
                begin = math.floor(begin + _EPSILON) + 1.0
            taken_days.add(math.floor(begin + _EPSILON))
        days, handling = axis.days(step, begin) if counted else (0.0, 0.0)
        if counted:
            floored = _floor(days, step, rules.minimum_one_day, rules.online_half_day)
            handling *= floored / days if days > 0 else 1.0
            days = floored
        ends[step.id] = begin + days
        start_clock, end_clock = axis.clock(begin), axis.clock(begin + days)
        share = handling / days if days > 0 else 1.0
        timetable.append(
            StepTime(
                step,
                ready,
                begin,
                begin + days,
                days,
                handling,
                axis.clock(ready),
                start_clock,
                start_clock + share * (end_clock - start_clock),
                end_clock,
            )
        )
    total = max((item.end_day for item in timetable), default=0.0)
    end_clock = max((item.end_clock for item in timetable), default=begin_clock)
    calendar_days = start_date = end_date = None
    if calendar is not None:
        start_date = start if start is not None else calendar.date_of(begin_clock)
        end_date = calendar.end_dates_of(np.array([end_clock]), np.array([begin_clock]))[0].item()
        if axis.in_calendar_days:
            calendar_days = total
        else:
            calendar_days = calendar.calendar_span(begin_clock, end_clock)
            calendar_days += float((calendar.date_of(begin_clock) - start_date).days)
    return Schedule(
        procedure=procedure,
        steps=tuple(timetable),
        path=_critical_path(timetable, decided_by, position),
        rules=rules,
        total_days=total,
        total_working_days=end_clock - begin_clock,
        calendar_days=calendar_days,
        conditional=conditional,
        start_date=start_date,
        end_date=end_date,
        begin_clock=begin_clock,
    )


def _critical_path(
    timetable: list[StepTime], decided_by: dict[str, str | None], position: dict[str, int]
) -> tuple[PathStep, ...]:
    """From the step that ends last, back through the predecessor each step waited for."""
    if not timetable:
        return ()
    timed = {item.step.id: item for item in timetable}
    path: list[PathStep] = []
    last = max(timetable, key=lambda item: (item.end_day, -position[item.step.id]))
    current: str | None = last.step.id
    while current is not None:
        item = timed.get(current)
        if item is not None:
            path.append(PathStep(current, item.start_day, item.end_day, item.days))
        current = decided_by[current]
    return tuple(reversed(path))


def representative(demand) -> Procedure:
    """The version of a procedure a case meeting no condition of a conditional reform gets."""
    return demand.version(tuple(False for _ in demand.conditions))


def simulate(
    model: Model, seed_sequence: np.random.SeedSequence, replication: int = 0, shared=None
) -> Records:
    """One representative case per procedure, timed by the model's counting method.

    Each procedure is run as its `representative` version, with the rules of the
    scenario's counting (`sim.domain.model.Counting`). The case arrives at clock 0 and
    ends after the critical path; it is ``open`` if that is past the horizon's end, and
    its steps under way then are cut short there (outcome ``interrupted``). There is no
    randomness: ``seed_sequence`` is not used.

    Args:
        model: The resolved variant.
        seed_sequence: Unused (the signature of every engine).
        replication: The replication's number, written into the records.
        shared: Unused (the signature of every engine).

    Returns:
        One case row per procedure and its step rows.
    """
    records = Records(replication, model.variant)
    records.agency_busy = dict.fromkeys((agency.id for agency in model.agencies), 0.0)
    records.calendar_days = []
    horizon_end = model.horizon.end
    calendar = model.calendar
    start = calendar.span[0] if calendar is not None and calendar.span else None
    for demand in model.demands:
        procedure = representative(demand)
        result = schedule(procedure, calendar, start, counting=model.counting)
        case_id = f"{procedure.id}-{1:06d}"
        end = result.total_working_days
        status = "completed" if end < horizon_end else "open"
        clock: list[tuple[float, float]] = []
        for item in result.steps:
            step = item.step
            if step.handling_on_clock:
                clock.append((item.ready_clock, item.handled_clock))
            if step.waiting_on_clock:
                clock.append((item.handled_clock, item.end_clock))
            _rows(records, procedure.id, case_id, item, horizon_end)
        steps = [item.step for item in result.steps]
        # The representative case needs the conditional steps (and so a removed one).
        fired = {m.label: None for m in procedure.reformed_by}
        fired.update((m.label, None) for s in steps for m in s.reformed_by)
        counted = [s for s in steps if s.counted or result.rules.method != "db"]
        records.cases.append(
            (
                procedure.id,
                case_id,
                status,
                0.0,
                end if status == "completed" else math.nan,
                union_length(clock),
                procedure.target_days,
                procedure.target_unit,
                len(counted),
                sum(len(step.materials) for step in steps),
                sum(step.certificates for step in steps),
                float(sum(step.trips for step in steps)),
                float(sum(step.fees_cny for step in steps)),
                0,
                audit_trail(fired, {label: i for i, label in enumerate(procedure.fired)}),
                "{}",
            )
        )
        days = result.calendar_days
        records.calendar_days.append(math.nan if days is None else days)
    return records


def _rows(records: Records, procedure_id: str, case_id: str, item: StepTime, horizon: float):
    """The step's row and staff-days; a step under way when the run stops is cut there."""
    if item.start_clock >= horizon:
        return
    handled, end = item.handled_clock, item.end_clock
    outcome = "accepted"
    if end >= horizon:
        outcome = "interrupted"
        handled, end = min(handled, horizon), horizon
    step = item.step
    records.steps.append(
        (
            procedure_id,
            case_id,
            step.id,
            "+".join(step.agencies),
            1,
            outcome,
            item.ready_clock,
            item.start_clock,
            handled,
            end,
        )
    )
    for agency in step.agencies:
        records.agency_busy[agency] += handled - item.start_clock
