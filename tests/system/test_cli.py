"""The command line end to end, in a subprocess: what a planner sees."""

import subprocess
import sys

import pytest

from tests.factories import TWO_STEPS as GOOD
from tests.factories import scenario_text, write_case


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


@pytest.mark.slow
def test_the_counting_method_and_its_rules_from_the_command_line(tmp_path):
    # Two steps of 0.25 working days from Monday 2025-03-03: cn counts 0.5 working days;
    # db at least a day each on consecutive days, 2 calendar days; without the minimum, 0.5.
    text = GOOD.replace("handling: {type: triangular, min: 1, mode: 2, max: 3}", "handling: 0.25")
    path = write_case(tmp_path, text.replace("handling: 1", "handling: 0.25"), scenario_text())

    def run(*options: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "sim", "run", str(path), "--engine", "deterministic"]
            + ["--output", str(tmp_path / "out"), "-q", "--no-report", "--lang", "en", *options],
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )

    done = run()
    assert done.returncode == 0, done.stderr
    assert "committed times (working days)" in done.stdout and "Total: 0.5 working days" in done.stdout
    done = run("--counting", "db")
    assert "Total: 2 calendar days (2 working days)" in done.stdout, done.stdout
    done = run("--counting", "db", "--no-minimum-one-day", "--no-consecutive-starts")
    assert "Total: 0.5 calendar days (0.5 working days)" in done.stdout, done.stdout
    done = run("--counting", "dB")
    assert done.returncode == 2 and "--counting" in done.stderr and "Traceback" not in done.stderr
