"""The command line end to end, in a subprocess: what a planner sees."""

import subprocess
import sys

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
