"""Bundles ("one thing", 一件事): several procedures started with one intake.
"""

from __future__ import annotations

from sim import load_scenario
from sim.reforms import resolve_variant
from tests.factories import SOURCE, procedure, reform, step, write_scenario
from tests.unit.reforms.helpers import MERGE, elapsed, load_error, run


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
    target={"working_days": 5, "source": SOURCE},
    arrivals_per_day=2,
    intake={
        "id": "intake",
        "name": {"zh": "受理", "en": "intake"},
        "agency": "window",
        "handling": 0.5,
    },
)


def test_bundle_starts_several_procedures_with_one_intake(tmp_path):
    path = write_scenario(tmp_path, bundle_procedures(), [BUNDLE])
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
    path = write_scenario(tmp_path, bundle_procedures(), reforms)
    cases, _ = run(path)
    assert elapsed(cases) == {2.0}  # intake 0.5, then max(1, 1.5)
    assert set(cases["reforms_fired"]) == {"bundle#2;time_limit#1;skip#3"}


def test_a_bundled_procedure_is_gone(tmp_path):
    reforms = [BUNDLE, reform("skip", procedure="p", steps=["a"])]
    error, _ = load_error(tmp_path, bundle_procedures(), reforms)
    assert "procedure 'p' no longer exists: reform 'bundle#1' bundled it into 'pq'" in str(error)
    assert error.field == "variants[0].reforms[1].procedure"


def test_a_merged_steps_materials_keep_their_random_keys_in_the_bundle(tmp_path):
    # p's a and b merged before the bundle: the merged step checks each material with the
    # numbers of the step it came from, prefixed in the bundle like the steps' own keys.
    form = {"id": "form", "name": "表", "kind": "main", "probability_defective": 0.2}
    plan = {"id": "plan", "name": "图", "kind": "main", "probability_defective": 0.2}
    back = {"response": 1, "max_resubmissions": 1}
    p = procedure(
        "p",
        [
            step("a", 1, materials=[form], send_back=back),
            step("b", 2, ["a"], materials=[plan], send_back=back),
        ],
    )
    merge = {**MERGE, "steps": ["a", "b"], "id": "ab", "agency": "office"}
    path = write_scenario(tmp_path, [p, bundle_procedures()[1]], [merge, BUNDLE])
    version = resolve_variant(load_scenario(path), "v").demands[0].version()
    streams = {m.id: m.stream for m in version.step("p__ab").materials}
    assert streams == {"form": "p__a", "plan": "p__b"}
