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
"""

from __future__ import annotations

import json
import math
from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from sim.model import Model, Procedure, Step
from sim.records import Records, union_length
from sim.sampling import ProcedureDraws, StepDraws, sample_procedure
from sim.streams import Streams

NORMAL, FAST_LANE = 1, 0


class _Case:
    __slots__ = (
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

    def __init__(self, procedure: Procedure, draws: ProcedureDraws, index: int, arrival: float):
        self.procedure = procedure
        self.draws = draws
        self.index = index
        self.case_id = f"{procedure.id}-{index + 1:06d}"
        self.arrival = arrival
        self.remaining = {step.id: len(step.after) for step in procedure.steps}
        self.unfinished = len(procedure.steps)
        self.pending = 0
        self.status = "running"
        self.revoked = False
        self.priority = FAST_LANE if procedure.fast_lane else NORMAL
        self.steps = self.materials = self.certificates = self.send_backs = 0
        self.trips = self.fees = 0.0
        self.clock: list[tuple[float, float]] = []
        self.fired: dict[str, None] = dict.fromkeys(procedure.fired)


class Simulation:
    """One run of one variant: build with a model and seeds, then call `run`."""

    def __init__(self, model: Model, seed_sequence: np.random.SeedSequence, replication: int = 0):
        self.model = model
        self.seed_sequence = seed_sequence
        self.replication = replication

    def run(self) -> Records:
        """Simulate until the horizon's end and return the records."""
        self.env = simpy.Environment()
        self.staff = {
            agency.id: None if agency.unlimited else simpy.PriorityResource(self.env, agency.staff)
            for agency in self.model.agencies
        }
        self.records = Records(self.replication, self.model.variant)
        self.busy = dict.fromkeys(self.staff, 0.0)
        self.live: dict[str, _Case] = {}
        self.successors: dict[int, dict[str, tuple[str, ...]]] = {}
        streams = Streams(self.seed_sequence)
        horizon = self.model.scenario.horizon
        for demand in self.model.demands:
            draws = sample_procedure(
                streams, demand.procedure, demand.arrivals_per_day, horizon.arrival_days
            )
            self.env.process(self._arrivals(demand, draws))
        self.env.run(until=horizon.end)
        for case in list(self.live.values()):
            self._record_case(case, "open", math.nan)
        self.records.agency_busy = self.busy
        return self.records

    def _arrivals(self, demand, draws: ProcedureDraws) -> Generator[Any, Any, None]:
        previous = 0.0
        for index, arrival in enumerate(draws.arrivals.tolist()):
            yield self.env.timeout(arrival - previous)
            previous = arrival
            signature = tuple(draws.meets(c, index) for c in demand.conditions)
            self._start(demand.version(signature), draws, index)

    def _start(self, procedure: Procedure, draws: ProcedureDraws, index: int) -> None:
        case = _Case(procedure, draws, index, self.env.now)
        if id(procedure) not in self.successors:
            self.successors[id(procedure)] = procedure.successors()
        self.live[case.case_id] = case
        for step in procedure.steps:
            if not step.after:
                self._ready(case, step)
        self._maybe_complete(case)

    def _ready(self, case: _Case, step: Step) -> None:
        if case.status != "running":
            return
        if not case.draws.meets(step.when, case.index):
            self._finish(case, step)
            return
        self.env.process(self._step(case, step))

    def _finish(self, case: _Case, step: Step) -> None:
        case.unfinished -= 1
        procedure = case.procedure
        for following in self.successors[id(procedure)][step.id]:
            case.remaining[following] -= 1
            if case.remaining[following] == 0:
                self._ready(case, procedure.step(following))

    def _maybe_complete(self, case: _Case) -> None:
        if case.status == "running" and case.unfinished == 0 and case.pending == 0:
            self._record_case(case, "revoked" if case.revoked else "completed", self.env.now)

    def _acquire(self, agencies: tuple[str, ...], priority: int):
        requests = []
        # One global order of booking, so that joint bookings cannot deadlock.
        for agency in sorted(agencies):
            resource = self.staff[agency]
            if resource is not None:
                request = resource.request(priority=priority)
                yield request
                requests.append((resource, request))
        return requests

    def _hold(self, agencies: tuple[str, ...], effort: float, priority: int):
        requests = yield from self._acquire(agencies, priority)
        start = self.env.now
        yield self.env.timeout(effort)
        for resource, request in requests:
            resource.release(request)
        for agency in agencies:
            self.busy[agency] += effort
        return start

    def _step(self, case: _Case, step: Step) -> Generator[Any, Any, None]:
        index = case.index
        draws: StepDraws = case.draws.step(step)
        case.steps += 1
        case.materials += len(step.materials)
        case.certificates += step.certificates
        case.fees += step.fees_cny
        tolerated = step.tolerance is not None
        rounds = len(draws.handling)
        agency = "+".join(step.agencies)
        attempt = 0
        while True:
            case.trips += step.trips
            ready = self.env.now
            start = yield from self._hold(step.agencies, draws.handling[attempt][index], case.priority)
            handled = self.env.now
            if step.handling_on_clock:
                case.clock.append((ready, handled))
            if case.status != "running":
                return
            main, minor = _defects(step, draws, attempt, index)
            if main or (minor and not tolerated):
                case.send_backs += 1
                attempt += 1
                outcome = "sent_back" if attempt < rounds else "withdrawn"
                self._record_step(case, step.id, agency, attempt, outcome, ready, start, handled)
                if outcome == "withdrawn":
                    self._record_case(case, "withdrawn", self.env.now)
                    return
                yield self.env.timeout(draws.response[attempt - 1][index])
                if case.status != "running":
                    return
                continue
            waiting = float(draws.waiting[index])
            if waiting > 0:
                yield self.env.timeout(waiting)
            if step.waiting_on_clock:
                case.clock.append((handled, self.env.now))
            self._record_step(
                case,
                step.id,
                agency,
                attempt + 1,
                "tolerated" if minor else "accepted",
                ready,
                start,
                handled,
                self.env.now,
            )
            self._follow_ups(case, step, draws, tolerated_now=minor)
            if case.status == "running":
                self._finish(case, step)
                self._maybe_complete(case)
            return

    def _follow_ups(self, case: _Case, step: Step, draws: StepDraws, tolerated_now: bool) -> None:
        for position, follow_up in enumerate(step.follow_ups):
            if follow_up.kind == "commitment" and not tolerated_now:
                continue
            case.fired[follow_up.reform] = None
            if not draws.follow_up_failed[position][case.index]:
                continue
            if follow_up.consequence.kind == "revoke":
                case.revoked = True
                now = self.env.now
                self._record_step(case, step.id, "", 1, "revoked", now, now, now, now)
            else:
                case.pending += 1
                self.env.process(self._rework(case, step, draws, position))

    def _rework(self, case: _Case, step: Step, draws: StepDraws, position: int):
        follow_up = step.follow_ups[position]
        agency = follow_up.consequence.agency or step.agency
        yield self.env.timeout(draws.follow_up_delay[position][case.index])
        ready = self.env.now
        effort = draws.follow_up_handling[position][case.index]
        start = yield from self._hold((agency,), effort, case.priority)
        case.clock.append((ready, self.env.now))
        case.steps += 1
        case.trips += step.trips
        self._record_step(case, step.id, agency, 1, "rework", ready, start, self.env.now)
        case.pending -= 1
        self._maybe_complete(case)

    def _record_step(self, case, step_id, agency, attempt, outcome, ready, start, handled, end=None):
        self.records.steps.append(
            (
                case.procedure.id,
                case.case_id,
                step_id,
                agency,
                attempt,
                outcome,
                ready,
                start,
                handled,
                handled if end is None else end,
            )
        )

    def _record_case(self, case: _Case, status: str, end: float) -> None:
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
                json.dumps(case.draws.attributes(case.index), ensure_ascii=False),
            )
        )


def _defects(step: Step, draws: StepDraws, attempt: int, index: int) -> tuple[bool, bool]:
    main = minor = False
    defective = draws.defective[attempt]
    for material in step.materials:
        flags = defective.get(material.id)
        if flags is not None and flags[index]:
            if material.kind == "main":
                main = True
            else:
                minor = True
    return main, minor


def simulate(model: Model, seed_sequence: np.random.SeedSequence, replication: int = 0) -> Records:
    """Run one variant once.

    Args:
        model: The resolved variant.
        seed_sequence: The replication's seed sequence (all randomness derives from it).
        replication: The replication's number, written into the records.

    Returns:
        The case and step rows of the run.
    """
    return Simulation(model, seed_sequence, replication).run()
