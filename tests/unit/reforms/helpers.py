"""Helpers of the reform tests: run a variant, read its tables, catch a load error.

Every test writes small procedure and scenario files (`tests.factories.write_scenario`),
loads them with the real loader (which resolves every variant, so a bad reform is a load
error) and runs the real engine. With fixed durations and unlimited staff every case of a
procedure takes exactly the same time, so each test asserts on every case. The
procedures here are used by the tests of several reform families.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sim import load_scenario
from sim.domain.errors import InputError
from tests.factories import SOURCE, flag, procedure, reform, step, write_scenario
from tests.factories import run as run_variant

# --------------------------------------------------------------------------- running


def run(path: Path, variant: str = "v") -> tuple[pd.DataFrame, pd.DataFrame]:
    """The case and step tables of one run of the variant (seed 0)."""
    _, cases, steps = run_variant(path, variant)
    return cases, steps


def both(path: Path):
    return run(path, "baseline"), run(path, "v")


def rounded(column: pd.Series) -> set[float]:
    return set(column.astype(float).round(9))


def elapsed(cases: pd.DataFrame) -> set[float]:
    return rounded(cases["elapsed_working_days"])


def load_error(folder: Path, procedures, reforms, **kw) -> tuple[InputError, str]:
    path = write_scenario(folder, procedures, reforms, **kw)
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    return caught.value, path.read_text(encoding="utf-8")


def line_with(text: str, needle: str, start: int = 1) -> int:
    """1-based number of the first line at or after ``start`` containing ``needle``."""
    for number, line in enumerate(text.splitlines(), 1):
        if number >= start and needle in line:
            return number
    raise AssertionError(f"{needle!r} not in the file")


def rows(steps: pd.DataFrame, step_id: str) -> pd.DataFrame:
    return steps[steps["step"] == step_id]


# --------------------------------------------------------------------------- procedures


SERIAL = procedure(
    "p",
    [step("a", 1), step("b", 2, ["a"]), step("c", 3, ["b"]), step("d", 1, ["c"])],
)


def evaluations():
    return procedure(
        "p",
        [
            step("s0", 1),
            step(
                "e1",
                3,
                ["s0"],
                agency="env",
                trips=1,
                fees_cny=100,
                certificates=1,
                materials=[{"id": "m1", "name": "m", "kind": "main"}],
            ),
            step(
                "e2",
                4,
                ["s0"],
                agency="soil",
                trips=2,
                fees_cny=50,
                certificates=2,
                materials=[
                    {"id": "m1", "name": "m", "kind": "main"},
                    {"id": "m2", "name": "m", "kind": "minor"},
                ],
            ),
            step("permit", 1, ["e1", "e2"]),
        ],
    )


MERGE = reform(
    "merge",
    procedure="p",
    steps=["e1", "e2"],
    id="eval",
    name={"zh": "多评合一", "en": "merged evaluation"},
    agency="env",
    handling=2,
)


ZONED = procedure(
    "p",
    [step("s0", 1), step("assess", 5, ["s0"]), step("permit", 1, ["assess"])],
    attributes=[
        flag("in_zone"),
        {"id": "investment", "kind": "numeric", "distribution": 10, "source": SOURCE},
    ],
)
