"""Reforms of a procedure's structure: parallel, joint acceptance, merge, single window, skip.

Exact traces with fixed durations (see `tests.unit.reforms.helpers`) and load errors.
"""

from __future__ import annotations

import numpy as np

from sim import load_scenario
from sim.reforms import resolve_variant
from tests.factories import flag, procedure, reform, step, write_scenario
from tests.unit.reforms.helpers import (
    MERGE,
    SERIAL,
    ZONED,
    both,
    elapsed,
    evaluations,
    line_with,
    load_error,
    rounded,
    rows,
    run,
)

# --------------------------------------------------------------------------- parallel


def test_parallel_runs_the_steps_side_by_side(tmp_path):
    path = write_scenario(tmp_path, [SERIAL], [reform("parallel", procedure="p", steps=["a", "b", "c"])])
    (base, _), (cases, steps) = both(path)
    assert elapsed(base) == {7.0}
    assert elapsed(cases) == {4.0}  # the longest (3) then d (1)
    start = cases.set_index("case_id")["arrival_day"]
    for step_id in "abc":
        here = rows(steps, step_id).set_index("case_id")
        assert np.allclose(here["start_day"], start[here.index])
    d = rows(steps, "d").set_index("case_id")
    assert np.allclose(d["ready_day"] - start[d.index], 3.0)  # waits for all three
    assert set(cases["reforms_fired"]) == {"parallel#1"}


def test_parallel_rejects_a_detour_through_an_unlisted_step(tmp_path):
    detour = procedure("p", [step("a"), step("x", 1, ["a"]), step("b", 1, ["x"])])
    error, text = load_error(
        tmp_path, [detour], [reform("parallel", procedure="p", steps=["a", "b"])]
    )
    assert "step 'b' waits on 'a' through 'x', which is not listed" in str(error)
    assert error.field == "variants[0].reforms[0].steps"
    assert error.line == line_with(text, "steps:")


# --------------------------------------------------------------------------- joint acceptance

INSPECTIONS = procedure(
    "build",
    [
        step("s0", 1),
        step(
            "i_plan",
            2,
            ["s0"],
            agency="plan",
            trips=1,
            fees_cny=100,
            materials=[
                {"id": "id_card", "name": "ID", "kind": "main"},
                {"id": "plan_doc", "name": "plan", "kind": "main"},
            ],
        ),
        step(
            "i_fire",
            1,
            ["i_plan"],
            agency="fire",
            trips=2,
            fees_cny=50,
            certificates=1,
            materials=[
                {"id": "id_card", "name": "ID", "kind": "main"},
                {"id": "fire_doc", "name": "fire", "kind": "main"},
            ],
        ),
        step("cert", 1, ["i_fire"]),
    ],
)


JOINT = reform(
    "joint_acceptance",
    procedure="build",
    steps=["i_plan", "i_fire"],
    id="joint",
    name={"zh": "联合验收", "en": "joint inspection"},
    handling=2,
)


def test_joint_acceptance_is_one_step_of_every_agency(tmp_path):
    path = write_scenario(tmp_path, [INSPECTIONS], [JOINT])
    (base, _), (cases, steps) = both(path)
    assert elapsed(base) == {5.0}
    assert elapsed(cases) == {4.0}
    joint = rows(steps, "joint")
    assert set(joint["agency"]) == {"plan+fire"}
    assert rounded(joint["handling_days"]) == {2.0}
    assert rows(steps, "i_plan").empty and rows(steps, "i_fire").empty
    assert set(cases["materials"]) == {3}  # id_card once
    assert set(cases["trips"]) == {2.0} and set(cases["fees_cny"]) == {150.0}
    assert set(cases["certificates"]) == {1}
    model = resolve_variant(load_scenario(path), "v")
    new = model.demands[0].version().step("joint")
    assert (new.agency, new.joint_agencies, new.random_key) == ("plan", ("fire",), "joint")
    assert new.after == ("s0",)


def test_joint_step_starts_only_when_every_agency_has_staff_free(tmp_path):
    busy = procedure("busy", [step("w", 0.7, agency="fire")])
    path = write_scenario(
        tmp_path,
        [INSPECTIONS, busy],
        [JOINT],
        staff={"plan": 1, "fire": 1},
        arrivals={"build": 2.0, "busy": 1.2},
    )
    _, steps = run(path)
    held = steps[steps["agency"].str.contains("fire|plan")]
    for agency in ("fire", "plan"):
        mine = held[held["agency"].str.contains(agency)].sort_values("start_day")
        # One staff member each: no two holdings overlap.
        assert (
            mine["start_day"].to_numpy()[1:] >= mine["handled_day"].to_numpy()[:-1] - 1e-9
        ).all()
    joint = rows(steps, "joint")
    freed = set(held["handled_day"].round(9))
    for row in joint.itertuples():
        assert row.start_day == row.ready_day or round(row.start_day, 9) in freed
    assert (joint["queue_days"] > 0).any()  # contention happened


# --------------------------------------------------------------------------- merge, single window


def test_merge_makes_one_step(tmp_path):
    path = write_scenario(tmp_path, [evaluations()], [MERGE])
    (base, _), (cases, steps) = both(path)
    assert elapsed(base) == {6.0} and elapsed(cases) == {4.0}
    assert set(cases["fees_cny"]) == {150.0} and set(cases["certificates"]) == {3}
    assert set(cases["trips"]) == {2.0} and set(cases["materials"]) == {2}
    assert set(cases["steps"]) == {3}
    assert set(rows(steps, "eval")["agency"]) == {"env"}
    merged = resolve_variant(load_scenario(path), "v").demands[0].version()
    assert [s.id for s in merged.steps] == ["s0", "eval", "permit"]
    assert merged.step("permit").after == ("eval",) and merged.step("eval").stream == "eval"


def test_merged_step_is_done_when_any_part_was_needed(tmp_path):
    optional = procedure(
        "p",
        [
            step("s0", 1),
            step("e1", 3, ["s0"], when="big"),
            step("e2", 4, ["s0"], when="near_water"),
            step("permit", 1, ["e1", "e2"]),
        ],
        attributes=[flag("big"), flag("near_water")],
    )
    path = write_scenario(tmp_path, [optional], [MERGE])
    cases, steps = run(path)
    merged = resolve_variant(load_scenario(path), "v").demands[0].version().step("eval")
    assert merged.when.text == "(big) or (near_water)"
    needed = cases["attributes"].str.contains("true")
    assert needed.any() and (~needed).any()
    assert elapsed(cases[needed]) == {4.0} and elapsed(cases[~needed]) == {2.0}
    assert set(rows(steps, "eval")["case_id"]) == set(cases.loc[needed, "case_id"])


def test_single_window_keeps_at_most_one_trip(tmp_path):
    window = {**MERGE, "type": "single_window", "agency": "window"}
    path = write_scenario(tmp_path, [evaluations()], [window])
    cases, _ = run(path)
    assert set(cases["trips"]) == {1.0}


def test_new_id_colliding_with_a_step(tmp_path):
    error, _ = load_error(tmp_path, [evaluations()], [{**MERGE, "id": "permit"}])
    assert "id 'permit' is already a step of procedure 'p'" in str(error)
    assert error.field == "variants[0].reforms[0].id"


def test_merge_across_a_step_in_between(tmp_path):
    chained = {**MERGE, "steps": ["s0", "permit"]}
    error, _ = load_error(tmp_path, [evaluations()], [chained])
    assert "waits on 's0' through 'e1', which is not listed" in str(error)


def test_merging_steps_already_merged_away(tmp_path):
    second = {**MERGE, "steps": ["e2", "permit"], "id": "late"}
    evaluations_with_flag = evaluations()
    evaluations_with_flag["attributes"] = [flag("big")]
    error, text = load_error(tmp_path, [evaluations_with_flag], [{**MERGE, "when": "big"}, second])
    message = (
        "reform 'merge#2': step 'e2' of procedure 'p' no longer exists: reform 'merge#1' "
        "merged it into 'eval' for the cases meeting 'big'"
    )
    assert message in str(error)
    assert error.field == "variants[0].reforms[1].steps[0]"
    assert error.line == line_with(text, "- e2", line_with(text, "- e2") + 1)


def test_bad_distribution(tmp_path):
    bad = {**MERGE, "handling": {"type": "triangular", "min": 3, "mode": 1, "max": 2}}
    error, text = load_error(tmp_path, [evaluations()], [bad])
    assert error.field.startswith("variants[0].reforms[0].handling")
    assert error.line >= line_with(text, "handling:")
    assert "triangular" in str(error)


# --------------------------------------------------------------------------- skip


def test_skip_with_when_applies_to_the_cases_meeting_it(tmp_path):
    skip = reform("regional_assessment", procedure="p", steps=["assess"], when="in_zone")
    path = write_scenario(tmp_path, [ZONED], [skip])
    cases, steps = run(path)
    zone = cases["attributes"].str.contains('"in_zone": true')
    assert zone.any() and (~zone).any()
    assert elapsed(cases[zone]) == {2.0} and elapsed(cases[~zone]) == {7.0}
    assert set(cases[zone]["reforms_fired"]) == {"regional_assessment#1"}
    assert set(cases[~zone]["reforms_fired"]) == {""}
    skipped = set(cases[zone]["case_id"])
    assert not set(rows(steps, "assess")["case_id"]) & skipped
    permit = rows(steps, "permit").set_index("case_id")
    arrival = cases.set_index("case_id")["arrival_day"]
    inside = permit.index.isin(skipped)
    assert np.allclose(permit["ready_day"][inside] - arrival[permit.index[inside]], 1.0)


def test_skip_inherits_predecessors_transitively(tmp_path):
    chain = procedure(
        "p", [step("a", 1), step("b", 1, ["a"]), step("c", 1, ["b"]), step("d", 1, ["c"])]
    )
    path = write_scenario(tmp_path, [chain], [reform("skip", procedure="p", steps=["b", "c"])])
    version = resolve_variant(load_scenario(path), "v").demands[0].version()
    assert [(s.id, s.after) for s in version.steps] == [("a", ()), ("d", ("a",))]
