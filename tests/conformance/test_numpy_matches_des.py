"""The NumPy engine gives the DES engine's numbers case by case when staff are unlimited."""

from __future__ import annotations

import dataclasses
import datetime

import numpy as np
import pytest

from sim import load_scenario
from sim.domain.calendar import WorkingCalendar
from sim.domain.conditions import compile_condition
from sim.domain.distributions import Exponential, Fixed, LogNormal, Triangular, Uniform
from sim.domain.errors import InputError
from sim.domain.model import (
    Agency,
    Attribute,
    ConditionalReform,
    Consequence,
    Demand,
    FollowUp,
    Material,
    Model,
    Name,
    Procedure,
    SendBack,
    Step,
)
from sim.engines import compiled as engine
from sim.engines import vectorised as engine_numpy
from tests.conftest import scenario_text, write_case

BASE = """
id: proc
name: {zh: 测试, en: Test}
target: {working_days: 4, source: "test"}
steps:
  - {id: s, name: {zh: 甲, en: A}, agency: desk, handling: 1, source: "test"}
"""

KINDS = {"size": "categorical", "big": "boolean", "inv": "numeric"}
ATTRIBUTES = (
    Attribute("size", "categorical", values=("small", "large"), shares=(0.6, 0.4)),
    Attribute("big", "boolean", probability=0.3),
    Attribute("inv", "numeric", distribution=Uniform(0, 100)),
)
CONDITIONS = ["big", 'size == "small"', "inv >= 50", "not big and inv < 70"]


# Every scenario of this module starts on the same day (`scenario_text`'s default).
CALENDAR = WorkingCalendar.build(datetime.date(2025, 3, 3), datetime.date(2026, 12, 31))


def random_model(tmp_path, seed: int, unlimited: bool = True) -> Model:
    """A random procedure with every feature, continuous durations (no ties)."""
    rng = np.random.default_rng(seed)
    agencies = tuple(
        Agency(f"a{i}", Name("部门", "agency"), None if unlimited else 2) for i in range(3)
    )

    def duration(mean: float):
        kind = rng.integers(0, 3)
        if kind == 0:
            return Exponential(mean)
        if kind == 1:
            return LogNormal(mean, mean * 2.5)
        return Triangular(0.1 * mean, mean, mean * 3)

    steps = []
    for index in range(int(rng.integers(2, 7))):
        count = min(index, int(rng.integers(0, 3)))
        after = tuple(sorted({f"s{j}" for j in rng.choice(index, size=count, replace=False)}))
        materials = (
            Material("m", "表", "main", float(rng.choice([0.0, 0.2, 0.5]))),
            Material("n", "附件", "minor", float(rng.choice([0.1, 0.4]))),
        )
        follow_ups = ()
        if rng.random() < 0.5:
            consequence = (
                Consequence("revoke")
                if rng.random() < 0.4
                else Consequence("rework", "a2" if rng.random() < 0.5 else None, duration(0.3))
            )
            kind = "commitment" if rng.random() < 0.5 else "post_check"
            follow_ups = (FollowUp(f"fu{index}", kind, duration(2.0), 0.4, consequence),)
        steps.append(
            Step(
                id=f"s{index}",
                name=Name("步", "step"),
                agency=f"a{int(rng.integers(0, 3))}",
                handling=duration(0.4),
                waiting=duration(0.5) if rng.random() < 0.5 else Fixed(0.0),
                after=after,
                materials=materials,
                send_back=SendBack(duration(1.0), int(rng.integers(0, 3))),
                trips=float(rng.choice([0.0, 1.0, 0.5])),
                fees_cny=float(rng.choice([0.0, 100.0])),
                certificates=int(rng.integers(0, 2)),
                handling_on_clock=bool(rng.random() < 0.8),
                waiting_on_clock=bool(rng.random() < 0.5),
                when=(
                    compile_condition(str(rng.choice(CONDITIONS)), KINDS)
                    if rng.random() < 0.3
                    else None
                ),
                joint_agencies=("a1",) if rng.random() < 0.2 else (),
                tolerance="tolerated" if rng.random() < 0.5 else None,
                follow_ups=follow_ups,
            )
        )
    procedure = Procedure(
        "proc",
        Name("测试", "Test"),
        4.0,
        "test",
        tuple(steps),
        attributes=ATTRIBUTES,
        fired=("base",) if rng.random() < 0.5 else (),
    )
    condition = compile_condition(str(rng.choice(CONDITIONS)), KINDS)

    def halve(p: Procedure) -> Procedure:
        faster = tuple(dataclasses.replace(s, handling=s.handling.scaled(0.5)) for s in p.steps)
        return dataclasses.replace(p, steps=faster, fired=(*p.fired, "half"))

    demand = Demand(procedure, 3.0, "test", (ConditionalReform("half", condition, halve),))
    path = write_case(tmp_path, BASE, scenario_text(days=25, drain=float(rng.choice([3, 40]))))
    scenario = load_scenario(path)
    return Model("baseline", "baseline", (demand,), agencies, scenario.horizon, scenario.file)


def tables(simulate, model: Model, seed: int):
    records = simulate(model, np.random.SeedSequence(seed))
    cases, steps = records.frames(CALENDAR)
    cases = cases.sort_values("case_id", kind="stable").reset_index(drop=True)
    steps = steps.sort_values(
        ["case_id", "step", "outcome", "attempt", "ready_day", "handled_day"], kind="stable"
    ).reset_index(drop=True)
    return cases, steps, records.agency_busy


def assert_same(left, right) -> None:
    assert list(left.columns) == list(right.columns)
    assert list(left.dtypes) == list(right.dtypes)
    assert len(left) == len(right)
    for column in left.columns:
        if column == "approval_clock_days":
            np.testing.assert_allclose(left[column], right[column], rtol=1e-12, atol=1e-12)
        else:
            assert left[column].equals(right[column]), column


@pytest.mark.parametrize("seed", range(12))
def test_numpy_engine_matches_des_case_by_case(tmp_path, seed):
    model = random_model(tmp_path, seed)
    des_cases, des_steps, des_busy = tables(engine.simulate, model, seed)
    np_cases, np_steps, np_busy = tables(engine_numpy.simulate, model, seed)
    assert len(des_cases) > 10
    assert_same(des_cases, np_cases)
    assert_same(des_steps, np_steps)
    assert des_busy.keys() == np_busy.keys()
    for agency in des_busy:
        assert np_busy[agency] == pytest.approx(des_busy[agency], rel=1e-9, abs=1e-9)


def test_conformance_covers_every_outcome(tmp_path):
    statuses, outcomes, fired = set(), set(), set()
    for seed in range(12):
        cases, steps, _ = tables(engine_numpy.simulate, random_model(tmp_path, seed), seed)
        statuses |= set(cases.status)
        outcomes |= set(steps.outcome)
        fired |= set(cases.reforms_fired)
    assert statuses == {"completed", "withdrawn", "revoked", "open"}
    assert outcomes == {"accepted", "tolerated", "sent_back", "withdrawn", "rework", "revoked"}
    assert any("half" in text for text in fired) and any("fu" in text for text in fired)


def test_staff_limits_are_refused_naming_the_agencies(tmp_path):
    model = random_model(tmp_path, 3, unlimited=False)
    with pytest.raises(InputError) as caught:
        engine_numpy.simulate(model, np.random.SeedSequence(0))
    message = str(caught.value)
    assert "the numpy engine assumes unlimited staff" in message
    assert "--engine des" in message and "staff: unlimited" in message
    used = {a for s in model.demands[0].procedure.steps for a in s.agencies}
    for agency in used:
        assert agency in message


def test_only_agencies_in_use_count(tmp_path):
    model = random_model(tmp_path, 4)
    idle = Agency("idle", Name("闲", "idle"), 3)
    model = dataclasses.replace(model, agencies=(*model.agencies, idle))
    records = engine_numpy.simulate(model, np.random.SeedSequence(4))
    assert records.agency_busy["idle"] == 0.0


def test_same_schema_and_same_numbers_on_a_loaded_scenario(write):
    procedure = """
    id: proc
    name: {zh: 测试, en: Test}
    target: {working_days: 5, source: "test"}
    attributes:
      - {id: big, kind: boolean, probability: 0.5, source: "test"}
    steps:
      - id: a
        name: {zh: 甲, en: A}
        agency: desk
        handling: {type: lognormal, median: 0.4, p90: 1.2}
        materials: [{id: f, name: 表, kind: main, probability_defective: 0.3}]
        send_back: {response: {type: exponential, mean: 2}, max_resubmissions: 1}
        source: "test"
      - id: b
        name: {zh: 乙, en: B}
        agency: review
        handling: {type: gamma, shape: 2, mean: 0.5}
        after: [a]
        when: "big"
        source: "test"
      - id: c
        name: {zh: 丙, en: C}
        agency: review
        handling: {type: pert, min: 0.1, mode: 0.5, max: 2}
        waiting: {type: uniform, min: 1, max: 3}
        waiting_on_clock: true
        after: [a]
        source: "test"
    """
    path = write(procedure, scenario_text(rate=4, days=20, drain=1))
    model = Model.baseline(load_scenario(path))
    des = tables(engine.simulate, model, 9)
    fast = tables(engine_numpy.simulate, model, 9)
    assert set(des[0].status) >= {"completed", "open"}
    assert_same(des[0], fast[0])
    assert_same(des[1], fast[1])


def test_no_arrivals_gives_empty_tables_of_the_same_schema(write):
    path = write(BASE, scenario_text(rate=0))
    model = Model.baseline(load_scenario(path))
    des = engine.simulate(model, np.random.SeedSequence(0)).frames(CALENDAR)
    fast = engine_numpy.simulate(model, np.random.SeedSequence(0)).frames(CALENDAR)
    for left, right in zip(des, fast, strict=True):
        assert len(left) == len(right) == 0
        assert list(left.columns) == list(right.columns)
        assert list(left.dtypes) == list(right.dtypes)


def test_case_ids_kept_and_extended():
    """Case ids are named as the event engine names them, also after the cache grows."""
    first = engine_numpy._case_ids("grow_check", 10)
    longer = engine_numpy._case_ids("grow_check", 5_000)
    assert list(longer) == [f"grow_check-{index:06d}" for index in range(1, 5_001)]
    assert list(first) == list(longer[:10])
    assert len(engine_numpy._case_ids("grow_check", 7)) == 7


def test_pieces_join_arrays_and_repeated_values():
    """Step rows handed over in pieces become the same columns once joined."""
    from sim.engines.records import Coded, Pieces

    pieces = Pieces((np.array([1.5, 2.0]), 3, np.array([7.0])), (2, 2, 1))
    assert len(pieces) == 5
    assert pieces.join(np.float64).tolist() == [1.5, 2.0, 3.0, 3.0, 7.0]
    assert (pieces + Pieces((4,), (1,))).join(np.float64).tolist() == [1.5, 2, 3, 3, 7, 4]
    assert Pieces((1, 2), (2, 1)).join(np.int8).dtype == np.int8
    text = Coded(Pieces((0, np.array([1, 0])), (2, 2)), np.array(["a", "b"], dtype=object))
    assert text.expand().tolist() == ["a", "a", "b", "a"]
