"""The vectorised engine: every case of a procedure at once, for agencies without staff limits.

Without staff limits nothing queues, so a case's times follow from its own draws: a step
is ready when the last of its predecessors ends (the maximum over parallel branches),
ends after its handling (sum along a sequence) and, when the file is sent back, after
the applicant's response and another handling, round after round (the geometric rework
loop, up to the cap, then withdrawn), then its waiting. This engine computes all of that
with numpy arrays over all cases, step by step in precedence order and round by round,
from the same draws as the discrete-event engine (`sim.engines.draws`) and with the same
arithmetic, so that on a scenario without staff limits both give the same numbers case
by case (up to floating-point rounding in sums such as the agencies' busy time). It
reads the same procedure files and reformed variants (cases of different reform
versions are run in groups) and writes the same record schema.

What the discrete-event run does to a case that stops (withdrawn, or still open at the
horizon's end) is reproduced: a case is recorded when it is withdrawn, completes or the
run stops, with the counts made until then; what it still has under way then is cut
short: a step or rework in its handling or waiting writes a row of outcome
``interrupted`` ending at the stop (its handling until then counts as staff-days), and
nothing starts after it (no resubmission, waiting, follow-up or rework).

Exact ties: when another event of a case falls on the very instant the case is
withdrawn (possible only with fixed durations), the event engine's order depends on when
each event was put on its queue; here the withdrawal is taken to come first. With
continuous durations such ties have probability zero.

It refuses a scenario whose steps use an agency with a staff limit (`InputError`):
queues need the discrete-event engine.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from sim.domain.distributions import Fixed
from sim.domain.errors import InputError
from sim.domain.model import CALENDAR_DAYS, Model, Procedure
from sim.engines.draws import ProcedureDraws, SharedDraws, StepDraws, shared_draws
from sim.engines.records import (
    OUTCOMES,
    STATUSES,
    Coded,
    Pieces,
    Records,
    audit_order,
    case_id_texts,
    column_array,
    join_labels,
)

ACCEPTED, TOLERATED, SENT_BACK, WITHDRAWN, REWORK, REVOKED, INTERRUPTED = range(7)
COMPLETED, WITHDRAWN_CASE, REVOKED_CASE, OPEN = range(4)
INF = np.inf
# Helper threads that draw the steps' random numbers while this thread computes (the
# machines this runs on have at least two cores; the numbers do not depend on it).
HELPER_THREADS = 2


def agencies_used(procedure: Procedure) -> set[str]:
    """The agencies whose staff a procedure's steps and rework would hold."""
    used: set[str] = set()
    for step in procedure.steps:
        used.update(step.agencies)
        for follow_up in step.follow_ups:
            if follow_up.consequence.kind == "rework":
                used.add(follow_up.consequence.agency or step.agency)
    return used


def check_unlimited(model: Model, procedures: list[Procedure] | None = None) -> None:
    """Refuse a model whose steps use an agency with a staff limit.

    Args:
        model: The resolved variant.
        procedures: The procedure versions to check (default: the demands' procedures).

    Raises:
        InputError: Naming the agencies with staff limits.
    """
    if procedures is None:
        procedures = [demand.procedure for demand in model.demands]
    limited = {agency.id: agency.staff for agency in model.agencies if not agency.unlimited}
    used: set[str] = set()
    for procedure in procedures:
        used |= agencies_used(procedure)
    names = sorted(used & limited.keys())
    if names:
        listed = ", ".join(f"{name} (staff {limited[name]})" for name in names)
        which = (
            f"agency {listed} has a staff limit"
            if len(names) == 1
            else (f"agencies {listed} have staff limits")
        )
        raise InputError(
            f"the numpy engine assumes unlimited staff; {which}: use --engine des or set "
            "`staff: unlimited`",
            file=model.file or None,
        )


def _groups(demand, draws: ProcedureDraws) -> list[tuple[Procedure, np.ndarray | None]]:
    """The procedure version of each group of cases (None: every case)."""
    conditions = demand.conditions
    n = draws.cases
    if not conditions:
        return [(demand.version(()), None)]
    code = np.zeros(n, dtype=np.int64)
    for condition in conditions:
        code = code * 2 + draws.mask(condition)
    present = np.unique(code)
    groups = []
    for value in present.tolist():
        bits = tuple(bool((value >> shift) & 1) for shift in range(len(conditions) - 1, -1, -1))
        cases = None if len(present) == 1 else np.flatnonzero(code == value)
        groups.append((demand.version(bits), cases))
    return groups


def simulate(
    model: Model,
    seed_sequence: np.random.SeedSequence,
    replication: int = 0,
    shared: SharedDraws | None = None,
) -> Records:
    """Run one variant once, every case at once (agencies must have no staff limits).

    Args:
        model: The resolved variant.
        seed_sequence: The replication's seed sequence (all randomness derives from it).
        replication: The replication's number, written into the records.
        shared: The replication's draws shared by its variants (`SharedDraws` of
            ``seed_sequence``), or None to make them here.

    Returns:
        The case and step rows of the run, as columns (`Records.case_columns`,
        `Records.step_columns`), in the schema of `sim.engines.records`.

    Raises:
        InputError: A step uses an agency with a staff limit.
    """
    shared = shared_draws(shared, seed_sequence)
    horizon = model.horizon
    prepared = []
    for demand in model.demands:
        draws = shared.draws(demand.procedure, demand.arrivals_per_day, horizon.arrival_days)
        groups = _groups(demand, draws) if draws.cases else []
        prepared.append((draws, groups))
    check_unlimited(
        model,
        [demand.procedure for demand in model.demands]
        + [procedure for _, groups in prepared for procedure, _ in groups],
    )
    busy = dict.fromkeys((agency.id for agency in model.agencies), 0.0)
    case_parts: list[dict] = []
    step_parts: list[dict] = []
    pool = ThreadPoolExecutor(max_workers=HELPER_THREADS)
    try:
        drawn = _prefetch(prepared, pool)
        # Meanwhile, this thread writes the attribute JSON the records will need.
        for draws, _ in prepared:
            draws.attribute_texts()
        for draws, groups in prepared:
            if not draws.cases:
                continue
            # The clock of each arrival as the event engine reaches it, adding up the gaps.
            clock = np.cumsum(np.diff(draws.arrivals, prepend=0.0))
            for procedure, cases in groups:
                run = _VersionRun(
                    procedure, draws, cases, clock, horizon.end, busy, drawn, model.calendar
                )
                case_columns, step_columns = run.records()
                case_parts.append(case_columns)
                step_parts.append(step_columns)
    finally:
        pool.shutdown(cancel_futures=True)
    records = Records(replication, model.variant)
    records.agency_busy = busy
    if case_parts:
        records.case_columns = _concatenate(case_parts)
        records.step_columns = _concatenate(step_parts)
    return records


class _Task:
    """A job handed to helper threads.

    Asked for its result before a helper has begun it, it runs in the asking thread
    instead of waiting.
    """

    def __init__(self, pool: ThreadPoolExecutor, job: Callable[..., Any], *args: Any):
        self.job = job
        self.args = args
        self.future: Future = pool.submit(job, *args)

    def result(self) -> Any:
        if self.future.cancel():
            return self.job(*self.args)
        return self.future.result()


def _prefetch(prepared: list, pool: ThreadPoolExecutor) -> dict[int, list[_Task]]:
    """Start drawing every step's first round, and the resubmissions cases will likely reach.

    numpy and scipy release the GIL in their array loops, and a step's draws come from
    its own keyed stream, so they are the same whichever thread makes them, and whether
    or not a round drawn ahead is reached. Steps are drawn in precedence order, so the
    schedule can start on the first while later ones are drawn (`_VersionRun` waits for
    each). Only for procedures whose cases all run one version (with several, each
    group draws only its own cases).

    Returns:
        The drawing of each step, by ``id`` of its `StepDraws`.
    """
    drawn: dict[int, list[_Task]] = {}
    for draws, groups in prepared:
        if not (len(groups) == 1 and groups[0][1] is None):
            continue
        procedure = groups[0][0]
        for step_id in procedure.topological_order():
            step = procedure.step(step_id)
            # Made here, not in the helpers: the draws' step table is not shared.
            step_draws = draws.step(step)
            tasks = drawn[id(step_draws)] = [_Task(pool, _draw_first, step_draws)]
            rounds = _rounds_reached(step, draws.cases)
            if rounds:
                tasks.append(_Task(pool, _draw_resubmissions, step_draws, rounds))
    return drawn


def _rounds_reached(step, cases: int) -> int:
    """How many resubmissions of a step one of ``cases`` cases can be expected to reach.

    A case reaches round r + 1 if a material that sends files back was defective in
    round 0 and still wrong in each resubmission up to round r.
    """
    if step.send_back is None:
        return 0
    chains = [
        (material.probability_defective, material.probability_again)
        for material in step.materials
        if material.kind == "main" or step.tolerance is None
    ]

    def sent_back(round_: int) -> float:
        passing = 1.0
        for first, again in chains:
            passing *= 1.0 - first * again**round_
        return 1.0 - passing

    rounds = 0
    while rounds < step.send_back.max_resubmissions and cases * sent_back(rounds) >= 1:
        rounds += 1
    return rounds


def _draw_first(step_draws: StepDraws) -> None:
    """Draw a step's first round (kept by the draws)."""
    step_draws.handling[0]  # noqa: B018 - computed and kept on first access
    step_draws.defects(0)


def _draw_resubmissions(step_draws: StepDraws, rounds: int) -> None:
    """Draw the uniforms of a step's resubmissions (whose cases are picked later)."""
    for round_ in range(1, rounds + 1):
        step_draws.uniforms("response", round_ - 1)
        step_draws.uniforms("handling", round_)
        for material in step_draws.step.materials:
            if material.probability_defective > 0:
                step_draws.material_uniforms(material, round_)


def _concatenate(parts: list[dict]) -> dict:
    """Columns of several groups as one (coded text columns share their labels)."""
    if len(parts) == 1:
        return parts[0]
    joined = {}
    for name, first in parts[0].items():
        if isinstance(first, Coded):
            labels: list[np.ndarray] = []
            offsets: dict[int, int] = {}
            codes = []
            size = 0
            for part in parts:
                column = part[name]
                key = id(column.labels)
                if key not in offsets:
                    offsets[key] = size
                    labels.append(column.labels)
                    size += len(column.labels)
                codes.append(column_array(column.codes, np.int64) + offsets[key])
            joined[name] = Coded(np.concatenate(codes), join_labels(labels))
        elif isinstance(first, Pieces):
            joined[name] = sum((part[name] for part in parts[1:]), first)
        else:
            joined[name] = np.concatenate([part[name] for part in parts])
    return joined


class _Round:
    """One submission round of one step, for the cases that reach it."""

    __slots__ = ("positions", "ready", "handled", "effort", "failed", "attempt")

    def __init__(self, positions, ready, handled, effort, failed, attempt):
        self.positions = positions
        self.ready = ready
        self.handled = handled
        self.effort = effort
        self.failed = failed
        self.attempt = attempt


class _StepResult:
    """What happened at one step, for the cases of the group."""

    __slots__ = (
        "step",
        "index",
        "ready",
        "starts",
        "rounds",
        "accepted",
        "minor",
        "handled",
        "end",
        "clocked",
        "withdrawn",
        "withdrawn_at",
        "draws",
        "global_cases",
        "attempt",
        "outcome",
        "accepted_ready",
    )

    def __init__(self, step, index):
        self.step = step
        self.index = index
        self.rounds: list[_Round] = []
        self.withdrawn = self.withdrawn_at = None
        self.accepted = np.zeros(0, dtype=np.intp)
        self.accepted_ready = self.handled = self.end = self.clocked = np.zeros(0)
        self.global_cases = np.zeros(0, dtype=np.intp)
        self.minor = np.zeros(0, dtype=bool)
        self.attempt = 1
        self.outcome = ACCEPTED


def _failed(main, minor, tolerated: bool):
    if minor is None or tolerated:
        return main
    if main is None:
        return minor
    return main | minor


class _VersionRun:
    """The cases of one procedure version (a group of a procedure's cases)."""

    def __init__(
        self,
        procedure: Procedure,
        draws: ProcedureDraws,
        cases: np.ndarray | None,
        clock: np.ndarray,
        horizon_end: float,
        busy: dict[str, float],
        drawn: dict[int, list[_Task]] | None = None,
        calendar=None,
    ):
        self.procedure = procedure
        self.calendar = calendar
        self.draws = draws
        self.cases = cases
        self.n = len(clock) if cases is None else len(cases)
        self.arrival = clock if cases is None else clock[cases]
        self.end_of_run = horizon_end
        self.busy = busy
        self.drawn = drawn or {}
        self.results: list[_StepResult] = []
        self._schedule()
        self._outcome()

    # ------------------------------------------------------------------ the schedule

    def _schedule(self) -> None:
        """Every step's rounds, as if nothing stopped the case (withdrawals come after)."""
        procedure = self.procedure
        m = self.n
        everyone = self.everyone = np.arange(m)
        ends: dict[str, np.ndarray] = {}
        for index, step_id in enumerate(procedure.topological_order()):
            step = procedure.step(step_id)
            result = _StepResult(step, index)
            if step.after:
                ready = ends[step.after[0]]
                for other in step.after[1:]:
                    ready = np.maximum(ready, ends[other])
            else:
                ready = self.arrival
            result.ready = ready
            starts = ready < INF
            skipped = None
            if step.when is not None:
                meets = self.draws.mask(step.when)
                if self.cases is not None:
                    meets = meets[self.cases]
                skipped = starts & ~meets
                starts &= meets
            result.starts = starts
            for drawing in self.drawn.get(id(self.draws.step(step)), ()):
                drawing.result()
            if starts.all():
                self._rounds(result, everyone, ready, full=self.cases is None)
            else:
                positions = np.flatnonzero(starts)
                self._rounds(result, positions, ready[positions], full=False)
            if result.accepted is everyone:
                end = result.end
            else:
                end = np.full(m, INF)
                if skipped is not None:
                    end[skipped] = ready[skipped]  # a step that does not apply ends when ready
                end[result.accepted] = result.end
            ends[step_id] = end
            self.results.append(result)
        self.ends = ends

    def _rounds(self, result: _StepResult, positions, ready, full: bool) -> None:
        """The submission rounds of one step for the cases at ``positions``.

        ``full``: the positions are every case of the procedure, in order (the draws'
        arrays are then used as they are).
        """
        step = result.step
        draws: StepDraws = self.draws.step(step)
        result.draws = draws
        cap = len(draws.handling)
        tolerated = step.tolerance is not None
        global_cases = positions if self.cases is None else self.cases[positions]
        parts = []  # the accepted cases of each round
        attempt = 0
        while len(positions):
            key = None if full else global_cases
            effort = draws.at("handling", attempt, key)
            handled = ready + effort
            main, minor = draws.defects_at(attempt, key)
            failed = _failed(main, minor, tolerated)
            result.rounds.append(_Round(positions, ready, handled, effort, failed, attempt))
            if failed is None or not failed.any():
                parts.append((attempt, positions, ready, handled, minor, global_cases))
                break
            full = False
            passed = ~failed
            parts.append(
                (
                    attempt,
                    positions[passed],
                    ready[passed],
                    handled[passed],
                    None if minor is None else minor[passed],
                    global_cases[passed],
                )
            )
            if attempt + 1 >= cap:
                result.withdrawn = positions[failed]
                result.withdrawn_at = handled[failed]
                break
            positions = positions[failed]
            global_cases = global_cases[failed]
            ready = handled[failed] + draws.at("response", attempt, global_cases)
            attempt += 1
        if not parts:
            return
        if len(parts) == 1:
            attempt, accepted, ready, handled, minor, global_cases = parts[0]
            result.attempt = attempt + 1
        else:
            accepted = np.concatenate([part[1] for part in parts])
            ready = np.concatenate([part[2] for part in parts])
            handled = np.concatenate([part[3] for part in parts])
            minors = [part[4] for part in parts]
            minor = (
                None
                if all(flags is None for flags in minors)
                else np.concatenate(
                    [
                        np.zeros(len(part[1]), dtype=bool) if flags is None else flags
                        for part, flags in zip(parts, minors, strict=True)
                    ]
                )
            )
            global_cases = np.concatenate([part[5] for part in parts])
            result.attempt = np.repeat(
                np.array([part[0] + 1 for part in parts], dtype=np.int64),
                [len(part[1]) for part in parts],
            )
        if minor is None or not minor.any():
            result.minor = np.zeros(len(accepted), dtype=bool)
            result.outcome = ACCEPTED
        else:
            result.minor = minor
            result.outcome = np.where(minor, TOLERATED, ACCEPTED)
        result.accepted = accepted
        result.accepted_ready = ready
        result.handled = handled
        result.global_cases = global_cases
        holds = [p for p, follow_up in enumerate(step.follow_ups) if follow_up.holds]
        plain = step.time_limit is None and not (holds and result.minor.any())
        if plain and type(step.waiting) is Fixed and step.waiting.value == 0:
            result.end = result.clocked = handled  # the same numbers as adding zeros
            return
        waiting = draws.waiting if full else draws.waiting[global_cases]
        if step.waiting_unit == CALENDAR_DAYS:
            # Calendar days from the handling's end, through weekends and holidays.
            if self.calendar is None:
                raise ValueError(f"step '{step.id}' waits in calendar days: no calendar")
            after = self.calendar.after_calendar_days_array(handled, waiting) - handled
            waiting = np.where(waiting > 0, after, waiting)
        if step.time_limit is not None:
            on_clock = handled - ready if step.handling_on_clock else np.zeros(len(handled))
            waiting = _waiting_left(step.time_limit, waiting, on_clock)
        result.end = result.clocked = handled + waiting
        if not plain:
            # Tolerated cases are decided only once a committed material is in (容缺受理).
            for position in holds:
                delay = draws.follow_up_delay[position][global_cases]
                waiting = np.where(result.minor, np.maximum(waiting, delay), waiting)
            result.end = handled + waiting

    # ------------------------------------------------------------------ outcome

    def _outcome(self) -> None:
        """Withdrawals, follow-ups, status and end of each case."""
        m = self.n
        withdrawn_at = np.full(m, INF)
        withdrawing = np.full(m, -1, dtype=np.int64)
        for result in self.results:
            if result.withdrawn is not None:
                positions, times = result.withdrawn, result.withdrawn_at
                earlier = times < withdrawn_at[positions]
                withdrawn_at[positions[earlier]] = times[earlier]
                withdrawing[positions[earlier]] = result.index
        self.withdrawn_at = withdrawn_at
        self.withdrawing = withdrawing
        # Follow-ups fire when an accepted step ends (unconstrained; filtered below).
        self.fired: list[tuple] = []  # label, positions, time
        self.revokes: list[tuple] = []  # step, positions, time, handled
        self.reworks: list[tuple] = []  # step, agency, positions, ready, handled, effort, ...
        revoked_any = np.zeros(m, dtype=bool)
        done = self.arrival.copy()
        for result in self.results:
            step = result.step
            for position, follow_up in enumerate(step.follow_ups):
                if follow_up.kind == "commitment":
                    applies = result.minor
                    positions = result.accepted[applies]
                    times = result.end[applies]
                    global_cases = result.global_cases[applies]
                else:
                    positions = result.accepted
                    times = result.end
                    global_cases = result.global_cases
                handled = (
                    result.handled[applies] if follow_up.kind == "commitment" else result.handled
                )
                self.fired.append((follow_up.reform, positions, times))
                failed = result.draws.follow_up_failed[position][global_cases]
                if follow_up.consequence.kind == "revoke":
                    self.revokes.append((result, positions[failed], times[failed], handled[failed]))
                    revoked_any[positions[failed]] = True
                else:
                    agency = follow_up.consequence.agency or step.agency
                    # A commitment that held the step was checked as it ended: no delay.
                    delay = result.draws.follow_up_delay[position][global_cases[failed]]
                    ready = times[failed] + (0.0 if follow_up.holds else delay)
                    effort = result.draws.follow_up_handling[position][global_cases[failed]]
                    self.reworks.append(
                        (
                            result,
                            agency,
                            positions[failed],
                            ready,
                            ready + effort,
                            effort,
                            times[failed],
                            handled[failed],
                        )
                    )
        # A case completes when its last step or rework ends.
        for result in self.results:
            end = self.ends[result.step.id]
            if result.accepted is self.everyone:  # every case ran it: no infinite ends
                np.maximum(done, end, out=done)
            else:
                np.maximum(done, np.where(end < INF, end, -INF), out=done)
        for _, _, positions, _, handled, *_ in self.reworks:
            np.maximum.at(done, positions, handled)
        horizon = self.end_of_run
        withdrawn = withdrawn_at < INF
        status = np.where(
            withdrawn,
            np.where(withdrawn_at < horizon, WITHDRAWN_CASE, OPEN),
            np.where(done < horizon, np.where(revoked_any, REVOKED_CASE, COMPLETED), OPEN),
        )
        self.status = status
        self.end_day = np.where(
            status == WITHDRAWN_CASE,
            withdrawn_at,
            np.where(status == OPEN, np.nan, done),
        )
        # Events count for the case's row if they happen before it is recorded: before
        # the withdrawal, before the horizon's end, or (completed) all of them.
        self.limit = np.where(
            status == WITHDRAWN_CASE, withdrawn_at, np.where(status == OPEN, horizon, INF)
        )
        # Every case completed (nothing withdrawn, nothing open): every event counts.
        self.unstopped = not (self.limit < INF).any()

    # ------------------------------------------------------------------ records

    def _counted(self, positions: np.ndarray, times: np.ndarray, result=None) -> np.ndarray:
        """Whether events of the cases at ``positions`` count for their case rows.

        They do if they happen before the case is recorded (its withdrawal, the horizon's
        end); the withdrawing step's own events all count (it records the case).
        """
        if self.unstopped:
            return np.ones(len(positions), dtype=bool)
        counted = times < self.limit[positions]
        if result is not None and result.withdrawn is not None:
            counted |= (self.withdrawing[positions] == result.index) & (
                self.status[positions] == WITHDRAWN_CASE
            )
        return counted

    def _live(self, positions: np.ndarray, checked: np.ndarray, result=None) -> np.ndarray:
        """Whether a check at ``checked`` happened while the case was still running."""
        if self.unstopped:
            return np.ones(len(positions), dtype=bool)
        live = checked < self.withdrawn_at[positions]
        if result is not None and result.withdrawn is not None:
            live |= self.withdrawing[positions] == result.index
        return live

    def records(self) -> tuple[dict, dict]:
        """The case and step columns of the group."""
        procedure = self.procedure
        m = self.n
        everyone = self.everyone
        horizon = self.end_of_run
        steps = np.zeros(m, dtype=np.int64)
        materials = np.zeros(m, dtype=np.int64)
        certificates = np.zeros(m, dtype=np.int64)
        send_backs = np.zeros(m, dtype=np.int64)
        trips = np.zeros(m)
        fees = np.zeros(m)
        clock = _Clock(self.arrival, everyone)
        rows = _Rows()
        busy = self.busy
        trail = _AuditTrail(self.procedure, m)
        trail.mark(self.procedure.reformed_by, everyone, self._mask)
        for label, positions, times in self.fired:
            trail.add(label, positions[self._counted(positions, times)])
        for result in self.results:
            step = result.step
            if not result.rounds:
                continue
            first = result.rounds[0]
            started = _where(first.positions, self._counted(first.positions, first.ready, result))
            trail.mark(step.reformed_by, started, self._mask)
            _bump(steps, started, 1, everyone)
            if step.materials:
                _bump(materials, started, len(step.materials), everyone)
            if step.certificates:
                _bump(certificates, started, step.certificates, everyone)
            if step.fees_cny:
                _bump(fees, started, step.fees_cny, everyone)
            step_code = rows.code(step.id)
            agency_code = rows.agency("+".join(step.agencies))
            cap = len(result.draws.handling)
            for round_ in result.rounds:
                positions = round_.positions
                ready = round_.ready
                handled = round_.handled
                if step.trips:
                    _bump(
                        trips,
                        _where(positions, self._counted(positions, ready, result)),
                        step.trips,
                        everyone,
                    )
                counted = self._counted(positions, handled, result)
                if step.handling_on_clock:
                    clock.add(positions, ready, handled, counted)
                # A hold that ends while the case runs counts whole; one that the case's
                # stop cuts short counts until the stop, and writes a row ending there.
                held = self._live(positions, handled, result) & (handled < horizon)
                effort = float(round_.effort.sum() if held.all() else round_.effort[held].sum())
                if not held.all():
                    cut = ~held & (ready < self.limit[positions])
                    if cut.any():
                        stop = self.limit[positions[cut]]
                        effort += float((stop - ready[cut]).sum())
                        rows.add(
                            positions[cut],
                            step_code,
                            agency_code,
                            round_.attempt + 1,
                            INTERRUPTED,
                            ready[cut],
                            stop,
                            stop,
                        )
                for name in step.agencies:
                    busy[name] += effort
                if round_.failed is None:
                    continue
                failed = round_.failed & counted
                _bump(send_backs, positions[failed], 1, everyone)
                written = round_.failed & held
                if written.any():
                    outcome = WITHDRAWN if round_.attempt + 1 >= cap else SENT_BACK
                    handled_written = handled[written]
                    rows.add(
                        positions[written],
                        step_code,
                        agency_code,
                        round_.attempt + 1,
                        outcome,
                        ready[written],
                        handled_written,
                        handled_written,
                    )
            accepted = result.accepted
            if len(accepted):
                end = result.end
                live = self._counted(accepted, end)
                if step.waiting_on_clock:
                    clock.add(accepted, result.handled, result.clocked, live)
                if live.all():
                    rows.add(
                        accepted,
                        step_code,
                        agency_code,
                        result.attempt,
                        result.outcome,
                        result.accepted_ready,
                        result.handled,
                        end,
                    )
                    continue
                # Steps in their waiting when the case stopped are cut short there.
                stop = self.limit[accepted]
                cut = ~live & (result.handled < stop)
                for keep, outcome, until in ((live, result.outcome, end), (cut, INTERRUPTED, stop)):
                    if keep.any():
                        rows.add(
                            accepted[keep],
                            step_code,
                            agency_code,
                            _pick(result.attempt, keep),
                            _pick(outcome, keep),
                            result.accepted_ready[keep],
                            result.handled[keep],
                            until[keep],
                        )
        for result, positions, times, _ in self.revokes:
            live = self._counted(positions, times)
            if live.any():
                times = times[live]
                rows.add(
                    positions[live],
                    rows.code(result.step.id),
                    rows.agency(""),
                    1,
                    REVOKED,
                    times,
                    times,
                    times,
                )
        for result, agency, positions, ready, handled, effort, spawned, _ in self.reworks:
            # A rework follows a check made while the case ran; the case's stop cuts it short.
            stop = self.limit[positions]
            spawned_live = spawned < stop
            live = spawned_live & (handled < stop)
            cut = spawned_live & ~live & (ready < stop)
            if cut.any():
                stopped = stop[cut]
                rows.add(
                    positions[cut],
                    rows.code(result.step.id),
                    rows.agency(agency),
                    1,
                    INTERRUPTED,
                    ready[cut],
                    stopped,
                    stopped,
                )
                busy[agency] += float((stopped - ready[cut]).sum())
            if live.any():
                rows.add(
                    positions[live],
                    rows.code(result.step.id),
                    rows.agency(agency),
                    1,
                    REWORK,
                    ready[live],
                    handled[live],
                    handled[live],
                )
                busy[agency] += float(effort[live].sum())
            counted = self._counted(positions, handled) & live
            steps[positions[counted]] += 1
            if result.step.trips:
                trips[positions[counted]] += result.step.trips
            clock.add(positions, ready, handled, counted)
        ids = case_id_texts(procedure.id, self.draws.cases)
        attribute_codes, attribute_texts = self.draws.attribute_texts()
        global_cases = everyone if self.cases is None else self.cases
        case_columns = {
            "procedure": Coded(np.zeros(m, dtype=np.int8), np.array([procedure.id], dtype=object)),
            "case_id": Coded(global_cases, ids),
            "status": Coded(self.status, STATUSES),
            "arrival_day": self.arrival,
            "end_day": self.end_day,
            "approval_clock_days": clock.total(),
            "target_days": np.full(m, float(procedure.target_days)),
            "target_unit": Coded(
                np.zeros(m, dtype=np.int8), np.array([procedure.target_unit], dtype=object)
            ),
            "steps": steps,
            "materials": materials,
            "certificates": certificates,
            "trips": trips,
            "fees_cny": fees,
            "send_backs": send_backs,
            "reforms_fired": trail.texts(),
            "attributes": Coded(
                attribute_codes if self.cases is None else attribute_codes[self.cases],
                attribute_texts,
            ),
        }
        step_columns = rows.columns(procedure.id, ids, self.cases)
        return case_columns, step_columns

    def _mask(self, condition) -> np.ndarray:
        """Whether each case of the group meets a condition."""
        meets = self.draws.mask(condition)
        return meets if self.cases is None else meets[self.cases]


class _AuditTrail:
    """Per case, the reforms that changed its path (``reforms_fired``).

    A flag per case and reform, set for the cases of a reform mark (`ReformMark`) or
    whose follow-up fired; the text lists the flagged reforms in the version's order (as
    `sim.engines.records.audit_trail` does).
    """

    def __init__(self, procedure: Procedure, cases: int):
        self.labels = list(procedure.fired)
        self.cases = cases
        self.flags: dict[str, np.ndarray] = {}

    def add(self, label: str, positions: np.ndarray) -> None:
        if len(positions):
            if label not in self.flags:
                self.flags[label] = np.zeros(self.cases, dtype=bool)
            self.flags[label][positions] = True

    def mark(self, marks, positions: np.ndarray, mask) -> None:
        """Flag the cases at ``positions`` for each mark that concerns them."""
        for found in marks:
            chosen = positions if found.when is None else positions[mask(found.when)[positions]]
            self.add(found.label, chosen)

    def texts(self) -> Coded:
        labels = audit_order(self.flags, {label: i for i, label in enumerate(self.labels)})
        if not labels:
            return Coded(np.zeros(self.cases, dtype=np.intp), np.array([""], dtype=object))
        table = np.stack([self.flags[label] for label in labels], axis=1)
        rows, codes = np.unique(table, axis=0, return_inverse=True)
        texts = [
            ";".join(label for label, on in zip(labels, row, strict=True) if on) for row in rows
        ]
        return Coded(codes.reshape(-1), np.array(texts, dtype=object))


def _waiting_left(limit, waiting: np.ndarray, on_clock: np.ndarray) -> np.ndarray:
    """`TimeLimit.waiting_left`, case by case (the same arithmetic)."""
    if not limit.waiting:
        return waiting
    return np.minimum(waiting, np.maximum(0.0, limit.days - on_clock))


def _pick(value, mask: np.ndarray):
    """``value[mask]``, or a single value (standing for every case) as it is."""
    return value if np.ndim(value) == 0 else value[mask]


def _where(positions: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``positions[mask]``, or ``positions`` itself when the mask is all true."""
    return positions if mask.all() else positions[mask]


def _bump(target: np.ndarray, positions: np.ndarray, value, everyone: np.ndarray) -> None:
    """Add ``value`` at ``positions`` (distinct), in one pass when that is every case."""
    if positions is everyone:
        target += value
    elif len(positions):
        target[positions] += value


class _Rows:
    """Step rows gathered in pieces (the rows of one step and round)."""

    def __init__(self):
        self.pieces: list[tuple] = []
        self.steps: dict[str, int] = {}
        self.agencies: dict[str, int] = {}

    def code(self, step_id: str) -> int:
        return self.steps.setdefault(step_id, len(self.steps))

    def agency(self, agency: str) -> int:
        return self.agencies.setdefault(agency, len(self.agencies))

    def add(self, positions, step, agency, attempt, outcome, ready, handled, end) -> None:
        self.pieces.append((positions, step, agency, attempt, outcome, ready, handled, end))

    def columns(self, procedure_id: str, ids: np.ndarray, global_cases: np.ndarray | None) -> dict:
        """The step columns, in pieces (`Records.frames` joins them)."""
        pieces = self.pieces
        sizes = tuple(len(piece[0]) for piece in pieces)

        def column(index: int) -> Pieces:
            return Pieces(tuple(piece[index] for piece in pieces), sizes)

        positions = column(0)
        if global_cases is not None:
            positions = Pieces(tuple(global_cases[part] for part in positions.parts), sizes)
        ready = column(5)
        return {
            "procedure": Coded(Pieces((0,), (sum(sizes),)), np.array([procedure_id], dtype=object)),
            "case_id": Coded(positions, ids),
            "step": Coded(column(1), np.array(list(self.steps), dtype=object)),
            "agency": Coded(column(2), np.array(list(self.agencies), dtype=object)),
            "attempt": column(3),
            "outcome": Coded(column(4), OUTCOMES),
            "ready_day": ready,
            "start_day": ready,  # no queues: a step starts when ready
            "handled_day": column(6),
            "end_day": column(7),
        }


class _Clock:
    """Per case, the length covered by its approval-clock intervals.

    Computed as `sim.engines.records.union_length` computes it, so the sums are the same:
    intervals are merged in order of start and the merged blocks added up in order.
    Intervals come a column at a time (a step's round for some cases); while each
    case's columns come in order of start, they are merged as they come. A case whose
    intervals come out of order is merged again at the end from its sorted intervals.
    """

    def __init__(self, arrival: np.ndarray, everyone: np.ndarray):
        # An empty block at the arrival changes nothing and starts every case alike.
        self.arrival = arrival
        self.everyone = everyone
        self.start = arrival.astype(float, copy=True)
        self.end = self.start.copy()
        self.last = self.start.copy()
        self.sum = np.zeros(len(arrival))
        self.disordered = np.zeros(len(arrival), dtype=bool)
        self.columns: list[tuple] = []

    def add(self, positions, start, end, mask=None) -> None:
        if mask is not None and not mask.all():
            positions, start, end = positions[mask], start[mask], end[mask]
        if not len(positions):
            return
        self.columns.append((positions, start, end))
        if positions is self.everyone:
            self.disordered |= start < self.last
            np.copyto(self.last, start)
            gap = start > self.end
            np.add(self.sum, self.end - self.start, out=self.sum, where=gap)
            np.copyto(self.start, start, where=gap)
            np.maximum(self.end, end, out=self.end)
            return
        self.disordered[positions] |= start < self.last[positions]
        self.last[positions] = start
        current_start = self.start[positions]
        current_end = self.end[positions]
        gap = start > current_end
        self.sum[positions] += np.where(gap, current_end - current_start, 0.0)
        self.start[positions] = np.where(gap, start, current_start)
        self.end[positions] = np.maximum(current_end, end)

    def total(self) -> np.ndarray:
        result = self.sum + (self.end - self.start)
        disordered = np.flatnonzero(self.disordered)
        if len(disordered):
            result[disordered] = _union_rows(disordered, self.columns, self.arrival)
        return result


def _union_rows(cases: np.ndarray, columns: list[tuple], arrival: np.ndarray) -> np.ndarray:
    """Union lengths of some cases from their intervals, sorted by start first."""
    row_of = np.full(len(arrival), -1, dtype=np.intp)
    row_of[cases] = np.arange(len(cases))
    width = len(columns)
    starts = np.empty((len(cases), width))
    ends = np.empty((len(cases), width))
    fill = arrival[cases].astype(float)
    starts[:] = fill[:, None]
    ends[:] = fill[:, None]
    for column, (positions, start, end) in enumerate(columns):
        rows = row_of[positions]
        keep = rows >= 0
        starts[rows[keep], column] = start[keep]
        ends[rows[keep], column] = end[keep]
    # Missing entries are empty intervals at the arrival, before every real one.
    order = np.argsort(starts, axis=1, kind="stable")
    starts = np.take_along_axis(starts, order, axis=1)
    ends = np.take_along_axis(ends, order, axis=1)
    current_start = starts[:, 0].copy()
    current_end = ends[:, 0].copy()
    total = np.zeros(len(cases))
    for column in range(1, width):
        start = starts[:, column]
        gap = start > current_end
        np.add(total, current_end - current_start, out=total, where=gap)
        np.copyto(current_start, start, where=gap)
        np.maximum(current_end, ends[:, column], out=current_end)
    return total + (current_end - current_start)
