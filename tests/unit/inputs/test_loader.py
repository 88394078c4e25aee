"""Bad input gets one clear message naming file, line and field; nothing is written."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from sim import load_scenario
from sim.domain.errors import InputError
from tests.conftest import scenario_text, write_case

GOOD = """
id: proc
name: {zh: 测试, en: Test}
target: {working_days: 5, source: "test"}
attributes:
  - {id: big, kind: boolean, probability: 0.5, source: "test"}
steps:
  - id: a
    name: {zh: 甲, en: A}
    agency: desk
    handling: {type: triangular, min: 1, mode: 2, max: 3}
    source: "test"
  - id: b
    name: {zh: 乙, en: B}
    agency: review
    handling: 1
    after: [a]
    source: "test"
"""

# (name, text replaced in GOOD, replacement, expected line, expected words in the message)
PROCEDURE_CASES = [
    ("yaml syntax", "  - id: b\n", "  - id: b\n  bad: [unclosed\n", None, ["YAML"]),
    ("duplicate key", "    handling: 1\n", "    handling: 1\n    handling: 2\n", 17, ["duplicate"]),
    ("unknown field", "    after: [a]\n", "    afte: [a]\n", 17, ["unknown field 'afte'", "after"]),
    ("wrong type", "    handling: 1\n", "    handling: [1, 2]\n", 16, ["steps[1].handling", "a number"]),
    ("unknown step in after", "after: [a]", "after: [aa]", 17, ["unknown step 'aa'", "'a'"]),
    ("self loop", "after: [a]", "after: [b]", 17, ["waits on itself"]),
    ("negative duration", "min: 1, mode: 2", "min: -1, mode: 2", 11, ["min"]),
    ("inverted triangular", "min: 1, mode: 2, max: 3", "min: 1, mode: 5, max: 3", 11, ["mode"]),
    ("probability above one", "probability: 0.5", "probability: 1.5", 6, ["probability"]),
    ("bad condition", "    handling: 1\n", "    handling: 1\n    when: \"bigg\"\n", 17, ["did you mean 'big'"]),
    ("missing field", "    agency: review\n", "", 13, ["missing required field 'agency'"]),
]


@pytest.mark.parametrize(
    ("name", "old", "new", "line", "words"), PROCEDURE_CASES, ids=[c[0] for c in PROCEDURE_CASES]
)
def test_procedure_errors_name_file_line_and_field(tmp_path, name, old, new, line, words):
    assert old in GOOD
    path = write_case(tmp_path, GOOD.replace(old, new, 1), scenario_text())
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert "proc.yaml" in message
    if line is not None:
        assert caught.value.line == line, message
    for word in words:
        assert word in message, message


def test_cycle_is_named(tmp_path):
    text = GOOD.replace("handling: {type: triangular, min: 1, mode: 2, max: 3}", "handling: 1\n    after: [b]")
    path = write_case(tmp_path, text, scenario_text())
    with pytest.raises(InputError, match="cycle: (a -> b -> a|b -> a -> b)"):
        load_scenario(path)


def test_unknown_agency_names_the_procedure_file(tmp_path):
    path = write_case(tmp_path, GOOD.replace("agency: review", "agency: reveiw"), scenario_text())
    with pytest.raises(InputError, match="agency 'reveiw'.*did you mean 'review'") as caught:
        load_scenario(path)
    assert caught.value.line == 15


def test_zero_staff_with_arrivals(tmp_path):
    agencies = """
    agencies:
      - {id: desk, name: {zh: 窗口, en: Desk}, staff: 0, source: "test"}
      - {id: review, name: {zh: 审查, en: Review}, staff: 1, source: "test"}
    """
    path = write_case(tmp_path, GOOD, scenario_text(agencies=agencies))
    with pytest.raises(InputError, match="no staff") as caught:
        load_scenario(path)
    assert caught.value.field == "agencies[0].staff"


def test_year_without_calendar_data(tmp_path):
    path = write_case(tmp_path, GOOD, scenario_text(start="2026-12-01", days=30))
    with pytest.raises(InputError, match="2027"):
        load_scenario(path)


def test_unknown_scenario_field_suggests(tmp_path):
    path = write_case(tmp_path, GOOD, scenario_text(extra="replicatons: 3\n"))
    with pytest.raises(InputError, match="unknown field 'replicatons'.*did you mean 'replications'"):
        load_scenario(path)


def test_missing_procedure_file(tmp_path):
    path = write_case(tmp_path, GOOD, scenario_text().replace("procedure: proc", "procedure: prc"))
    with pytest.raises(InputError, match="no procedure file 'prc.yaml'"):
        load_scenario(path)


@pytest.mark.parametrize(
    ("content", "words"),
    [(b"", "empty"), (b"\xff\xfe\x00bad", "UTF-8"), (b"- just\n- a list\n", "mapping")],
)
def test_unreadable_files(tmp_path, content, words):
    path = tmp_path / "scenario.yaml"
    path.write_bytes(content)
    with pytest.raises(InputError, match=words):
        load_scenario(path)


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(InputError, match="folder"):
        load_scenario(tmp_path)


def test_cli_reports_one_line_exit_2_and_writes_nothing(tmp_path):
    path = write_case(tmp_path, GOOD.replace("after: [a]", "after: [aa]"), scenario_text())
    output = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "sim", "run", str(path), "--output", str(output), "-q"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "proc.yaml:17" in done.stderr and "unknown step 'aa'" in done.stderr
    assert not output.exists()


def test_validate_command(tmp_path):
    path = write_case(tmp_path, GOOD, scenario_text())
    done = subprocess.run(
        [sys.executable, "-m", "sim", "validate", str(path), str(tmp_path / "proc.yaml")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "is valid" in done.stdout
    _ = textwrap
