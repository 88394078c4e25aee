"""Every engine of `sim.engines.ENGINES` against the record schema and the model's rules.

The engines are found when the suite is collected, so an engine added later is tested
too. `SCOPES` says what each engine models, and so which checks apply to it; an engine
not in the table gets the discrete-event engine's checks. Each engine runs each model of
`MODELS` it can run (a model with a staff limit only on engines that model staff):

- the record schema: `CASE_COLUMNS`, `STEP_COLUMNS` and their types, also with no case;
- the same seed gives the same tables (and, for a random engine, another seed others);
- case ids and times: one case per arrival (or per procedure), ids numbered in order of
  arrival, statuses and outcomes from the documented sets, ready <= start <= handled <=
  end, elapsed = end - arrival, every case's step rows within its time (an open case's
  within the run);
- the six measures add up from the step rows, where that is defined (completed and
  revoked cases, whose every step has its row); the staff-days add up from the step rows
  always (a stopped case's work under way is cut short with a row).
"""

from __future__ import annotations

import datetime
import functools
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pandas.api import types

from sim import load_scenario
from sim.domain.calendar import WorkingCalendar
from sim.domain.errors import InputError
from sim.domain.model import Model
from sim.engines import ENGINES
from sim.engines.draws import arrival_times
from sim.engines.records import CASE_COLUMNS, STEP_COLUMNS
from sim.engines.streams import Streams
from sim.reforms import resolve_variant
from tests.factories import (
    BRANCHING,
    PROJECT_ROOT,
    flag,
    intake_review_scenario,
    one_step,
    random_model,
    reform,
    review_procedure,
    scenario_text,
    shortened,
    tolerate,
    write_case,
    write_scenario,
)
from tests.factories import procedure as procedure_dict
from tests.factories import step as step_dict

# The documented sets (`sim.engines.records`).
STATUSES = frozenset({"completed", "withdrawn", "revoked", "open"})
OUTCOMES = frozenset(
    {"accepted", "tolerated", "sent_back", "withdrawn", "rework", "revoked", "interrupted"}
)


@dataclass(frozen=True)
class Scope:
    """What an engine models, and so which checks apply to it.

    Attributes:
        limited_staff: It runs models whose agencies have a staff limit (else its
            `Engine.check` refuses them, and they are not run).
        one_case_per_procedure: It times one representative case per procedure (a
            fixed-time method) instead of one case per arrival.
        random: It draws arrivals, durations and defects: another seed gives other tables.
        statuses: The case statuses it can give.
        outcomes: The step outcomes it can give.
    """

    limited_staff: bool = True
    one_case_per_procedure: bool = False
    random: bool = True
    statuses: frozenset[str] = STATUSES
    outcomes: frozenset[str] = OUTCOMES


DISCRETE_EVENT = Scope()
SCOPES = {
    "des": DISCRETE_EVENT,
    # Every case at once: no queue, so no staff limit.
    "numpy": Scope(limited_staff=False),
    # The Doing Business method: fixed times along the critical path, one case a
    # procedure, no send-backs, commitments or post-checks; staff limits are ignored.
    "deterministic": Scope(
        one_case_per_procedure=True,
        random=False,
        statuses=frozenset({"completed", "open"}),
        outcomes=frozenset({"accepted", "interrupted"}),
    ),
}


def scope_of(engine: str) -> Scope:
    """The engine's scope; the discrete-event engine's for an engine not in the table."""
    return SCOPES.get(engine, DISCRETE_EVENT)


# --------------------------------------------------------------------------- models

CALENDAR = WorkingCalendar.build(datetime.date(2025, 3, 3), datetime.date(2026, 12, 31))


@dataclass(frozen=True)
class ModelCase:
    """A model the engines run: how to build it (in a folder), and whether it has staff limits."""

    name: str
    build: Callable[[Path], tuple[Model, WorkingCalendar]]
    staffed: bool


def _random(seed: int, unlimited: bool):
    return lambda folder: (random_model(seed, unlimited=unlimited), CALENDAR)


def _loaded(procedure: str, scenario: str, variant: str = "baseline"):
    def build(folder: Path):
        loaded = load_scenario(write_case(folder, procedure, scenario))
        return resolve_variant(loaded, variant), loaded.calendar

    return build


def _intake_review(folder: Path):
    loaded = load_scenario(intake_review_scenario(folder))
    return resolve_variant(loaded, "faster_review"), loaded.calendar


def _demo(folder: Path):
    # Joint inspections, a bundle, commitments, post-checks, conditional reforms.
    demo = shortened(PROJECT_ROOT / "scenarios" / "demo.yaml", arrival_days=5)
    return resolve_variant(demo, "full_package"), demo.calendar


MODELS = [
    *(ModelCase(f"random unlimited {seed}", _random(seed, True), False) for seed in range(4)),
    *(ModelCase(f"random staffed {seed}", _random(seed, False), True) for seed in range(4)),
    ModelCase("branching", _loaded(BRANCHING, scenario_text(rate=4, days=20, drain=1)), False),
    ModelCase("no arrivals", _loaded(one_step(1), scenario_text(rate=0)), False),
    ModelCase("intake and review, staffed", _intake_review, True),
    ModelCase("demo full package", _demo, True),
]
MODEL_INDEX = {case.name: case for case in MODELS}
ENGINE_NAMES = sorted(ENGINES)
RUNS = [
    pytest.param(engine, case.name, id=f"{engine}: {case.name}")
    for engine in ENGINE_NAMES
    for case in MODELS
    if scope_of(engine).limited_staff or not case.staffed
]
SEED = 3
REPLICATION = 2


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Build a model once: name -> (model, calendar)."""

    @functools.cache
    def build(name: str):
        return MODEL_INDEX[name].build(tmp_path_factory.mktemp("model"))

    return build


@pytest.fixture(scope="module")
def tables(models):
    """Run an engine on a model once: (engine, model name, seed) -> (cases, steps, busy)."""

    @functools.cache
    def run(engine: str, name: str, seed: int = SEED):
        model, calendar = models(name)
        records = ENGINES[engine].simulate(model, np.random.SeedSequence(seed), REPLICATION)
        cases, steps = records.frames(calendar)
        return cases, steps, records.agency_busy

    return run


# --------------------------------------------------------------------------- the table itself


def test_the_scope_table_names_only_known_engines():
    assert set(SCOPES) <= set(ENGINES)
    assert ENGINES["des"].name == "des"  # the default scope is this engine's


@pytest.mark.parametrize("engine", ENGINE_NAMES)
def test_an_engine_refuses_exactly_the_models_out_of_its_scope(engine, models):
    for case in MODELS:
        model, _ = models(case.name)
        staffed = any(not agency.unlimited for agency in model.agencies)
        assert staffed == case.staffed, case.name
        if case.staffed and not scope_of(engine).limited_staff:
            with pytest.raises(InputError):
                ENGINES[engine].check(model)
        else:
            ENGINES[engine].check(model)


def test_the_models_give_every_status_and_outcome(tables):
    # So that the checks below meet every kind of case and step row.
    statuses, outcomes = set(), set()
    for case in MODELS:
        cases, steps, _ = tables("des", case.name)
        statuses |= set(cases.status)
        outcomes |= set(steps.outcome)
    assert statuses == STATUSES
    assert outcomes == OUTCOMES


# --------------------------------------------------------------------------- schema

INTEGER, REAL, TEXT, FLAG, DATE = "integer", "real", "text", "flag", "date"
CASE_TYPES = {
    "replication": INTEGER,
    "variant": TEXT,
    "procedure": TEXT,
    "case_id": TEXT,
    "status": TEXT,
    "arrival_day": REAL,
    "end_day": REAL,
    "arrival_date": DATE,
    "end_date": DATE,
    "elapsed_working_days": REAL,
    "elapsed_calendar_days": REAL,
    "approval_clock_days": REAL,
    "within_target": FLAG,
    "steps": INTEGER,
    "materials": INTEGER,
    "certificates": INTEGER,
    "trips": REAL,
    "fees_cny": REAL,
    "send_backs": INTEGER,
    "reforms_fired": TEXT,
    "attributes": TEXT,
}
STEP_TYPES = {
    "replication": INTEGER,
    "variant": TEXT,
    "procedure": TEXT,
    "case_id": TEXT,
    "step": TEXT,
    "agency": TEXT,
    "attempt": INTEGER,
    "outcome": TEXT,
    "ready_day": REAL,
    "start_day": REAL,
    "handled_day": REAL,
    "end_day": REAL,
    "queue_days": REAL,
    "handling_days": REAL,
    "waiting_days": REAL,
    "ready_date": DATE,
    "start_date": DATE,
    "end_date": DATE,
}


def has_type(column: pd.Series, kind: str) -> bool:
    if kind == INTEGER:
        return column.dtype == np.int64
    if kind == REAL:
        return column.dtype == np.float64
    if kind == FLAG:
        return column.dtype == np.bool_
    if kind == DATE:
        return types.is_datetime64_dtype(column.dtype)
    return types.is_string_dtype(column.dtype) and all(isinstance(v, str) for v in column)


def test_the_type_tables_are_the_schema():
    assert tuple(CASE_TYPES) == CASE_COLUMNS
    assert tuple(STEP_TYPES) == STEP_COLUMNS


@pytest.mark.parametrize(("engine", "name"), RUNS)
def test_tables_have_the_record_schema(engine, name, tables):
    cases, steps, _ = tables(engine, name)
    for frame, expected in ((cases, CASE_TYPES), (steps, STEP_TYPES)):
        assert tuple(frame.columns) == tuple(expected)
        wrong = {
            column: str(frame[column].dtype)
            for column, kind in expected.items()
            if not has_type(frame[column], kind)
        }
        assert not wrong, wrong


# --------------------------------------------------------------------------- seeds


@pytest.mark.parametrize(("engine", "name"), RUNS)
def test_the_same_seed_gives_the_same_tables(engine, name, models, tables):
    cases, steps, busy = tables(engine, name)
    model, calendar = models(name)
    again = ENGINES[engine].simulate(model, np.random.SeedSequence(SEED), REPLICATION)
    cases_again, steps_again = again.frames(calendar)
    pd.testing.assert_frame_equal(cases, cases_again)
    pd.testing.assert_frame_equal(steps, steps_again)
    assert busy == again.agency_busy
    other, other_steps, _ = tables(engine, name, SEED + 1)
    if scope_of(engine).random and len(cases):
        assert not cases.equals(other), "another seed gave the same cases"
    elif not scope_of(engine).random:
        pd.testing.assert_frame_equal(cases, other)
        pd.testing.assert_frame_equal(steps, other_steps)


# --------------------------------------------------------------------------- ids and times


@pytest.mark.parametrize(("engine", "name"), RUNS)
def test_one_case_per_arrival_numbered_in_order(engine, name, models, tables):
    cases, _, _ = tables(engine, name)
    model, _ = models(name)
    assert (cases.replication == REPLICATION).all() and (cases.variant == model.variant).all()
    assert set(cases.procedure) <= {demand.procedure.id for demand in model.demands}
    streams = Streams(np.random.SeedSequence(SEED))
    for demand in model.demands:
        procedure = demand.procedure.id
        mine = cases[cases.procedure == procedure].sort_values("case_id")
        if scope_of(engine).one_case_per_procedure:
            arrivals = np.zeros(1)
        else:
            days = model.horizon.arrival_days
            arrivals = arrival_times(streams, procedure, demand.arrivals_per_day, days)
        assert list(mine.case_id) == [f"{procedure}-{i:06d}" for i in range(1, len(arrivals) + 1)]
        np.testing.assert_allclose(mine.arrival_day, arrivals, rtol=0, atol=1e-9)


@pytest.mark.parametrize(("engine", "name"), RUNS)
def test_statuses_and_times_of_cases(engine, name, models, tables):
    cases, _, _ = tables(engine, name)
    model, _ = models(name)
    assert set(cases.status) <= scope_of(engine).statuses
    open_ = cases.status == "open"
    assert cases.end_day[open_].isna().all() and cases.end_day[~open_].notna().all()
    assert (cases.arrival_day >= 0).all()
    assert (cases.arrival_day < max(model.horizon.arrival_days, 1e-9)).all()
    done = cases[~open_]
    assert (done.end_day >= done.arrival_day - 1e-9).all()
    assert (done.end_day <= model.horizon.end + 1e-9).all()
    np.testing.assert_allclose(done.elapsed_working_days, done.end_day - done.arrival_day)
    assert (done.elapsed_calendar_days >= done.elapsed_working_days - 1e-9).all()
    assert (done.approval_clock_days >= -1e-9).all()
    assert (done.approval_clock_days <= done.elapsed_working_days + 1e-9).all()
    assert cases.case_id.is_unique
    assert not cases.within_target[cases.status != "completed"].any()


@pytest.mark.parametrize(("engine", "name"), RUNS)
def test_step_rows_and_their_times(engine, name, models, tables):
    cases, steps, _ = tables(engine, name)
    model, _ = models(name)
    assert set(steps.outcome) <= scope_of(engine).outcomes
    assert (steps.attempt >= 1).all()
    assert (steps.replication == REPLICATION).all()
    ready, start, handled, end = (
        steps[c].to_numpy() for c in ("ready_day", "start_day", "handled_day", "end_day")
    )
    assert not np.isnan(np.stack([ready, start, handled, end])).any()
    assert (ready <= start + 1e-9).all() and (start <= handled + 1e-9).all()
    assert (handled <= end + 1e-9).all()
    known = cases.set_index("case_id")
    assert set(steps.case_id) <= set(known.index)
    assert (steps.procedure.to_numpy() == known.procedure[steps.case_id].to_numpy()).all()
    assert (ready >= known.arrival_day[steps.case_id].to_numpy() - 1e-9).all()
    # A stopped case's work under way was cut short at the stop: no row ends after its
    # case, or (an open case) after the run.
    ends = known.end_day[steps.case_id].fillna(model.horizon.end).to_numpy()
    assert (end <= ends + 1e-9).all()
    interrupted = (steps.outcome == "interrupted").to_numpy()
    stopped = known.status[steps.case_id].isin(["withdrawn", "open"]).to_numpy()
    assert (stopped[interrupted]).all()
    np.testing.assert_allclose(end[interrupted], ends[interrupted], rtol=0, atol=1e-9)


# --------------------------------------------------------------------------- measures

STEP_DONE = ["accepted", "tolerated"]
SUBMISSION = ["accepted", "tolerated", "sent_back", "rework"]


def version_of(demand, attributes: str):
    """The procedure a case ran: the version for the conditions its attributes meet.

    A representative case (no attributes) meets none.
    """
    values = json.loads(attributes)
    return demand.version(tuple(bool(values) and c.evaluate(values) for c in demand.conditions))


@pytest.mark.parametrize(("engine", "name"), RUNS)
def test_the_six_measures_add_up_from_the_step_rows(engine, name, models, tables):
    # Defined for completed and revoked cases: every step they began has its rows.
    cases, steps, _ = tables(engine, name)
    model, _ = models(name)
    demands = {demand.procedure.id: demand for demand in model.demands}
    rows_of = dict(tuple(steps.groupby("case_id")))
    finished = cases[cases.status.isin(["completed", "revoked"])]
    for case in finished.itertuples():
        rows = rows_of[case.case_id]
        version = version_of(demands[case.procedure], case.attributes)
        step = version.step
        done = [step(s) for s in rows.step[rows.outcome.isin(STEP_DONE)]]
        submitted = [step(s) for s in rows.step[rows.outcome.isin(SUBMISSION)]]
        found = {
            "steps": int(rows.outcome.isin([*STEP_DONE, "rework"]).sum()),
            "materials": sum(len(s.materials) for s in done),
            "certificates": sum(s.certificates for s in done),
            "trips": sum(s.trips for s in submitted),
            "elapsed_working_days": rows.end_day.max() - case.arrival_day,
            "fees_cny": sum(s.fees_cny for s in done),
            "send_backs": int((rows.outcome == "sent_back").sum()),
        }
        for measure, value in found.items():
            assert getattr(case, measure) == pytest.approx(value, rel=1e-9, abs=1e-9), (
                case.case_id,
                measure,
            )
        within = case.status == "completed" and case.elapsed_working_days <= (
            version.target_days + 1e-9
        )
        assert case.within_target == within, case.case_id
    attributes = [json.loads(text) for text in cases.attributes]
    assert all(isinstance(a, dict) for a in attributes)


@pytest.mark.parametrize(("engine", "name"), RUNS)
def test_staff_days_add_up_from_the_step_rows(engine, name, models, tables):
    # For every case: a stopped case's handling under way was cut short with a row.
    cases, steps, busy = tables(engine, name)
    model, _ = models(name)
    assert set(busy) <= {agency.id for agency in model.agencies}
    handled: Counter[str] = Counter()
    for agencies, days in zip(steps.agency, steps.handling_days, strict=True):
        for agency in filter(None, agencies.split("+")):
            handled[agency] += days
    for agency, days in busy.items():
        assert days == pytest.approx(handled[agency], rel=1e-9, abs=1e-9), agency


# --------------------------------------------------------------------------- audit trail

# a (a minor material missing half the time), then b for big cases only, then c.
TRAIL = procedure_dict(
    "p",
    [
        step_dict(
            "a",
            0.5,
            materials=[{"id": "photo", "name": "照片", "kind": "minor", "probability_defective": 0.5}],
            send_back={"response": 1, "max_resubmissions": 1},
        ),
        step_dict("b", 1, ["a"], when="big"),
        step_dict("c", 1, ["b"]),
    ],
    [flag("big")],
)
TRAIL_REFORMS = [
    reform("time_limit", label="limit", procedure="p", steps=["b"], scale=0.5),
    tolerate({"kind": "revoke"}, steps=["a"], delay=2, label="tolerate"),
]


@pytest.mark.parametrize("engine", ENGINE_NAMES)
def test_a_case_lists_a_reform_only_when_it_changed_its_path(engine, tmp_path):
    # The time limit changes b, which big cases only run; the tolerated deficiency changes
    # the cases whose photo was missing (accepted on a commitment instead of sent back).
    scenario = load_scenario(write_scenario(tmp_path, [TRAIL], TRAIL_REFORMS))
    records = ENGINES[engine].simulate(scenario.model("v"), np.random.SeedSequence(SEED))
    cases, steps = records.frames(scenario.calendar)
    tolerated = set(steps.case_id[(steps.step == "a") & (steps.outcome == "tolerated")])
    for case in cases.itertuples():
        # The representative case of a fixed-time method needs every step.
        big = scope_of(engine).one_case_per_procedure or json.loads(case.attributes)["big"]
        expected = [
            label
            for label, changed in (("limit", big), ("tolerate", case.case_id in tolerated))
            if changed
        ]
        assert case.reforms_fired == ";".join(expected), case.case_id
    if scope_of(engine).random:
        assert {"", "limit", "tolerate", "limit;tolerate"} == set(cases.reforms_fired)


# --------------------------------------------------------------------------- calendar days

# A desk step, then a public notice of 7 calendar days; the target is 10 calendar days.
NOTICE = {
    **procedure_dict(
        "p",
        [
            step_dict("a", {"type": "uniform", "min": 0.2, "max": 1.5}),
            step_dict("notice", 0.1, ["a"], waiting=7, waiting_unit="calendar_days"),
        ],
    ),
    "target": {"calendar_days": 10, "source": "test"},
}


@pytest.mark.parametrize("engine", ENGINE_NAMES)
def test_a_wait_in_calendar_days_runs_through_weekends_and_holidays(engine, tmp_path):
    # The notice ends 7 calendar days after its handling, on the calendar (a week: 5
    # working days when no holiday falls in it); the target is met in calendar days.
    scenario = load_scenario(write_scenario(tmp_path, [NOTICE], arrivals=3.0))
    records = ENGINES[engine].simulate(scenario.model("baseline"), np.random.SeedSequence(SEED))
    cases, steps = records.frames(scenario.calendar)
    notice = steps[steps.step == "notice"]
    assert len(notice) == len(cases) > 0
    for row in notice.itertuples():
        assert row.end_day == scenario.calendar.after_calendar_days(row.handled_day, 7.0) or (
            scope_of(engine).one_case_per_procedure and row.end_day > row.handled_day
        )
    assert (notice.waiting_days >= 4.0).all() and (notice.waiting_days <= 5.0 + 1e-9).all()
    done = cases[cases.status == "completed"]
    np.testing.assert_array_equal(done.within_target, done.elapsed_calendar_days <= 10 + 1e-9)


# --------------------------------------------------------------------------- send-backs, limits

# The form is always wrong at first and always right once corrected; the plan is always
# right: one send-back listing the form, then accepted (redrawing every material in
# every round would withdraw every case).
ONE_NOTICE = procedure_dict(
    "p",
    [
        step_dict(
            "a",
            0.25,
            materials=[
                {"id": "form", "name": "表", "kind": "main", "probability_defective": 1.0,
                 "probability_still_defective": 0.0},
                {"id": "plan", "name": "图", "kind": "main", "probability_defective": 0.0},
            ],
            send_back={"response": 1, "max_resubmissions": 1},
        )
    ],
)


@pytest.mark.parametrize("engine", [name for name in ENGINE_NAMES if scope_of(name).random])
def test_a_resubmission_is_checked_for_what_was_sent_back(engine, tmp_path):
    scenario = load_scenario(write_scenario(tmp_path, [ONE_NOTICE]))
    records = ENGINES[engine].simulate(scenario.model("baseline"), np.random.SeedSequence(SEED))
    cases, steps = records.frames(scenario.calendar)
    assert len(cases) > 0 and (cases.status == "completed").all()
    assert (cases.send_backs == 1).all()
    np.testing.assert_allclose(cases.elapsed_working_days, 0.25 + 1 + 0.25)
    assert sorted(set(steps.outcome)) == ["accepted", "sent_back"]


@pytest.mark.parametrize("engine", ENGINE_NAMES)
def test_a_time_limit_caps_the_steps_time_on_the_clock_once(engine, tmp_path):
    # Handling 0.4 then a sign-off of 1.5 on the clock, capped at 1 day: 0.4 + 0.6.
    signoff = procedure_dict("p", [step_dict("a", 0.4, waiting=1.5, waiting_on_clock=True)])
    capped = [reform("time_limit", procedure="p", steps=["a"], cap=1)]
    scenario = load_scenario(write_scenario(tmp_path, [signoff], capped))
    records = ENGINES[engine].simulate(scenario.model("v"), np.random.SeedSequence(SEED))
    cases, steps = records.frames(scenario.calendar)
    np.testing.assert_allclose(cases.elapsed_working_days, 1.0)
    np.testing.assert_allclose(cases.approval_clock_days, 1.0)
    np.testing.assert_allclose(steps.waiting_days, 0.6)


@pytest.mark.parametrize("engine", [name for name in ENGINE_NAMES if scope_of(name).random])
def test_a_tolerated_deficiency_read_as_accept_first_waits_for_the_material(engine, tmp_path):
    # The photo is always missing: accepted after 1 day, decided when it arrives 5 days
    # later, then issued (1 day): 7 working days, 2 of them on the clock.
    first = tolerate({"kind": "revoke"}, decide="after_material")
    scenario = load_scenario(write_scenario(tmp_path, [review_procedure()], [first]))
    records = ENGINES[engine].simulate(scenario.model("v"), np.random.SeedSequence(SEED))
    cases, _ = records.frames(scenario.calendar)
    np.testing.assert_allclose(cases.elapsed_working_days, 7.0)
    np.testing.assert_allclose(cases.approval_clock_days, 2.0)
