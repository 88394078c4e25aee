"""Errors a user can cause, each reported as one line naming the file, line and field."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class InputError(Exception):
    """Bad input: a file, a line, a field and what to do about it."""

    message: str
    file: Path | str | None = None
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        # Without a file (a command-line option), the message starts with the field.
        where = f"{self.file}:" if self.file is not None else ""
        if self.file is not None and self.line is not None:
            where += f"{self.line}:"
        field = f"[{self.field}] " if self.field else ""
        return f"{where} {field}{self.message}".lstrip()
