"""The NumPy engine gives the DES engine's numbers case by case when staff are unlimited."""

from __future__ import annotations

import datetime

import numpy as np
import pytest

from sim import load_scenario
from sim.domain.calendar import WorkingCalendar
from sim.domain.model import Model
from sim.engines import compiled as engine
from sim.engines import vectorised as engine_numpy
from tests.factories import BRANCHING, one_step, random_model, scenario_text

# Every scenario of this module starts on the same day (`scenario_text`'s default).
CALENDAR = WorkingCalendar.build(datetime.date(2025, 3, 3), datetime.date(2026, 12, 31))
BASE = one_step(1, target=4, step_id="s")


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
def test_numpy_engine_matches_des_case_by_case(seed):
    model = random_model(seed)
    des_cases, des_steps, des_busy = tables(engine.simulate, model, seed)
    np_cases, np_steps, np_busy = tables(engine_numpy.simulate, model, seed)
    assert len(des_cases) > 10
    assert_same(des_cases, np_cases)
    assert_same(des_steps, np_steps)
    assert des_busy.keys() == np_busy.keys()
    for agency in des_busy:
        assert np_busy[agency] == pytest.approx(des_busy[agency], rel=1e-9, abs=1e-9)


def test_conformance_covers_every_outcome():
    statuses, outcomes, fired = set(), set(), set()
    for seed in range(12):
        cases, steps, _ = tables(engine_numpy.simulate, random_model(seed), seed)
        statuses |= set(cases.status)
        outcomes |= set(steps.outcome)
        fired |= set(cases.reforms_fired)
    assert statuses == {"completed", "withdrawn", "revoked", "open"}
    assert outcomes == {
        "accepted",
        "tolerated",
        "sent_back",
        "withdrawn",
        "rework",
        "revoked",
        "interrupted",
    }
    assert any("half" in text for text in fired) and any("fu" in text for text in fired)


def test_same_schema_and_same_numbers_on_a_loaded_scenario(write):
    path = write(BRANCHING, scenario_text(rate=4, days=20, drain=1))
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
