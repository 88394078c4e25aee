"""The reference model: the discrete-event engine's model written plainly with SimPy.

The same model as `sim.engines.des`, written the way SimPy is meant to be used, to be read
in one sitting: a process per case and per step, agency staff as `simpy.PriorityResource`
(the fast lane is the priority), `env.timeout` for handling, waiting, the applicant's
response and follow-up delays. It takes the same draws (`sim.engines.draws`) and writes
the same rows (`sim.engines.records`), so the fast engine is tested against it case by
case (``tests/conformance/test_reference_model.py``); ``approvalsim run --engine simpy``
runs it, several times slower. ``tutorials/06_how_the_engine_works.py`` walks through it.

Same-instant order. A step's end causes much in one instant: its staff are freed, a
waiting case gets a freed member, its successors start. The fast engine does all of it
before the next event: a free member is taken without an event, a freed one goes at once
to the head of the queue, successors start at once (depth first through steps that do
not apply). Three choices here give SimPy the same order, each pinned by a test:

- SimPy grants a request for a free member as it is made (the request is triggered at
  once): `book` goes on to the step's next agency then, without yielding the request;
- a step's process waits for its ``ready`` event, which its last predecessor triggers:
  SimPy processes it after that instant's release events, so a freed member has gone to
  the head of its queue first, and before the case it went to resumes (and books further
  agencies), as in the fast engine;
- a step that does not apply to the case has no process: it is done at once and readies
  its successors depth first. (``simpy.AllOf`` over the predecessors' processes would start
  a step two events later, breadth first.)

Tie rules. Two things still happen later in an instant here than in the fast engine,
which carries out each event to its end before the next: a readied step starts when SimPy
processes its ``ready`` event, and a freed member goes to the head of its queue when SimPy
processes the release; both after the events already due at that instant. That changes
nothing unless other events fall due at exactly that instant, which needs their times to
coincide: common with fixed durations, of probability zero with continuous ones. Then:

1. the other events run before the readied step starts: a resubmission or a follow-up's
   rework due then asks for staff first, and what they schedule for a later instant
   comes before what the readied step schedules for it (a row, say, is written first);
2. a fast-lane resubmission or rework due then takes the freed member, which the fast
   engine handed at once to the normal case at the head of the queue.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass, field

import numpy as np
import simpy

from sim.domain.model import CALENDAR_DAYS, Demand, Model, Procedure, ReformMark, Step
from sim.engines.draws import ProcedureDraws, SharedDraws, StepDraws, shared_draws
from sim.engines.records import Records, audit_trail, union_length

# Request priorities: the lower goes first.
FAST_LANE, NORMAL = 0, 1
# What the materials of a submission lead to.
ACCEPTED, TOLERATED, SENT_BACK = "accepted", "tolerated", "sent_back"
# The outcome of a row cut short when its case stopped.
INTERRUPTED = "interrupted"


@dataclass(eq=False)
class Work:
    """A step or rework of a case under way: where it is, and the staff it holds.

    A case that stops (withdrawn, or open when the run ends) cuts its work short
    (`ReferenceModel.stop`), which reads this.

    Attributes:
        process: The SimPy process doing the work.
        step: The step (of a rework: the step whose follow-up failed).
        agency: The agency label of its rows.
        agencies: The agencies whose staff-days its handling counts for.
        phase: ``due`` (holds nothing: a delay or the applicant's correction),
            ``queued`` (booking staff), ``handling`` or ``waiting``.
        attempt: The submission's number.
        ready, start, handled: When the submission was ready, took staff, was handled.
        requests: The staff requests of the submission, as (resource, request).
    """

    step: Step
    agency: str
    agencies: tuple[str, ...]
    process: simpy.Process | None = None
    phase: str = "due"
    attempt: int = 1
    ready: float = math.nan
    start: float = math.nan
    handled: float = math.nan
    requests: list = field(default_factory=list)


@dataclass(eq=False)
class Case:
    """One case while it runs; its counts go into the case row when it ends."""

    procedure: Procedure
    draws: ProcedureDraws
    index: int
    arrival: float
    ended: simpy.Event
    ready: dict[str, simpy.Event]
    processes: dict[str, simpy.Process]
    remaining: dict[str, int]
    unfinished: int
    fired: dict[str, None]
    status: str = "running"
    revoked: bool = False
    pending: int = 0
    steps: int = 0
    materials: int = 0
    certificates: int = 0
    send_backs: int = 0
    trips: float = 0.0
    fees: float = 0.0
    clock: list[tuple[float, float]] = field(default_factory=list)
    # Work under way, in the order it began (cut short if the case stops).
    active: dict[Work, None] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """The case id, the same in every variant."""
        return f"{self.procedure.id}-{self.index + 1:06d}"

    @property
    def priority(self) -> int:
        """`FAST_LANE` or `NORMAL`."""
        return FAST_LANE if self.procedure.fast_lane else NORMAL


class ReferenceModel:
    """One run of one variant with SimPy: build with a model and seeds, then call `run`."""

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
        model = self.model
        env = self.env = simpy.Environment()
        self.staff = {
            agency.id: simpy.PriorityResource(env, capacity=agency.staff)
            for agency in model.agencies
            if agency.staff is not None
        }
        self.busy = {agency.id: 0.0 for agency in model.agencies}
        self.records = Records(self.replication, model.variant)
        self.live: dict[str, Case] = {}
        self.successors: dict[int, dict[str, tuple[str, ...]]] = {}
        shared = shared_draws(self.shared, self.seed_sequence)
        horizon = model.horizon
        for demand in model.demands:
            draws = shared.draws(demand.procedure, demand.arrivals_per_day, horizon.arrival_days)
            env.process(self.arrivals(demand, draws))
        env.run(until=horizon.end)
        for case in list(self.live.values()):
            self.end(case, "open", math.nan)
            self.stop(case, horizon.end)
        self.records.agency_busy = self.busy
        return self.records

    def arrivals(self, demand: Demand, draws: ProcedureDraws) -> Generator:
        """The cases of one procedure arrive at their drawn times (a Poisson stream)."""
        previous = 0.0
        for index, at in enumerate(draws.arrivals.tolist()):
            yield self.env.timeout(at - previous)
            previous = at
            self.env.process(self.case(demand, draws, index))

    def case(self, demand: Demand, draws: ProcedureDraws, index: int) -> Generator:
        """A case: a process for each step that applies to it, then the first steps start.

        The case's procedure is the version for the reforms' conditions it meets. The
        process ends with the case (its value is the case's status).
        """
        env = self.env
        signature = tuple(draws.meets(condition, index) for condition in demand.conditions)
        procedure = demand.version(signature)
        applies = [step for step in procedure.steps if draws.meets(step.when, index)]
        case = Case(
            procedure=procedure,
            draws=draws,
            index=index,
            arrival=env.now,
            ended=env.event(),
            ready={step.id: env.event() for step in applies},
            processes={},
            remaining={step.id: len(step.after) for step in procedure.steps},
            unfinished=len(procedure.steps),
            fired={},
        )
        self.live[case.id] = case
        self.mark(case, procedure.reformed_by)
        for step in applies:
            case.processes[step.id] = env.process(self.step(case, step))
        for step in procedure.steps:
            if not step.after:
                self.ready(case, step)
        self.maybe_complete(case)
        status = yield case.ended
        return status

    def step(self, case: Case, step: Step) -> Generator:
        """One step of one case, from its predecessors' end to its own.

        It queues for a member of each of its agencies, holds them for the handling
        effort, then the materials are judged: a file sent back comes again after the
        applicant's response time, until the step's cap withdraws the case. An accepted
        file waits out the step's elapsed waiting holding no one. If the case stops
        meanwhile, `stop` cuts the step short and interrupts this process.
        """
        env = self.env
        try:
            # One event after its predecessor's end (see the docstring); `ready` began it.
            work = yield case.ready[step.id]
            draws = case.draws.step(step)
            index = case.index
            # Sorted, so that two joint steps never hold one agency each and wait for the other.
            staff = [self.staff[agency] for agency in sorted(step.agencies) if agency in self.staff]
            attempt = 0
            while True:
                work.phase, work.attempt, work.ready = "queued", attempt + 1, env.now
                effort = float(draws.handling[attempt][index])
                work.requests = []
                yield from book(staff, case.priority, work.requests)
                work.phase, work.start = "handling", env.now
                yield env.timeout(effort)
                work.phase, work.handled = "due", env.now
                ready, start, handled = work.ready, work.start, work.handled
                for resource, request in work.requests:
                    resource.release(request)
                for agency in step.agencies:
                    self.busy[agency] += effort
                if step.handling_on_clock:
                    case.clock.append((ready, handled))
                outcome = verdict(step, draws, attempt, index)
                if outcome != SENT_BACK:
                    break
                case.send_backs += 1
                attempt += 1
                if attempt == len(draws.handling):
                    self.row(case, step, attempt, "withdrawn", ready, start, handled, handled)
                    del case.active[work]
                    self.end(case, "withdrawn", handled)
                    self.stop(case, handled)
                    return
                self.row(case, step, attempt, "sent_back", ready, start, handled, handled)
                yield env.timeout(float(draws.response[attempt - 1][index]))
                case.trips += step.trips  # the resubmission
            work.phase = "waiting"
            waiting = float(draws.waiting[index])
            if step.waiting_unit == CALENDAR_DAYS and waiting > 0:
                # Calendar days from the handling's end, through weekends and holidays.
                calendar = self.model.calendar_needed()
                waiting = calendar.after_calendar_days(handled, waiting) - handled
            if step.time_limit is not None:
                on_clock = handled - ready if step.handling_on_clock else 0.0
                waiting = step.time_limit.waiting_left(waiting, on_clock)
            clocked = handled + waiting
            if outcome == TOLERATED:
                # Accepted, but decided only once a committed material is in (容缺受理).
                for position, follow_up in enumerate(step.follow_ups):
                    if follow_up.holds:
                        waiting = max(waiting, float(draws.follow_up_delay[position][index]))
            if waiting > 0:
                yield env.timeout(waiting)
        except simpy.Interrupt:
            return  # the case stopped: `stop` cut the step short
        del case.active[work]
        if step.waiting_on_clock:
            case.clock.append((handled, clocked))
        self.row(case, step, attempt + 1, outcome, ready, start, handled, env.now)
        self.follow_ups(case, step, draws, tolerated=outcome == TOLERATED)
        self.finish(case, step)
        self.maybe_complete(case)

    def ready(self, case: Case, step: Step) -> None:
        """A step whose predecessors are done starts, or is done at once if it does not apply.

        It counts for the case now (a step, its materials, certificates and fees, the
        first submission's trips), as its process starts only later in this instant.
        """
        if case.status != "running":
            return
        if step.id not in case.ready:
            self.finish(case, step)
            return
        self.mark(case, step.reformed_by)
        case.steps += 1
        case.materials += len(step.materials)
        case.certificates += step.certificates
        case.fees += step.fees_cny
        case.trips += step.trips
        work = Work(step, "+".join(step.agencies), step.agencies, case.processes[step.id])
        case.active[work] = None
        case.ready[step.id].succeed(work)

    def mark(self, case: Case, marks: tuple[ReformMark, ...]) -> None:
        """The reforms that change what the case does (for it, if it meets their condition)."""
        for found in marks:
            if case.draws.meets(found.when, case.index):
                case.fired[found.label] = None

    def finish(self, case: Case, step: Step) -> None:
        """A step is done: the steps waiting for nothing else are ready (a join)."""
        case.unfinished -= 1
        procedure = case.procedure
        successors = self.successors.get(id(procedure))
        if successors is None:
            successors = self.successors[id(procedure)] = procedure.successors()
        for following in successors[step.id]:
            case.remaining[following] -= 1
            if case.remaining[following] == 0:
                self.ready(case, procedure.step(following))

    def follow_ups(self, case: Case, step: Step, draws: StepDraws, tolerated: bool) -> None:
        """An accepted step's commitments and post-checks; a failed one costs a rework or revokes.

        A commitment applies only when minor materials were tolerated.
        """
        for position, follow_up in enumerate(step.follow_ups):
            if follow_up.kind == "commitment" and not tolerated:
                continue
            case.fired[follow_up.reform] = None
            if not draws.follow_up_failed[position][case.index]:
                continue
            if follow_up.consequence.kind == "revoke":
                case.revoked = True
                now = self.env.now
                self.row(case, step, 1, "revoked", now, now, now, now, agency="")
            else:
                case.pending += 1
                agency = follow_up.consequence.agency or step.agency
                work = Work(step, agency, (agency,))
                case.active[work] = None
                work.process = self.env.process(self.rework(case, step, draws, position, work))

    def rework(
        self, case: Case, step: Step, draws: StepDraws, position: int, work: Work
    ) -> Generator:
        """A failed follow-up's rework, after its delay; the case is not done until it is.

        It queues for a member of its agency and holds them for its effort. If the case
        stops meanwhile, `stop` cuts it short and interrupts this process.
        """
        env = self.env
        agency = work.agency
        follow_up = step.follow_ups[position]
        # A commitment that held the step was checked as the step ended: no further delay.
        delay = 0.0 if follow_up.holds else float(draws.follow_up_delay[position][case.index])
        try:
            yield env.timeout(delay)
            work.phase, work.ready = "queued", env.now
            effort = float(draws.follow_up_handling[position][case.index])
            staff = [self.staff[agency]] if agency in self.staff else []
            yield from book(staff, case.priority, work.requests)
            work.phase, work.start = "handling", env.now
            yield env.timeout(effort)
        except simpy.Interrupt:
            return  # the case stopped: `stop` cut the rework short
        ready, start = work.ready, work.start
        for resource, request in work.requests:
            resource.release(request)
        self.busy[agency] += effort
        now = env.now
        del case.active[work]
        case.clock.append((ready, now))
        case.steps += 1
        case.trips += step.trips
        self.row(case, step, 1, "rework", ready, start, now, now, agency=agency)
        case.pending -= 1
        self.maybe_complete(case)

    def maybe_complete(self, case: Case) -> None:
        """The case ends when nothing is left to do: no step, no rework."""
        if case.status == "running" and case.unfinished == 0 and case.pending == 0:
            self.end(case, "revoked" if case.revoked else "completed", self.env.now)

    def stop(self, case: Case, now: float) -> None:
        """Cut short the work a stopped case (withdrawn, or open at the end) has under way.

        Staff it holds are freed (the handling until now counts as staff-days), a place
        in a queue is given up; work in its handling (begun before now) or its waiting
        writes a row of outcome ``interrupted`` ending now. Its processes are interrupted.
        """
        for work in case.active:
            if work.phase in ("queued", "handling"):
                for resource, request in work.requests:
                    if request.triggered:  # granted
                        resource.release(request)
                    else:
                        request.cancel()
            if work.phase == "handling":
                effort = now - work.start
                for agency in work.agencies:
                    self.busy[agency] += effort
                if now > work.start:  # a hold cut as it began did nothing: no row
                    self.interrupted(case, work, now, now)
            elif work.phase == "waiting":
                self.interrupted(case, work, work.handled, now)
            work.process.interrupt()
        case.active.clear()

    def interrupted(self, case: Case, work: Work, handled: float, end: float) -> None:
        """The row of work cut short."""
        self.row(
            case,
            work.step,
            work.attempt,
            INTERRUPTED,
            work.ready,
            work.start,
            handled,
            end,
            agency=work.agency,
        )

    def end(self, case: Case, status: str, end: float) -> None:
        """Write the case's row; the case process ends with it."""
        case.status = status
        del self.live[case.id]
        procedure = case.procedure
        self.records.cases.append(
            (
                procedure.id,
                case.id,
                status,
                case.arrival,
                end,
                union_length(case.clock),
                procedure.target_days,
                procedure.target_unit,
                case.steps,
                case.materials,
                case.certificates,
                case.trips,
                case.fees,
                case.send_backs,
                audit_trail(case.fired, {label: i for i, label in enumerate(procedure.fired)}),
                case.draws.attribute_json()[case.index],
            )
        )
        case.ended.succeed(status)

    def row(
        self,
        case: Case,
        step: Step,
        attempt: int,
        outcome: str,
        ready: float,
        start: float,
        handled: float,
        end: float,
        agency: str | None = None,
    ) -> None:
        """Append a step row (the step's agencies joined with ``+`` unless ``agency``)."""
        self.records.steps.append(
            (
                case.procedure.id,
                case.id,
                step.id,
                "+".join(step.agencies) if agency is None else agency,
                attempt,
                outcome,
                ready,
                start,
                handled,
                end,
            )
        )


def book(staff: list[simpy.PriorityResource], priority: int, requests: list) -> Generator:
    """Book a member of each agency, one after the other, adding (resource, request) pairs.

    A request waits in the agency's queue (fast lane first, then by request time) while
    every member is busy. A request for a free member is granted as it is made; the step
    goes on to its next agency at once rather than waiting for SimPy to process the grant.
    """
    for resource in staff:
        request = resource.request(priority=priority)
        requests.append((resource, request))
        if not request.triggered:
            yield request


def verdict(step: Step, draws: StepDraws, attempt: int, index: int) -> str:
    """What a submission's materials lead to: `ACCEPTED`, `TOLERATED` or `SENT_BACK`.

    A defective main material sends the file back; a defective minor one too, unless a
    tolerated-deficiency rule accepts it on a written commitment.
    """
    main, minor = draws.defects(attempt)
    main_defective = main is not None and bool(main[index])
    minor_defective = minor is not None and bool(minor[index])
    if main_defective or (minor_defective and step.tolerance is None):
        return SENT_BACK
    return TOLERATED if minor_defective else ACCEPTED


def simulate(
    model: Model,
    seed_sequence: np.random.SeedSequence,
    replication: int = 0,
    shared: SharedDraws | None = None,
) -> Records:
    """Run one variant once (`sim.engines.simulate` documents it)."""
    return ReferenceModel(model, seed_sequence, replication, shared).run()
