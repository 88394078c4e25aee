"""The one YAML reader: line numbers kept, limits enforced, every failure one `InputError`.

It refuses what YAML allows but a planner's file never needs (duplicate keys, tags,
aliases that expand enormously, deep nesting, text that is not UTF-8, files over
`MAX_FILE_BYTES` or that are not regular files) and reports the line. `line_of` and
`field_path` turn a location in the parsed data (keys and indexes) into the line and the
field a message names.
"""

from __future__ import annotations

import stat
import warnings
from collections.abc import Mapping, Sequence, Set
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import TaggedScalar
from ruamel.yaml.composer import Composer
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError, YAMLWarning
from ruamel.yaml.nodes import SequenceNode

from sim.domain.errors import InputError

MAX_FILE_BYTES = 5_000_000
# Values in a file once YAML aliases (`*name`) are expanded, and nesting depth: far above
# any real file, far below what exhausts memory (an alias "bomb" expands to billions).
MAX_YAML_VALUES = 1_000_000
MAX_YAML_DEPTH = 64
# Items of one list, and values written in a file, counted while parsing (about 50 µs a
# value): a list of a million numbers is refused at its 10,001st, in a fraction of a
# second, instead of after minutes of parsing.
MAX_LIST_ITEMS = 10_000
MAX_WRITTEN_VALUES = 100_000


class _TooLarge(Exception):
    """Raised while parsing: a list or the file holds too many values."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class _CountingComposer(Composer):
    """Counts values as it builds them and stops at the limits."""

    values = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.values += 1
        line = self.parser.peek_event().start_mark.line + 1
        if isinstance(parent, SequenceNode) and index >= MAX_LIST_ITEMS:
            raise _TooLarge(
                f"a list of more than {MAX_LIST_ITEMS:,} items; no field needs that many", line
            )
        if self.values > MAX_WRITTEN_VALUES:
            raise _TooLarge(f"more than {MAX_WRITTEN_VALUES:,} values in one file", line)
        return super().compose_node(parent, index)


class _DatesAsText(RoundTripConstructor):
    """Leaves YAML timestamps as text, so that pydantic reports `2025-02-30` with its line.

    (ruamel builds dates while loading and raises a bare ValueError without a line.)
    """


_DatesAsText.add_constructor(
    "tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node)
)


def read_yaml(path: Path) -> Any:
    """Parse a YAML file keeping line numbers; refuse duplicate keys and non-UTF-8 text.

    Parsed files are cached by path, size and modification time: a scenario reads each
    procedure file once however often it is named. Callers must not modify the result.
    """
    path = Path(path)
    try:
        status = path.stat()
    except OSError:
        status = None
    if status is not None and path.is_file():
        key = (str(path.resolve()), status.st_size, status.st_mtime_ns)
        if key not in _PARSED:
            if len(_PARSED) > 256:
                _PARSED.clear()
            _PARSED[key] = _parse_yaml(path)
        return _PARSED[key]
    return _parse_yaml(path)


_PARSED: dict[tuple[str, int, int], Any] = {}


def _parse_yaml(path: Path) -> Any:
    raw = read_bytes(path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        # `error.start` counts bytes: the message gives the line (and the byte) instead.
        line = raw.count(b"\n", 0, error.start) + 1
        before = raw[raw.rfind(b"\n", 0, error.start) + 1 : error.start]
        column = len(before.decode("utf-8", "replace")) + 1
        byte = raw[error.start : error.start + 1].hex()
        raise InputError(
            f"is not UTF-8 text (byte 0x{byte} at column {column}); save it as UTF-8",
            file=path,
            line=line,
        ) from None
    if not text.strip():
        raise InputError("file is empty", file=path)
    yaml = YAML(typ="rt")
    yaml.Constructor = _DatesAsText
    yaml.Composer = _CountingComposer
    try:
        with warnings.catch_warnings():
            # e.g. a redefined anchor (`&a` twice), valid YAML: the user sees one line
            # (the error) or none, not a parser's multi-line warning.
            warnings.simplefilter("ignore", YAMLWarning)
            data = yaml.load(text)
    except _TooLarge as error:
        raise InputError(f"YAML: {error.message}", file=path, line=error.line) from None
    except RecursionError:
        raise InputError(
            f"YAML: nested too deeply (more than {MAX_YAML_DEPTH} levels)", file=path
        ) from None
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(str(part) for part in (error.context, error.problem) if part)
        if "duplicate key" in problem:
            problem = problem.replace("\n", " ") + " (each key may appear once)"
        raise InputError(f"YAML: {problem}", file=path, line=line) from None
    except YAMLError as error:
        # e.g. a ReaderError: a control character; it gives a position, not a line.
        position = getattr(error, "position", None)
        line = text.count("\n", 0, position) + 1 if isinstance(position, int) else None
        reason = str(error).splitlines()[0] if line is not None else str(error)
        raise InputError(f"YAML: {reason}", file=path, line=line) from None
    except TypeError as error:
        # ruamel cannot use a list or mapping as a key (`{a: 1, {b: 2}: 3}`).
        if "unhashable" in str(error):
            raise InputError(
                "YAML: a list or mapping is used as a key; keys are names (check the "
                "braces and colons)",
                file=path,
            ) from None
        raise InputError(f"YAML: cannot read the file ({error})", file=path) from None
    except ValueError as error:  # a scalar ruamel cannot build
        raise InputError(f"YAML: cannot read the file ({error})", file=path) from None
    if data is None:
        raise InputError("file has only comments or blank lines", file=path)
    if not isinstance(data, dict):
        what = "a list (lines starting with `- `)" if isinstance(data, list) else "a single value"
        raise InputError(
            f"the file holds {what}; expected a mapping of `key: value` lines at the top",
            file=path,
            line=1,
        )
    _check_size(data, path)
    return data


def read_bytes(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, or an `InputError`.

    The kind and size are checked before reading, and no more than the limit is read, so
    that a FIFO, a device or a huge sparse file is refused at once.
    """
    try:
        status = path.stat()
    except FileNotFoundError:
        raise InputError("no such file", file=path) from None
    except OSError as error:
        raise InputError(f"cannot read the file: {error.strerror or error}", file=path) from None
    if stat.S_ISDIR(status.st_mode):
        raise InputError("is a folder, not a file: name a .yaml file", file=path)
    if not stat.S_ISREG(status.st_mode):
        raise InputError("is not a regular file (a pipe or a device?)", file=path)
    if status.st_size > limit:
        raise InputError(f"file is larger than {limit} bytes", file=path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(limit + 1)
    except OSError as error:
        raise InputError(f"cannot read the file: {error.strerror or error}", file=path) from None
    if len(raw) > limit:
        raise InputError(f"file is larger than {limit} bytes", file=path)
    return raw


def _check_size(data: Any, path: Path) -> None:
    """Refuse what YAML allows but a planner's file never needs.

    Aliases that expand enormously or contain themselves, deep nesting, tags (`!!python/
    object:...`, `!!binary`, `!custom`: plain values only) and text that is not valid
    Unicode (a lone surrogate, written as an escape in a double-quoted string).
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def fail(message: str, line: int | None) -> InputError:
        return InputError(f"YAML: {message}", file=path, line=line)

    def scalar(value: Any, line: int | None) -> None:
        tag = getattr(getattr(value, "tag", None), "value", None)
        if isinstance(value, TaggedScalar) or isinstance(value, bytes) or tag:
            shown = tag or ("!!binary" if isinstance(value, bytes) else "a tag")
            shown = shown.replace("tag:yaml.org,2002:", "!!")
            raise fail(f"tags such as `{shown}` are not allowed; write a plain value", line)
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise fail("text with an invalid character (a lone surrogate)", line) from None

    def size(node: Any, depth: int, line: int | None) -> int:
        scalar(node, line)
        if not isinstance(node, (Mapping, list, tuple, Set)):
            return 1
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise fail("an alias (`*name`) refers to a value that contains it", line)
        if depth > MAX_YAML_DEPTH:
            raise fail(f"nested too deeply (more than {MAX_YAML_DEPTH} levels)", line)
        open_nodes.add(key)
        total = 1
        if isinstance(node, Mapping):
            children = []
            for name, value in node.items():
                at = _line(node, "key", name, line)
                if isinstance(name, (Mapping, list, tuple, Set)):
                    raise fail(
                        "a list or mapping is used as a key; keys are names (check the "
                        "braces and colons)",
                        at,
                    )
                children += [(name, at), (value, at)]
        else:
            children = [(item, _line(node, "item", i, line)) for i, item in enumerate(node)]
        for child, at in children:
            total += size(child, depth + 1, at)
            if total > MAX_YAML_VALUES:
                raise fail(
                    f"more than {MAX_YAML_VALUES:,} values once aliases (`*name`) are "
                    "expanded; write the values out or use fewer aliases",
                    at,
                )
        open_nodes.discard(key)
        sizes[key] = total
        return total

    size(data, 0, 1)


def _line(node: Any, kind: str, which: Any, default: int | None) -> int | None:
    """1-based line of a mapping key or a list item, as ruamel recorded it."""
    try:
        return getattr(node.lc, kind)(which)[0] + 1
    except (AttributeError, KeyError, IndexError, TypeError):
        return default


def line_of(data: Any, loc: Sequence[Any]) -> int | None:
    """1-based line of the deepest node of ``loc`` that exists in the parsed YAML."""
    line = None
    node = data
    for key in loc:
        position = None
        try:
            if isinstance(node, dict) and key in node:
                position = node.lc.key(key) if hasattr(node, "lc") else None
                node = node[key]
            elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
                position = node.lc.item(key) if hasattr(node, "lc") else None
                node = node[key]
            else:
                break
        except (KeyError, AttributeError, TypeError):
            break
        if position is not None:
            line = position[0] + 1
    if line is None and hasattr(data, "lc"):
        line = data.lc.line + 1
    return line


def field_path(loc: Sequence[Any]) -> str:
    """``steps[2].handling.mode`` from a location tuple."""
    text = ""
    for key in loc:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
    return text
