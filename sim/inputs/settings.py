"""Settings changed on the command line: ``--set agencies.housing_bureau.staff=8..14``.

A setting names a value of a scenario file by its path, and gives the values to try:

* ``agencies.<id>.staff`` (an agency's staff), ``procedures.<id>.arrivals_per_day`` (a
  procedure's arrivals), ``horizon.working_days``, ``replications``, or any other value
  of the file: a mapping's key is a step of the path, a list's item is found by its
  ``id``, ``procedure`` or ``name`` (or by its position, ``variants.0``);
* values as a list ``0.5,1,2`` or an inclusive range of whole numbers ``8..14``
  (``8..14..2`` in steps of 2).

`apply_settings` returns a changed copy of the parsed file; the scenario it makes is then
validated as any file is, so a bad value is an error naming the file and the field.
"""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sim.domain.errors import InputError
from sim.domain.suggest import did_you_mean

# Keys that identify the items of a list in a scenario file.
ITEM_KEYS = ("id", "procedure", "name")
# A sweep of more points than this is refused (a typo in a range, most likely).
MAX_POINTS = 10_000
_RANGE = re.compile(r"^\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*(?:\.\.\s*(\d+)\s*)?$")


@dataclass(frozen=True)
class Setting:
    """One ``--set``: a path into the scenario file and the values to try there."""

    path: str
    values: tuple[Any, ...]

    @property
    def steps(self) -> tuple[str, ...]:
        """The path's steps."""
        return tuple(self.path.split("."))


def parse_setting(text: str) -> Setting:
    """A ``path=values`` text as a `Setting`.

    Raises:
        InputError: No ``=``, an empty path or value, or a range that is not one.
    """
    path, equals, values = text.partition("=")
    path = path.strip()
    if not equals or not path or not values.strip() or any(not p for p in path.split(".")):
        raise InputError(
            f"--set takes PATH=VALUES (agencies.housing_bureau.staff=8..14 or "
            f"procedures.company_setup.arrivals_per_day=10,20), not '{text}'"
        )
    found = _RANGE.match(values)
    if found:
        low, high, step = int(found[1]), int(found[2]), int(found[3] or 1)
        if high < low or step < 1:
            raise InputError(f"--set {path}: the range '{values}' is empty")
        if (high - low) // step + 1 > MAX_POINTS:
            raise InputError(f"--set {path}: the range '{values}' has over {MAX_POINTS:,} values")
        return Setting(path, tuple(range(low, high + 1, step)))
    parsed = tuple(_value(part.strip()) for part in values.split(","))
    if any(part == "" for part in parsed):
        raise InputError(f"--set {path}: an empty value in '{values}'")
    return Setting(path, tuple(dict.fromkeys(parsed)))


def _value(text: str) -> Any:
    """A number where the text is one (integers stay integers), else the text."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return {"true": True, "false": False}.get(text, text)


def grid(settings: Sequence[Setting]) -> list[dict[str, Any]]:
    """Every combination of the settings' values, the first setting varying slowest.

    Raises:
        InputError: Two settings of one path, or more than `MAX_POINTS` points.
    """
    paths = [s.path for s in settings]
    repeated = [p for p in paths if paths.count(p) > 1]
    if repeated:
        raise InputError(f"--set {repeated[0]} is given twice")
    count = 1
    for setting in settings:
        count *= len(setting.values)
    if count > MAX_POINTS:
        raise InputError(f"the settings make {count:,} points, more than {MAX_POINTS:,}")
    return [
        dict(zip(paths, values, strict=True))
        for values in itertools.product(*(s.values for s in settings))
    ]


def apply_settings(data: Any, point: dict[str, Any], file: Any = None) -> Any:
    """A copy of a parsed scenario file with the point's values set.

    Raises:
        InputError: A path that does not lead to a value of the file, naming the step
            that is not there and what is.
    """
    changed = copy.deepcopy(data)
    for path, value in point.items():
        _set(changed, path.split("."), value, path, file)
    return changed


def _set(data: Any, steps: list[str], value: Any, path: str, file: Any) -> None:
    node = data
    for depth, step in enumerate(steps):
        last = depth == len(steps) - 1
        where = ".".join(steps[: depth + 1])
        if isinstance(node, dict):
            if step not in node and not last:
                raise _missing(path, where, list(node), file)
            if last:
                if step not in node and not isinstance(value, (int, float, str)):
                    raise _missing(path, where, list(node), file)
                node[step] = value
                return
            node = node[step]
        elif isinstance(node, list):
            index = _item(node, step)
            if index is None:
                names = [_item_name(item) for item in node if isinstance(item, dict)]
                raise _missing(path, where, names, file)
            if last:
                node[index] = value
                return
            node = node[index]
        else:
            raise InputError(
                f"--set {path}: '{'.'.join(steps[:depth])}' is a value, not a mapping or list",
                file=file,
            )


def _item(items: list, step: str) -> int | None:
    for index, item in enumerate(items):
        if isinstance(item, dict) and any(str(item.get(key)) == step for key in ITEM_KEYS):
            return index
    if step.isdigit() and int(step) < len(items):
        return int(step)
    return None


def _item_name(item: dict) -> str:
    return next((str(item[key]) for key in ITEM_KEYS if key in item), "")


def _missing(path: str, where: str, known: Iterable[str], file: Any) -> InputError:
    step = where.split(".")[-1]
    known = [str(k) for k in known]
    return InputError(
        f"--set {path}: the scenario has no '{where}'{did_you_mean(step, known)}",
        file=file,
    )
