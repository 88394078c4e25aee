"""Fuzzing the loader: whatever bytes a file holds, only `InputError` may come out.

Two targets, each fed to `sim.load_scenario` (which loads the procedure too) and
`sim.load_procedure`:

- raw bytes, as the whole file;
- the valid files of tests/bad_inputs/_valid/ (a procedure, a scenario, and a scenario
  using every reform type but `bundle`) with one to three random mutations (a line
  deleted, duplicated, moved, re-indented or cut short; a value replaced by an
  interesting one such as ``-1``, ``1e300``, ``.nan``, ``true``, ``[]``, a date or an
  alias; random text inserted).

Any exception other than `InputError`, any warning (it would print lines of its own next
to the one-line error), or a load that hangs is a bug in the loader.

CI runs a fixed number of examples per target (200, four targets). To fuzz longer on demand::

    APPROVALSIM_FUZZ_EXAMPLES=20000 python -m pytest tests/system/test_fuzz_inputs.py -q

(hypothesis prints the seed and the smallest failing input when it finds one; rerun it
with ``--hypothesis-seed=N``.)
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import load_procedure, load_scenario
from sim.domain.errors import InputError
from tests.factories import BAD_INPUTS

EXAMPLES = int(os.environ.get("APPROVALSIM_FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)

VALID = BAD_INPUTS / "_valid"
PROCEDURE = (VALID / "proc.yaml").read_text(encoding="utf-8")
SCENARIO = (VALID / "scenario.yaml").read_text(encoding="utf-8")
REFORMS = (VALID / "reforms.yaml").read_text(encoding="utf-8")

INTERESTING = [
    "-1", "0", "1", "-0.0", "1e300", "-1e300", "1e-300", "1e999", ".nan", ".inf", "-.inf",
    "true", "false", "null", "~", "''", '""', "[]", "{}", "[1, 2]", "{a: 1}", "{type: fixed}",
    "2025-02-30", "2027-01-01", "2003-12-31", "9999-12-31", "12:30", "0x1F", "0o17", "1_000",
    "*anchor", "&anchor x", "!!python/object:os.system", "!!binary aGVsbG8=", "|", ">",
    "unlimited", "all", "baseline", "proc", "desk", "review", "intake", "expert", "big",
    "../../etc/passwd", "/etc/passwd", "'\\0'", "\"\\x00\"", "\"\\ud800\"", "é中文",
    "{type: lognormal, median: 0, p90: 0}", "{type: empirical, values: [.nan]}",
    "{type: capped, base: {type: exponential, mean: 1}, cap: -1}", "'big and'",
    "'__import__(\"os\")'", "'size in [\"a\"]'", "100001", "99999999999999999999999",
    "- a", "? a", "a: b: c", "[", "{", "]", "'", '"', "#", "%YAML 1.1", "---", "...",
]


def _attempt(scenario: bytes | str, procedure: bytes | str) -> None:
    """Load the pair from a fresh folder; anything but `InputError` propagates."""
    with tempfile.TemporaryDirectory(prefix="fuzz") as folder:
        root = Path(folder)
        for name, content in (("scenario.yaml", scenario), ("proc.yaml", procedure)):
            data = content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content
            (root / name).write_bytes(data)
        for load, name in ((load_procedure, "proc.yaml"), (load_scenario, "scenario.yaml")):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    load(root / name)
                except InputError as error:
                    text = str(error)
                    assert text.strip() and error.file is not None, repr(error)
            # A warning would print lines of its own next to the one-line error.
            assert not caught, [str(w.message) for w in caught]


@st.composite
def mutated(draw, text: str) -> str:
    lines = text.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 3))):
        if not lines:
            break
        index = draw(st.integers(0, len(lines) - 1))
        kind = draw(
            st.sampled_from(["delete", "duplicate", "move", "indent", "cut", "value", "insert"])
        )
        line = lines[index]
        if kind == "delete":
            del lines[index]
        elif kind == "duplicate":
            lines.insert(index, line)
        elif kind == "move":
            lines.insert(draw(st.integers(0, len(lines) - 1)), lines.pop(index))
        elif kind == "indent":
            shift = draw(st.sampled_from([-4, -2, -1, 1, 2, 4]))
            lines[index] = (" " * shift + line) if shift > 0 else line[min(-shift, len(line)) :]
        elif kind == "cut":
            lines[index] = line[: draw(st.integers(0, len(line)))]
        elif kind == "value":
            # Replace the text after a `:` or `,` or `[` (a value) by an interesting one.
            marks = [i for i, c in enumerate(line) if c in ":,[" and i + 1 < len(line)]
            if marks:
                start = draw(st.sampled_from(marks)) + 1
                rest = line[start:]
                stops = [rest.find(c) for c in ",}]\n" if rest.find(c) >= 0]
                end = start + (min(stops) if stops else len(rest))
                value = draw(st.sampled_from(INTERESTING))
                lines[index] = line[:start] + " " + value + line[end:]
        else:
            position = draw(st.integers(0, len(line)))
            junk = draw(st.sampled_from(INTERESTING) | st.text(max_size=8))
            lines[index] = line[:position] + junk + line[position:]
    return "".join(lines)


@FUZZ
@given(content=st.binary(max_size=2000))
def test_raw_bytes_give_input_errors_only(content):
    _attempt(content, content)


@FUZZ
@given(content=st.binary(max_size=300), keep=st.integers(0, len(SCENARIO.encode())))
def test_valid_files_with_raw_bytes_spliced_in(content, keep):
    # Byte-level damage to an otherwise valid file: a truncated save, a stray binary paste.
    raw = SCENARIO.encode()
    _attempt(raw[:keep] + content + raw[keep:], PROCEDURE)


@FUZZ
@given(scenario=mutated(SCENARIO), procedure=mutated(PROCEDURE), which=st.integers(0, 2))
def test_mutated_valid_files_give_input_errors_only(scenario, procedure, which):
    _attempt(
        scenario if which != 1 else SCENARIO,
        procedure if which != 0 else PROCEDURE,
    )


@FUZZ
@given(scenario=mutated(REFORMS))
def test_mutated_reforms_give_input_errors_only(scenario):
    # Every reform type's parameters, mutated: the reform catalogue must also answer
    # with `InputError` only.
    _attempt(scenario, PROCEDURE)
