"""Whole-column shortcuts give what the case-by-case definitions give.

`sim.domain.conditions.evaluate_columns` (with and without the categorical columns' codes) must
equal the rule engine evaluated case by case, and `sim.engines.draws.attribute_json` must equal
``json.dumps`` of each case's attributes.
"""

from __future__ import annotations

import json

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.domain.conditions import compile_condition, evaluate_columns
from sim.domain.distributions import Fixed, Uniform
from sim.domain.model import Attribute, Name, Procedure, Step
from sim.engines.draws import attribute_json, sample_procedure
from sim.engines.streams import Streams

VALUES = ["small", "large", "大型", "A", "B", ""]
TEMPLATES = [
    'kind == "{v}"',
    'kind != "{v}"',
    'kind in ["{v}", "{w}"]',
    'kind in ["{v}"] and flag',
    'not (kind == "{v}") or size > 40',
    'grade in ["{w}"] and kind != "{v}"',
    'kind == "{v}" and grade == "{w}"',
    "kind == grade or flag",
]
KINDS = {"kind": "categorical", "grade": "categorical", "flag": "boolean", "size": "numeric"}


def attributes(kind_values: list[str], grade_values: list[str]) -> tuple[Attribute, ...]:
    def shares(count: int) -> tuple[float, ...]:
        return tuple([1.0 / count] * count)

    return (
        Attribute(
            "kind", "categorical", values=tuple(kind_values), shares=shares(len(kind_values))
        ),
        Attribute(
            "grade", "categorical", values=tuple(grade_values), shares=shares(len(grade_values))
        ),
        Attribute("flag", "boolean", probability=0.4),
        Attribute("size", "numeric", distribution=Uniform(0, 100)),
    )


@settings(max_examples=60, deadline=None)
@given(
    kind_values=st.lists(st.sampled_from(VALUES), min_size=1, max_size=4, unique=True),
    grade_values=st.lists(st.sampled_from(VALUES), min_size=1, max_size=3, unique=True),
    template=st.sampled_from(TEMPLATES),
    v=st.sampled_from(VALUES),
    w=st.sampled_from(VALUES),
    seed=st.integers(0, 2**16),
)
def test_columns_match_case_by_case(kind_values, grade_values, template, v, w, seed):
    step = Step(
        id="s", name=Name("步", "step"), agency="desk", handling=Uniform(0, 1), waiting=Fixed(0.0)
    )
    procedure = Procedure(
        "proc",
        Name("测试", "Test"),
        4.0,
        "test",
        (step,),
        attributes=attributes(kind_values, grade_values),
    )
    draws = sample_procedure(Streams(np.random.SeedSequence(seed)), procedure, 40.0, 5.0)
    n = draws.cases
    columns = draws.attribute_columns
    assert set(draws.categories) == {"kind", "grade"}
    for name, (codes, values) in draws.categories.items():
        assert list(np.asarray(values, dtype=object)[codes]) == list(columns[name])
    cases = [draws.attributes(index) for index in range(n)]
    condition = compile_condition(template.format(v=v, w=w), KINDS)
    expected = [condition.evaluate(case) for case in cases]
    with_codes = evaluate_columns(condition, columns, n, draws.categories)
    without = evaluate_columns(condition, columns, n)
    assert with_codes.dtype == bool and without.dtype == bool
    assert with_codes.tolist() == expected
    assert without.tolist() == expected
    texts = [json.dumps(case, ensure_ascii=False) for case in cases]
    assert attribute_json(columns, n, draws.categories) == texts
    assert attribute_json(columns, n) == texts
    # Without the numeric column: texts written once per combination of values.
    few = {name: columns[name] for name in ("kind", "flag", "grade")}
    texts = [json.dumps({name: case[name] for name in few}, ensure_ascii=False) for case in cases]
    assert attribute_json(few, n, draws.categories) == texts
    assert attribute_json(few, n) == texts
