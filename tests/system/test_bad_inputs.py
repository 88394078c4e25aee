"""The bad-input corpus (tests/bad_inputs/): one clear line, exit code 2, nothing written.

Every case folder holds a broken procedure (checked with ``validate``) or a scenario with
its procedure (run with ``run``) and an ``expected.yaml`` naming the file, line and field
the message must point at and words it must contain (see tests/bad_inputs/README.md).
The corpus runs in-process through typer's CliRunner against `sim.cli.app` (fast); a
handful of cases also run through ``python -m sim`` in a subprocess, which is what a
planner sees. Inputs that cannot live in git cleanly (empty files, folders, other
encodings, oversized files) are written at test time.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

from sim.cli import app
from tests.factories import BAD_INPUTS

CORPUS = BAD_INPUTS
CASES = sorted(p for p in CORPUS.iterdir() if p.is_dir() and not p.name.startswith("_"))
VALID = CORPUS / "_valid"


def expected_of(case: Path) -> dict:
    return YAML(typ="safe").load((case / "expected.yaml").read_text(encoding="utf-8"))


def command_for(case: Path, expected: dict, output: Path) -> list[str]:
    if expected["command"] == "validate":
        return ["validate", "proc.yaml"]
    if expected["command"] == "calibrate":
        return ["calibrate", records_of(case).name, "--out", str(output), "--no-report"]
    return ["run", "scenario.yaml", "--output", str(output), "-q", "--executor", "serial"]


def records_of(case: Path) -> Path:
    """The record file of a ``calibrate`` case: its one file named ``records.*``."""
    (found,) = case.glob("records.*")
    return found


def check_message(code: int, stdout: str, stderr: str, expected: dict) -> None:
    """Exit code 2, one line on stderr naming file, line and field, nothing else."""
    assert code == 2, (code, stdout, stderr)
    assert "Traceback" not in stderr and "Traceback" not in stdout, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    message = lines[0]
    assert message.startswith("error: "), message
    if expected.get("file") is not None:  # a command-line option has no file
        where = f"{expected['file']}:"
        if expected.get("line") is not None:
            where += f"{expected['line']}:"
        assert where in message, (where, message)
    if expected.get("field"):
        assert f"[{expected['field']}]" in message, (expected["field"], message)
    for word in expected["words"]:
        assert word in message, (word, message)
    assert not stdout.strip(), stdout


def invoke(args: list[str], cwd: Path, monkeypatch) -> tuple[int, str, str]:
    monkeypatch.chdir(cwd)
    result = CliRunner().invoke(app, args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_corpus_is_large_and_well_formed():
    assert len(CASES) >= 50
    for case in CASES:
        expected = expected_of(case)
        assert set(expected) <= {"mistake", "command", "file", "line", "field", "words"}, case
        assert expected["command"] in ("run", "validate", "calibrate"), case
        assert expected["words"] and expected["mistake"], case
        if expected["command"] == "calibrate":
            assert records_of(case).is_file(), case
            continue
        wanted = "proc.yaml" if expected["command"] == "validate" else "scenario.yaml"
        assert (case / wanted).is_file(), case


def test_the_valid_base_is_valid(tmp_path, monkeypatch):
    # Every case is a copy of _valid/ with one mistake: the base itself must pass.
    work = tmp_path / "valid"
    shutil.copytree(VALID, work)
    args = ["validate", "scenario.yaml", "proc.yaml", "reforms.yaml"]
    code, stdout, stderr = invoke(args, work, monkeypatch)
    assert code == 0, stderr
    assert stdout.count("is valid") == 3


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_corpus_case(case, tmp_path, monkeypatch):
    expected = expected_of(case)
    work = tmp_path / case.name
    shutil.copytree(case, work)
    output = tmp_path / "out"
    # A fixed machine, so that the cases refused for memory are refused on any machine.
    monkeypatch.setattr(importlib.import_module("sim.run.limits"), "machine_memory", lambda: 16e9)
    code, stdout, stderr = invoke(command_for(case, expected, output), work, monkeypatch)
    check_message(code, stdout, stderr, expected)
    assert not output.exists()
    assert not (work / "results").exists()
    assert sorted(p.name for p in work.iterdir()) == sorted(p.name for p in case.iterdir())


SUBPROCESS_CASES = [
    "proc_yaml_syntax",
    "scenario_bad_date",
    "scenario_alias_bomb",
    "scenario_over_memory",
]


@pytest.mark.parametrize("name", SUBPROCESS_CASES)
def test_corpus_case_through_python_m_sim(name, tmp_path):
    case = CORPUS / name
    expected = expected_of(case)
    work = tmp_path / name
    shutil.copytree(case, work)
    output = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "sim", *command_for(case, expected, output)],
        capture_output=True,
        text=True,
        cwd=work,
        timeout=60,  # an alias bomb or a huge run must fail at load, not run for hours
    )
    check_message(done.returncode, done.stdout, done.stderr, expected)
    assert not output.exists()


def test_earlier_results_are_left_byte_identical(tmp_path):
    # A failed run must not truncate or replace the results of an earlier run.
    work = tmp_path / "case"
    shutil.copytree(CORPUS / "scenario_reform_unknown_step", work)
    output = tmp_path / "out"
    output.mkdir()
    earlier = b"replication,variant,case_id\n0,baseline,1\n"
    (output / "cases.csv").write_bytes(earlier)
    done = subprocess.run(
        [sys.executable, "-m", "sim", "run", "scenario.yaml", "-o", str(output), "-q"],
        capture_output=True,
        text=True,
        cwd=work,
        timeout=60,
    )
    check_message(done.returncode, done.stdout, done.stderr, expected_of(work))
    assert (output / "cases.csv").read_bytes() == earlier
    assert sorted(p.name for p in output.iterdir()) == ["cases.csv"]


# --------------------------------------------------------------------------- written at test time


def _valid_copy(folder: Path) -> Path:
    shutil.copytree(VALID, folder)
    return folder


GENERATED = {
    # name: (file to break, bytes or "folder", words)
    "empty_scenario": ("scenario.yaml", b"", ["file is empty"]),
    "blank_scenario": ("scenario.yaml", b"  \n\n\t\n", ["file is empty"]),
    "comments_only_procedure": ("proc.yaml", b"# nothing here yet\n", ["only comments"]),
    "scenario_is_a_folder": ("scenario.yaml", "folder", ["is a folder, not a file"]),
    "procedure_is_a_folder": ("proc.yaml", "folder", ["proc.yaml is a folder, not a procedure"]),
    "utf16_scenario": ("scenario.yaml", "utf-16", ["is not UTF-8 text", "save it as UTF-8"]),
    "gbk_procedure": ("proc.yaml", "gbk", ["is not UTF-8 text", "save it as UTF-8"]),
    "nul_bytes_scenario": ("scenario.yaml", b"name: a\x00b\n", ["YAML"]),
    "oversized_procedure": ("proc.yaml", "huge", ["larger than"]),
    "scalar_scenario": ("scenario.yaml", b"just some text\n", ["a single value"]),
    "deeply_nested_scenario": (
        "scenario.yaml", b"name: x\nnotes: " + b"[" * 5000 + b"]" * 5000 + b"\n", ["too deeply"]
    ),
    "mapping_as_key_procedure": ("proc.yaml", b"id: p\nname: {zh: a, {b: [1]}: 2}\n", ["as a key"]),
}


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_bad_files(name, tmp_path, monkeypatch):
    broken, content, words = GENERATED[name]
    work = _valid_copy(tmp_path / "case")
    target = work / broken
    original = target.read_text(encoding="utf-8")
    target.unlink()
    if content == "folder":
        target.mkdir()
    elif content == "utf-16":
        target.write_bytes(original.encode("utf-16"))
    elif content == "gbk":
        target.write_bytes(original.encode("gbk"))
    elif content == "huge":
        target.write_bytes(original.encode() + b"#" * 5_000_001 + b"\n")
    else:
        target.write_bytes(content)
    output = tmp_path / "out"
    code, stdout, stderr = invoke(
        ["run", "scenario.yaml", "--output", str(output), "-q", "--executor", "serial"],
        work,
        monkeypatch,
    )
    expected = {"file": broken, "line": None, "field": None, "words": words}
    if name == "procedure_is_a_folder":  # the scenario's line naming the procedure
        expected.update(file="scenario.yaml", line=15, field="procedures[0].procedure")
    check_message(code, stdout, stderr, expected)
    assert not output.exists()


def test_missing_scenario_file(tmp_path, monkeypatch):
    code, stdout, stderr = invoke(
        ["run", "nowhere.yaml", "-o", str(tmp_path / "out"), "-q"], tmp_path, monkeypatch
    )
    check_message(code, stdout, stderr, {"file": "nowhere.yaml", "words": ["no such file"]})
    assert not (tmp_path / "out").exists()


def test_utf8_with_byte_order_mark_is_accepted(tmp_path, monkeypatch):
    # Notepad on Windows writes UTF-8 with a BOM: that is UTF-8 and must load.
    work = _valid_copy(tmp_path / "case")
    text = (work / "proc.yaml").read_text(encoding="utf-8")
    (work / "proc.yaml").write_bytes(text.encode("utf-8-sig"))
    code, _, stderr = invoke(["validate", "scenario.yaml"], work, monkeypatch)
    assert code == 0, stderr


def test_error_text_is_not_read_as_markup(tmp_path, monkeypatch):
    # The message is printed with rich: `[horizon]` and a condition's brackets must show
    # as written, and a `[/]` in user text must not crash the printer.
    work = _valid_copy(tmp_path / "case")
    text = (work / "proc.yaml").read_text(encoding="utf-8")
    broken = text.replace("when: 'big and investment > 50'", "when: 'size in [\"a\", \"[/]\"] and'")
    (work / "proc.yaml").write_text(broken, encoding="utf-8")
    code, stdout, stderr = invoke(["validate", "proc.yaml"], work, monkeypatch)
    check_message(
        code,
        stdout,
        stderr,
        {"file": "proc.yaml", "line": 31, "field": "steps[2].when", "words": ['"[/]"]']},
    )


# --------------------------------------------------------------------------- kinds of file


def _special(kind: str, target: Path) -> None:
    """Put a file of an unusual kind at ``target``."""
    if kind == "fifo":
        os.mkfifo(target)  # reading it would wait for a writer for ever
    elif kind == "device":
        target.symlink_to("/dev/zero")  # endless bytes
    elif kind == "sparse":
        with target.open("wb") as handle:  # 8 GB that take no disk space
            handle.truncate(8 * 1024**3)
    elif kind == "loop":
        target.symlink_to(target.name)


SPECIAL = {
    "fifo": ["is not a regular file"],
    "device": ["is not a regular file"],
    "sparse": ["larger than 5000000 bytes"],
    "loop": ["cannot read the file"],
}


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX file kinds")
@pytest.mark.parametrize("kind", sorted(SPECIAL))
@pytest.mark.parametrize("broken", ["scenario.yaml", "proc.yaml"])
def test_files_of_other_kinds_are_refused_at_once(kind, broken, tmp_path):
    # Through a real process with a timeout: a FIFO or /dev/zero once hung or ran out of
    # memory.
    work = _valid_copy(tmp_path / "case")
    (work / broken).unlink()
    _special(kind, work / broken)
    output = tmp_path / "out"
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "sim", "validate", "scenario.yaml"],
        capture_output=True, text=True, cwd=work, timeout=60,
    )  # fmt: skip
    assert time.monotonic() - started < 30
    where = {"file": broken, "words": SPECIAL[kind]}
    if broken == "proc.yaml" and kind in ("fifo", "device", "loop"):
        # The scenario finds no procedure *file* by that name: its line names it.
        where = {"file": "scenario.yaml", "line": 15, "field": "procedures[0].procedure",
                 "words": ["proc.yaml"]}  # fmt: skip
    check_message(done.returncode, done.stdout, done.stderr, where)
    assert not output.exists()


def test_an_override_file_that_is_a_symlink_to_itself(tmp_path, monkeypatch):
    work = _valid_copy(tmp_path / "case")
    text = (work / "scenario.yaml").read_text(encoding="utf-8")
    text = text.replace("  start: 2025-03-03\n", "  start: 2025-03-03\n  overrides: holidays.yaml\n")
    (work / "scenario.yaml").write_text(text, encoding="utf-8")
    _special("loop", work / "holidays.yaml")
    code, stdout, stderr = invoke(["validate", "scenario.yaml"], work, monkeypatch)
    expected = {"file": "scenario.yaml", "line": 8, "field": "calendar.overrides",
                "words": ["cannot read 'holidays.yaml'"]}  # fmt: skip
    check_message(code, stdout, stderr, expected)


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ("[" + ", ".join(["1"] * 1_000_000) + "]", ["list of more than 10,000 items"]),
        ("\n" + "".join(f"  k{i}: [{', '.join(['1'] * 9000)}]\n" for i in range(12)),
         ["more than 100,000 values"]),
    ],
    ids=["one-list-of-a-million", "many-lists"],
)
def test_oversized_lists_are_refused_while_parsing(values, words, tmp_path, monkeypatch):
    # A list of a million values once took 163 s and 1.2 GB to refuse.
    work = _valid_copy(tmp_path / "case")
    with (work / "scenario.yaml").open("a", encoding="utf-8") as handle:
        handle.write(f"notes_list: {values}\n")
    started = time.monotonic()
    code, stdout, stderr = invoke(["validate", "scenario.yaml"], work, monkeypatch)
    assert time.monotonic() - started < 20
    check_message(code, stdout, stderr, {"file": "scenario.yaml", "words": words})


# --------------------------------------------------------------------------- command line


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["-r", "100000000"],
         {"field": "--replications", "words": ["100,000,000 replications", "limit of 100,000"]}),
        (["--executor", "dask", "--scheduler", "not-an-address"],
         {"field": "--scheduler", "words": ["cannot join the Dask scheduler at 'not-an-address'"]}),
    ],
    ids=["replications", "scheduler"],
)
def test_command_line_limits_and_addresses(options, expected, tmp_path, monkeypatch):
    if "dask" in options:
        pytest.importorskip("distributed")
    work = _valid_copy(tmp_path / "case")
    output = tmp_path / "out"
    code, stdout, stderr = invoke(
        ["run", "scenario.yaml", "-o", str(output), "-q", "--no-report", *options],
        work,
        monkeypatch,
    )
    check_message(code, stdout, stderr, {"file": None, **expected})
    assert not output.exists()


def test_a_run_larger_than_the_memory_is_refused_naming_the_estimate(tmp_path, monkeypatch):
    # 3 variants x 2 replications of 900k cases took 7.9 GB: the estimate is made
    # before anything runs, and named.
    work = _valid_copy(tmp_path / "case")
    text = (work / "scenario.yaml").read_text(encoding="utf-8")
    (work / "scenario.yaml").write_text(
        text.replace("arrivals_per_day: 2", "arrivals_per_day: 90000"), encoding="utf-8"
    )
    monkeypatch.setattr(importlib.import_module("sim.run.limits"), "machine_memory", lambda: 8e9)
    output = tmp_path / "out"
    code, stdout, stderr = invoke(
        ["run", "scenario.yaml", "-o", str(output), "-q", "-r", "10"], work, monkeypatch
    )
    check_message(code, stdout, stderr, {"file": "scenario.yaml",
                  "words": ["GB of memory", "this machine has 8.0 GB", "--variant"]})  # fmt: skip
    assert not output.exists()
