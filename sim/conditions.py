"""One condition language for every rule: typed, compiled once at load, never Python `eval`.

Conditions are `rule-engine` expressions over a case's declared attributes, for example
``project_class == "small_low_risk" and investment_mcny < 50`` or ``credit in ["A", "B"]``.
The context is typed from the attribute declarations, so a misspelt name or a comparison
of a text with a number fails when the file is loaded, with rule-engine's suggestion.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import rule_engine

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
        """Whether a case with these attribute values meets the condition."""
        return bool(self.rule.matches(attributes))

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
    result_type = rule.statement.expression.result_type
    if result_type not in (rule_engine.DataType.BOOLEAN, rule_engine.DataType.UNDEFINED):
        raise ConditionError(
            f"condition '{text}' gives a {result_type.name.lower()}, not true/false; "
            "compare it with something (e.g. '< 50')"
        )
    return Condition(text=text, rule=rule)


def _describe(attribute_kinds: Mapping[str, str]) -> str:
    return ", ".join(f"{name} ({kind})" for name, kind in sorted(attribute_kinds.items()))
