"""Writing fitted procedure and scenario files: readable YAML with a comment per fitted number.

The mappings come from `sim.analysis.calibration` (already validated by the loader);
this module only spells them out: block style for steps and lists of mappings, flow
style for names and distributions, every text double-quoted, and the comment of each
fitted number above it. Files are written atomically.
"""

from __future__ import annotations

import json
import math
import re
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sim.run.files import write_atomically

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FLOW_WIDTH = 96
_WRAP = 96


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


def _key(key: Any) -> str:
    text = str(key)
    return (
        text
        if _PLAIN_KEY.match(text) and text not in ("true", "false", "null", "yes", "no")
        else _scalar(text)
    )


def _flow(value: Any) -> str | None:
    """The value on one line in flow style, or None when it holds mappings of mappings."""
    if isinstance(value, Mapping):
        parts = []
        for key, item in value.items():
            if isinstance(item, Mapping):
                return None
            inner = _flow(item) if isinstance(item, list) else _scalar(item)
            if inner is None:
                return None
            parts.append(f"{_key(key)}: {inner}")
        return "{" + ", ".join(parts) + "}"
    if isinstance(value, list):
        if any(isinstance(item, (Mapping, list)) for item in value):
            return None
        return "[" + ", ".join(_scalar(item) for item in value) + "]"
    return _scalar(value)


def _wrapped_list(values: list[Any], indent: str) -> list[str]:
    """A long flow list over several lines (valid YAML inside the brackets)."""
    items = [_scalar(v) for v in values]
    lines = textwrap.wrap(", ".join(items), _FLOW_WIDTH, break_on_hyphens=False)
    return ["["] + [f"{indent}  {line}" for line in lines] + [f"{indent}]"]


def _comment_lines(text: str, indent: str) -> list[str]:
    return [f"{indent}# {line}" for line in textwrap.wrap(text, _WRAP - len(indent))]


def dump(
    data: Mapping[str, Any], comments: Mapping[tuple, str] | None = None, header: str = ""
) -> str:
    """A mapping as YAML text, comments above the values they belong to.

    Args:
        data: The mapping (dicts, lists, text, numbers, booleans).
        comments: Location (keys and indexes) to comment text.
        header: Comment lines at the top.
    """
    comments = comments or {}
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    _mapping(data, (), "", lines, comments)
    return "\n".join(lines) + "\n"


def _mapping(
    data: Mapping[str, Any], where: tuple, indent: str, lines: list[str], comments
) -> None:
    for key, value in data.items():
        _entry(f"{_key(key)}:", value, (*where, key), indent, lines, comments, first_prefix=None)


def _entry(
    label: str, value: Any, where: tuple, indent: str, lines, comments, first_prefix
) -> None:
    note = comments.get(where)
    lead = first_prefix if first_prefix is not None else indent
    if note:
        lines.extend(_comment_lines(note, indent))
    flow = _flow(value)
    short = flow is not None and len(lead) + len(label) + len(flow) + 1 <= _FLOW_WIDTH + 40
    if short or not isinstance(value, (Mapping, list)):
        lines.append(f"{lead}{label} {flow}")
        return
    if isinstance(value, list) and flow is not None:
        wrapped = _wrapped_list(value, indent)
        lines.append(f"{lead}{label} {wrapped[0]}")
        lines.extend(wrapped[1:])
        return
    lines.append(f"{lead}{label}")
    if isinstance(value, Mapping):
        _mapping(value, where, indent + "  ", lines, comments)
        return
    for index, item in enumerate(value):
        inner = indent + "    "
        if isinstance(item, Mapping):
            for position, (key, part) in enumerate(item.items()):
                prefix = f"{indent}  - " if position == 0 else None
                _entry(f"{_key(key)}:", part, (*where, index, key), inner, lines, comments, prefix)
        else:
            lines.append(f"{indent}  - {_flow(item)}")


def write_yaml(
    path: Path,
    data: Mapping[str, Any],
    comments: Mapping[tuple, str] | None = None,
    header: str = "",
) -> Path:
    """Write a mapping as YAML, atomically."""
    text = dump(data, comments, header)
    write_atomically(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))
    return path
