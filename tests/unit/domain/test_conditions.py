"""Conditions: what could crash or hang a run is refused at load; what is accepted runs.

Each refused form once crashed a run with a traceback (division by zero, indexing past a
value, ``.to_int`` on text, huge powers), hung it (a backtracking regular expression,
nested comprehensions, a constant shift computed while parsing) or gave silently wrong
results (a value the attribute does not declare, an attribute named ``true``).
"""

from __future__ import annotations

import time

import pytest

from sim.domain.conditions import (
    MAX_CONDITION_TERMS,
    ConditionError,
    compile_condition,
    evaluate_columns,
)

KINDS = {"big": "boolean", "size": "categorical", "investment": "numeric"}
VALUES = {"size": ("small", "large")}


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("big and investment / 0 > 1", "divides by something else"),
        ("investment / investment > 1", "divides by something else"),
        ("investment / (2 - 2) > 1", "divides by something else"),
        ('size[10] == "a"', "indexing"),
        ('size[1:3] == "a"', "slices"),
        ("size.to_int > 1", ".to_int"),
        ("size.length > 1", ".to_int"),
        ("investment ** 99999999 > 1", "powers"),
        ("2 ** 99999999 > 1", "powers"),
        ("investment // 3 > 1", "`//`"),
        ("investment % 3 == 1", "`%`"),
        ("1 << 99999999 > 0", "bitwise"),
        ("big & big", "bitwise"),
        ('size =~ "(a+)+$"', "regular expressions"),
        ('"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!" =~ "(a+)+$"', "regular expressions"),
        ('size !~ "x"', "regular expressions"),
        ("[[x for x in [1, 2]] for y in [1, 2]].length > 0", "comprehensions"),
        ("investment * 1e999999 > 1", "at most"),
        (" and ".join(["big"] * 500), "limit"),
        (" or ".join(["big"] * (MAX_CONDITION_TERMS + 2)), "limit of"),
        ("(" * 20 + "big" + ")" * 20, "nests brackets"),
        ('size == "smal"', "did you mean 'small'?"),
        ('"larg" != size', "did you mean 'large'?"),
        ('size in ["small", "huge"]', "size takes: small, large"),
    ],
)
def test_what_could_crash_or_hang_a_run_is_refused_at_load(text, words):
    started = time.monotonic()
    with pytest.raises(ConditionError, match=None) as caught:
        compile_condition(text, KINDS, VALUES)
    assert time.monotonic() - started < 2
    assert words in str(caught.value), str(caught.value)


@pytest.mark.parametrize(
    "text",
    [
        "big and investment > 50",
        'size == "small" and not big',
        'size in ["small", "large"] or investment <= 10',
        "investment / 2 > 1 and -investment < 3",
        "investment * 2 + 1 > investment - 3",
        "big ? investment > 1 : false",
        '"sm" in size',
        "big # a comment may say ** or =~",
        " and ".join(["big"] * MAX_CONDITION_TERMS),
    ],
)
def test_safe_conditions_compile_and_match_column_evaluation(text):
    import numpy as np

    condition = compile_condition(text, KINDS, VALUES)
    columns = {
        "big": np.array([True, False, True, False]),
        "size": np.array(["small", "large", "large", "small"], dtype=object),
        "investment": np.array([0.0, 5.5, 60.0, 1e6]),
    }
    expected = [
        condition.evaluate({name: column.tolist()[i] for name, column in columns.items()})
        for i in range(4)
    ]
    assert evaluate_columns(condition, columns, 4).tolist() == expected


@pytest.mark.parametrize("word", ["true", "false", "null", "and", "in", "nan"])
def test_an_attribute_named_like_a_word_of_the_language_is_refused(word):
    with pytest.raises(ConditionError, match=f"cannot be named '{word}'"):
        compile_condition("x", {word: "boolean", "x": "boolean"})


def test_a_condition_that_fails_at_run_time_names_the_condition_its_place_and_the_values():
    # Nothing accepted should fail; if something does, the message is one line that
    # names the condition, where it is written and the case's values.
    condition = compile_condition("investment > 1", KINDS).placed("proc.yaml", 31, "steps[2].when")
    with pytest.raises(ConditionError) as caught:
        condition.evaluate({"investment": "not a number"})
    text = str(caught.value)
    assert text.startswith("proc.yaml:31: [steps[2].when] condition 'investment > 1'")
    assert "investment='not a number'" in text


def test_categorical_conditions_are_evaluated_for_every_value_at_load():
    # Every combination of declared values is tried once: a condition that cannot be
    # evaluated for one of them fails here, not in the middle of a run.
    seen = []
    condition = compile_condition('size == "small" or big', KINDS, VALUES)
    original = condition.rule.matches

    class Spy:
        def __getattr__(self, name):
            return getattr(condition.rule, name)

        def matches(self, values):
            seen.append(dict(values))
            return original(values)

    import dataclasses

    from sim.domain import conditions

    spied = dataclasses.replace(condition, rule=Spy())
    conditions._evaluate_every_combination(spied, KINDS, VALUES)
    assert len(seen) == 4 and {v["size"] for v in seen} == {"small", "large"}
