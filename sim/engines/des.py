"""The discrete-event engine: cases queue for agency staff on the working-day clock.

It takes no randomness of its own: every draw comes from `sim.engines.draws`, keyed by
procedure, step and case, so variants of a scenario see the same cases with the same
luck. A step whose predecessors are all done starts at once (side by side when several
are ready); it queues for one staff member of its agency (of every agency, for a joint
step), holds them for its handling effort, then the materials are checked. A defect
sends the file back: the applicant takes a response time and resubmits, up to the
step's cap, after which the case is withdrawn. An accepted file then waits out the
step's elapsed waiting (public notice, expert review) holding no one. Minor defects are
accepted on a written commitment where a tolerated-deficiency rule applies; failed
commitments and post-checks cost a rework step, or revoke the approval.

A case that stops (withdrawn, or still open when the run ends) frees what it holds and
starts nothing more: each of its steps and reworks still under way is cut short then,
with a row of outcome ``interrupted`` ending at that moment; the handling it did until
then counts as staff-days, a place in a queue is given up, and pending resubmissions,
waiting times, follow-ups and reworks never happen.

Each step of a case is one `sim.engines.kernel.Event` whose ``action`` says what it does
next when it fires. Staff are a priority queue (fast lane first, then request time, then
arrival order); a free member with nobody waiting is taken at once, and a member freed
while others wait goes at once to the head of the queue, whose step resumes as an event
at that instant (on the kernel's list for the instant, not its heap).
`sim.engines.reference` is the same model written with SimPy's processes and resources,
which this engine is tested against: the same rows, case by case, unless events fall
due at exactly the same instant (fixed durations; with continuous ones this has
probability zero). The reference starts a readied step, and hands a freed member to the
head of its queue, after the other events due at that instant, where this engine does
both within the event that caused them. So there (1) a resubmission or rework due then
asks for staff before the readied step, and what those events schedule for a later
instant comes first at that instant; (2) a fast-lane resubmission or rework due then
takes the freed member, which here went to the head of the queue.

Rows are written field by field into typed columns (`librt.vecs.vec`, mypyc's typed
arrays: no Python object a value), with text as codes, and moved into compact NumPy
arrays every few thousand rows (`sim.engines.records.RowChunks`): a step row takes a
few bytes a field, not a tuple of ten Python objects (figures in
``benchmarks/README.md``). Draws are read from typed views of the NumPy arrays
(`sim.engines.draws.view`), a fixed duration from its value. A step that is done is
kept for the next step to start in (`Simulation.spare`), not freed and made again.

This module and the kernel are compiled by mypyc at install (`sim.engines.compiled` says
when they run as Python instead): keep every attribute annotated in its class body, and
the module passing ``mypy --ignore-missing-imports --follow-imports=skip``.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import deque
from typing import Any, Final

import numpy as np
from librt.vecs import append, vec
from mypy_extensions import i64

from sim.domain.model import CALENDAR_DAYS, Demand, FollowUp, Model, Procedure, Step, TimeLimit
from sim.engines.collector import collector_paused
from sim.engines.draws import ProcedureDraws, SharedDraws, shared_draws, view
from sim.engines.kernel import Event, Kernel
from sim.engines.records import (
    CHUNK_ROWS,
    FLOAT,
    INTEGER,
    OUTCOME_CODES,
    STATUS_CODES,
    Records,
    RowChunks,
    audit_trail,
    engine_columns,
)

NORMAL: Final = 1
FAST_LANE: Final = 0
# Whether this module runs compiled (loaded from a C extension, not from its source).
COMPILED: Final = not __file__.endswith(".py")
# What the materials of a submission lead to (`sim.engines.draws.StepDraws.verdicts`).
ACCEPTED: Final = 0
TOLERATED: Final = 1
SENT_BACK: Final = 2
# Row outcomes and case statuses as codes (`sim.engines.records.OUTCOMES`, `STATUSES`).
OUT_ACCEPTED: Final = OUTCOME_CODES["accepted"]
OUT_TOLERATED: Final = OUTCOME_CODES["tolerated"]
OUT_SENT_BACK: Final = OUTCOME_CODES["sent_back"]
OUT_WITHDRAWN: Final = OUTCOME_CODES["withdrawn"]
OUT_REWORK: Final = OUTCOME_CODES["rework"]
OUT_REVOKED: Final = OUTCOME_CODES["revoked"]
OUT_INTERRUPTED: Final = OUTCOME_CODES["interrupted"]
COMPLETED: Final = STATUS_CODES["completed"]
WITHDRAWN: Final = STATUS_CODES["withdrawn"]
REVOKED: Final = STATUS_CODES["revoked"]
OPEN: Final = STATUS_CODES["open"]
RUNNING: Final = -1
# Rows kept in lists before they move into arrays (a static, not a lookup a row).
ROWS_A_CHUNK: Final = CHUNK_ROWS
# How the rows are kept (`sim.engines.records.RowChunks`): a step row's start mostly
# equals its ready time, its end its handling's end.
STEP_KINDS = (INTEGER, INTEGER, INTEGER, INTEGER, FLOAT, 4, FLOAT, 6)
CASE_KINDS = (*(INTEGER,) * 3, *(FLOAT,) * 3, *(INTEGER,) * 4, FLOAT, FLOAT, INTEGER)


class _Staff:
    """An agency's staff: a priority queue of waiting steps.

    A request joins the queue (fast lane first, then by request time, then arrival
    order; times never decrease, so two FIFO queues keep that order). `take` books a
    free member at once when nobody waits, so someone waits only while every member is
    busy. A release hands the member to the head of the queue, if any, at once:
    granting schedules the waiter (an `_Event` whose action is `GRANTED`) as an event now.
    """

    __slots__ = ("sim", "capacity", "count", "fast", "normal")

    sim: Simulation
    capacity: int
    count: int
    fast: deque[Any]
    normal: deque[Any]

    def __init__(self, sim: Simulation, capacity: int):
        self.sim = sim
        self.capacity = capacity
        self.count = 0
        self.fast = deque()
        self.normal = deque()

    def take(self) -> bool:
        """Book a member at once if one is free and nobody waits (no event needed)."""
        if self.count < self.capacity and not (self.fast or self.normal):
            self.count += 1
            return True
        return False

    def request(self, waiter, priority: int) -> None:
        """Queue for a member (after `take` failed: all busy, as someone waits only then)."""
        (self.fast if priority == FAST_LANE else self.normal).append(waiter)

    def cancel(self, waiter) -> bool:
        """Take a waiter out of the queue; False if it is not there (granted already)."""
        for queue in (self.fast, self.normal):
            try:
                queue.remove(waiter)
                return True
            except ValueError:
                pass
        return False

    def release(self) -> None:
        queue = self.fast or self.normal
        if queue:
            # The freed member goes straight to the head of the queue (count unchanged).
            sim = self.sim
            sim.push(sim.clock, queue.popleft())
        else:
            self.count -= 1


class _Account:
    """Staff-days of handling an agency has done in the run."""

    __slots__ = ("days",)

    days: float

    def __init__(self) -> None:
        self.days = 0.0


class _StepPlan:
    """What every case of one procedure version needs to know about one step."""

    __slots__ = (
        "step",
        "id",
        "position",
        "resources",
        "staff",
        "agency",
        "label",
        "accounts",
        "sim",
        "draws",
        "rounds",
        "when",
        "successors",
        "materials",
        "certificates",
        "fees",
        "trips",
        "handling_on_clock",
        "waiting_on_clock",
        "follow_ups",
        "waiting",
        "waiting_fixed",
        "handling",
        "handling_fixed",
        "verdicts",
        "reached",
        "responses",
        "response_fixed",
        "made",
        "marks",
        "limit",
        "holds",
        "calendar",
    )

    step: Step
    id: str
    position: int
    resources: tuple[_Staff, ...]
    staff: _Staff | None
    agency: str
    # The code of the step's rows' (procedure, step, agency) (`Simulation.label`).
    label: int
    accounts: tuple[_Account, ...]
    sim: Simulation
    draws: Any
    rounds: int
    when: Any
    successors: list[_StepPlan]
    materials: int
    certificates: int
    fees: float
    trips: float
    handling_on_clock: bool
    waiting_on_clock: bool
    follow_ups: tuple[FollowUp, ...]
    # Per-case draws as typed views (None: the fixed value beside it, for every case).
    waiting: Any
    waiting_fixed: float
    handling: list[Any]
    handling_fixed: float
    # Per round: each case's verdict on the materials (None: no material can be defective).
    verdicts: list[Any]
    # Per resubmission round: the cases that can reach it, in order (a case's place
    # among them is its place in the round's draws), and their time to resubmit.
    reached: list[Any]
    responses: list[Any]
    response_fixed: float
    made: list[bool]
    # The reforms that changed the step, each with the cases it concerns (None: all).
    marks: list[tuple[str, Any]]
    limit: TimeLimit | None
    # The calendar, when the waiting is in calendar days (else None).
    calendar: Any
    # Per commitment that holds the decision until the missing material is in (容缺受理):
    # each case's delay from the handling's end.
    holds: list[Any]

    def __init__(self, sim: Simulation, step: Step, position: int, draws: ProcedureDraws):
        self.step = step
        self.id = step.id
        self.position = position
        # Staff are booked one agency after the other in one global order, so that joint
        # bookings cannot deadlock; agencies without a staff limit are not booked.
        self.resources = tuple(
            staff for agency in sorted(step.agencies) if (staff := sim.staff[agency]) is not None
        )
        # The common case, one agency with a staff limit, is booked without a loop.
        self.staff = self.resources[0] if len(self.resources) == 1 else None
        self.agency = "+".join(step.agencies)
        self.label = sim.label(draws.procedure.id, step.id, self.agency)
        self.accounts = tuple(sim.accounts[agency] for agency in step.agencies)
        self.sim = sim
        self.draws = draws.step(step)
        self.rounds = len(self.draws.handling)
        self.when = draws.meets_view(step.when) if step.when is not None else None
        self.successors = []
        self.materials = len(step.materials)
        self.certificates = step.certificates
        self.fees = step.fees_cny
        self.trips = step.trips
        self.handling_on_clock = step.handling_on_clock
        self.waiting_on_clock = step.waiting_on_clock
        self.follow_ups = step.follow_ups
        fixed = self.draws.fixed("waiting")
        self.waiting = None if fixed is not None else self.draws.view("waiting")
        self.waiting_fixed = 0.0 if fixed is None else fixed
        fixed = self.draws.fixed("handling")
        self.handling_fixed = 0.0 if fixed is None else fixed
        self.handling = [None] * self.rounds
        self.verdicts = [None] * self.rounds
        self.reached = [None] * self.rounds
        self.responses = [None] * self.rounds
        fixed = self.draws.fixed("response") if step.send_back is not None else None
        self.response_fixed = 0.0 if fixed is None else fixed
        self.made = [False] * self.rounds
        self.marks = marks_of(step.reformed_by, draws)
        self.limit = step.time_limit
        self.calendar = sim.model.calendar_needed() if step.waiting_unit == CALENDAR_DAYS else None
        self.holds = [
            view(self.draws.follow_up_delay[position])
            for position, follow_up in enumerate(step.follow_ups)
            if follow_up.holds
        ]

    def make_round(self, attempt: int) -> None:
        """The views of a submission round's draws: handling, verdicts, response.

        The first round's are every case's; a resubmission's only those of the cases
        that can reach it (`sim.engines.draws.StepDraws.resubmissions`).
        """
        draws = self.draws
        if attempt == 0:
            if draws.fixed("handling") is None:
                self.handling[0] = draws.view("handling", 0)
            self.verdicts[0] = draws.view("verdicts", 0)
        else:
            found = draws.resubmissions(attempt)
            self.reached[attempt] = view(found.cases)
            for views, array in (
                (self.handling, found.handling),
                (self.verdicts, found.verdicts),
                (self.responses, found.response),
            ):
                views[attempt] = None if array is None else view(array)
        self.made[attempt] = True


class _ProcedurePlan:
    """The steps of one procedure version, linked to their successors."""

    __slots__ = ("procedure", "steps", "roots", "waits", "draws", "marks", "order", "code")

    procedure: Procedure
    steps: list[_StepPlan]
    roots: list[_StepPlan]
    waits: vec[i64]
    draws: ProcedureDraws
    # The reforms that change every case (each with the cases it concerns; None: all).
    marks: list[tuple[str, Any]]
    # The order of the audit trail: label to its place among the version's reforms.
    order: dict[str, int]
    # Its place among the run's versions (the case rows' ``version`` code).
    code: int

    def __init__(self, sim: Simulation, procedure: Procedure, draws: ProcedureDraws, code: int):
        self.procedure = procedure
        self.draws = draws
        self.code = code
        self.steps = [_StepPlan(sim, step, i, draws) for i, step in enumerate(procedure.steps)]
        by_id = {plan.id: plan for plan in self.steps}
        for step_id, following in procedure.successors().items():
            by_id[step_id].successors = [by_id[other] for other in following]
        self.roots = [plan for plan in self.steps if not plan.step.after]
        self.waits = vec[i64]([len(step.after) for step in procedure.steps])
        self.marks = marks_of(procedure.reformed_by, draws)
        self.order = {label: place for place, label in enumerate(procedure.fired)}


class _Case:
    __slots__ = (
        "plan",
        "index",
        "item",
        "key",
        "arrival",
        "remaining",
        "unfinished",
        "pending",
        "status",
        "revoked",
        "priority",
        "steps",
        "materials",
        "certificates",
        "trips",
        "fees",
        "send_backs",
        "clock",
        "fired",
        "active",
    )

    plan: _ProcedurePlan
    index: int
    # The index as a Python int (made once: reading a view by it boxes nothing), and the
    # case's number in the run (its rows' ``case`` column).
    item: Any
    key: int
    arrival: float
    remaining: vec[i64]
    unfinished: int
    pending: int
    status: int
    revoked: bool
    priority: int
    steps: int
    materials: int
    certificates: int
    send_backs: int
    trips: float
    fees: float
    # The intervals on the approval clock, as (start, end) pairs one after the other.
    clock: vec[float]
    fired: dict[str, None]
    # Steps and reworks under way, in the order they began (cut short if the case stops);
    # one that is over leaves None in its slot (compiled events are not hashable, and a
    # slot is cheaper to clear than a list to search).
    active: list[Any]

    def __init__(self, plan: _ProcedurePlan, index: Any, key: int, arrival: float):
        self.plan = plan
        self.index = index
        self.item = index
        self.key = key
        self.arrival = arrival
        self.remaining = plan.waits[:]
        self.unfinished = len(plan.steps)
        self.pending = 0
        self.status = RUNNING
        self.revoked = False
        self.priority = FAST_LANE if plan.procedure.fast_lane else NORMAL
        self.steps = self.materials = self.certificates = self.send_backs = 0
        self.trips = self.fees = 0.0
        self.clock = vec[float]()
        self.fired = {}
        if plan.marks:
            mark(self.fired, plan.marks, index)
        self.active = []


class _Event(Event):
    """An event of this engine: `fire` runs its next ``action``."""

    __slots__ = ("action",)

    action: int


# What an event does when it fires (`_Event.action`): a step's or rework's staff were
# granted, its handling is done, the applicant resubmits, its waiting is over, a rework
# is due; nothing, as its case stopped.
GRANTED: Final = 0
RELEASE: Final = 1
RESUBMIT: Final = 2
FINISH: Final = 3
ACQUIRE: Final = 4
STOPPED: Final = 5


class _StepRun(_Event):
    """One step of one case; it is its own event on the queue."""

    __slots__ = (
        "sim",
        "case",
        "plan",
        "attempt",
        "ready",
        "start",
        "handled",
        "effort",
        "booked",
        "minor",
        "verdicts",
        "place",
        "clocked",
        "slot",
    )

    sim: Simulation
    case: _Case
    plan: _StepPlan
    attempt: int
    ready: float
    start: float
    handled: float
    effort: float
    booked: int
    minor: bool
    # The verdicts of the round submitted (None: accepted whatever the materials), and
    # the case's place in the round's draws.
    verdicts: Any
    place: Any
    # Where the waiting on the approval clock ends, when the step ends later (it waits
    # for a committed material).
    clocked: float
    # Its place in its case's `active` list.
    slot: int

    def __init__(self, sim: Simulation, case: _Case, plan: _StepPlan):
        self.sim = sim
        self.case = case
        self.plan = plan

    def fire(self) -> None:
        """Run the step's next action (`GRANTED`, `RELEASE`, `RESUBMIT` or `FINISH`)."""
        action = self.action
        if action == RELEASE:
            self.release()
        elif action == FINISH:
            self.finish()
        elif action == GRANTED:
            self.granted()
        elif action == RESUBMIT:
            self.submit()
        # STOPPED: the case stopped and cut the step short.

    def begin(self) -> None:
        case = self.case
        plan = self.plan
        active = case.active
        self.slot = len(active)
        active.append(self)
        if plan.marks:
            mark(case.fired, plan.marks, case.item)
        case.steps += 1
        case.materials += plan.materials
        case.certificates += plan.certificates
        case.fees += plan.fees
        self.attempt = 0
        self.submit()

    def submit(self) -> None:
        case = self.case
        plan = self.plan
        case.trips += plan.trips
        self.ready = plan.sim.clock
        attempt = self.attempt
        if not plan.made[attempt]:
            plan.make_round(attempt)
        place = case.item if attempt == 0 else self.place
        self.place = place
        handling = plan.handling[attempt]
        self.effort = plan.handling_fixed if handling is None else handling[place]
        self.verdicts = plan.verdicts[attempt]
        staff = plan.staff
        if staff is not None:  # one agency with a staff limit: no loop
            if not staff.take():
                self.booked = 1
                self.action = GRANTED
                staff.request(self, case.priority)
                return
        else:
            self.booked = 0
            if not self.book():
                return
        self.hold()

    def book(self) -> bool:
        """Book the step's agencies in order; False: waiting in the queue of a busy one."""
        resources = self.plan.resources
        booked = self.booked
        while booked < len(resources):
            resource = resources[booked]
            booked = self.booked = booked + 1
            if not resource.take():
                self.action = GRANTED
                resource.request(self, self.case.priority)
                return False
        return True

    def granted(self) -> None:
        if self.book():
            self.hold()

    def hold(self) -> None:
        """Hold the booked staff for the handling effort."""
        sim = self.sim
        self.start = sim.clock
        self.action = RELEASE
        sim.push(sim.clock + self.effort, self)

    def release(self) -> None:
        plan = self.plan
        case = self.case
        effort = self.effort
        sim = self.sim
        handled = self.handled = sim.clock
        for resource in plan.resources:
            resource.release()
        for account in plan.accounts:
            account.days += effort
        if plan.handling_on_clock:
            case.clock = append(append(case.clock, self.ready), handled)
        item = case.item
        verdicts = self.verdicts
        verdict: int = ACCEPTED if verdicts is None else verdicts[self.place]
        self.minor = verdict == TOLERATED
        if verdict == SENT_BACK:
            case.send_backs += 1
            self.attempt = attempt = self.attempt + 1
            withdrawn = attempt >= plan.rounds
            sim.step_row(
                case,
                plan.label,
                attempt,
                OUT_WITHDRAWN if withdrawn else OUT_SENT_BACK,
                self.ready,
                self.start,
                handled,
                handled,
            )
            if withdrawn:
                case.active[self.slot] = None
                sim.record_case(case, WITHDRAWN, handled)
                sim.stop(case, handled)
                return
            self.action = RESUBMIT
            if not plan.made[attempt]:
                plan.make_round(attempt)
            place = self.place = bisect_left(plan.reached[attempt], item)
            responses = plan.responses[attempt]
            response: float = plan.response_fixed if responses is None else responses[place]
            sim.push(sim.clock + response, self)
            return
        waiting: float = plan.waiting_fixed if plan.waiting is None else plan.waiting[item]
        calendar = plan.calendar
        if calendar is not None and waiting > 0:
            # Calendar days from the handling's end, through weekends and holidays.
            waiting = calendar.after_calendar_days(handled, waiting) - handled
        limit = plan.limit
        if limit is not None:
            on_clock = handled - self.ready if plan.handling_on_clock else 0.0
            waiting = limit.waiting_left(waiting, on_clock)
        if self.minor and plan.holds:
            # Accepted, but decided only once the committed material is in.
            self.clocked = handled + waiting
            for delays in plan.holds:
                if delays[item] > waiting:
                    waiting = delays[item]
        if waiting > 0:
            self.action = FINISH
            sim.push(sim.clock + waiting, self)
            return
        self.finish()

    def finish(self) -> None:
        sim = self.sim
        plan = self.plan
        case = self.case
        now = sim.clock
        if plan.waiting_on_clock:
            case.clock = append(case.clock, self.handled)
            case.clock = append(case.clock, self.clocked if self.minor and plan.holds else now)
        case.active[self.slot] = None
        sim.step_row(
            case,
            plan.label,
            self.attempt + 1,
            OUT_TOLERATED if self.minor else OUT_ACCEPTED,
            self.ready,
            self.start,
            self.handled,
            now,
        )
        if plan.follow_ups:
            sim.follow_ups(case, plan, self.minor)
        sim.finish(case, plan)
        sim.maybe_complete(case)
        # Done, and off every queue: the next step to start can be this object.
        sim.spare.append(self)

    def stop(self, now: float) -> None:
        """Cut the step short: its case stopped (withdrawn, or open at the run's end).

        Staff it holds are freed (the handling until now counts as staff-days), a place
        in a queue is given up; a step in its handling (begun before now) or its waiting
        writes a row ending now.
        """
        action = self.action
        self.action = STOPPED
        plan = self.plan
        if action == RELEASE:
            for resource in plan.resources:
                resource.release()
            effort = now - self.start
            for account in plan.accounts:
                account.days += effort
            if now > self.start:  # a hold cut as it began did nothing: no row
                self.interrupted(now, now)
        elif action == FINISH:
            self.interrupted(self.handled, now)
        elif action == GRANTED:
            # `leave_queue` has dealt with the last agency booked; release the ones before.
            for resource in plan.resources[: self.booked - 1]:
                resource.release()

    def leave_queue(self) -> None:
        """Give up a place in a queue, or pass on a member granted but not yet taken up.

        A stop does this for all its case's work before any of it frees staff: in the
        reference model a freed member is handed over in an event of its own, so a grant
        still pending goes to the next in the queue before the members the stop frees.
        """
        if self.action == GRANTED:
            waiting_at = self.plan.resources[self.booked - 1]
            if not waiting_at.cancel(self):
                waiting_at.release()

    def interrupted(self, handled: float, end: float) -> None:
        self.sim.step_row(
            self.case,
            self.plan.label,
            self.attempt + 1,
            OUT_INTERRUPTED,
            self.ready,
            self.start,
            handled,
            end,
        )


class _Rework(_Event):
    """A rework step after a failed commitment or post-check; its own event, too."""

    __slots__ = (
        "sim",
        "case",
        "plan",
        "position",
        "agency",
        "label",
        "resource",
        "ready",
        "start",
        "effort",
        "slot",
    )

    sim: Simulation
    case: _Case
    plan: _StepPlan
    position: int
    slot: int
    agency: str
    label: int
    resource: _Staff | None
    ready: float
    start: float
    effort: float

    def __init__(self, sim: Simulation, case: _Case, plan: _StepPlan, position: int):
        self.sim = sim
        self.case = case
        self.plan = plan
        self.position = position
        follow_up = plan.follow_ups[position]
        self.agency = follow_up.consequence.agency or plan.step.agency
        self.label = sim.label(case.plan.procedure.id, plan.id, self.agency)

    def fire(self) -> None:
        """Run the rework's next action (`ACQUIRE`, `GRANTED` or `RELEASE`)."""
        action = self.action
        if action == ACQUIRE:
            self.acquire()
        elif action == GRANTED:
            self.hold()
        elif action == RELEASE:
            self.release()
        # STOPPED: the case stopped and cut the rework short.

    def begin(self) -> None:
        active = self.case.active
        self.slot = len(active)
        active.append(self)
        position = self.position
        plan = self.plan
        # A commitment that held the step was checked as the step ended: no further delay.
        held = plan.follow_ups[position].holds
        delay = 0.0 if held else float(plan.draws.follow_up_delay[position][self.case.index])
        self.action = ACQUIRE
        self.sim.schedule(self, delay)

    def acquire(self) -> None:
        sim = self.sim
        self.ready = sim.clock
        self.effort = float(self.plan.draws.follow_up_handling[self.position][self.case.index])
        self.resource = sim.staff[self.agency]
        if self.resource is not None and not self.resource.take():
            self.action = GRANTED
            self.resource.request(self, self.case.priority)
            return
        self.hold()

    def hold(self) -> None:
        sim = self.sim
        self.start = sim.clock
        self.action = RELEASE
        sim.push(sim.clock + self.effort, self)

    def release(self) -> None:
        sim = self.sim
        case = self.case
        if self.resource is not None:
            self.resource.release()
        sim.accounts[self.agency].days += self.effort
        now = sim.clock
        case.active[self.slot] = None
        case.clock = append(append(case.clock, self.ready), now)
        case.steps += 1
        case.trips += self.plan.trips
        sim.step_row(case, self.label, 1, OUT_REWORK, self.ready, self.start, now, now)
        case.pending -= 1
        sim.maybe_complete(case)

    def stop(self, now: float) -> None:
        """Cut the rework short (its case stopped), as `_StepRun.stop` does a step."""
        action = self.action
        self.action = STOPPED
        resource = self.resource if action != ACQUIRE else None
        if action == RELEASE:
            if resource is not None:
                resource.release()
            self.sim.accounts[self.agency].days += now - self.start
            if now == self.start:
                return
            self.sim.step_row(
                self.case, self.label, 1, OUT_INTERRUPTED, self.ready, self.start, now, now
            )

    def leave_queue(self) -> None:
        """Give up a place in a queue, or pass on a pending grant (`_StepRun.leave_queue`)."""
        if self.action == GRANTED:
            resource = self.resource
            if resource is not None and not resource.cancel(self):
                resource.release()


class _Arrivals(_Event):
    """The arrivals of one procedure: an event that reschedules itself."""

    __slots__ = (
        "sim",
        "demand",
        "draws",
        "times",
        "count",
        "masks",
        "plans",
        "index",
        "offset",
    )

    sim: Simulation
    demand: Demand
    draws: ProcedureDraws
    times: Any
    count: int
    masks: list[Any]
    plans: dict[tuple[bool, ...], _ProcedurePlan]
    index: int
    # The run's number of this procedure's first case (a case's number: offset + index).
    offset: int

    def __init__(self, sim: Simulation, demand, draws: ProcedureDraws, offset: int):
        self.sim = sim
        self.demand = demand
        self.draws = draws
        self.times = view(draws.arrivals)
        self.count = draws.cases
        self.masks = [draws.meets_view(condition) for condition in demand.conditions]
        self.plans = {}
        self.index = 0
        self.offset = offset
        if self.count:
            sim.schedule(self, self.times[0] - 0.0)

    def fire(self) -> None:
        """The next case arrives."""
        self.arrive()

    def arrive(self) -> None:
        sim = self.sim
        index = self.index
        item: Any = index
        masks = self.masks
        signature = tuple([mask[item] for mask in masks]) if masks else ()
        plan = self.plans.get(signature)
        if plan is None:
            plan = sim.plan(self.demand.version(signature), self.draws)
            self.plans[signature] = plan
        # The next arrival is queued before the case's first steps start, as it was when
        # they started only after this event.
        following = self.index = index + 1
        times = self.times
        if following < self.count:
            following_item: Any = following
            sim.schedule(self, times[following_item] - times[item])
        sim.start(plan, item, self.offset + index)


class Simulation(Kernel):
    """One run of one variant: build with a model and seeds, then call `run`."""

    model: Model
    seed_sequence: np.random.SeedSequence
    replication: int
    shared: SharedDraws | None
    staff: dict[str, _Staff | None]
    accounts: dict[str, _Account]
    live: dict[Any, _Case]
    # Steps that are done, for the next steps to start in (an object made and freed a
    # step cost more than the step's own work).
    spare: list[_StepRun]
    plans: dict[tuple[int, int], _ProcedurePlan]
    versions: list[_ProcedurePlan]
    blocks: list[ProcedureDraws]
    labels: dict[tuple[str, str, str], int]
    trails: dict[str, int]
    # Step rows, field by field (`sim.engines.records.STEP_FIELDS` as codes), in typed
    # columns until `step_chunks` takes them.
    s_case: vec[i64]
    s_label: vec[i64]
    s_attempt: vec[i64]
    s_outcome: vec[i64]
    s_ready: vec[float]
    s_start: vec[float]
    s_handled: vec[float]
    s_end: vec[float]
    step_chunks: RowChunks
    # Case rows, likewise (`sim.engines.records.engine_columns` names the fields).
    c_key: vec[i64]
    c_version: vec[i64]
    c_status: vec[i64]
    c_arrival: vec[float]
    c_end: vec[float]
    c_clock: vec[float]
    c_steps: vec[i64]
    c_materials: vec[i64]
    c_certificates: vec[i64]
    c_send_backs: vec[i64]
    c_trips: vec[float]
    c_fees: vec[float]
    c_trail: vec[i64]
    case_chunks: RowChunks

    def __init__(
        self,
        model: Model,
        seed_sequence: np.random.SeedSequence,
        replication: int = 0,
        shared: SharedDraws | None = None,
    ):
        super().__init__()
        self.model = model
        self.seed_sequence = seed_sequence
        self.replication = replication
        self.shared = shared

    def run(self) -> Records:
        """Simulate until the horizon's end and return the records."""
        with collector_paused():
            return self._run()

    def _run(self) -> Records:
        self.staff = {
            agency.id: None if agency.staff is None else _Staff(self, agency.staff)
            for agency in self.model.agencies
        }
        self.accounts = {agency: _Account() for agency in self.staff}
        self.live = {}
        self.spare = []
        self.plans = {}
        self.versions = []
        self.blocks = []
        self.labels = {}
        self.trails = {"": 0}
        self.step_chunks = RowChunks(STEP_KINDS)
        self.new_step_columns()
        self.case_chunks = RowChunks(CASE_KINDS)
        self.new_case_columns()
        shared = shared_draws(self.shared, self.seed_sequence)
        horizon = self.model.horizon
        offset = 0
        for demand in self.model.demands:
            draws = shared.draws(demand.procedure, demand.arrivals_per_day, horizon.arrival_days)
            _Arrivals(self, demand, draws, offset)
            self.blocks.append(draws)
            offset += draws.cases
        self.run_until(horizon.end)
        for case in list(self.live.values()):
            self.record_case(case, OPEN, math.nan)
            self.stop(case, horizon.end)
        self.take_steps()
        self.take_cases()
        records = Records(self.replication, self.model.variant)
        records.case_columns, records.step_columns = engine_columns(
            self.case_chunks,
            self.step_chunks,
            [version.procedure for version in self.versions],
            self.blocks,
            list(self.labels),
            list(self.trails),
        )
        records.agency_busy = {agency: account.days for agency, account in self.accounts.items()}
        self._drop_undone()
        return records

    def _drop_undone(self) -> None:
        """Drop what refers back to the simulation: events, staff, plans, spare steps.

        Pending events, staff queues, plans and spare steps refer to the simulation, which
        refers to them: with these dropped, everything is freed by reference counting
        once the records are, without waiting for the (paused) cycle collector.
        """
        self.clear()
        for staff in self.staff.values():
            if staff is not None:
                staff.fast.clear()
                staff.normal.clear()
        self.staff.clear()
        self.plans.clear()
        self.spare.clear()
        self.versions.clear()

    def plan(self, procedure: Procedure, draws: ProcedureDraws) -> _ProcedurePlan:
        """The plan of a procedure version (made once)."""
        key = (id(procedure), id(draws))
        found = self.plans.get(key)
        if found is None:
            # Case ids are the procedure's, whatever the version (`engine_columns`).
            if procedure.id != draws.procedure.id:
                raise ValueError(f"version '{procedure.id}' of '{draws.procedure.id}'")
            found = _ProcedurePlan(self, procedure, draws, len(self.versions))
            self.plans[key] = found
            self.versions.append(found)
        return found

    def label(self, procedure: str, step: str, agency: str) -> int:
        """The code of a step row's (procedure, step, agency), given on first use."""
        key = (procedure, step, agency)
        found = self.labels.get(key)
        if found is None:
            found = self.labels[key] = len(self.labels)
        return found

    def start(self, plan: _ProcedurePlan, index: Any, key: int) -> None:
        """Start a case: ready the steps that wait on nothing."""
        case = _Case(plan, index, key, self.clock)
        self.live[key] = case
        for step in plan.roots:
            self.ready(case, step)
        self.maybe_complete(case)

    def ready(self, case: _Case, plan: _StepPlan) -> None:
        """Start a step (or skip it if it does not apply)."""
        if case.status != RUNNING:
            return
        if plan.when is not None and not plan.when[case.item]:
            self.finish(case, plan)
            return
        spare = self.spare
        if spare:
            run = spare.pop()
            run.case = case
            run.plan = plan
        else:
            run = _StepRun(self, case, plan)
        run.begin()

    def finish(self, case: _Case, plan: _StepPlan) -> None:
        """Mark a step done and ready the successors that no longer wait on anything."""
        case.unfinished -= 1
        remaining = case.remaining
        for following in plan.successors:
            remaining[following.position] -= 1
            if remaining[following.position] == 0:
                self.ready(case, following)

    def maybe_complete(self, case: _Case) -> None:
        """Record the case when nothing is left to do."""
        if case.status == RUNNING and case.unfinished == 0 and case.pending == 0:
            self.record_case(case, REVOKED if case.revoked else COMPLETED, self.clock)

    def follow_ups(self, case: _Case, plan: _StepPlan, tolerated_now: bool) -> None:
        """Fire a step's commitments and post-checks after it is accepted."""
        draws = plan.draws
        for position, follow_up in enumerate(plan.follow_ups):
            if follow_up.kind == "commitment" and not tolerated_now:
                continue
            case.fired[follow_up.reform] = None
            if not draws.follow_up_failed[position][case.index]:
                continue
            if follow_up.consequence.kind == "revoke":
                case.revoked = True
                now = self.clock
                label = self.label(case.plan.procedure.id, plan.id, "")
                self.step_row(case, label, 1, OUT_REVOKED, now, now, now, now)
            else:
                case.pending += 1
                _Rework(self, case, plan, position).begin()

    def stop(self, case: _Case, now: float) -> None:
        """Cut short what a stopped case (withdrawn, or open at the end) still has under way."""
        for run in case.active:
            if run is not None:
                run.leave_queue()
        for run in case.active:
            if run is not None:
                run.stop(now)
        case.active.clear()

    def step_row(
        self,
        case: _Case,
        label: int,
        attempt: int,
        outcome: int,
        ready: float,
        start: float,
        handled: float,
        end: float,
    ) -> None:
        """Append a step row (`sim.engines.records.STEP_FIELDS`, text as codes)."""
        self.s_case = append(self.s_case, case.key)
        self.s_label = append(self.s_label, label)
        self.s_attempt = append(self.s_attempt, attempt)
        self.s_outcome = append(self.s_outcome, outcome)
        self.s_ready = append(self.s_ready, ready)
        self.s_start = append(self.s_start, start)
        self.s_handled = append(self.s_handled, handled)
        self.s_end = append(self.s_end, end)
        if len(self.s_case) >= ROWS_A_CHUNK:
            self.take_steps()

    def new_step_columns(self) -> None:
        """Empty step columns, with room for a chunk."""
        self.s_case = vec[i64](capacity=ROWS_A_CHUNK)
        self.s_label = vec[i64](capacity=ROWS_A_CHUNK)
        self.s_attempt = vec[i64](capacity=ROWS_A_CHUNK)
        self.s_outcome = vec[i64](capacity=ROWS_A_CHUNK)
        self.s_ready = vec[float](capacity=ROWS_A_CHUNK)
        self.s_start = vec[float](capacity=ROWS_A_CHUNK)
        self.s_handled = vec[float](capacity=ROWS_A_CHUNK)
        self.s_end = vec[float](capacity=ROWS_A_CHUNK)

    def take_steps(self) -> None:
        """Move the step rows so far into compact arrays; start new columns."""
        self.step_chunks.take(
            [
                self.s_case,
                self.s_label,
                self.s_attempt,
                self.s_outcome,
                self.s_ready,
                self.s_start,
                self.s_handled,
                self.s_end,
            ]
        )
        self.new_step_columns()

    def record_case(self, case: _Case, status: int, end: float) -> None:
        """Append the case's row and take it off the live list."""
        case.status = status
        self.live.pop(case.key, None)
        trail = audit_trail(case.fired, case.plan.order) if case.fired else ""
        code = self.trails.get(trail)
        if code is None:
            code = self.trails[trail] = len(self.trails)
        self.c_key = append(self.c_key, case.key)
        self.c_version = append(self.c_version, case.plan.code)
        self.c_status = append(self.c_status, status)
        self.c_arrival = append(self.c_arrival, case.arrival)
        self.c_end = append(self.c_end, end)
        self.c_clock = append(self.c_clock, clock_days(case.clock))
        self.c_steps = append(self.c_steps, case.steps)
        self.c_materials = append(self.c_materials, case.materials)
        self.c_certificates = append(self.c_certificates, case.certificates)
        self.c_send_backs = append(self.c_send_backs, case.send_backs)
        self.c_trips = append(self.c_trips, case.trips)
        self.c_fees = append(self.c_fees, case.fees)
        self.c_trail = append(self.c_trail, code)
        if len(self.c_key) >= ROWS_A_CHUNK:
            self.take_cases()

    def new_case_columns(self) -> None:
        """Empty case columns, with room for a chunk."""
        self.c_key = vec[i64](capacity=ROWS_A_CHUNK)
        self.c_version = vec[i64](capacity=ROWS_A_CHUNK)
        self.c_status = vec[i64](capacity=ROWS_A_CHUNK)
        self.c_arrival = vec[float](capacity=ROWS_A_CHUNK)
        self.c_end = vec[float](capacity=ROWS_A_CHUNK)
        self.c_clock = vec[float](capacity=ROWS_A_CHUNK)
        self.c_steps = vec[i64](capacity=ROWS_A_CHUNK)
        self.c_materials = vec[i64](capacity=ROWS_A_CHUNK)
        self.c_certificates = vec[i64](capacity=ROWS_A_CHUNK)
        self.c_send_backs = vec[i64](capacity=ROWS_A_CHUNK)
        self.c_trips = vec[float](capacity=ROWS_A_CHUNK)
        self.c_fees = vec[float](capacity=ROWS_A_CHUNK)
        self.c_trail = vec[i64](capacity=ROWS_A_CHUNK)

    def take_cases(self) -> None:
        """Move the case rows so far into compact arrays; start new columns."""
        self.case_chunks.take(
            [
                self.c_key,
                self.c_version,
                self.c_status,
                self.c_arrival,
                self.c_end,
                self.c_clock,
                self.c_steps,
                self.c_materials,
                self.c_certificates,
                self.c_send_backs,
                self.c_trips,
                self.c_fees,
                self.c_trail,
            ]
        )
        self.new_case_columns()


def marks_of(marks: tuple[Any, ...], draws: ProcedureDraws) -> list[tuple[str, Any]]:
    """Reform marks as (label, per case whether it concerns the case; None: every case)."""
    return [
        (found.label, None if found.when is None else draws.meets_view(found.when))
        for found in marks
    ]


def mark(fired: dict[str, None], marks: list[tuple[str, Any]], index: Any) -> None:
    """Add the labels of the marks that concern case ``index`` to its audit trail."""
    for label, meets in marks:
        if meets is None or meets[index]:
            fired[label] = None


def clock_days(pairs: vec[float]) -> float:
    """`sim.engines.records.union_length`, step for step (the same sums), compiled here.

    A case's days on the approval clock are the union of its steps' intervals, given as
    (start, end) pairs one after the other. They are put in order by an insertion sort
    (a case's intervals come nearly in order, and are few) on their places, as
    `sorted` orders the tuples; calling the Python function once a case took a tenth of
    the compiled engine's time.
    """
    count: i64 = len(pairs) // 2
    if not count:
        return 0.0
    order = vec[i64](capacity=count)
    for place in range(count):
        start = pairs[2 * place]
        end = pairs[2 * place + 1]
        order = append(order, place)
        position: i64 = place
        while position > 0:
            before = order[position - 1]
            before_start = pairs[2 * before]
            if before_start < start or (before_start == start and pairs[2 * before + 1] <= end):
                break
            order[position] = before
            position -= 1
        order[position] = place
    total = 0.0
    current_start = pairs[2 * order[0]]
    current_end = pairs[2 * order[0] + 1]
    for rank in range(1, count):
        start = pairs[2 * order[rank]]
        end = pairs[2 * order[rank] + 1]
        if start > current_end:
            total += current_end - current_start
            current_start, current_end = start, end
        elif end > current_end:
            current_end = end
    return total + current_end - current_start


def simulate(
    model: Model,
    seed_sequence: np.random.SeedSequence,
    replication: int = 0,
    shared: SharedDraws | None = None,
) -> Records:
    """Run one variant once (`sim.engines.simulate` documents it)."""
    return Simulation(model, seed_sequence, replication, shared).run()
