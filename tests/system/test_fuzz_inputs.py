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
to the one-line error), or a load that takes longer than `SECONDS` (an alarm turns a hang
into a failure) is a bug in the loader. The limits on the resolved variants
(`sim.run.limits.check_scenario`: a bundle's arrivals, staff after reforms) are checked
too.

Each class of bad input found once stays in the mutations (`INTERESTING`), so that it
is searched for again: conditions that crashed or hung runs, a long list, a full-width
space, a date written as a number, staff past the cap. Two more targets: conditions
built from the language's tokens (refused or evaluated without any other error, in
bounded time) and CSV cells (never read as a formula).

CI runs a fixed number of examples per target (200). To fuzz longer on demand::

    APPROVALSIM_FUZZ_EXAMPLES=20000 python -m pytest tests/system/test_fuzz_inputs.py -q

(hypothesis prints the seed and the smallest failing input when it finds one; rerun it
with ``--hypothesis-seed=N``.)
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
import time
import warnings
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import load_procedure, load_scenario
from sim.domain.conditions import ConditionError, compile_condition
from sim.domain.errors import InputError
from sim.output.tables import FORMULA_START, spreadsheet_safe
from sim.run.limits import check_scenario
from tests.factories import BAD_INPUTS

# Longest an attempt may take: a load that hangs fails instead of hanging the suite.
SECONDS = 30


class Hang(Exception):
    """An attempt ran past `SECONDS`."""


@contextlib.contextmanager
def time_limit(seconds: int = SECONDS):
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGALRM"):
        yield
        return

    def alarm(signum, frame):
        raise Hang(f"took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)

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
    # Classes found once (issue 19), searched for again.
    "'investment / 0 > 1'", "'size[10] == \"a\"'", "'size.to_int > 1'",
    "'investment ** 99999999 > 1'", "'size =~ \"(a+)+$\"'", "'1 << 99999999 > 0'",
    "'[[x for x in [1]] for y in [1]].length > 0'", "'size == \"smal\"'",
    "'" + " and ".join(["big"] * 300) + "'", "'true'", "'null'", "title\u3000", "100000",
    "[" + ", ".join(["1"] * 12000) + "]",
]


def _attempt(scenario: bytes | str, procedure: bytes | str) -> None:
    """Load the pair from a fresh folder; anything but `InputError` propagates."""
    with tempfile.TemporaryDirectory(prefix="fuzz") as folder:
        root = Path(folder)
        for name, content in (("scenario.yaml", scenario), ("proc.yaml", procedure)):
            data = content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content
            (root / name).write_bytes(data)
        for load, name in ((load_procedure, "proc.yaml"), (load_scenario, "scenario.yaml")):
            with warnings.catch_warnings(record=True) as caught, time_limit():
                warnings.simplefilter("always")
                try:
                    loaded = load(root / name)
                    if name == "scenario.yaml":
                        check_scenario(loaded)
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


# --------------------------------------------------------------------------- conditions

KINDS = {"big": "boolean", "size": "categorical", "investment": "numeric"}
DECLARED = {"size": ("small", "large", "a" * 40 + "!")}
TOKENS = [
    "big", "size", "investment", "true", "false", "null", "not", "and", "or", "in", "for",
    "if", "==", "!=", "<", ">=", "+", "-", "*", "/", "//", "%", "**", "<<", "&", "|", "=~",
    "!~", "?", ":", "(", ")", "[", "]", "{", "}", ",", ".", ".to_int", ".length", "$now",
    "0", "1", "-1", "2", "1e300", "1e999999", "99999999", "inf", "nan", '"small"', '"smal"',
    '"(a+)+$"', '"' + "a" * 40 + '"', "'x'", "#", "x", "[x for x in [1, 2]]",
]  # fmt: skip


@FUZZ
@given(
    tokens=st.lists(st.sampled_from(TOKENS), min_size=1, max_size=40),
    big=st.booleans(),
    size=st.sampled_from(DECLARED["size"]),
    investment=st.sampled_from([0.0, -1.0, 1.0, 50.0, 1e-300, 1e300, 123.456]),
)
def test_conditions_are_refused_or_evaluated_without_other_errors(tokens, big, size, investment):
    # Whatever a condition says: ConditionError at load, or an answer for every case,
    # each within the time limit (no crash, no hang at run time).
    text = " ".join(tokens)
    with time_limit(10):
        try:
            condition = compile_condition(text, KINDS, DECLARED)
        except ConditionError as error:
            assert str(error).strip()
            return
        started = time.monotonic()
        answer = condition.evaluate({"big": big, "size": size, "investment": investment})
    assert isinstance(answer, bool)
    assert time.monotonic() - started < 1


# --------------------------------------------------------------------------- CSV cells


@FUZZ
@given(text=st.text(max_size=20) | st.sampled_from(["=1+1", "-1", "-1+cmd", "+", "@", "\t"]))
def test_csv_cells_are_never_formulas(text):
    cell = spreadsheet_safe(text)
    if cell != text:
        assert cell == "'" + text
    elif text.startswith(FORMULA_START):  # kept only as a plain number
        float(text)
