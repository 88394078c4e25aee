"""The deterministic method of the World Bank's Doing Business reports: one fixed time a step.

Doing Business measured a procedure's time without randomness: each step takes a fixed
time (here the step's declared ``fixed_days``, or else the typical value of its handling
plus its waiting: the mode, median or mean as `sim.domain.distributions` defines ``typical``),
steps run as soon as their predecessors are done, and the total is the end of the
critical path through the precedence graph. Its rules, each an option here:

- a step takes at least one day (``minimum_one_day``);
- a step done fully online takes half a day at least, instead of one
  (``online_half_day``; our reading of "recorded as half a day" for online procedures);
- steps that could run side by side do not start on the same day: they start on
  consecutive days, steps done online excepted (``consecutive_starts``).

What the method leaves out, so does this: no queue for staff, no send-backs (the file is
complete), no commitments or post-checks. Steps with a ``when:`` condition are included
(the representative case is taken to need them) unless ``include_conditional=False``,
which drops them as a case that does not meet them would.

Times are working days; with a calendar and a start date, the total is also given in
calendar days (holidays and weekends in between count, 调休 weekends worked do not).
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from sim.domain.model import Model, Procedure, Step
from sim.engines.records import Records, audit_trail, union_length

_EPSILON = 1e-9


class PathStep(NamedTuple):
    """One step on the critical path: its id and when it starts and ends (working days)."""

    step: str
    start_day: float
    end_day: float
    days: float


@dataclass(frozen=True)
class StepTime:
    """The fixed schedule of one step.

    Attributes:
        step: The step.
        ready_day: When its last predecessor ends.
        start_day: When it starts (later than ready when pushed to the next free day).
        end_day: When it ends.
        days: Its fixed time.
        handling_days: The part of ``days`` that is handling (the rest is waiting).
    """

    step: Step
    ready_day: float
    start_day: float
    end_day: float
    days: float
    handling_days: float


@dataclass(frozen=True)
class Schedule:
    """A procedure's time by the Doing Business method.

    Attributes:
        procedure: The procedure.
        steps: Every step that was scheduled, in the order scheduled.
        path: The critical path, first step first.
        total_working_days: End of the last step.
        options: The method's options as used.
        conditional: Steps with a ``when:`` condition that were included (or dropped).
        calendar_days: The total in calendar days (with a calendar and a start date).
        start_date: The first day.
        end_date: The day the last step ends.
    """

    procedure: Procedure
    steps: tuple[StepTime, ...]
    path: tuple[PathStep, ...]
    total_working_days: float
    options: dict[str, bool] = field(default_factory=dict)
    conditional: tuple[str, ...] = ()
    calendar_days: float | None = None
    start_date: datetime.date | None = None
    end_date: datetime.date | None = None


def step_days(
    step: Step, minimum_one_day: bool = True, online_half_day: bool = True
) -> tuple[float, float]:
    """A step's fixed time and the part of it that is handling.

    Args:
        step: The step.
        minimum_one_day: At least one day a step.
        online_half_day: A step done online takes at least half a day instead of one.

    Returns:
        (days, handling days).
    """
    handling = step.handling.typical
    waiting = step.waiting.typical
    days = step.fixed_days if step.fixed_days is not None else handling + waiting
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
    floor = 0.0
    if step.online and online_half_day:
        floor = 0.5
    elif minimum_one_day:
        floor = 1.0
    days = max(days, floor)
    return days, days * share


def schedule(
    procedure: Procedure,
    calendar=None,
    start: datetime.date | None = None,
    minimum_one_day: bool = True,
    online_half_day: bool = True,
    consecutive_starts: bool = True,
    include_conditional: bool = True,
) -> Schedule:
    """Schedule a procedure's steps at fixed times and find the critical path.

    Args:
        procedure: The procedure (any reformed version).
        calendar: A `sim.domain.calendar.WorkingCalendar`, to give the total in calendar days.
        start: The first day (default: the calendar's first working day).
        minimum_one_day: Each step takes at least one day.
        online_half_day: A step done fully online takes at least half a day (not one).
        consecutive_starts: Steps that could start together start on consecutive days
            (steps done online may share a day).
        include_conditional: Include steps with a ``when:`` condition (the default); if
            False they are dropped and their successors wait on their predecessors.

    Returns:
        The schedule, the critical path and the totals.
    """
    conditional = tuple(step.id for step in procedure.steps if step.when is not None)
    dropped = set() if include_conditional else set(conditional)
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
        before = max(step.after, key=lambda b: (ends[b], -position[b]), default=None)
        if step.id in dropped:
            ends[step.id] = ready
            decided_by[step.id] = before
            continue
        days, handling = step_days(step, minimum_one_day, online_half_day)
        begin = ready
        if consecutive_starts and not step.online:
            while math.floor(begin + _EPSILON) in taken_days:
                begin = math.floor(begin + _EPSILON) + 1.0
            taken_days.add(math.floor(begin + _EPSILON))
        ends[step.id] = begin + days
        decided_by[step.id] = before
        timetable.append(StepTime(step, ready, begin, begin + days, days, handling))
    timed = {item.step.id: item for item in timetable}
    total = max((item.end_day for item in timetable), default=0.0)
    path: list[PathStep] = []
    if timetable:
        last = max(timetable, key=lambda item: (item.end_day, -position[item.step.id]))
        current: str | None = last.step.id
        while current is not None:
            item = timed.get(current)
            if item is not None:
                path.append(PathStep(current, item.start_day, item.end_day, item.days))
            current = decided_by[current]
        path.reverse()
    calendar_days = start_date = end_date = None
    if calendar is not None:
        begin_clock = calendar.clock_of(start) if start is not None else 0.0
        end_clock = begin_clock + total
        start_date = start if start is not None else calendar.date_of(begin_clock)
        end_date = calendar.date_of(end_clock)
        calendar_days = float(
            calendar.calendar_days(end_clock) - calendar.calendar_days(begin_clock)
        )
        if start is not None:
            calendar_days += float((calendar.date_of(begin_clock) - start).days)
    return Schedule(
        procedure=procedure,
        steps=tuple(timetable),
        path=tuple(path),
        total_working_days=total,
        options={
            "minimum_one_day": minimum_one_day,
            "online_half_day": online_half_day,
            "consecutive_starts": consecutive_starts,
            "include_conditional": include_conditional,
        },
        conditional=conditional,
        calendar_days=calendar_days,
        start_date=start_date,
        end_date=end_date,
    )


def simulate(
    model: Model, seed_sequence: np.random.SeedSequence, replication: int = 0, shared=None
) -> Records:
    """One representative case per procedure, timed by the Doing Business method.

    Each procedure is run as the version a case meeting no condition of a conditional
    reform gets (reforms without a condition apply), with the default options. The case
    arrives at clock 0 and ends after the critical path; it is ``open`` if that is past
    the horizon's end. There is no randomness: ``seed_sequence`` is not used.

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
    horizon_end = model.horizon.end
    for demand in model.demands:
        procedure = demand.version(tuple(False for _ in demand.conditions))
        result = schedule(procedure)
        case_id = f"{procedure.id}-{1:06d}"
        end = result.total_working_days
        status = "completed" if end < horizon_end else "open"
        clock: list[tuple[float, float]] = []
        for item in result.steps:
            step = item.step
            handled = item.start_day + item.handling_days
            if step.handling_on_clock:
                clock.append((item.ready_day, handled))
            if step.waiting_on_clock:
                clock.append((handled, item.end_day))
            if item.end_day < horizon_end:
                records.steps.append(
                    (
                        procedure.id,
                        case_id,
                        step.id,
                        "+".join(step.agencies),
                        1,
                        "accepted",
                        item.ready_day,
                        item.start_day,
                        handled,
                        item.end_day,
                    )
                )
            for agency in step.agencies:
                records.agency_busy[agency] += item.handling_days
        steps = [item.step for item in result.steps]
        # The representative case needs the conditional steps (and so a removed one).
        fired = {m.label: None for m in procedure.reformed_by}
        fired.update((m.label, None) for s in steps for m in s.reformed_by)
        records.cases.append(
            (
                procedure.id,
                case_id,
                status,
                0.0,
                end if status == "completed" else math.nan,
                union_length(clock),
                procedure.target_days,
                len(steps),
                sum(len(step.materials) for step in steps),
                sum(step.certificates for step in steps),
                float(sum(step.trips for step in steps)),
                float(sum(step.fees_cny for step in steps)),
                0,
                audit_trail(fired, {label: i for i, label in enumerate(procedure.fired)}),
                "{}",
            )
        )
    return records
