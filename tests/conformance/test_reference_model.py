"""The fast engine against the SimPy reference model: the same model, case by case.

`sim.engines.reference` is `sim.engines.des`'s model written plainly with SimPy. Both take
the same draws, so with the same seed they must write the same case and step tables (the
same rows in the same order) and the same staff-days: on every bundled scenario and
variant, on random small models (fast lanes, joint steps, skipped steps, send-backs,
follow-ups), and on hand-checked traces with fixed durations.

Tie rules (see `sim.engines.reference`). A readied step starts, and a freed member goes to
the head of its queue, later in the instant in SimPy than in the fast engine: after the
events already due at that instant. Where other events fall due at exactly that instant
(common with fixed durations, of probability zero with continuous ones), the two engines
may then differ, as pinned below (`test_tie_*`):

1. the other events run before the readied step starts: a resubmission or a rework due
   then asks for staff first, and what they schedule for a later instant comes first
   there;
2. a fast-lane resubmission or rework due then takes the freed member, which the fast
   engine handed at once to the normal case at the head of the queue.

Without such coincidences (every bundled scenario, the random models) nothing differs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.domain.conditions import compile_condition
from sim.domain.distributions import Exponential, Fixed, Triangular
from sim.domain.model import (
    Agency,
    Attribute,
    Consequence,
    Demand,
    FollowUp,
    Horizon,
    Material,
    Model,
    Name,
    Procedure,
    SendBack,
    Step,
    TimeLimit,
)
from sim.engines import ENGINES
from sim.engines.draws import ProcedureDraws, SharedDraws
from sim.engines.records import CASE_FIELDS
from tests.factories import PROJECT_ROOT, shortened

SCENARIOS = sorted((PROJECT_ROOT / "scenarios").glob("*.yaml"))
ENGINE_NAMES = ("des", "simpy")


def run(model: Model, seed: int = 3, shared=None):
    """Each engine's records of one run of ``model``: {engine name: records}."""
    return {
        name: ENGINES[name].simulate(model, np.random.SeedSequence(seed), 1, shared and shared())
        for name in ENGINE_NAMES
    }


def assert_same_tables(runs, calendar=None, label: str = "") -> None:
    """The two engines' records agree: as tables (with a calendar) or row by row."""
    fast, reference = runs["des"], runs["simpy"]
    if calendar is None:
        assert comparable(fast.case_rows()) == comparable(reference.case_rows()), f"{label}: case rows differ"
        assert fast.step_rows() == reference.step_rows(), f"{label}: step rows differ"
    else:
        fast_cases, fast_steps = fast.frames(calendar)
        cases, steps = reference.frames(calendar)
        assert fast_cases.equals(cases), f"{label}: case tables differ"
        assert fast_steps.equals(steps), f"{label}: step tables differ"
    assert fast.agency_busy == reference.agency_busy, f"{label}: staff-days differ"


def fields(row: tuple, *names: str) -> tuple:
    """Some fields of a case row, by name (`sim.engines.records.CASE_FIELDS`)."""
    return tuple(row[CASE_FIELDS.index(name)] for name in names)


def comparable(rows: list[tuple]) -> list[tuple]:
    """Rows with NaN (an open case's end) as None, which equals itself."""
    return [
        tuple(None if isinstance(value, float) and math.isnan(value) else value for value in row)
        for row in rows
    ]


# --------------------------------------------------------------------------- bundled scenarios


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda path: path.stem)
def test_every_bundled_variant_gives_the_same_tables(path):
    scenario = shortened(path, arrival_days=12, cases=120)
    for model in scenario.models:
        runs = run(model)
        assert runs["des"].case_count > 100, "too few cases to compare"
        assert_same_tables(runs, scenario.calendar, f"{scenario.name} {model.variant}")


@pytest.mark.slow
@pytest.mark.parametrize("path", SCENARIOS, ids=lambda path: path.stem)
def test_every_bundled_variant_gives_the_same_tables_over_more_days_and_seeds(path):
    scenario = shortened(path, arrival_days=40, cases=120)
    for model in scenario.models:
        for seed in (1, 2):
            runs = run(model, seed)
            assert_same_tables(runs, scenario.calendar, f"{scenario.name} {model.variant} {seed}")


# --------------------------------------------------------------------------- model builders


def agency(agency_id: str, staff: int | None) -> Agency:
    return Agency(agency_id, Name(agency_id, agency_id), staff)


def step(step_id: str, agency_id: str, handling, **fields) -> Step:
    """A step; numbers are fixed durations, distributions are used as they are."""
    waiting = fields.pop("waiting", 0.0)
    return Step(
        id=step_id,
        name=Name(step_id, step_id),
        agency=agency_id,
        handling=Fixed(handling) if isinstance(handling, int | float) else handling,
        waiting=Fixed(waiting) if isinstance(waiting, int | float) else waiting,
        **fields,
    )


def procedure(procedure_id: str, *steps: Step, **fields) -> Procedure:
    return Procedure(procedure_id, Name(procedure_id, procedure_id), 10.0, "test", steps, **fields)


def model(procedures, staff: dict[str, int | None], rate: float = 1.0, days: float = 5.0):
    """A model of the procedures (each arriving at ``rate`` a day) and agencies."""
    return Model(
        "baseline",
        "baseline",
        tuple(Demand(p, rate) for p in procedures),
        tuple(agency(name, count) for name, count in staff.items()),
        Horizon(days, 40.0),
    )


class ChosenArrivals(SharedDraws):
    """A replication's draws with arrival times and attribute values chosen by the test."""

    def __init__(self, arrivals: dict[str, list[float]], attributes=None):
        super().__init__(np.random.SeedSequence(3))
        self.arrivals = arrivals
        self.attributes = attributes or {}

    def draws(self, procedure: Procedure, rate: float, days: float) -> ProcedureDraws:
        found = self._found.get(procedure.id)
        if found is None:
            columns = {k: np.asarray(v) for k, v in self.attributes.get(procedure.id, {}).items()}
            arrivals = np.asarray(self.arrivals[procedure.id], dtype=float)
            found = ProcedureDraws(procedure, arrivals, columns, self.streams)
            self._found[procedure.id] = found
        return found


def traces(chosen_model: Model, arrivals, attributes=None):
    """Each engine's step rows (without the procedure) and case rows, for chosen arrivals."""
    runs = run(chosen_model, shared=lambda: ChosenArrivals(arrivals, attributes))
    return {
        name: ([row[1:] for row in records.step_rows()], records.case_rows())
        for name, records in runs.items()
    }


def assert_trace(chosen_model: Model, arrivals, expected_steps, attributes=None):
    """Both engines write exactly ``expected_steps``; returns the case rows."""
    found = traces(chosen_model, arrivals, attributes)
    for name, (steps, _) in found.items():
        assert steps == expected_steps, name
    assert comparable(found["des"][1]) == comparable(found["simpy"][1])
    return found["des"][1]


ALWAYS_DEFECTIVE = (Material("form", "申请表", "main", 1.0),)


def always_sent_back(
    step_id: str, agency_id: str, handling: float, response: float, again: int, **fields
) -> Step:
    """A step whose form is always defective: sent back ``again`` times, then withdrawn."""
    return step(
        step_id,
        agency_id,
        handling,
        materials=ALWAYS_DEFECTIVE,
        send_back=SendBack(Fixed(response), max_resubmissions=again),
        **fields,
    )


# --------------------------------------------------------------------------- exact traces


def test_two_cases_queue_at_one_staff_member():
    desk = procedure("p", step("a", "desk", 1.0))
    cases = assert_trace(
        model([desk], {"desk": 1}),
        {"p": [0.0, 0.25]},
        [
            ("p-000001", "a", "desk", 1, "accepted", 0.0, 0.0, 1.0, 1.0),
            ("p-000002", "a", "desk", 1, "accepted", 0.25, 1.0, 2.0, 2.0),
        ],
    )
    assert [(row[1], row[2], row[4]) for row in cases] == [
        ("p-000001", "completed", 1.0),
        ("p-000002", "completed", 2.0),
    ]
    assert [row[5] for row in cases] == [1.0, 1.75]  # queueing counts on the approval clock


def test_a_send_back_round_frees_the_desk_while_the_applicant_corrects():
    # Always defective, one resubmission allowed: sent back, then withdrawn. The second
    # case takes the desk while the first corrects; at 4 the second's resubmission (due
    # since 2) comes before the first's release (due since 3) and waits for it.
    form = procedure(
        "p",
        always_sent_back("a", "desk", 1.0, response=2.0, again=1, trips=1.0),
    )
    cases = assert_trace(
        model([form], {"desk": 1}),
        {"p": [0.0, 0.5]},
        [
            ("p-000001", "a", "desk", 1, "sent_back", 0.0, 0.0, 1.0, 1.0),
            ("p-000002", "a", "desk", 1, "sent_back", 0.5, 1.0, 2.0, 2.0),
            ("p-000001", "a", "desk", 2, "withdrawn", 3.0, 3.0, 4.0, 4.0),
            ("p-000002", "a", "desk", 2, "withdrawn", 4.0, 4.0, 5.0, 5.0),
        ],
    )
    assert [fields(row, "status", "end_day", "trips", "send_backs") for row in cases] == [
        ("withdrawn", 4.0, 2.0, 2),
        ("withdrawn", 5.0, 2.0, 2),
    ]


def test_a_joint_step_holds_its_first_agency_while_it_waits_for_the_next():
    # Agencies are booked in sorted order: the joint step holds x from 0.25 while y is
    # busy, so the case needing only x waits although x does nothing until 1.
    only_y = procedure("py", step("a", "y", 1.0))
    joint = procedure("pj", step("j", "x", 1.0, joint_agencies=("y",)))
    only_x = procedure("px", step("b", "x", 1.0))
    assert_trace(
        model([only_y, joint, only_x], {"x": 1, "y": 1}),
        {"py": [0.0], "pj": [0.25], "px": [0.5]},
        [
            ("py-000001", "a", "y", 1, "accepted", 0.0, 0.0, 1.0, 1.0),
            ("pj-000001", "j", "x+y", 1, "accepted", 0.25, 1.0, 2.0, 2.0),
            ("px-000001", "b", "x", 1, "accepted", 0.5, 2.0, 3.0, 3.0),
        ],
    )


def test_a_fast_lane_case_overtakes_the_queue():
    normal = procedure("n", step("a", "desk", 1.0))
    fast = procedure("f", step("a", "desk", 1.0), fast_lane=True)
    assert_trace(
        model([normal, fast], {"desk": 1}),
        {"n": [0.0, 0.25], "f": [0.5]},
        [
            ("n-000001", "a", "desk", 1, "accepted", 0.0, 0.0, 1.0, 1.0),
            ("f-000001", "a", "desk", 1, "accepted", 0.5, 1.0, 2.0, 2.0),
            ("n-000002", "a", "desk", 1, "accepted", 0.25, 2.0, 3.0, 3.0),
        ],
    )


def test_a_member_freed_goes_to_the_waiting_case_before_the_next_step_asks():
    # The fast-lane case's second step needs the desk it just freed: the member has gone
    # to the normal case waiting since 0.5; the fast-lane step is first in the queue then.
    fast = procedure(
        "f", step("a", "desk", 1.0), step("b", "desk", 1.0, after=("a",)), fast_lane=True
    )
    normal = procedure("n", step("a", "desk", 1.0))
    assert_trace(
        model([fast, normal], {"desk": 1}),
        {"f": [0.0], "n": [0.5]},
        [
            ("f-000001", "a", "desk", 1, "accepted", 0.0, 0.0, 1.0, 1.0),
            ("n-000001", "a", "desk", 1, "accepted", 0.5, 1.0, 2.0, 2.0),
            ("f-000001", "b", "desk", 1, "accepted", 1.0, 2.0, 3.0, 3.0),
        ],
    )


def test_a_readied_joint_step_books_all_its_agencies_before_the_next_step_starts():
    # After a, the joint step j (x+y) and b (y) are ready together, j first (file order):
    # j books x and y at once, so b waits for y.
    chain = procedure(
        "p",
        step("a", "office", 1.0),
        step("j", "x", 1.0, joint_agencies=("y",), after=("a",)),
        step("b", "y", 1.0, after=("a",)),
    )
    assert_trace(
        model([chain], {"office": None, "x": 1, "y": 1}),
        {"p": [0.0]},
        [
            ("p-000001", "a", "office", 1, "accepted", 0.0, 0.0, 1.0, 1.0),
            ("p-000001", "j", "x+y", 1, "accepted", 1.0, 1.0, 2.0, 2.0),
            ("p-000001", "b", "y", 1, "accepted", 1.0, 2.0, 3.0, 3.0),
        ],
    )


def test_a_skipped_step_readies_its_successors_at_once_depth_first():
    # s does not apply to the case: done at once, it readies c before b is readied
    # (a's successors in file order: s, then b), so c gets y first.
    kinds = {"big": "boolean"}
    chain = procedure(
        "p",
        step("a", "office", 1.0),
        step("s", "office", 1.0, after=("a",), when=compile_condition("big", kinds)),
        step("b", "y", 1.0, after=("a",)),
        step("c", "y", 1.0, after=("s",)),
        attributes=(Attribute("big", "boolean", probability=0.5),),
    )
    cases = assert_trace(
        model([chain], {"office": None, "y": 1}),
        {"p": [0.0]},
        [
            ("p-000001", "a", "office", 1, "accepted", 0.0, 0.0, 1.0, 1.0),
            ("p-000001", "c", "y", 1, "accepted", 1.0, 1.0, 2.0, 2.0),
            ("p-000001", "b", "y", 1, "accepted", 1.0, 2.0, 3.0, 3.0),
        ],
        attributes={"p": {"big": [False]}},
    )
    assert fields(cases[0], "steps") == (3,)  # three steps done, the skipped one not counted


def one_case_at_the_desk(chosen: Procedure, *rows: tuple):
    """`assert_trace` of one case of ``p`` arriving at 0, one desk officer; rows without
    the case id."""
    return assert_trace(
        model([chosen], {"desk": 1}), {"p": [0.0]}, [("p-000001", *row) for row in rows]
    )


def commitment(holds: bool = False) -> FollowUp:
    """A commitment checked 5 days on that always fails: a rework of 0.5 at the desk."""
    return FollowUp(
        "tolerated",
        "commitment",
        Fixed(5.0),
        1.0,
        Consequence("rework", handling=Fixed(0.5)),
        holds=holds,
    )


def tolerating(*follow_ups: FollowUp, **fields) -> Step:
    """Step a at the desk (1 day), its minor material always missing and tolerated."""
    return step(
        "a",
        "desk",
        1.0,
        materials=(Material("plan", "图纸", "minor", 1.0),),
        tolerance="tolerated",
        follow_ups=follow_ups,
        **fields,
    )


def test_a_tolerated_deficiency_and_a_post_check_fire_their_follow_ups():
    # The minor material is accepted on a commitment; the commitment fails after 5 days
    # (a rework of 0.5 at the desk), the post-check fails at once (revoked).
    post_check = FollowUp("checked", "post_check", Fixed(2.0), 1.0, Consequence("revoke"))
    reviewed = procedure("p", tolerating(commitment(), post_check))
    cases = one_case_at_the_desk(
        reviewed,
        ("a", "desk", 1, "tolerated", 0.0, 0.0, 1.0, 1.0),
        ("a", "", 1, "revoked", 1.0, 1.0, 1.0, 1.0),
        ("a", "desk", 1, "rework", 6.0, 6.0, 6.5, 6.5),
    )
    (case,) = cases
    assert fields(case, "status", "end_day", "approval_clock_days", "steps", "reforms_fired") == (
        "revoked",
        6.5,
        1.5,
        2,
        "checked;tolerated",  # labels of no reform of the version: by name
    )


def test_a_commitment_that_holds_the_step_delays_its_decision():
    # Accepted at 1, the step is decided when the material is in, at 1 + 5 = 6 (its
    # waiting of 2, on the clock, is over by then): the check fails then, and the
    # rework follows at once. The next step starts at 6.
    reviewed = procedure(
        "p",
        tolerating(commitment(holds=True), waiting=2.0, waiting_on_clock=True),
        step("b", "desk", 1.0, after=("a",)),
    )
    cases = one_case_at_the_desk(
        reviewed,
        ("a", "desk", 1, "tolerated", 0.0, 0.0, 1.0, 6.0),
        ("b", "desk", 1, "accepted", 6.0, 6.0, 7.0, 7.0),
        ("a", "desk", 1, "rework", 6.0, 7.0, 7.5, 7.5),
    )
    (case,) = cases
    # On the clock: the handling, its 2 days of waiting, b, the rework: 1 + 2 + 1.5.
    assert (case[2], case[4], case[5]) == ("completed", 7.5, 4.5)


def test_a_case_withdrawn_as_its_next_step_is_readied_counts_that_step():
    # At 1, a's end readies b, then c (queued after a) withdraws the case. b was ready
    # before the case ended: it counts (3 steps, 3 trips), but is cut short as it began
    # (in the fast engine, which started it at once; SimPy had not yet started it):
    # no row, no staff-days.
    withdrawing = always_sent_back("c", "office", 1.0, response=1.0, again=0, trips=1.0)
    chain = procedure(
        "p",
        step("a", "office", 1.0, trips=1.0),
        withdrawing,
        step("b", "desk", 1.0, trips=1.0, after=("a",)),
    )
    chosen = model([chain], {"office": None, "desk": 1})
    runs = run(chosen, shared=lambda: ChosenArrivals({"p": [0.0]}))
    for records in runs.values():
        assert [row[1:] for row in records.step_rows()] == [
            ("p-000001", "a", "office", 1, "accepted", 0.0, 0.0, 1.0, 1.0),
            ("p-000001", "c", "office", 1, "withdrawn", 0.0, 0.0, 1.0, 1.0),
        ]
        (case,) = records.case_rows()
        assert fields(case, "status", "end_day", "steps", "trips", "send_backs") == (
            "withdrawn",
            1.0,
            3,
            3.0,
            1,
        )
        assert records.agency_busy == {"office": 2.0, "desk": 0.0}


def test_cases_still_running_at_the_horizon_are_open():
    # The second case's handling, from 30, is cut short when the run stops at 5 + 40:
    # its row ends there, and the 15 days it held the desk count as staff-days.
    slow = procedure("p", step("a", "desk", 30.0))
    chosen = model([slow], {"desk": 1})
    cases = assert_trace(
        chosen,
        {"p": [0.0, 1.0]},
        [
            ("p-000001", "a", "desk", 1, "accepted", 0.0, 0.0, 30.0, 30.0),
            ("p-000002", "a", "desk", 1, "interrupted", 1.0, 30.0, 45.0, 45.0),
        ],
    )
    assert [row[2] for row in cases] == ["completed", "open"]
    assert math.isnan(cases[1][4])
    for records in run(chosen, shared=lambda: ChosenArrivals({"p": [0.0, 1.0]})).values():
        assert records.agency_busy == {"desk": 45.0}


def test_a_withdrawal_cuts_short_the_other_steps_of_the_case():
    # At 2 the intake's second submission is sent back for good: the case is withdrawn.
    # The survey, in its waiting since 0.5, writes a row ending at 2 and fires no
    # post-check; the review, in its handling since 0, frees the desk at 2 (2 staff-days)
    # for the other case, queued since 1.5; the archive step, queued since 0, never starts.
    recheck = FollowUp("checked", "post_check", Fixed(0.1), 1.0, Consequence("revoke"))
    withdrawing = procedure(
        "p",
        always_sent_back("intake", "office", 0.5, response=1.0, again=1),
        step("survey", "office", 0.5, waiting=3.0, follow_ups=(recheck,)),
        step("review", "desk", 4.0),
        step("archive", "desk", 1.0),
    )
    other = procedure("q", step("b", "desk", 1.0))
    cases = assert_trace(
        model([withdrawing, other], {"office": None, "desk": 1}),
        {"p": [0.0], "q": [1.5]},
        [
            ("p-000001", "intake", "office", 1, "sent_back", 0.0, 0.0, 0.5, 0.5),
            ("p-000001", "intake", "office", 2, "withdrawn", 1.5, 1.5, 2.0, 2.0),
            ("p-000001", "survey", "office", 1, "interrupted", 0.0, 0.0, 0.5, 2.0),
            ("p-000001", "review", "desk", 1, "interrupted", 0.0, 0.0, 2.0, 2.0),
            ("q-000001", "b", "desk", 1, "accepted", 1.5, 2.0, 3.0, 3.0),
        ],
    )
    assert [(row[1], row[2], row[4]) for row in cases] == [
        ("p-000001", "withdrawn", 2.0),
        ("q-000001", "completed", 3.0),
    ]
    chosen = model([withdrawing, other], {"office": None, "desk": 1})
    for records in run(chosen, shared=lambda: ChosenArrivals({"p": [0.0], "q": [1.5]})).values():
        assert records.agency_busy == {"office": 1.5, "desk": 3.0}


# --------------------------------------------------------------------------- tie rules


def starts(chosen_model, arrivals):
    """Each engine's staff-taken times, by case, step and attempt."""
    return {
        name: {(row[0], row[1], row[3]): row[6] for row in steps}
        for name, (steps, _) in traces(chosen_model, arrivals).items()
    }


def test_tie_a_resubmission_due_as_a_step_is_readied_asks_first_in_simpy():
    # At 1, a's end readies b (desk); the other case's resubmission falls due at 1 too,
    # queued at 0.5, after a's end (queued at 0). The fast engine starts b at once, then
    # the resubmission waits; SimPy starts b one event later, after the resubmission.
    chain = procedure("p", step("a", "office", 1.0), step("b", "desk", 1.0, after=("a",)))
    form = procedure(
        "q",
        always_sent_back("f", "desk", 0.25, response=0.5, again=1),
    )
    found = starts(model([chain, form], {"office": None, "desk": 1}), {"p": [0.0], "q": [0.25]})
    b, resubmission = ("p-000001", "b", 1), ("q-000001", "f", 2)
    assert (found["des"][b], found["des"][resubmission]) == (1.0, 2.0)
    assert (found["simpy"][b], found["simpy"][resubmission]) == (1.25, 1.0)


def test_tie_what_a_readied_step_schedules_comes_after_the_other_events_of_its_instant():
    # Both cases arrive at 0 and end a step at 0.5. p's end readies b (ends at 1); q's
    # step then waits until 1. The fast engine starts b within p's event, before q's step
    # ends and schedules its wait; SimPy starts b after that, so at 1 q's row comes first.
    chain = procedure("p", step("a", "office", 0.5), step("b", "office", 0.5, after=("a",)))
    waiting = procedure("q", step("c", "office", 0.5, waiting=0.5))
    found = traces(model([chain, waiting], {"office": None}), {"p": [0.0], "q": [0.0]})
    rows = {name: [(row[0], row[1], row[8]) for row in steps] for name, (steps, _) in found.items()}
    a, b, c = ("p-000001", "a", 0.5), ("p-000001", "b", 1.0), ("q-000001", "c", 1.0)
    assert rows["des"] == [a, b, c]
    assert rows["simpy"] == [a, c, b]


def test_tie_a_fast_lane_rework_due_as_a_member_is_freed_takes_it_in_simpy():
    # At 1 the desk is freed (queued at 0); the normal case has waited since 0.5. The
    # fast-lane case's rework falls due at 1 too (queued at 0.5, after the release). The
    # fast engine hands the member to the waiting case at once; SimPy hands it over when
    # it processes the release, after the fast-lane rework asked for it.
    rework = FollowUp(
        "checked",
        "post_check",
        Fixed(0.5),
        1.0,
        Consequence("rework", agency="desk", handling=Fixed(1.0)),
    )
    first = procedure("a", step("a", "desk", 1.0))
    waiting = procedure("w", step("w", "desk", 1.0))
    fast = procedure("f", step("f", "office", 0.5, follow_ups=(rework,)), fast_lane=True)
    found = starts(
        model([first, waiting, fast], {"desk": 1, "office": None}),
        {"a": [0.0], "w": [0.5], "f": [0.0]},
    )
    waited, fast_rework = ("w-000001", "w", 1), ("f-000001", "f", 1)
    assert (found["des"][waited], found["des"][fast_rework]) == (1.0, 2.0)
    assert (found["simpy"][waited], found["simpy"][fast_rework]) == (2.0, 1.0)


# --------------------------------------------------------------------------- random models

AGENCIES = ("a", "b", "c")
BIG = compile_condition("big", {"big": "boolean"})


def durations(low: float, high: float):
    """Continuous durations (ties have probability zero)."""
    points = st.lists(st.floats(low, high), min_size=3, max_size=3, unique=True).map(sorted)
    return st.one_of(points.map(lambda p: Triangular(*p)), st.floats(low, high).map(Exponential))


@st.composite
def random_step(draw, step_id: str, earlier: list[str], follow_ups: list[FollowUp]) -> Step:
    """A step of one or more agencies, after some earlier steps, maybe not applying."""
    agencies = draw(st.permutations(AGENCIES))[: draw(st.integers(1, 3))]
    return step(
        step_id,
        agencies[0],
        draw(durations(0.05, 1.0)),
        joint_agencies=tuple(agencies[1:]),
        waiting=draw(st.one_of(st.just(0.0), durations(0.05, 2.0))),
        after=tuple(draw(st.lists(st.sampled_from(earlier), unique=True))) if earlier else (),
        materials=(
            Material("main", "main", "main", draw(st.floats(0.0, 0.4))),
            Material("minor", "minor", "minor", draw(st.floats(0.0, 0.4))),
        ),
        send_back=SendBack(draw(durations(0.1, 3.0)), draw(st.integers(0, 2))),
        tolerance=draw(st.sampled_from([None, "tolerated"])),
        follow_ups=tuple(f for f in follow_ups if draw(st.booleans())),
        when=draw(st.sampled_from([None, BIG])),
        trips=1.0,
        handling_on_clock=draw(st.booleans()),
        waiting_on_clock=draw(st.booleans()),
        time_limit=draw(st.one_of(st.none(), st.builds(TimeLimit, st.floats(0.1, 2.0), st.booleans()))),
    )


@st.composite
def random_model(draw) -> Model:
    """One or two procedures of up to five steps on three agencies of 1, 2 or any staff."""
    consequences = st.one_of(
        st.just(Consequence("revoke")),
        st.builds(
            lambda agency_id, handling: Consequence("rework", agency_id, handling),
            st.sampled_from([None, *AGENCIES]),
            durations(0.05, 1.0),
        ),
    )
    follow_ups = [
        FollowUp(
            label,
            kind,
            draw(durations(0.5, 5.0)),
            draw(st.floats(0, 1)),
            draw(consequences),
            holds=kind == "commitment" and draw(st.booleans()),
        )
        for label, kind in (("tolerated", "commitment"), ("checked", "post_check"))
    ]
    procedures = []
    for number in range(draw(st.integers(1, 2))):
        ids = [f"s{position}" for position in range(draw(st.integers(1, 5)))]
        steps = [draw(random_step(name, ids[:i], follow_ups)) for i, name in enumerate(ids)]
        procedures.append(
            procedure(
                f"p{number}",
                *steps,
                fast_lane=draw(st.booleans()),
                attributes=(Attribute("big", "boolean", probability=0.5),),
            )
        )
    staff = {name: draw(st.sampled_from([1, 2, None])) for name in AGENCIES}
    return model(procedures, staff, rate=draw(st.floats(1.0, 6.0)), days=8.0)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_model(), st.integers(0, 2**32 - 1))
def test_random_models_give_the_same_rows(random, seed):
    runs = run(random, seed)
    assert_same_tables(runs, label="random model")
