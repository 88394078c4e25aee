"""One condition language for every rule: typed, compiled once at load, never Python `eval`.

Conditions are `rule-engine` expressions over a case's declared attributes, for example
``project_class == "small_low_risk" and investment_mcny < 50`` or ``credit in ["A", "B"]``.
The context is typed from the attribute declarations, so a misspelt name, a comparison
of a text with a number or with a value the categorical attribute does not declare fails
when the file is loaded, with a suggestion.

Only what cannot crash or hang a run is accepted: comparisons, ``in [...]``, ``and``,
``or``, ``not``, ``?:``, and arithmetic ``+ - *`` and ``/`` by a non-zero number, on
attributes and literals, within `MAX_CONDITION_TERMS` terms and `MAX_CONDITION_DEPTH`
brackets. Refused at load: regular expressions (``=~``: some take exponential time),
powers, ``//``, ``%``, bitwise operators, comprehensions, indexing, ``.attributes``
such as ``.to_int`` and ``$`` built-ins. Some are refused before rule-engine parses the
text, because it computes constant parts while parsing. A condition on categorical and
boolean attributes only is evaluated at load for every combination of their values.
"""

from __future__ import annotations

import dataclasses
import decimal
import itertools
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import rule_engine
import rule_engine.parser
from rule_engine import ast
from rule_engine.types import coerce_value

from sim.domain.errors import InputError
from sim.domain.suggest import did_you_mean

ATTRIBUTE_TYPES = {
    "categorical": rule_engine.DataType.STRING,
    "boolean": rule_engine.DataType.BOOLEAN,
    "numeric": rule_engine.DataType.FLOAT,
}


# Words of the condition language: an attribute cannot be named so (`true` would be the
# literal, never the attribute).
RESERVED_WORDS = frozenset(rule_engine.parser.Parser.reserved_words)
MAX_CONDITION_CHARACTERS = 2000
MAX_CONDITION_TERMS = 64  # `and` / `or`
MAX_CONDITION_DEPTH = 16  # brackets inside brackets
# Largest number a condition may compute with (far above any attribute's values).
MAX_CONDITION_NUMBER = 1e15
# Combinations of categorical and boolean values evaluated at load, at most.
MAX_COMBINATIONS = 4096


class ConditionError(InputError):
    """A condition that does not compile, or a case it cannot be evaluated for.

    At run time it names the condition's file, line and field where the loader placed it.
    """


@dataclass(frozen=True, eq=False)
class Condition:
    """A compiled condition on case attributes.

    Attributes:
        text: The expression as written in the file.
        rule: The compiled rule-engine rule.
    """

    text: str
    rule: Any = field(repr=False)
    # Where it is written, for messages: not part of what it is (nor of a run's id).
    file: str | None = field(default=None, repr=False, compare=False)
    line: int | None = field(default=None, repr=False, compare=False)
    field: str | None = field(default=None, repr=False, compare=False)

    def evaluate(self, attributes: Mapping[str, Any]) -> bool:
        """Whether a case with these attribute values meets the condition.

        Raises:
            ConditionError: The values do not fit the condition (one is missing, say),
                naming the condition and the values.
        """
        try:
            return bool(self.rule.matches(attributes))
        except (rule_engine.errors.EngineError, ArithmeticError, RecursionError) as error:
            reason = getattr(error, "message", None) or str(error) or type(error).__name__
            used = sorted(self.rule.context.symbols)
            values = ", ".join(f"{name}={attributes.get(name)!r}" for name in used)
            raise ConditionError(
                f"condition '{self.text}' cannot be evaluated for a case with {values}: {reason}",
                self.file,
                self.line,
                self.field,
            ) from None

    def placed(self, file: Any, line: int | None, field: str | None) -> Condition:
        """The condition with its place in a file, for messages at run time."""
        return dataclasses.replace(self, file=str(file), line=line, field=field)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Condition) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


def compile_condition(
    text: str,
    attribute_kinds: Mapping[str, str],
    categories: Mapping[str, Sequence[str]] | None = None,
) -> Condition:
    """Compile ``text`` against attributes of the given kinds.

    Args:
        text: The expression.
        attribute_kinds: Attribute id to kind (``categorical``, ``boolean``, ``numeric``).
        categories: The declared values of categorical attributes, where known: a
            comparison with another value is refused, and a condition on categorical and
            boolean attributes only is evaluated for every combination of values.

    Returns:
        The compiled condition.

    Raises:
        ConditionError: On a syntax error, an unknown or misspelt attribute (with the
            closest declared name), a type mismatch, an attempt to reach Python
            internals, a construct that could crash or hang a run (see the module), a
            value a categorical attribute does not declare, or an expression that is not
            true/false.
    """
    if not isinstance(text, str) or not text.strip():
        raise ConditionError("a condition must be a non-empty expression")
    reserved = sorted(set(attribute_kinds) & RESERVED_WORDS)
    if reserved:
        raise ConditionError(_reserved_message(reserved[0]))
    _check_text(text)
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
    except (ArithmeticError, RecursionError) as error:  # a constant part computed while parsing
        raise ConditionError(
            f"condition '{text}' cannot be computed ({type(error).__name__}); "
            "compare attributes with plain values"
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
    _check_nodes(rule.statement.expression, text, attribute_kinds, categories or {})
    result_type = rule.statement.expression.result_type
    if result_type not in (rule_engine.DataType.BOOLEAN, rule_engine.DataType.UNDEFINED):
        raise ConditionError(
            f"condition '{text}' gives a {result_type.name.lower()}, not true/false; "
            "compare it with something (e.g. '< 50')"
        )
    condition = Condition(text=text, rule=rule)
    if categories:
        _evaluate_every_combination(condition, attribute_kinds, categories)
    return condition


def _reserved_message(name: str) -> str:
    return (
        f"an attribute cannot be named '{name}': it is a word of the condition language "
        f"({', '.join(sorted(RESERVED_WORDS))}), so a condition would read the word, not "
        f"the attribute; rename it (e.g. 'is_{name}')"
    )


def declared_values(attributes: Iterable[Any]) -> dict[str, tuple[str, ...]]:
    """The declared values of the categorical attributes (`sim.domain.model.Attribute`)."""
    return {a.id: tuple(a.values) for a in attributes if a.kind == "categorical"}


_TOKENS = re.compile(
    r"""(?P<text>[A-Za-z]?"(?:[^"\\]|\\.)*"|[A-Za-z]?'(?:[^'\\]|\\.)*')
    |(?P<comment>\#[^\n]*)
    |(?P<operator>\*\*|//|<<|>>|=~~?|!~~?|[&|^%])
    |(?P<word>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<open>[(\[{])
    |(?P<close>[)\]}])""",
    re.VERBOSE,
)
_REFUSED_OPERATORS = {
    "**": "powers (`**`)",
    "//": "`//`",
    "%": "`%`",
    "<<": "bitwise operators (`<<`)",
    ">>": "bitwise operators (`>>`)",
    "&": "bitwise operators (`&`)",
    "|": "bitwise operators (`|`)",
    "^": "bitwise operators (`^`)",
}
_REGEX = "regular expressions (`=~`, `!~`)"
_HINTS = {
    _REGEX: ': some take exponential time on long values; list the values with `in ["a", "b"]`',
    "`//`": "; divide with `/` by a number",
    "`%`": "; compare the attribute with values instead",
}


def _check_text(text: str) -> None:
    """Refuse, before parsing, what is too long or deep or could hang while parsing."""
    if len(text) > MAX_CONDITION_CHARACTERS:
        raise ConditionError(
            f"a condition of {len(text):,} characters is longer than the limit of "
            f"{MAX_CONDITION_CHARACTERS:,}; split it over several steps or reforms"
        )
    terms = depth = deepest = 0
    for token in _TOKENS.finditer(text):
        kind, value = token.lastgroup, token.group()
        if kind == "operator":
            what = _REGEX if "~" in value else _REFUSED_OPERATORS[value]
            raise ConditionError(
                f"{what} cannot be used in condition '{text}'{_HINTS.get(what, '')}"
            )
        if kind == "word" and value in ("for", "if"):
            raise ConditionError(
                f"comprehensions (`[... for ... in ...]`) cannot be used in condition '{text}'"
            )
        terms += kind == "word" and value in ("and", "or")
        depth += kind == "open"
        depth -= kind == "close"
        deepest = max(deepest, depth)
    if terms > MAX_CONDITION_TERMS:
        raise ConditionError(
            f"condition '{text[:60]}...' joins {terms + 1} terms with `and`/`or`, more than "
            f"the limit of {MAX_CONDITION_TERMS + 1}; for many values use `in [...]`"
        )
    if deepest > MAX_CONDITION_DEPTH:
        raise ConditionError(
            f"condition '{text[:60]}...' nests brackets {deepest} deep, more than the limit "
            f"of {MAX_CONDITION_DEPTH}"
        )


# What a condition may be built of (rule-engine's node types, and their operators).
_ALLOWED = {
    ast.LogicExpression: {"and", "or"},
    ast.UnaryExpression: {"not", "uminus"},
    ast.ComparisonExpression: {"eq", "ne"},
    ast.ArithmeticComparisonExpression: {"lt", "le", "gt", "ge"},
    ast.AddExpression: {"add"},
    ast.SubtractExpression: {"sub"},
    ast.ArithmeticExpression: {"mul", "tdiv"},
    ast.ContainsExpression: None,
    ast.TernaryExpression: None,
    ast.ArrayExpression: None,
    ast.SymbolExpression: None,
    ast.StringExpression: None,
    ast.FloatExpression: None,
    ast.BooleanExpression: None,
    ast.NullExpression: None,
}
_NAMES = {
    ast.GetItemExpression: "indexing (`x[...]`)",
    ast.GetSliceExpression: "slices (`x[a:b]`)",
    ast.GetAttributeExpression: "attributes of values (`.to_int`, `.length`, ...)",
    ast.ComprehensionExpression: "comprehensions",
    ast.FuzzyComparisonExpression: _REGEX,
}


def _check_nodes(
    node: Any, text: str, kinds: Mapping[str, str], categories: Mapping[str, Sequence[str]]
) -> None:
    """Refuse what is not in `_ALLOWED` and what `_check_arithmetic`, `_check_values` refuse.

    Division by anything but a non-zero number, huge numbers in arithmetic, and values a
    categorical attribute does not declare.
    """
    stack = [node]
    while stack:
        node = stack.pop()
        if isinstance(node, (tuple, list)):
            stack.extend(node)
            continue
        if not isinstance(node, ast.ExpressionBase):
            continue
        kind = type(node)
        if kind not in _ALLOWED or (
            _ALLOWED[kind] is not None and getattr(node, "type", None) not in _ALLOWED[kind]
        ):
            what = _NAMES.get(kind) or f"`{getattr(node, 'type', None) or kind.__name__}`"
            raise ConditionError(
                f"{what} cannot be used in condition '{text}'{_HINTS.get(what, '')}"
            )
        if kind in (ast.AddExpression, ast.SubtractExpression, ast.ArithmeticExpression):
            _check_arithmetic(node, text)
        _check_values(node, text, kinds, categories)
        stack.extend(getattr(node, name, None) for name in _CHILDREN)


def _check_arithmetic(node: Any, text: str) -> None:
    for side in (node.left, node.right):
        if isinstance(side, ast.FloatExpression) and not (
            side.value.is_finite() and abs(side.value) <= decimal.Decimal(MAX_CONDITION_NUMBER)
        ):
            raise ConditionError(
                f"condition '{text}' computes with {side.value}; numbers in arithmetic must "
                f"be at most {MAX_CONDITION_NUMBER:g}"
            )
    if getattr(node, "type", None) == "tdiv" and not (
        isinstance(node.right, ast.FloatExpression) and node.right.value != 0
    ):
        raise ConditionError(
            f"condition '{text}' divides by something else than a non-zero number: write "
            "the comparison without it (e.g. `a > 2 * b` for `a / b > 2`)"
        )


def _check_values(
    node: Any, text: str, kinds: Mapping[str, str], categories: Mapping[str, Sequence[str]]
) -> None:
    """Refuse a comparison of a categorical attribute with a value it does not declare."""
    pairs = []
    if type(node) is ast.ComparisonExpression:
        pairs = [(node.left, node.right), (node.right, node.left)]
    elif isinstance(node, ast.ContainsExpression) and isinstance(
        node.container, ast.ArrayExpression
    ):
        pairs = [(node.member, item) for item in node.container.value]
    for attribute, literal in pairs:
        if not (
            isinstance(attribute, ast.SymbolExpression)
            and attribute.name in categories
            and isinstance(literal, ast.StringExpression)
        ):
            continue
        values = [str(value) for value in categories[attribute.name]]
        if literal.value not in values:
            raise ConditionError(
                f"'{literal.value}' is not a value of attribute '{attribute.name}' in condition "
                f"'{text}'" + did_you_mean(literal.value, values, f"{attribute.name} takes")
            )


def _evaluate_every_combination(
    condition: Condition, kinds: Mapping[str, str], categories: Mapping[str, Sequence[str]]
) -> None:
    """Evaluate a condition on categorical and boolean attributes for all their values."""
    used = sorted(condition.rule.context.symbols)
    if not used or any(kinds.get(name) not in ("categorical", "boolean") for name in used):
        return
    choices = [
        list(categories[name]) if kinds[name] == "categorical" else [False, True] for name in used
    ]
    if np.prod([len(c) for c in choices], dtype=float) > MAX_COMBINATIONS:
        return
    for values in itertools.product(*choices):
        condition.evaluate(dict(zip(used, values, strict=True)))


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
