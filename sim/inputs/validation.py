"""The one translator of pydantic's validation errors into a line a planner can act on.

`explain` turns the first problem of a `ValidationError` into a sentence and its place
in the data (keys and indexes); `validated` checks a whole file's data against a model
and raises an `InputError` naming the file, line and field. Reform parameters use
`explain` too, and place the problem inside their reform (`sim.reforms.base`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar, get_args

from pydantic import BaseModel, ValidationError

from sim.domain.errors import InputError
from sim.domain.suggest import did_you_mean
from sim.inputs.yaml import field_path, line_of

Spec = TypeVar("Spec", bound=BaseModel)

IDENTIFIER_RULE = "must be lower-case letters, digits and underscores, starting with a letter"


def validated(model: type[Spec], data: Any, path: Path | str) -> Spec:
    """``data`` (a parsed file) checked against ``model``, or an `InputError`.

    Raises:
        InputError: The first problem, with the file, its line and the field.
    """
    try:
        return model.model_validate(data)
    except ValidationError as error:
        message, loc = explain(error, model, data)
        raise InputError(
            message, file=path, line=line_of(data, loc), field=field_path(loc) or None
        ) from None


def explain(error: ValidationError, model: type[BaseModel], data: Any) -> tuple[str, list[Any]]:
    """The first problem of ``error`` as one sentence, and where it is in ``data``.

    A misspelt field is both unknown and (under its right name) missing: the misspelling
    is reported. Where a field accepts several kinds of value (a union), the sentence
    says what it accepts rather than why each kind failed.

    Args:
        error: What pydantic found.
        model: The model ``data`` was checked against (for the names a field may have).
        data: The data checked.

    Returns:
        ``(message, location)``; the location lists keys and indexes of ``data``.
    """
    problems = sorted(error.errors(), key=lambda p: p["type"] != "extra_forbidden")
    first = problems[0]
    loc = _data_loc(first["loc"], data)
    message = str(first["msg"])
    alternatives = [p for p in problems if _data_loc(p["loc"], data) == loc]
    if len(alternatives) > 1:
        kinds = {p["type"] for p in alternatives}
        if "dict_type" in kinds:
            message = "must be a number (fixed working days) or a mapping with `type:`"
        elif "literal_error" in kinds and kinds & {"int_parsing", "int_from_float", "int_type"}:
            words = [p["ctx"]["expected"] for p in alternatives if p["type"] == "literal_error"]
            message = f"must be a whole number or {words[0]}"
        else:
            message = " or ".join(sorted({p["msg"] for p in alternatives}))
        problems = [p for p in problems if p not in alternatives[1:]]
    single = len(alternatives) == 1
    if first["type"] == "extra_forbidden":
        owner = _model_at(model, loc[:-1])
        message = f"unknown field '{loc[-1]}'" + did_you_mean(loc[-1], _keys(owner), "allowed")
    elif first["type"] == "missing":
        message = f"missing required field '{loc[-1]}'"
    elif first["type"] == "too_short" and single:
        least = first.get("ctx", {}).get("min_length", 1)
        message = f"must list at least {least} item{'s' if least != 1 else ''}"
    elif first["type"] == "value_error" and single:
        message = message.removeprefix("Value error, ")
    elif first["type"] == "string_pattern_mismatch":
        message = IDENTIFIER_RULE
    elif _is_nan(first.get("input")):  # NaN fails every bound: "should be <= 1" misleads
        message = "must be a number, not .nan (not a number)"
    more = len(problems) - 1
    if more:
        message += f" (and {more} more problem{'s' if more > 1 else ''})"
    return message, loc


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _data_loc(loc: Sequence[Any], data: Any) -> list[Any]:
    """The keys and indexes of ``loc`` in the data, without pydantic's union tags.

    A part that is a key (or index) of the data at its place is kept, even if it looks
    like a tag (a key may be written `int` or `a[b`); so is a missing field's name.
    """
    kept: list[Any] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        elif _is_union_tag(part):
            continue
        else:
            node = None
        kept.append(part)
    return kept


def _is_union_tag(part: Any) -> bool:
    # pydantic adds the union member's type to `loc` (e.g. 'float', "literal['all']").
    return isinstance(part, str) and (
        "[" in part or part in {"int", "float", "str", "bool", "list", "dict"}
    )


def _keys(model: type[BaseModel]) -> list[str]:
    return [info.alias or key for key, info in model.model_fields.items()]


def _model_at(model: type[BaseModel], loc: Sequence[Any]) -> type[BaseModel]:
    """The model that holds the field at ``loc`` (indexes into lists are passed over)."""
    for key in loc:
        if isinstance(key, int):
            continue
        info = next((i for k, i in model.model_fields.items() if key in (k, i.alias)), None)
        nested = [c for c in _annotations(info.annotation) if _is_model(c)] if info else []
        if not nested:
            break
        model = nested[0]
    return model


def _annotations(annotation: Any) -> list[Any]:
    """An annotation and every type nested in it (lists, unions, Annotated)."""
    found = [annotation]
    for arg in get_args(annotation):
        found.extend(_annotations(arg))
    return found


def _is_model(candidate: Any) -> bool:
    return isinstance(candidate, type) and issubclass(candidate, BaseModel)
