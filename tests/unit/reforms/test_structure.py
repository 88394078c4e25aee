"""The reform catalogue: exact traces with fixed durations, load errors, and a property.

Every test writes small procedure and scenario files, loads them with the real loader
(which resolves every variant, so a bad reform is a load error) and runs the real engine.
With fixed durations and unlimited staff every case of a procedure takes exactly the same
time, so each test asserts on every case.
"""

from __future__ import annotations

import copy
import datetime
import io
import itertools
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from sim import load_scenario
from sim.domain.errors import InputError
from sim.domain.model import Model, Procedure
from sim.engines.compiled import simulate
from sim.reforms import REGISTRY, resolve_variant

SRC = "assumption: test"
AGENCIES = ("office", "env", "soil", "plan", "fire", "window")


# --------------------------------------------------------------------------- helpers


def step(step_id: str, handling=1.0, after: Iterable[str] = (), agency="office", **extra):
    return {
        "id": step_id,
        "name": {"zh": step_id, "en": step_id},
        "agency": agency,
        "handling": handling,
        "after": list(after),
        "source": SRC,
        **extra,
    }


def procedure(procedure_id: str, steps: list[dict], attributes: Iterable[dict] = ()):
    return {
        "id": procedure_id,
        "name": {"zh": procedure_id, "en": procedure_id},
        "target": {"working_days": 30, "source": SRC},
        "attributes": list(attributes),
        "steps": steps,
    }


def flag(attribute_id: str, probability=0.5):
    return {"id": attribute_id, "kind": "boolean", "probability": probability, "source": SRC}


def reform(kind: str, **parameters):
    return {"type": kind, "source": SRC, **parameters}


def dump(data) -> str:
    yaml = YAML()
    yaml.default_flow_style = False
    stream = io.StringIO()
    yaml.dump(data, stream)
    return stream.getvalue()


def write(folder: Path, procedures: list[dict], reforms=(), staff=None, arrivals=4.0) -> Path:
    """Procedure files and a scenario with one variant ``v`` holding ``reforms``."""
    staff = staff or {}
    for spec in procedures:
        (folder / f"{spec['id']}.yaml").write_text(dump(spec), encoding="utf-8")
    rates = arrivals if isinstance(arrivals, dict) else {p["id"]: arrivals for p in procedures}
    scenario = {
        "name": "s",
        "title": "S",
        "seed": 1,
        "calendar": {"start": datetime.date(2025, 3, 3)},
        "horizon": {"working_days": 5, "drain_working_days": 60},
        "agencies": [
            {"id": a, "name": {"zh": a, "en": a}, "staff": staff.get(a, "unlimited"), "source": SRC}
            for a in AGENCIES
        ],
        "procedures": [
            {"procedure": p["id"], "arrivals_per_day": rates[p["id"]], "source": SRC}
            for p in procedures
        ],
        "variants": [{"name": "v", "reforms": list(reforms)}] if reforms else [],
    }
    path = folder / "scenario.yaml"
    path.write_text(dump(scenario), encoding="utf-8")
    return path


def run(path: Path, variant: str = "v") -> tuple[pd.DataFrame, pd.DataFrame]:
    scenario = load_scenario(path)
    records = simulate(resolve_variant(scenario, variant), np.random.SeedSequence(0))
    return records.frames(scenario.calendar)


def both(path: Path):
    return run(path, "baseline"), run(path, "v")


def rounded(column: pd.Series) -> set[float]:
    return set(column.astype(float).round(9))


def elapsed(cases: pd.DataFrame) -> set[float]:
    return rounded(cases["elapsed_working_days"])


def load_error(folder: Path, procedures, reforms, **kw) -> tuple[InputError, str]:
    path = write(folder, procedures, reforms, **kw)
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    return caught.value, path.read_text(encoding="utf-8")


def line_with(text: str, needle: str, start: int = 1) -> int:
    """1-based number of the first line at or after ``start`` containing ``needle``."""
    for number, line in enumerate(text.splitlines(), 1):
        if number >= start and needle in line:
            return number
    raise AssertionError(f"{needle!r} not in the file")


def rows(steps: pd.DataFrame, step_id: str) -> pd.DataFrame:
    return steps[steps["step"] == step_id]


SERIAL = procedure(
    "p",
    [step("a", 1), step("b", 2, ["a"]), step("c", 3, ["b"]), step("d", 1, ["c"])],
)


# --------------------------------------------------------------------------- parallel


def test_parallel_runs_the_steps_side_by_side(tmp_path):
    path = write(tmp_path, [SERIAL], [reform("parallel", procedure="p", steps=["a", "b", "c"])])
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
    path = write(tmp_path, [INSPECTIONS], [JOINT])
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
    path = write(
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


# --------------------------------------------------------------------------- tolerated deficiency


def review_procedure(main=0.0, minor=1.0):
    return procedure(
        "p",
        [
            step(
                "review",
                1,
                materials=[
                    {
                        "id": "licence",
                        "name": "licence",
                        "kind": "main",
                        "probability_defective": main,
                    },
                    {
                        "id": "photo",
                        "name": "photo",
                        "kind": "minor",
                        "probability_defective": minor,
                    },
                ],
                send_back={"response": 2, "max_resubmissions": 2},
            ),
            step("issue", 1, ["review"]),
        ],
    )


def tolerate(on_failure, share=0.0):
    return reform(
        "tolerated_deficiency",
        procedure="p",
        steps=["review"],
        commitment_delay=5,
        failure_share=share,
        on_failure=on_failure,
    )


def test_tolerated_deficiency_removes_the_send_back_for_minor_defects(tmp_path):
    path = write(tmp_path, [review_procedure()], [tolerate({"kind": "revoke"})])
    (base, base_steps), (cases, steps) = both(path)
    assert set(base["status"]) == {"withdrawn"}
    assert "sent_back" in set(base_steps["outcome"])
    assert set(cases["status"]) == {"completed"}
    assert set(rows(steps, "review")["outcome"]) == {"tolerated"}
    assert "sent_back" not in set(steps["outcome"]) and set(cases["send_backs"]) == {0}
    assert elapsed(cases) == {2.0}


def test_tolerated_deficiency_still_sends_back_main_defects(tmp_path):
    path = write(tmp_path, [review_procedure(main=1.0, minor=0.0)], [tolerate({"kind": "revoke"})])
    cases, steps = run(path)
    assert set(cases["status"]) == {"withdrawn"}
    assert "sent_back" in set(steps["outcome"])


def test_failed_commitment_costs_a_rework(tmp_path):
    rework = {"kind": "rework", "handling": 3, "agency": "env"}
    path = write(tmp_path, [review_procedure()], [tolerate(rework, share=1.0)])
    cases, steps = run(path)
    redo = rows(steps, "review").query("outcome == 'rework'").set_index("case_id")
    arrival = cases.set_index("case_id")["arrival_day"]
    assert len(redo) == len(cases)
    assert np.allclose(redo["ready_day"] - arrival[redo.index], 6.0)  # 1 + delay 5
    assert set(redo["agency"]) == {"env"}
    assert elapsed(cases) == {9.0}  # the rework ends after the last step
    assert set(cases["status"]) == {"completed"}
    assert set(cases["reforms_fired"]) == {"tolerated_deficiency#1"}


def test_failed_commitment_can_revoke(tmp_path):
    path = write(tmp_path, [review_procedure()], [tolerate({"kind": "revoke"}, share=1.0)])
    cases, steps = run(path)
    assert set(cases["status"]) == {"revoked"}
    assert "revoked" in set(steps["outcome"])


# ---------------------------------------------------------------------- notification-commitment

LONG_REVIEW = procedure(
    "p",
    [
        step("apply", 1),
        step(
            "review",
            10,
            ["apply"],
            waiting=5,
            materials=[{"id": "plan", "name": "plan", "kind": "main", "probability_defective": 1}],
            send_back={"response": 2, "max_resubmissions": 1},
        ),
    ],
)


def notify(consequence, share):
    return reform(
        "notification_commitment",
        procedure="p",
        steps=["review"],
        handling=1,
        post_check={"delay": 20, "failure_share": share, "consequence": consequence},
    )


def test_notification_commitment_turns_the_review_into_a_day(tmp_path):
    path = write(tmp_path, [LONG_REVIEW], [notify({"kind": "revoke"}, 0.0)])
    (base, _), (cases, steps) = both(path)
    assert set(base["status"]) == {"withdrawn"}  # the defect is never cured in the baseline
    assert set(cases["status"]) == {"completed"} and elapsed(cases) == {2.0}
    review = rows(steps, "review")
    assert set(review["outcome"]) == {"accepted"} and rounded(review["waiting_days"]) == {0.0}
    assert set(cases["materials"]) == {1}  # still handed in


def test_post_check_rework_and_revocation(tmp_path):
    rework = {"kind": "rework", "handling": 2, "agency": "env"}
    path = write(tmp_path, [LONG_REVIEW], [notify(rework, 1.0)])
    cases, steps = run(path)
    assert elapsed(cases) == {24.0}  # done at 2, post-check 20 later, then 2 of rework
    assert set(rows(steps, "review")["outcome"]) == {"accepted", "rework"}
    path = write(tmp_path, [LONG_REVIEW], [notify({"kind": "revoke"}, 1.0)])
    cases, _ = run(path)
    assert set(cases["status"]) == {"revoked"}


# --------------------------------------------------------------------------- merge, skip


def evaluations():
    return procedure(
        "p",
        [
            step("s0", 1),
            step(
                "e1",
                3,
                ["s0"],
                agency="env",
                trips=1,
                fees_cny=100,
                certificates=1,
                materials=[{"id": "m1", "name": "m", "kind": "main"}],
            ),
            step(
                "e2",
                4,
                ["s0"],
                agency="soil",
                trips=2,
                fees_cny=50,
                certificates=2,
                materials=[
                    {"id": "m1", "name": "m", "kind": "main"},
                    {"id": "m2", "name": "m", "kind": "minor"},
                ],
            ),
            step("permit", 1, ["e1", "e2"]),
        ],
    )


MERGE = reform(
    "merge",
    procedure="p",
    steps=["e1", "e2"],
    id="eval",
    name={"zh": "多评合一", "en": "merged evaluation"},
    agency="env",
    handling=2,
)


def test_merge_makes_one_step(tmp_path):
    path = write(tmp_path, [evaluations()], [MERGE])
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
    path = write(tmp_path, [optional], [MERGE])
    cases, steps = run(path)
    merged = resolve_variant(load_scenario(path), "v").demands[0].version().step("eval")
    assert merged.when.text == "(big) or (near_water)"
    needed = cases["attributes"].str.contains("true")
    assert needed.any() and (~needed).any()
    assert elapsed(cases[needed]) == {4.0} and elapsed(cases[~needed]) == {2.0}
    assert set(rows(steps, "eval")["case_id"]) == set(cases.loc[needed, "case_id"])


def test_single_window_keeps_at_most_one_trip(tmp_path):
    window = {**MERGE, "type": "single_window", "agency": "window"}
    path = write(tmp_path, [evaluations()], [window])
    cases, _ = run(path)
    assert set(cases["trips"]) == {1.0}


ZONED = procedure(
    "p",
    [step("s0", 1), step("assess", 5, ["s0"]), step("permit", 1, ["assess"])],
    attributes=[
        flag("in_zone"),
        {"id": "investment", "kind": "numeric", "distribution": 10, "source": SRC},
    ],
)


def test_skip_with_when_applies_to_the_cases_meeting_it(tmp_path):
    skip = reform("regional_assessment", procedure="p", steps=["assess"], when="in_zone")
    path = write(tmp_path, [ZONED], [skip])
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
    path = write(tmp_path, [chain], [reform("skip", procedure="p", steps=["b", "c"])])
    version = resolve_variant(load_scenario(path), "v").demands[0].version()
    assert [(s.id, s.after) for s in version.steps] == [("a", ()), ("d", ("a",))]


# --------------------------------------------------------------------------- durations, trips


def test_time_limit_scale_and_cap(tmp_path):
    two = procedure("p", [step("a", 4), step("b", 1, ["a"])])
    path = write(tmp_path, [two], [reform("time_limit", procedure="p", steps="all", scale=0.5)])
    assert elapsed(run(path)[0]) == {2.5}
    path = write(tmp_path, [two], [reform("time_limit", procedure="p", steps=["a"], cap=2)])
    assert elapsed(run(path)[0]) == {3.0}


def test_time_limit_keeps_the_random_numbers(tmp_path):
    spread = {"type": "triangular", "min": 1, "mode": 2, "max": 6}
    path = write(
        tmp_path,
        [procedure("p", [step("a", spread)])],
        [reform("time_limit", procedure="p", steps=["a"], scale=0.5)],
    )
    (base, _), (cases, _) = both(path)
    ratio = (
        cases.set_index("case_id")["elapsed_working_days"]
        / base.set_index("case_id")["elapsed_working_days"]
    )
    assert np.allclose(ratio, 0.5)  # the same case draws the same uniform in both variants


def test_time_limit_cuts_on_clock_waiting_but_not_public_notice(tmp_path):
    signoff = step("a", 1, waiting=4, waiting_on_clock=True)
    notice = step("b", 1, ["a"], waiting=10)
    two = procedure("p", [signoff, notice])
    path = write(tmp_path, [two], [reform("time_limit", procedure="p", steps="all", scale=0.5)])
    (base, _), (cases, _) = both(path)
    assert elapsed(base) == {16.0}
    assert elapsed(cases) == {0.5 + 2 + 0.5 + 10}
    kept = reform("time_limit", procedure="p", steps="all", scale=0.5, waiting_on_clock=False)
    path = write(tmp_path, [two], [kept])
    assert elapsed(run(path)[0]) == {0.5 + 4 + 0.5 + 10}


def test_fee_and_certificate_waivers(tmp_path):
    paid = procedure("p", [step("a", 1, fees_cny=300, certificates=2), step("b", 1, ["a"])])
    waivers = [
        reform("fee_waiver", procedure="p", steps="all"),
        reform("certificate_waiver", procedure="p", steps=["a"]),
    ]
    path = write(tmp_path, [paid], waivers)
    (base, _), (cases, _) = both(path)
    assert set(base["fees_cny"]) == {300.0} and set(base["certificates"]) == {2}
    assert set(cases["fees_cny"]) == {0.0} and set(cases["certificates"]) == {0}
    assert cases["reforms_fired"].str.contains("fee_waiver#1").all()


def test_online_sets_trips_and_scales_handling(tmp_path):
    one = procedure("p", [step("a", 2, trips=2), step("b", 2, ["a"], trips=1)])
    online = reform("online", procedure="p", steps="all", handling_scale=0.5)
    path = write(tmp_path, [one], [online])
    (base, _), (cases, _) = both(path)
    assert set(base["trips"]) == {3.0} and set(cases["trips"]) == {0.0}
    assert elapsed(cases) == {2.0}
    assert all(s.online for s in resolve_variant(load_scenario(path), "v").demands[0].version().steps)


# --------------------------------------------------------------------------- staff and priority


def test_add_staff_removes_queueing(tmp_path):
    crowded = procedure("p", [step("a", 1)])
    path = write(
        tmp_path, [crowded], [reform("add_staff", agency="office", set=50)], staff={"office": 1}
    )
    (base, _), (cases, _) = both(path)
    assert base["elapsed_working_days"].max() > 1.5
    assert elapsed(cases) == {1.0}
    model = resolve_variant(load_scenario(path), "v")
    assert model.fired == ("add_staff#1",)
    assert {a.id: a.staff for a in model.agencies}["office"] == 50
    path = write(
        tmp_path, [crowded], [reform("add_staff", agency="office", add=2)], staff={"office": 1}
    )
    assert {a.id: a.staff for a in resolve_variant(load_scenario(path), "v").agencies}["office"] == 3


def test_fast_lane_cases_go_first(tmp_path):
    queue = procedure("p", [step("a", 0.5)], attributes=[flag("urgent", 0.3)])
    fast = reform("fast_lane", procedure="p", when="urgent")
    path = write(tmp_path, [queue], [fast], staff={"office": 1}, arrivals=3.0)
    (_, base), (cases, steps) = both(path)
    urgent = set(cases.loc[cases["attributes"].str.contains('"urgent": true'), "case_id"])

    def overtaken(frame: pd.DataFrame) -> int:
        first = frame[frame["case_id"].isin(urgent)]
        later = frame[~frame["case_id"].isin(urgent)]
        # A normal case that started while an urgent one was already waiting.
        return sum(
            ((first["ready_day"] < row.start_day) & (first["start_day"] > row.start_day)).sum()
            for row in later.itertuples()
            if row.start_day > row.ready_day
        )

    assert overtaken(steps) == 0
    assert overtaken(base) > 0  # first come, first served in the baseline
    normal = ~steps["case_id"].isin(urgent)
    assert steps.loc[~normal, "queue_days"].mean() < steps.loc[normal, "queue_days"].mean()


# --------------------------------------------------------------------------- bundle


def bundle_procedures():
    card = {"id": "id_card", "name": "ID", "kind": "main"}
    p = procedure("p", [step("a", 1, trips=1, materials=[card]), step("b", 2, ["a"])])
    q = procedure(
        "q",
        [step("c", 3, trips=1, materials=[card, {"id": "q_doc", "name": "q", "kind": "main"}])],
    )
    return [p, q]


BUNDLE = reform(
    "bundle",
    procedures=["p", "q"],
    id="pq",
    name={"zh": "一件事", "en": "one thing"},
    target={"working_days": 5, "source": SRC},
    arrivals_per_day=2,
    intake={
        "id": "intake",
        "name": {"zh": "受理", "en": "intake"},
        "agency": "window",
        "handling": 0.5,
    },
)


def test_bundle_starts_several_procedures_with_one_intake(tmp_path):
    path = write(tmp_path, bundle_procedures(), [BUNDLE])
    cases, steps = run(path)
    assert set(cases["procedure"]) == {"pq"}
    assert elapsed(cases) == {3.5}  # intake 0.5, then max(1 + 2, 3)
    assert set(cases["trips"]) == {1.0} and set(cases["materials"]) == {2}
    assert set(steps["step"]) == {"intake", "p__a", "p__b", "q__c"}
    model = resolve_variant(load_scenario(path), "v")
    version = model.demands[0].version()
    assert [d.procedure.id for d in model.demands] == ["pq"]
    assert version.step("p__a").after == ("intake",) and version.step("p__b").after == ("p__a",)
    assert version.step("q__c").random_key == "q__c"
    assert model.demands[0].arrivals_per_day == 2


def test_bundle_carries_earlier_reforms_and_takes_later_ones(tmp_path):
    reforms = [
        reform("time_limit", procedure="q", steps=["c"], scale=0.5),
        BUNDLE,
        reform("skip", procedure="pq", steps=["p__b"]),
    ]
    path = write(tmp_path, bundle_procedures(), reforms)
    cases, _ = run(path)
    assert elapsed(cases) == {2.0}  # intake 0.5, then max(1, 1.5)
    assert set(cases["reforms_fired"]) == {"bundle#2;time_limit#1;skip#3"}


def test_a_bundled_procedure_is_gone(tmp_path):
    reforms = [BUNDLE, reform("skip", procedure="p", steps=["a"])]
    error, _ = load_error(tmp_path, bundle_procedures(), reforms)
    assert "procedure 'p' no longer exists: reform 'bundle#1' bundled it into 'pq'" in str(error)
    assert error.field == "variants[0].reforms[1].procedure"


# --------------------------------------------------------------------------- composition, purity


def test_reforms_compose_in_order(tmp_path):
    merge_then_cut = [
        {**MERGE},
        reform("time_limit", procedure="p", steps=["eval"], scale=0.5),
    ]
    path = write(tmp_path, [evaluations()], merge_then_cut)
    assert elapsed(run(path)[0]) == {3.0}
    error, _ = load_error(tmp_path, [evaluations()], merge_then_cut[::-1])
    assert "unknown step 'eval' in procedure 'p'" in str(error)


def test_resolve_never_mutates_the_baseline(tmp_path):
    reforms = [
        reform("parallel", procedure="p", steps=["e1", "e2"]),
        {**MERGE},
        reform("online", procedure="p", steps="all"),
        reform("fast_lane", procedure="p"),
        reform("add_staff", agency="env", set=3),
    ]
    scenario = load_scenario(write(tmp_path, [evaluations()], reforms))
    before = copy.deepcopy(repr(scenario.demands)), repr(scenario.agencies)
    model = resolve_variant(scenario, "v")
    model.demands[0].version()
    assert (repr(scenario.demands), repr(scenario.agencies)) == before
    assert scenario.demands[0].reforms == ()
    assert resolve_variant(scenario, "baseline").demands == scenario.demands
    version = model.demands[0].version()
    assert version.id == "p" and version.fast_lane
    assert version.fired == ("parallel#1", "merge#2", "online#3", "fast_lane#4")


def test_registry_has_every_documented_type():
    documented = Path(__file__).resolve().parent.parent / "docs" / "reforms.md"
    text = documented.read_text(encoding="utf-8")
    assert all(f"`{name}`" in text for name in REGISTRY)


# --------------------------------------------------------------------------- errors


def test_unknown_reform_type(tmp_path):
    error, text = load_error(
        tmp_path, [SERIAL], [reform("paralel", procedure="p", steps=["a", "b"])]
    )
    assert "unknown reform type 'paralel'; did you mean 'parallel'?" in str(error)
    assert "known types:" in str(error)
    assert error.line == line_with(text, "type: paralel")
    assert Path(error.file) == tmp_path / "scenario.yaml"
    assert str(error).startswith(f"{tmp_path / 'scenario.yaml'}:{error.line}:")


def test_unknown_key_gets_a_hint(tmp_path):
    error, text = load_error(tmp_path, [SERIAL], [reform("parallel", procedure="p", stpes=["a"])])
    assert "unknown field 'stpes'; did you mean 'steps'?" in str(error)
    assert error.line == line_with(text, "stpes:")
    assert error.field == "variants[0].reforms[0].stpes"


def test_unknown_step(tmp_path):
    error, text = load_error(
        tmp_path, [SERIAL], [reform("parallel", procedure="p", steps=["a", "bb"])]
    )
    assert "unknown step 'bb' in procedure 'p'; did you mean 'b'?" in str(error)
    assert error.field == "variants[0].reforms[0].steps[1]"
    assert error.line == line_with(text, "- bb")


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


def test_unknown_procedure(tmp_path):
    error, text = load_error(tmp_path, [SERIAL], [reform("fast_lane", procedure="pp")])
    assert "unknown procedure 'pp'" in str(error) and "did you mean 'p'?" in str(error)
    assert error.line == line_with(text, "procedure: pp")


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("in_zon", "unknown attribute 'in_zon' in condition 'in_zon'; did you mean 'in_zone'?"),
        ("investment < 'big'", "does not fit the attribute types"),
        ("in_zone.__class__", "'__class__' cannot be used in condition"),
    ],
)
def test_bad_conditions(tmp_path, condition, expected):
    skip = reform("skip", procedure="p", steps=["assess"], when=condition)
    error, text = load_error(tmp_path, [ZONED], [skip])
    assert expected in str(error)
    assert error.field == "variants[0].reforms[0].when"
    assert error.line == line_with(text, "when:")


def test_bad_distribution(tmp_path):
    bad = {**MERGE, "handling": {"type": "triangular", "min": 3, "mode": 1, "max": 2}}
    error, text = load_error(tmp_path, [evaluations()], [bad])
    assert error.field.startswith("variants[0].reforms[0].handling")
    assert error.line >= line_with(text, "handling:")
    assert "triangular" in str(error)


def test_new_id_colliding_with_a_step(tmp_path):
    error, _ = load_error(tmp_path, [evaluations()], [{**MERGE, "id": "permit"}])
    assert "id 'permit' is already a step of procedure 'p'" in str(error)
    assert error.field == "variants[0].reforms[0].id"


def test_merge_across_a_step_in_between(tmp_path):
    chained = {**MERGE, "steps": ["s0", "permit"]}
    error, _ = load_error(tmp_path, [evaluations()], [chained])
    assert "waits on 's0' through 'e1', which is not listed" in str(error)


def test_variant_reforms_take_no_when(tmp_path):
    error, _ = load_error(
        tmp_path, [SERIAL], [reform("add_staff", agency="office", add=1, when="x")]
    )
    assert "`when:` is not allowed: add_staff changes the whole variant" in str(error)


def test_unknown_agency_and_duplicate_label(tmp_path):
    error, _ = load_error(tmp_path, [SERIAL], [reform("add_staff", agency="ofice", add=1)])
    assert "unknown agency 'ofice'; did you mean 'office'?" in str(error)
    twice = [
        reform("fast_lane", procedure="p", label="x"),
        reform("fast_lane", procedure="p", label="x"),
    ]
    error, _ = load_error(tmp_path, [SERIAL], twice)
    assert "label 'x' is used by reform 1 too" in str(error)


def test_missing_parameter(tmp_path):
    error, _ = load_error(tmp_path, [SERIAL], [reform("time_limit", procedure="p", steps="all")])
    assert "give either `scale:` or `cap:`" in str(error)
    error, _ = load_error(tmp_path, [SERIAL], [reform("skip", procedure="p")])
    assert "missing required field 'steps'" in str(error)
    assert error.field == "variants[0].reforms[0].steps"


def test_unknown_variant(tmp_path):
    scenario = load_scenario(write(tmp_path, [SERIAL]))
    with pytest.raises(InputError, match="unknown variant 'w'"):
        resolve_variant(scenario, "w")


# --------------------------------------------------------------------------- property


def ancestors(graph: dict[str, tuple[str, ...]], node: str) -> set[str]:
    found: set[str] = set()
    todo = list(graph[node])
    while todo:
        name = todo.pop()
        if name not in found:
            found.add(name)
            todo.extend(graph[name])
    return found


def outside(graph, members) -> set[str]:
    return {p for m in members for p in graph[m]} - set(members)


def detour(graph, members) -> bool:
    inside = set(members)
    return any(
        m in ancestors(graph, other) and (ancestors(graph, other) - inside) & descendants(graph, m)
        for m in members
        for other in members
    )


def descendants(graph, node) -> set[str]:
    return {other for other in graph if node in ancestors(graph, other)}


def parallel_adds_no_dependency(graph, members) -> bool:
    """Every edge `parallel` adds is implied by the old order, so no step can start later."""
    union, inside = outside(graph, members), set(members)
    for m in members:
        if not (union - set(graph[m])) <= ancestors(graph, m):
            return False
    for node, after in graph.items():
        if node not in inside and set(after) & inside:
            if not (inside - set(after)) <= ancestors(graph, node):
                return False
    return True


def merge_adds_no_dependency(graph, members) -> bool:
    union = outside(graph, members)
    return all(union <= ancestors(graph, m) for m in members)


def candidates(version: Procedure) -> list[tuple[str, tuple[str, ...]]]:
    graph = {s.id: s.after for s in version.steps}
    pairs = [tuple(sorted(pair)) for pair in itertools.combinations(graph, 2)]
    found = [("skip", (s,)) for s in graph] if len(graph) > 1 else []
    found += [("time_limit", (s,)) for s in graph] + [("online", ())]
    for pair in pairs:
        if detour(graph, pair):
            continue
        if parallel_adds_no_dependency(graph, pair):
            found.append(("parallel", pair))
        if merge_adds_no_dependency(graph, pair):
            found.append(("merge", pair))
    return found


def as_reform(kind: str, names: tuple[str, ...], version: Procedure, position: int) -> dict:
    if kind == "merge":
        handling = min(float(version.step(n).handling.mean) for n in names)
        return reform(
            "merge",
            procedure="p",
            steps=list(names),
            id=f"m{position}",
            name={"zh": "合", "en": "merged"},
            agency="office",
            handling=handling,
            waiting=0,
        )
    if kind == "online":
        return reform("online", procedure="p", steps="all", handling_scale=0.5)
    if kind == "time_limit":
        return reform("time_limit", procedure="p", steps=list(names), scale=0.5)
    return reform(kind, procedure="p", steps=list(names))


@st.composite
def dags(draw):
    count = draw(st.integers(2, 6))
    steps = []
    for index in range(count):
        earlier = [f"s{i}" for i in range(index)]
        after = draw(st.lists(st.sampled_from(earlier), unique=True)) if earlier else []
        steps.append(step(f"s{index}", draw(st.sampled_from([0.5, 1, 2, 3])), after))
    return procedure("p", steps)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dags(), st.data())
def test_no_reform_package_makes_a_deterministic_procedure_slower(spec, data):
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        reforms: list[dict] = []
        version = load_scenario(write(folder, [spec], arrivals=1.0)).demands[0].procedure
        for position in range(data.draw(st.integers(1, 4))):
            found = candidates(version)
            kind = data.draw(st.sampled_from(sorted({kind for kind, _ in found})))
            names = data.draw(st.sampled_from([names for k, names in found if k == kind]))
            event(kind)
            reforms.append(as_reform(kind, names, version, position))
            scenario = load_scenario(write(folder, [spec], reforms, arrivals=1.0))
            version = resolve_variant(scenario, "v").demands[0].version()
        base, _ = run(folder / "scenario.yaml", "baseline")
        cases, _ = run(folder / "scenario.yaml", "v")
    slower = (
        cases.set_index("case_id")["elapsed_working_days"]
        - base.set_index("case_id")["elapsed_working_days"]
    )
    assert (slower <= 1e-9).all(), reforms


def test_fixed_model_objects_are_frozen(tmp_path):
    scenario = load_scenario(write(tmp_path, [SERIAL], [reform("fast_lane", procedure="p")]))
    model: Model = resolve_variant(scenario, "v")
    with pytest.raises(AttributeError):
        model.demands[0].procedure.steps = ()  # type: ignore[misc]


def test_queue_figures_from_the_light_step_columns_equal_the_step_table_ones(tmp_path):
    """Without kept step rows, queue figures come from a few columns of the tuple rows.

    Revocation marks (no staff held) and joint steps (``a+b``, one row for each agency)
    are where the two could part; the bundled scenario's full package has joint
    inspections, the small one here a revocation.
    """
    from sim.engines.records import step_frame
    from sim.run.reduce import queue_totals

    revoking = write(
        tmp_path, [review_procedure()], [tolerate({"kind": "revoke"}, share=1.0)], {"office": 1}
    )
    bundled = Path(__file__).resolve().parents[1] / "scenarios" / "demo.yaml"
    for path, variant, mark in ((revoking, "v", "revoked"), (bundled, "full_package", "+")):
        scenario = load_scenario(path)
        records = simulate(resolve_variant(scenario, variant), np.random.SeedSequence(3))
        light = records.queue_columns(scenario.calendar)
        joint = {"+" for agency in light["agency"] if "+" in agency}
        assert mark in set(light["outcome"]) | joint
        pd.testing.assert_frame_equal(
            queue_totals(light, scenario.horizon),
            queue_totals(step_frame(records, scenario.calendar), scenario.horizon),
        )
