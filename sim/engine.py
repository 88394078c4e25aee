"""The discrete-event engine (SimPy): cases queue for agency staff on the working-day clock.

This is the only module that imports simpy. It takes no randomness of its own: every draw
comes from `sim.sampling`, keyed by procedure, step and case, so variants of a scenario
see the same cases with the same luck.

How a case runs: steps whose predecessors are all done start at once (side by side when
several are ready); a step queues for one staff member of its agency (of every agency,
for a joint step), holds them for its handling effort, then checks the materials. A
defect sends the file back: the applicant takes a response time and resubmits, up to
the step's cap, after which the case is withdrawn. An accepted file then waits out the
step's elapsed waiting (public notice, expert review) holding no one. Minor defects are
accepted on a written commitment where a tolerated-deficiency rule applies; failed
commitments and post-checks cost a rework step, or mark the approval revoked.

How it runs fast (profiled: SimPy's process and resource machinery took most of the
time): a step is not a SimPy process but a small state machine that puts itself on the
SimPy event queue and whose methods are the callbacks (staff granted, handling done,
waiting over). A step that becomes ready starts at once, in the order steps became
ready; its events are queued in the order new processes would have queued theirs (an
arrival queues the next arrival before the case's first steps start). Agency staff are
a lean priority queue: requests are served by priority (fast lane first), then request
time, then arrival order. A request that finds a free member and nobody waiting takes it
at once, without an event; a member freed while others wait goes at once to the head of
the queue, whose step resumes as an event at that instant. (SimPy's `PriorityResource`,
which this engine first used, takes an event for every grant and one more for every
release; the numbers are the same except when two events of different cases fall on the
very same instant.)

Random draws are read from Python lists made once per step, and rows are appended
as plain tuples. Events go straight onto the environment's queue and `run_until` pops
them in SimPy's order without `Environment.step`'s per-event checks. The cycle collector
is paused for the run (`sim.collector`): it took a quarter of the time and found nothing.
"""

from __future__ import annotations

import math
from collections import deque
from heapq import heappop, heappush

import numpy as np
import simpy

from sim.collector import collector_paused
from sim.model import Model, Procedure, Step
from sim.records import Records, union_length
from sim.sampling import ProcedureDraws, SharedDraws, shared_draws

NORMAL, FAST_LANE = 1, 0
# What the materials of a submission lead to (`_StepPlan.round`).
ACCEPTED, TOLERATED, SENT_BACK = 0, 1, 2


class _Staff:
    """An agency's staff: a priority queue of waiting steps.

    A request joins the queue (fast lane first, then by request time, then arrival
    order; times never decrease, so two FIFO queues keep that order). `take` books a
    free member at once when nobody waits, so someone waits only while every member is
    busy. A release hands the member to the head of the queue, if any, at once:
    granting schedules the waiter (an object with ``callbacks``) as an event now.
    """

    __slots__ = ("env", "capacity", "count", "fast", "normal")

    def __init__(self, env: simpy.Environment, capacity: int):
        self.env = env
        self.capacity = capacity
        self.count = 0
        self.fast: deque = deque()
        self.normal: deque = deque()

    def take(self) -> bool:
        """Book a member at once if one is free and nobody waits (no event needed)."""
        if self.count < self.capacity and not (self.fast or self.normal):
            self.count += 1
            return True
        return False

    def request(self, waiter, priority: int) -> None:
        """Queue for a member (after `take` failed: all busy, as someone waits only then)."""
        (self.fast if priority == FAST_LANE else self.normal).append(waiter)

    def release(self) -> None:
        queue = self.fast or self.normal
        if queue:
            # The freed member goes straight to the head of the queue (count unchanged).
            env = self.env
            heappush(env._queue, (env._now, NORMAL, next(env._eid), queue.popleft()))
        else:
            self.count -= 1


class _StepPlan:
    """What every case of one procedure version needs to know about one step."""

    __slots__ = (
        "step",
        "id",
        "position",
        "agencies",
        "resources",
        "staff",
        "agency",
        "single_agency",
        "env",
        "draws",
        "rounds",
        "tolerated",
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
        "per_round",
    )

    def __init__(self, sim: Simulation, step: Step, position: int, draws: ProcedureDraws):
        self.step = step
        self.id = step.id
        self.position = position
        self.agencies = step.agencies
        # Staff are booked one agency after the other in one global order, so that joint
        # bookings cannot deadlock; agencies without a staff limit are not booked.
        self.resources = tuple(
            sim.staff[agency] for agency in sorted(step.agencies) if sim.staff[agency] is not None
        )
        # The common case, one agency with a staff limit, is booked without a loop.
        self.staff = self.resources[0] if len(self.resources) == 1 else None
        self.agency = "+".join(step.agencies)
        self.single_agency = step.agencies[0] if len(step.agencies) == 1 else None
        self.env = sim.env
        self.draws = draws.step(step)
        self.rounds = len(self.draws.handling)
        self.tolerated = step.tolerance is not None
        self.when = draws.meets_list(step.when) if step.when is not None else None
        self.successors: list[_StepPlan] = []
        self.materials = len(step.materials)
        self.certificates = step.certificates
        self.fees = step.fees_cny
        self.trips = step.trips
        self.handling_on_clock = step.handling_on_clock
        self.waiting_on_clock = step.waiting_on_clock
        self.follow_ups = step.follow_ups
        self.waiting = self.draws.as_list("waiting")
        self.per_round: list[tuple | None] = [None] * self.rounds

    def round(self, attempt: int) -> tuple:
        """Per-case lists of a submission round: handling, and the verdict on the materials.

        The verdict is `ACCEPTED`, `TOLERATED` (a minor defect, accepted on a commitment)
        or `SENT_BACK` (a main defect, or a minor one where no tolerance applies); None
        when no material can be defective.
        """
        found = self.per_round[attempt]
        if found is None:
            draws = self.draws
            main, minor = draws.defects(attempt)
            verdict = None
            if main is not None or minor is not None:
                minor = np.zeros(draws.cases, bool) if minor is None else minor
                refused = minor & (not self.tolerated)
                main = refused if main is None else main | refused
                verdict = np.where(main, SENT_BACK, np.where(minor, TOLERATED, ACCEPTED)).tolist()
            found = self.per_round[attempt] = (draws.as_list("handling", attempt), verdict)
        return found


class _ProcedurePlan:
    """The steps of one procedure version, linked to their successors."""

    __slots__ = ("procedure", "steps", "roots", "waits", "draws", "json", "fired")

    def __init__(self, sim: Simulation, procedure: Procedure, draws: ProcedureDraws):
        self.procedure = procedure
        self.draws = draws
        self.steps = [_StepPlan(sim, step, i, draws) for i, step in enumerate(procedure.steps)]
        by_id = {plan.id: plan for plan in self.steps}
        for step_id, following in procedure.successors().items():
            by_id[step_id].successors = [by_id[other] for other in following]
        self.roots = [plan for plan in self.steps if not plan.step.after]
        self.waits = [len(step.after) for step in procedure.steps]
        self.json = draws.attribute_json()
        self.fired = dict.fromkeys(procedure.fired)


class _Case:
    __slots__ = (
        "plan",
        "procedure",
        "draws",
        "index",
        "case_id",
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
    )

    def __init__(self, plan: _ProcedurePlan, index: int, arrival: float):
        procedure = plan.procedure
        self.plan = plan
        self.procedure = procedure
        self.draws = plan.draws
        self.index = index
        self.case_id = f"{procedure.id}-{index + 1:06d}"
        self.arrival = arrival
        self.remaining = plan.waits.copy()
        self.unfinished = len(plan.steps)
        self.pending = 0
        self.status = "running"
        self.revoked = False
        self.priority = FAST_LANE if procedure.fast_lane else NORMAL
        self.steps = self.materials = self.certificates = self.send_backs = 0
        self.trips = self.fees = 0.0
        self.clock: list[tuple[float, float]] = []
        self.fired: dict[str, None] = plan.fired.copy()


class _StepRun:
    """One step of one case; it is its own event on the SimPy queue."""

    _ok = True  # SimPy's event protocol: never fails, carries no value
    _value = None

    __slots__ = (
        "callbacks",
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
        "drawn",
    )

    def __init__(self, sim: Simulation, case: _Case, plan: _StepPlan):
        self.sim = sim
        self.case = case
        self.plan = plan

    def begin(self) -> None:
        case = self.case
        plan = self.plan
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
        self.ready = plan.env._now
        drawn = self.drawn = plan.per_round[self.attempt] or plan.round(self.attempt)
        self.effort = drawn[0][case.index]
        staff = plan.staff
        if staff is not None:  # one agency with a staff limit: no loop
            if not staff.take():
                self.booked = 1
                self.callbacks = [self.granted]
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
                self.callbacks = [self.granted]
                resource.request(self, self.case.priority)
                return False
        return True

    def granted(self, _event) -> None:
        if self.book():
            self.hold()

    def hold(self) -> None:
        """Hold the booked staff for the handling effort."""
        env = self.plan.env
        now = self.start = env._now
        self.callbacks = [self.release]
        heappush(env._queue, (now + self.effort, NORMAL, next(env._eid), self))

    def release(self, _event) -> None:
        plan = self.plan
        case = self.case
        effort = self.effort
        env = plan.env
        handled = self.handled = env._now
        for resource in plan.resources:
            resource.release()
        sim = self.sim
        busy = sim.busy
        if plan.single_agency is not None:
            busy[plan.single_agency] += effort
        else:
            for agency in plan.agencies:
                busy[agency] += effort
        if plan.handling_on_clock:
            case.clock.append((self.ready, handled))
        if case.status != "running":
            return
        index = case.index
        verdict = self.drawn[1]
        verdict = ACCEPTED if verdict is None else verdict[index]
        self.minor = verdict == TOLERATED
        if verdict == SENT_BACK:
            case.send_backs += 1
            self.attempt = attempt = self.attempt + 1
            outcome = "sent_back" if attempt < plan.rounds else "withdrawn"
            sim.records.steps.append(
                (
                    case.procedure.id,
                    case.case_id,
                    plan.id,
                    plan.agency,
                    attempt,
                    outcome,
                    self.ready,
                    self.start,
                    handled,
                    handled,
                )
            )
            if outcome == "withdrawn":
                sim.record_case(case, "withdrawn", handled)
                return
            self.callbacks = [self.resubmit]
            response = plan.draws.as_list("response", attempt - 1)[index]
            heappush(env._queue, (handled + response, NORMAL, next(env._eid), self))
            return
        waiting = plan.waiting[index]
        if waiting > 0:
            self.callbacks = [self.finish]
            heappush(env._queue, (handled + waiting, NORMAL, next(env._eid), self))
            return
        self.finish(None)

    def resubmit(self, _event) -> None:
        if self.case.status != "running":
            return
        self.submit()

    def finish(self, _event) -> None:
        sim = self.sim
        plan = self.plan
        case = self.case
        now = plan.env._now
        if plan.waiting_on_clock:
            case.clock.append((self.handled, now))
        sim.records.steps.append(
            (
                case.procedure.id,
                case.case_id,
                plan.id,
                plan.agency,
                self.attempt + 1,
                "tolerated" if self.minor else "accepted",
                self.ready,
                self.start,
                self.handled,
                now,
            )
        )
        if plan.follow_ups:
            sim.follow_ups(case, plan, self.minor)
        if case.status == "running":
            # The step is done: ready the successors that wait on nothing else.
            case.unfinished -= 1
            remaining = case.remaining
            for following in plan.successors:
                position = following.position
                remaining[position] -= 1
                if remaining[position] == 0:
                    sim.ready(case, following)
            if case.unfinished == 0 and case.pending == 0:
                sim.record_case(case, "revoked" if case.revoked else "completed", now)


class _Rework:
    """A rework step after a failed commitment or post-check; its own event, too."""

    _ok = True
    _value = None

    __slots__ = (
        "callbacks",
        "sim",
        "case",
        "plan",
        "position",
        "agency",
        "resource",
        "ready",
        "start",
        "effort",
    )

    def __init__(self, sim: Simulation, case: _Case, plan: _StepPlan, position: int):
        self.sim = sim
        self.case = case
        self.plan = plan
        self.position = position
        follow_up = plan.follow_ups[position]
        self.agency = follow_up.consequence.agency or plan.step.agency

    def begin(self) -> None:
        delay = self.plan.draws.follow_up_delay[self.position][self.case.index]
        self.callbacks = [self.acquire]
        self.sim.env.schedule(self, NORMAL, float(delay))

    def acquire(self, _event) -> None:
        sim = self.sim
        self.ready = sim.env.now
        self.effort = float(self.plan.draws.follow_up_handling[self.position][self.case.index])
        self.resource = sim.staff[self.agency]
        if self.resource is not None and not self.resource.take():
            self.callbacks = [self.hold]
            self.resource.request(self, self.case.priority)
            return
        self.hold(None)

    def hold(self, _event) -> None:
        env = self.sim.env
        self.start = env.now
        self.callbacks = [self.release]
        env.schedule(self, NORMAL, self.effort)

    def release(self, _event) -> None:
        sim = self.sim
        case = self.case
        if self.resource is not None:
            self.resource.release()
        sim.busy[self.agency] += self.effort
        now = sim.env.now
        case.clock.append((self.ready, now))
        case.steps += 1
        case.trips += self.plan.trips
        sim.records.steps.append(
            (
                case.procedure.id,
                case.case_id,
                self.plan.id,
                self.agency,
                1,
                "rework",
                self.ready,
                self.start,
                now,
                now,
            )
        )
        case.pending -= 1
        sim.maybe_complete(case)


class _Arrivals:
    """The arrivals of one procedure: an event that reschedules itself."""

    _ok = True
    _value = None

    __slots__ = (
        "callbacks",
        "sim",
        "demand",
        "draws",
        "times",
        "masks",
        "plans",
        "index",
    )

    def __init__(self, sim: Simulation, demand, draws: ProcedureDraws):
        self.sim = sim
        self.demand = demand
        self.draws = draws
        self.times = draws.arrivals.tolist()
        self.masks = [draws.meets_list(condition) for condition in demand.conditions]
        self.plans: dict[tuple[bool, ...], _ProcedurePlan] = {}
        self.index = 0
        if self.times:
            self.callbacks = [self.arrive]
            sim.env.schedule(self, NORMAL, self.times[0] - 0.0)

    def arrive(self, _event) -> None:
        sim = self.sim
        index = self.index
        masks = self.masks
        signature = tuple([mask[index] for mask in masks]) if masks else ()
        plan = self.plans.get(signature)
        if plan is None:
            plan = sim.plan(self.demand.version(signature), self.draws)
            self.plans[signature] = plan
        # The next arrival is queued before the case's first steps start, as it was when
        # they started only after this event.
        following = self.index = index + 1
        times = self.times
        if following < len(times):
            self.callbacks = [self.arrive]
            env = sim.env
            delay = times[following] - times[index]
            heappush(env._queue, (env._now + delay, NORMAL, next(env._eid), self))
        sim.start(plan, index)


def run_until(env: simpy.Environment, end: float) -> None:
    """Process the events before ``end`` in order, as ``env.run(until=end)`` does.

    The same queue, order and clock as SimPy's loop (its stop event at ``end`` is urgent,
    so events at ``end`` itself are left, as here); what it leaves out is a method call
    and a failure check an event, which this module's events never need (they never
    fail). Profiled, SimPy's `Environment.step` was a fifth of the engine's time.
    """
    queue = env._queue
    while queue and queue[0][0] < end:
        env._now, _, _, event = heappop(queue)
        callbacks, event.callbacks = event.callbacks, None
        for callback in callbacks:
            callback(event)
    env._now = end


class Simulation:
    """One run of one variant: build with a model and seeds, then call `run`."""

    def __init__(
        self,
        model: Model,
        seed_sequence: np.random.SeedSequence,
        replication: int = 0,
        shared: SharedDraws | None = None,
    ):
        self.model = model
        self.seed_sequence = seed_sequence
        self.replication = replication
        self.shared = shared

    def run(self) -> Records:
        """Simulate until the horizon's end and return the records."""
        with collector_paused():
            return self._run()

    def _run(self) -> Records:
        self.env = simpy.Environment()
        self.staff = {
            agency.id: None if agency.unlimited else _Staff(self.env, agency.staff)
            for agency in self.model.agencies
        }
        self.records = Records(self.replication, self.model.variant)
        self.busy = dict.fromkeys(self.staff, 0.0)
        self.live: dict[str, _Case] = {}
        self.plans: dict[tuple[int, int], _ProcedurePlan] = {}
        shared = shared_draws(self.shared, self.seed_sequence)
        horizon = self.model.scenario.horizon
        for demand in self.model.demands:
            draws = shared.draws(demand.procedure, demand.arrivals_per_day, horizon.arrival_days)
            _Arrivals(self, demand, draws)
        run_until(self.env, horizon.end)
        for case in list(self.live.values()):
            self.record_case(case, "open", math.nan)
        self.records.agency_busy = self.busy
        self._drop_undone()
        return self.records

    def _drop_undone(self) -> None:
        """Drop the events and staff queues left at the horizon's end.

        A pending event refers to itself (through its callbacks) and to the simulation,
        which refers to its records: dropped, everything is freed by reference counting
        once the records are, without waiting for the (paused) cycle collector.
        """
        queue = self.env._queue
        for _, _, _, event in queue:
            event.callbacks = None
        queue.clear()
        for staff in self.staff.values():
            if staff is not None:
                for waiter in (*staff.fast, *staff.normal):
                    waiter.callbacks = None
                staff.fast.clear()
                staff.normal.clear()

    def plan(self, procedure: Procedure, draws: ProcedureDraws) -> _ProcedurePlan:
        """The plan of a procedure version (made once)."""
        key = (id(procedure), id(draws))
        found = self.plans.get(key)
        if found is None:
            found = self.plans[key] = _ProcedurePlan(self, procedure, draws)
        return found

    def start(self, plan: _ProcedurePlan, index: int) -> None:
        """Start a case: ready the steps that wait on nothing."""
        case = _Case(plan, index, self.env.now)
        self.live[case.case_id] = case
        for step in plan.roots:
            self.ready(case, step)
        self.maybe_complete(case)

    def ready(self, case: _Case, plan: _StepPlan) -> None:
        """Start a step (or skip it if it does not apply)."""
        if case.status != "running":
            return
        if plan.when is not None and not plan.when[case.index]:
            self.finish(case, plan)
            return
        _StepRun(self, case, plan).begin()

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
        if case.status == "running" and case.unfinished == 0 and case.pending == 0:
            self.record_case(case, "revoked" if case.revoked else "completed", self.env.now)

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
                now = self.env.now
                self.records.steps.append(
                    (case.procedure.id, case.case_id, plan.id, "", 1, "revoked", now, now, now, now)
                )
            else:
                case.pending += 1
                _Rework(self, case, plan, position).begin()

    def record_case(self, case: _Case, status: str, end: float) -> None:
        """Append the case's row and take it off the live list."""
        case.status = status
        self.live.pop(case.case_id, None)
        procedure = case.procedure
        self.records.cases.append(
            (
                procedure.id,
                case.case_id,
                status,
                case.arrival,
                end,
                union_length(case.clock),
                procedure.target_days,
                case.steps,
                case.materials,
                case.certificates,
                case.trips,
                case.fees,
                case.send_backs,
                ";".join(case.fired),
                case.plan.json[case.index],
            )
        )


def simulate(
    model: Model,
    seed_sequence: np.random.SeedSequence,
    replication: int = 0,
    shared: SharedDraws | None = None,
) -> Records:
    """Run one variant once.

    Args:
        model: The resolved variant.
        seed_sequence: The replication's seed sequence (all randomness derives from it).
        replication: The replication's number, written into the records.
        shared: The replication's draws shared by its variants (`SharedDraws` of
            ``seed_sequence``), or None to make them here.

    Returns:
        The case and step rows of the run.
    """
    return Simulation(model, seed_sequence, replication, shared).run()
