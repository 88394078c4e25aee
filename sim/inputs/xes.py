"""A streaming reader of XES event logs (IEEE 1849), without pm4py.

The file is parsed with expat in chunks, so a large log is never held as a tree: each
event becomes one flat row of its attributes, with its trace's attributes under
``case:`` names (``case:concept:name`` is the case id), as pm4py and Celonis write event
logs as tables. Nested attributes (lists, containers, meta data) are skipped; log-level
attributes and ``<global>`` defaults are not applied. Document type declarations are
refused, so entity expansion cannot blow up memory.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import IO, Any
from xml.parsers import expat

import pandas as pd

from sim.domain.errors import InputError

ATTRIBUTE_TAGS = frozenset({"string", "date", "int", "float", "boolean", "id"})
_CHUNK = 1 << 20


class _Refused(Exception):
    """A document type declaration (entities could expand without bound)."""


class _Handler:
    """Expat callbacks collecting one row an event."""

    def __init__(self, parser: Any) -> None:
        self.parser = parser
        self.rows: list[dict[str, str]] = []
        self.lines: list[int] = []
        self.trace: dict[str, str] | None = None
        self.event: dict[str, str] | None = None
        # Elements open below the current trace or event, to skip nested attributes.
        self.depth = 0
        self.traces = 0

    def start(self, tag: str, attributes: dict[str, str]) -> None:
        name = tag.rsplit("}", 1)[-1].rsplit(" ", 1)[-1]
        if self.depth:
            self.depth += 1
            return
        if name == "trace":
            self.trace = {}
            self.traces += 1
        elif name == "event" and self.trace is not None:
            self.event = {}
            self.lines.append(self.parser.CurrentLineNumber)
        elif name in ATTRIBUTE_TAGS and (self.event is not None or self.trace is not None):
            key, value = attributes.get("key"), attributes.get("value")
            if key is not None and value is not None:
                if self.event is not None:
                    self.event[key] = value
                else:
                    assert self.trace is not None
                    self.trace[f"case:{key}"] = value
            self.depth = 1
        elif name not in ("log", "trace", "event") and self.trace is not None:
            self.depth = 1

    def end(self, tag: str) -> None:
        if self.depth:
            self.depth -= 1
            return
        name = tag.rsplit("}", 1)[-1].rsplit(" ", 1)[-1]
        if name == "event" and self.event is not None:
            assert self.trace is not None
            self.rows.append({**self.trace, **self.event})
            self.event = None
        elif name == "trace":
            self.trace = None


def _refuse(*_: Any) -> None:
    raise _Refused


def _open(path: Path) -> IO[bytes]:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")
    return path.open("rb")


def read_xes(path: Path) -> tuple[pd.DataFrame, list[int]]:
    """The events of an XES file as a table of text, one row an event.

    Args:
        path: An ``.xes`` or ``.xes.gz`` file.

    Returns:
        ``(table, lines)``: the events' attributes as text columns (a trace attribute
        ``k`` as ``case:k``), and the line of each event's ``<event>`` element.

    Raises:
        InputError: The file cannot be read, is not well-formed XML, declares a document
            type, or holds no event.
    """
    parser = expat.ParserCreate(namespace_separator=" ")
    handler = _Handler(parser)
    parser.StartElementHandler = handler.start
    parser.EndElementHandler = handler.end
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    try:
        with _open(path) as handle:
            while chunk := handle.read(_CHUNK):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except _Refused:
        raise InputError(
            "declares a document type (<!DOCTYPE>), which an XES log does not need; "
            "it is refused because its entities could expand without bound",
            file=path,
            line=parser.CurrentLineNumber,
        ) from None
    except expat.ExpatError as error:
        raise InputError(
            f"is not well-formed XML: {expat.errors.messages[error.code]}",
            file=path,
            line=error.lineno,
        ) from None
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise InputError(f"cannot read the file: {reason}", file=path) from None
    if not handler.rows:
        what = f"{handler.traces} traces but no event" if handler.traces else "no trace"
        raise InputError(f"the XES log holds {what}", file=path)
    return pd.DataFrame.from_records(handler.rows).astype(object), handler.lines
