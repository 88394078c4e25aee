"""One condition language for every rule: typed, compiled once at load, never Python `eval`.

Conditions are `rule-engine` expressions over a case's declared attributes, for example
``project_class == "small_low_risk" and investment_mcny < 50`` or ``credit in ["A", "B"]``.
The context is typed from the attribute declarations, so a misspelt name or a comparison
of a text with a number fails when the file is loaded, with rule-engine's suggestion.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import rule_engine
from rule_engine import ast
from rule_engine.types import coerce_value

ATTRIBUTE_TYPES = {
    "categorical": rule_engine.DataType.STRING,
    "boolean": rule_engine.DataType.BOOLEAN,
    "numeric": rule_engine.DataType.FLOAT,
}


class ConditionError(ValueError):
    """A condition that does not compile against the declared attributes."""


@dataclass(frozen=True, eq=False)
class Condition:
    """A compiled condition on case attributes.

    Attributes:
        text: The expression as written in the file.
        rule: The compiled rule-engine rule.
    """

    text: str
    rule: Any = field(repr=False)

    def evaluate(self, attributes: Mapping[str, Any]) -> bool:
        """Whether a case with these attribute values meets the condition.

        Raises:
            ConditionError: The values do not fit the condition (one is missing, say).
        """
        try:
            return bool(self.rule.matches(attributes))
        except rule_engine.errors.EngineError as error:
            raise ConditionError(f"condition '{self.text}': {error.message}") from None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Condition) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


def compile_condition(text: str, attribute_kinds: Mapping[str, str]) -> Condition:
    """Compile ``text`` against attributes of the given kinds.

    Args:
        text: The expression.
        attribute_kinds: Attribute id to kind (``categorical``, ``boolean``, ``numeric``).

    Returns:
        The compiled condition.

    Raises:
        ConditionError: On a syntax error, an unknown or misspelt attribute (with the
            closest declared name), a type mismatch, an attempt to reach Python
            internals, or an expression that is not true/false.
    """
    if not isinstance(text, str) or not text.strip():
        raise ConditionError("a condition must be a non-empty expression")
    types = {name: ATTRIBUTE_TYPES[kind] for name, kind in attribute_kinds.items()}
    context = rule_engine.Context(type_resolver=rule_engine.type_resolver_from_dict(types))
    known = ", ".join(sorted(types)) or "none declared"
    try:
        rule = rule_engine.Rule(text, context=context)
    except rule_engine.errors.SymbolResolutionError as error:
        hint = f"; did you mean '{error.suggestion}'?" if error.suggestion else ""
        raise ConditionError(
            f"unknown attribute '{error.symbol_name}' in condition '{text}'{hint} "
            f"(declared attributes: {known})"
        ) from None
    except rule_engine.errors.AttributeResolutionError as error:
        raise ConditionError(
            f"'{error.attribute_name}' cannot be used in condition '{text}': conditions "
            "may only compare attribute values"
        ) from None
    except rule_engine.errors.RuleSyntaxError as error:
        raise ConditionError(f"syntax error in condition '{text}': {error.message}") from None
    except rule_engine.errors.EngineError as error:
        raise ConditionError(
            f"condition '{text}' does not fit the attribute types ({error.message}); "
            f"declared attributes: {_describe(attribute_kinds)}"
        ) from None
    # A condition is a pure function of the case's attributes: no `$` built-ins, which
    # read the clock (`$now`, `$today`), draw unseeded random numbers (`$random`) or
    # build huge arrays (`$range`): results would not be reproducible, or not finish.
    used = _builtins_used(rule.statement.expression)
    if used:
        raise ConditionError(
            f"'${used[0]}' cannot be used in condition '{text}': conditions may only use "
            f"the case's attributes ({known})"
        )
    result_type = rule.statement.expression.result_type
    if result_type not in (rule_engine.DataType.BOOLEAN, rule_engine.DataType.UNDEFINED):
        raise ConditionError(
            f"condition '{text}' gives a {result_type.name.lower()}, not true/false; "
            "compare it with something (e.g. '< 50')"
        )
    return Condition(text=text, rule=rule)


_CHILDREN = (
    "left", "right", "object", "function", "arguments", "container", "item", "member",
    "condition", "case_true", "case_false", "result", "iterable", "start", "stop", "value",
    "expression",
)  # fmt: skip


def _builtins_used(expression: Any) -> list[str]:
    """Names of the `$` built-in symbols anywhere in a compiled expression."""
    found: list[str] = []
    stack = [expression]
    while stack:
        node = stack.pop()
        if isinstance(node, (tuple, list)):
            stack.extend(node)
            continue
        if not isinstance(node, ast.ExpressionBase):
            continue
        if isinstance(node, ast.SymbolExpression) and node.scope == "built-in":
            found.append(node.name)
        stack.extend(getattr(node, name, None) for name in _CHILDREN)
    return found


def _describe(attribute_kinds: Mapping[str, str]) -> str:
    return ", ".join(f"{name} ({kind})" for name, kind in sorted(attribute_kinds.items()))


def evaluate_columns(
    condition: Condition,
    columns: Mapping[str, Any],
    n: int,
    categories: Mapping[str, tuple[Any, list]] | None = None,
) -> Any:
    """Whether each of ``n`` cases meets ``condition``, given attribute columns.

    Gives exactly what `Condition.evaluate` gives case by case, without calling the rule
    engine once per case: comparisons of attributes with literals are computed on whole
    columns (values within two floating-point steps of a numeric literal are decided by
    the rule engine itself, which compares decimals), and anything else is evaluated
    once per distinct combination of the attributes the condition reads.

    Args:
        condition: The compiled condition.
        columns: Attribute id to a numpy array of ``n`` values (object arrays of text,
            boolean arrays, float arrays), as drawn by `sim.engines.draws`.
        n: How many cases.
        categories: For categorical columns, their codes and values if known
            (``values[codes]`` is the column): text comparisons are then made once per
            value.

    Returns:
        A boolean numpy array of length ``n``.
    """
    if n == 0:
        return np.zeros(0, dtype=bool)
    coded = columns
    if categories:
        coded = {
            name: _Coded(*categories[name]) if name in categories else column
            for name, column in columns.items()
        }
    try:
        result = _vector(condition.rule.statement.expression, coded)
        if isinstance(result, np.ndarray) and result.dtype == bool and result.shape == (n,):
            return result
        if isinstance(result, (bool, np.bool_)):
            return np.full(n, bool(result))
    except _Unsupported:
        pass
    return _by_distinct_rows(condition, columns, n)


class _Unsupported(Exception):
    """A node the column evaluator does not handle: fall back to the rule engine."""


_COMPARE = {
    "eq": "__eq__",
    "ne": "__ne__",
    "lt": "__lt__",
    "le": "__le__",
    "gt": "__gt__",
    "ge": "__ge__",
}


def _vector(node: Any, columns: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.LogicExpression):
        left = _boolean(_vector(node.left, columns))
        right = _boolean(_vector(node.right, columns))
        if node.type == "and":
            return left & right
        if node.type == "or":
            return left | right
        raise _Unsupported
    if isinstance(node, ast.UnaryExpression) and node.type == "not":
        return ~_boolean(_vector(node.right, columns))
    if isinstance(node, ast.SymbolExpression):
        column = columns.get(node.name)
        if column is None or getattr(column, "dtype", None) is None:
            raise _Unsupported
        return column
    if isinstance(node, ast.BooleanExpression):
        return bool(node.value)
    if isinstance(node, ast.StringExpression):
        return _Literal(node.value, None)
    if isinstance(node, ast.FloatExpression):
        return _Literal(node.value, float(node.value))
    if isinstance(node, ast.ComparisonExpression) and node.type in _COMPARE:
        return _compare(node, columns)
    if isinstance(node, ast.ContainsExpression):
        member = _vector(node.member, columns)
        container = node.container
        if not (
            isinstance(container, ast.ArrayExpression)
            and isinstance(member, (np.ndarray, _Coded))
            and member.dtype.kind in "OUb"
            and all(
                isinstance(item, (ast.StringExpression, ast.BooleanExpression))
                for item in container.value
            )
        ):
            raise _Unsupported
        items = [item.value for item in container.value]
        if member.dtype.kind == "b":
            items = [item for item in items if isinstance(item, bool)]
            return np.isin(member, items) if items else np.zeros(member.shape, dtype=bool)
        texts = [item for item in items if isinstance(item, str)]
        if isinstance(member, _Coded):
            # Each value compared with each text once, as the element-wise test would.
            return member.where(lambda value: any(bool(value == text) for text in texts))
        result = np.zeros(member.shape, dtype=bool)
        for text in texts:
            result |= member == text
        return result
    raise _Unsupported


class _Coded:
    """A categorical column as codes into its values (``values[codes]``)."""

    def __init__(self, codes: Any, values: list):
        self.codes = codes
        self.values = values

    @property
    def dtype(self) -> Any:
        """Object, as the column's."""
        return np.dtype(object)

    def where(self, test: Callable[[Any], bool]) -> Any:
        """Whether each case's value passes ``test`` (called once per value)."""
        table = np.array([bool(test(value)) for value in self.values], dtype=bool)
        return table[self.codes]


class _Literal:
    """A literal: its rule-engine value (str or Decimal) and, for numbers, a float."""

    def __init__(self, value: Any, number: float | None):
        self.value = value
        self.number = number


def _boolean(value: Any) -> Any:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, np.ndarray) and value.dtype == bool:
        return value
    raise _Unsupported


def _compare(node: Any, columns: Mapping[str, Any]) -> Any:
    left = _vector(node.left, columns)
    right = _vector(node.right, columns)
    op = getattr(operator, node.type)
    if isinstance(left, _Literal) and isinstance(right, (np.ndarray, _Coded)):
        flipped = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le"}.get(node.type, node.type)
        left, right, op = right, left, getattr(operator, flipped)
    if isinstance(left, _Coded) and isinstance(right, _Literal) and right.number is None:
        if node.type not in ("eq", "ne"):
            raise _Unsupported
        return left.where(lambda value: op(value, right.value))
    if not (isinstance(left, np.ndarray) and isinstance(right, _Literal)):
        raise _Unsupported
    if left.dtype.kind == "O" and right.number is None:
        if node.type not in ("eq", "ne"):
            raise _Unsupported
        return op(left, right.value).astype(bool)
    if left.dtype.kind == "f" and right.number is not None:
        result = op(left, right.number)
        # Decide the values next to the literal as the rule engine does (in decimals).
        pivot = np.float64(right.number)
        low = np.nextafter(np.nextafter(pivot, -np.inf), -np.inf)
        high = np.nextafter(np.nextafter(pivot, np.inf), np.inf)
        close = np.flatnonzero((left >= low) & (left <= high))
        if close.size:
            exact = [bool(op(coerce_value(v), right.value)) for v in left[close].tolist()]
            result[close] = exact
        return result
    raise _Unsupported


def factorize(column: np.ndarray) -> tuple[np.ndarray, list]:
    """Codes and distinct values of a column (``values[codes]`` is the column)."""
    if column.dtype == bool:
        return column.astype(np.int64), [False, True]
    if column.dtype == object:
        codes, distinct = pd.factorize(column)
        return codes.astype(np.int64, copy=False), list(distinct)
    distinct, inverse = np.unique(column, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64, copy=False), distinct.tolist()


def _by_distinct_rows(condition: Condition, columns: Mapping[str, Any], n: int) -> Any:
    names = sorted(name for name in condition.rule.context.symbols if name in columns)
    codes = np.zeros(n, dtype=np.int64)
    for name in names:
        inverse, distinct = factorize(np.asarray(columns[name]))
        codes = codes * len(distinct) + inverse
        codes = np.unique(codes, return_inverse=True)[1].reshape(-1)  # keep codes below n
    _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    values = np.array(
        [
            condition.evaluate({name: columns[name][[index]].tolist()[0] for name in columns})
            for index in first.tolist()
        ],
        dtype=bool,
    )
    return values[inverse.reshape(-1)]
