"""Resolving a variant: reforms compose in order, leave the baseline alone, and every mistake
is a load error naming the file, line and field.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from sim import load_scenario
from sim.domain.errors import InputError
from sim.domain.model import Model
from sim.reforms import resolve_variant
from tests.factories import reform, write_scenario
from tests.unit.reforms.helpers import (
    MERGE,
    SERIAL,
    ZONED,
    elapsed,
    evaluations,
    line_with,
    load_error,
    run,
)

# --------------------------------------------------------------------------- composition, purity


def test_reforms_compose_in_order(tmp_path):
    merge_then_cut = [
        {**MERGE},
        reform("time_limit", procedure="p", steps=["eval"], scale=0.5),
    ]
    path = write_scenario(tmp_path, [evaluations()], merge_then_cut)
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
    scenario = load_scenario(write_scenario(tmp_path, [evaluations()], reforms))
    before = copy.deepcopy(repr(scenario.demands)), repr(scenario.agencies)
    model = resolve_variant(scenario, "v")
    model.demands[0].version()
    assert (repr(scenario.demands), repr(scenario.agencies)) == before
    assert scenario.demands[0].reforms == ()
    assert resolve_variant(scenario, "baseline").demands == scenario.demands
    version = model.demands[0].version()
    assert version.id == "p" and version.fast_lane
    assert version.fired == ("parallel#1", "merge#2", "online#3", "fast_lane#4")


def test_fixed_model_objects_are_frozen(tmp_path):
    scenario = load_scenario(write_scenario(tmp_path, [SERIAL], [reform("fast_lane", procedure="p")]))
    model: Model = resolve_variant(scenario, "v")
    with pytest.raises(AttributeError):
        model.demands[0].procedure.steps = ()  # type: ignore[misc]


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
    scenario = load_scenario(write_scenario(tmp_path, [SERIAL]))
    with pytest.raises(InputError, match="unknown variant 'w'"):
        resolve_variant(scenario, "w")
