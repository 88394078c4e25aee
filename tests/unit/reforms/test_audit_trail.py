"""Which steps a reform marks: a case lists a reform only when it changed the case's path.

Each reform type marks the steps it makes run differently (`sim.domain.model.ReformMark`),
or the whole version (a fast lane, a bundle, a removed step: for the cases that needed
it); the engines list, per case, the marks of the steps it ran
(``tests/conformance/test_engines.py`` holds every engine to that).
"""

from __future__ import annotations

from sim import load_scenario
from sim.domain.model import ReformMark
from sim.reforms import resolve_variant
from tests.factories import flag, procedure, reform, step, tolerate, write_scenario
from tests.unit.reforms.helpers import MERGE

THREE = procedure(
    "p",
    [
        step("a", 1, fees_cny=10),
        step("b", 2, ["a"], when="big"),
        step("c", 1, ["b"]),
    ],
    [flag("big")],
)


def version(tmp_path, *reforms):
    path = write_scenario(tmp_path, [THREE], list(reforms))
    return resolve_variant(load_scenario(path), "v").demands[0].version(())


def marks(found) -> dict[str, tuple[str, ...]]:
    return {s.id: tuple(m.label for m in s.reformed_by) for s in found.steps}


def test_a_reform_of_steps_marks_the_steps_it_changes(tmp_path):
    found = version(
        tmp_path,
        reform("time_limit", label="limit", procedure="p", steps=["b"], scale=0.5),
        reform("fee_waiver", label="free", procedure="p", steps="all"),  # only a charges
    )
    assert marks(found) == {"a": ("free",), "b": ("limit",), "c": ()}
    assert found.fired == ("limit", "free") and found.reformed_by == ()


def test_parallel_marks_the_steps_that_now_wait_on_others(tmp_path):
    found = version(tmp_path, reform("parallel", label="side", procedure="p", steps=["b", "c"]))
    # b waited on a and still does; c waited on b and now on a: c starts differently.
    assert marks(found) == {"a": (), "b": (), "c": ("side",)}


def test_a_removed_step_marks_the_cases_that_needed_it(tmp_path):
    found = version(tmp_path, reform("skip", label="gone", procedure="p", steps=["b"]))
    assert marks(found) == {"a": (), "c": ()}
    (mark,) = found.reformed_by
    assert mark.label == "gone" and mark.when.text == "big"  # b applied to big cases only


def test_a_merged_step_and_a_fast_lane(tmp_path):
    merge = {**MERGE, "steps": ["a", "b"], "id": "ab", "agency": "office", "label": "one"}
    found = version(
        tmp_path,
        reform("time_limit", label="limit", procedure="p", steps=["a"], scale=0.5),
        merge,
        reform("fast_lane", label="fast", procedure="p"),
    )
    assert marks(found) == {"ab": ("limit", "one"), "c": ()}
    assert found.reformed_by == (ReformMark("fast"),)


def test_a_tolerated_deficiency_marks_no_step(tmp_path):
    # It changes a case only when a missing minor material is tolerated: its commitment
    # then fires and lists it.
    minor = {"id": "photo", "name": "photo", "kind": "minor", "probability_defective": 0.5}
    spec = procedure(
        "p",
        [step("a", 1, materials=[minor], send_back={"response": 1, "max_resubmissions": 1})],
    )
    path = write_scenario(
        tmp_path, [spec], [tolerate({"kind": "revoke"}, steps=["a"], label="tolerate")]
    )
    found = resolve_variant(load_scenario(path), "v").demands[0].version(())
    assert marks(found) == {"a": ()} and found.fired == ("tolerate",)
