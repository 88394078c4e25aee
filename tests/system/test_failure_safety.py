"""Failure safety: interrupted runs, killed parents, shared folders, full disks.

- Every result file is written atomically (tests/unit/run/test_files.py checks how), and
  a run's files are swapped into the results folder together, manifest last.
- A run stopped by SIGTERM or SIGINT (in a process pool too, ended within seconds) keeps
  its finished replications (each complete), leaves no temporary file and no table, and
  the next run resumes from them; Ctrl-C while tables are written leaves the earlier
  run's files as they were.
- Pool workers die with their parent (``kill -9``).
- A second run into a folder another run is writing refuses with a clear message.
- A full disk or an unwritable results folder is one clear error line naming the file,
  exit code 2, and earlier results are left as they were.
"""

from __future__ import annotations

import errno
import inspect
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import sim.cli
from sim.cli import app
from sim.run.cache import read_replication
from sim.run.files import LOCK
from tests.factories import intake_review_scenario, leftovers

# The report (HTML, figures) is slow to draw and not what these tests are about.
NO_REPORT = ["--no-report"] if "report" in inspect.signature(sim.cli.run).parameters else []
# Every replication's case and step rows, so that resumed and whole runs compare in full.
KEEP_ROWS = ["--keep", "cases,steps"]


@pytest.fixture
def scenario_path(tmp_path):
    """`INTAKE_REVIEW` without variants."""
    return intake_review_scenario(tmp_path, variants=False)


@pytest.fixture
def variant_scenario_path(tmp_path):
    """`INTAKE_REVIEW` with the variant ``faster_review``."""
    return intake_review_scenario(tmp_path)


# --------------------------------------------------------------------------- interrupted runs


@pytest.mark.parametrize(
    ("sign", "executor"),
    [(signal.SIGTERM, "serial"), (signal.SIGINT, "process")],
    ids=["SIGTERM serial", "SIGINT process pool"],
)
@pytest.mark.slow
def test_a_killed_run_keeps_complete_replications_and_resumes(
    scenario_path, tmp_path, sign, executor
):
    # Ask for far more replications than can finish before the signal, stop the run once
    # two are on disk, then resume with four: the kept ones are reused, the result equals
    # an uninterrupted run's byte for byte.
    output = tmp_path / "out"
    base = [sys.executable, "-m", "sim", "run", str(scenario_path), "-q", *NO_REPORT,
            *KEEP_ROWS, "--executor", executor, "--workers", "2"]  # fmt: skip
    process = subprocess.Popen(
        [*base, "--replications", "400", "--output", str(output)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 60
    while time.time() < deadline and len(list(output.glob("runs/*/replication_*.npz"))) < 2:
        time.sleep(0.02)
    process.send_signal(sign)
    stopped = time.time()
    _, stderr = process.communicate(timeout=60)
    assert time.time() - stopped < 10, "the run took too long to stop"
    assert process.returncode == 128 + sign, stderr
    assert "Traceback" not in stderr
    assert "run again to resume" in stderr
    finished = sorted(output.glob("runs/*/replication_*.npz"))
    assert 2 <= len(finished) < 400
    for path in finished:  # every kept replication is complete
        number = int(path.stem.split("_")[1])
        assert len(read_replication(path, path.parent.name, number)["cases"])
    assert leftovers(output) == []
    assert not (output / "cases.csv").exists()
    # Resume with a few more replications than the highest one kept: all kept ones are
    # reused (a pool may finish them out of order), at least one is new.
    kept = [int(path.stem.split("_")[1]) for path in finished]
    again = str(max(kept) + 2)
    resumed = subprocess.run(
        [*base, "--replications", again, "--output", str(output)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert f"({len(finished)} reused from an earlier run)" in resumed.stdout
    whole = tmp_path / "whole"
    fresh = subprocess.run(
        [*base, "--replications", again, "--output", str(whole)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert fresh.returncode == 0, fresh.stderr
    for name in ("cases.csv", "steps.csv", "summary.csv"):
        assert (output / name).read_bytes() == (whole / name).read_bytes(), name
    assert leftovers(output) == []


@pytest.mark.slow
def test_killed_run_resumes_without_losing_or_doubling(variant_scenario_path, tmp_path):
    scenario_path = variant_scenario_path
    output = tmp_path / "out"
    command = [
        sys.executable, "-m", "sim", "run", str(scenario_path), "-q",
        "--replications", "60", "--executor", "serial", "--output", str(output), "--no-report",
        *KEEP_ROWS,
    ]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline:
        finished = list(output.glob("runs/*/replication_*.npz"))
        if len(finished) >= 2:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    assert process.returncode == 128 + signal.SIGTERM
    finished = list(output.glob("runs/*/replication_*.npz"))
    assert 2 <= len(finished) < 60, "the run should have been interrupted part-way"
    assert not list(output.glob("runs/*/.*tmp")), "no half-written file is left behind"
    assert not (output / "cases.csv").exists()
    resumed = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "reused from an earlier run" in resumed.stdout
    whole = tmp_path / "whole"
    command[command.index(str(output))] = str(whole)
    subprocess.run(command, cwd=tmp_path, check=True, capture_output=True)
    for name in ("cases.csv", "steps.csv", "summary.csv", "comparison.csv"):
        assert (output / name).read_bytes() == (whole / name).read_bytes(), name


# --------------------------------------------------------------------------- full disk


def _run_in_process(scenario: Path, output: Path, monkeypatch) -> tuple[int, str, str]:
    monkeypatch.chdir(scenario.parent)
    result = CliRunner().invoke(
        app, ["run", str(scenario), "-o", str(output), "-q", "--executor", "serial", *NO_REPORT]
    )
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def test_a_full_disk_while_writing_tables_is_a_clear_error(scenario_path, tmp_path, monkeypatch):
    output = tmp_path / "out"
    output.mkdir()
    earlier = {"cases.csv": b"earlier cases\n", "summary.csv": b"earlier summary\n"}
    for name, content in earlier.items():
        (output / name).write_bytes(content)
    original = Path.open

    class FullDisk:
        """A file that takes a few bytes, then finds the disk full."""

        def __init__(self, handle, path):
            self.handle, self.path = handle, path

        def write(self, text):
            self.handle.write(text[:9])
            raise OSError(errno.ENOSPC, "No space left on device", str(self.path))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

    def full_disk(self, mode="r", *args, **kwargs):
        handle = original(self, mode, *args, **kwargs)
        if "w" in mode and "comparison.csv" in self.name:
            return FullDisk(handle, self)
        return handle

    monkeypatch.setattr(Path, "open", full_disk)
    code, stdout, stderr = _run_in_process(scenario_path, output, monkeypatch)
    assert code == 2
    line = _one_line(stderr)
    assert "cannot write results" in line and "No space left on device" in line
    assert str(output / "comparison.csv") in line
    # Nothing of the failed run reaches the folder: the earlier files are untouched.
    for name, content in earlier.items():
        assert (output / name).read_bytes() == content
    assert not (output / "comparison.csv").exists()
    assert not list(output.glob(".staging-*"))
    assert leftovers(output) == []
    assert "Wrote" not in stdout


def test_a_full_disk_while_saving_a_replication_is_a_clear_error(
    scenario_path, tmp_path, monkeypatch
):
    output = tmp_path / "out"
    original = Path.open

    def full_disk(self, mode="r", *args, **kwargs):
        if self.name.startswith(".replication_") and "w" in mode:
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", full_disk)
    code, _, stderr = _run_in_process(scenario_path, output, monkeypatch)
    assert code == 2
    line = _one_line(stderr)
    assert "No space left on device" in line and "replication_00000.npz" in line
    assert leftovers(output) == []
    assert not (output / "cases.csv").exists()


# --------------------------------------------------------------------------- unwritable


def test_results_path_that_is_a_file(scenario_path, tmp_path, monkeypatch):
    output = tmp_path / "results.txt"
    output.write_bytes(b"not a folder")
    code, _, stderr = _run_in_process(scenario_path, output, monkeypatch)
    assert code == 2
    assert "exists and is not a folder" in _one_line(stderr)
    assert output.read_bytes() == b"not a folder"


def test_results_folder_below_a_file(scenario_path, tmp_path, monkeypatch):
    blocker = tmp_path / "blocker"
    blocker.write_bytes(b"")
    code, _, stderr = _run_in_process(scenario_path, blocker / "out", monkeypatch)
    assert code == 2
    assert "cannot create the results folder" in _one_line(stderr)


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root may write anywhere"
)
def test_read_only_results_folder(scenario_path, tmp_path, monkeypatch):
    output = tmp_path / "locked"
    output.mkdir()
    output.chmod(0o555)
    try:
        code, _, stderr = _run_in_process(scenario_path, output, monkeypatch)
    finally:
        output.chmod(0o755)
    assert code == 2
    assert "cannot write into the results folder" in _one_line(stderr)
    assert list(output.iterdir()) == []


def test_a_failed_run_removes_the_results_folder_it_created(scenario_path, tmp_path, monkeypatch):
    # An unknown variant is found after the results folder was checked (created): the
    # empty folder is removed again, so a failed run leaves nothing behind.
    output = tmp_path / "new" / "out"
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        app, ["run", str(scenario_path), "-o", str(output), "-q", "--variant", "nope"]
    )
    assert result.exit_code == 2
    assert "unknown variant 'nope'" in _one_line(result.stderr)
    assert not output.exists() and not output.parent.exists()


def test_forked_workers_end_quietly(tmp_path):
    """Workers ended by their pool do not print the command line's interruption message."""
    script = tmp_path / "forked.py"
    script.write_text(
        "import signal, time\n"
        "from contextlib import closing\n"
        "from sim import cli\n"
        "from sim.run.forking import can_fork, imap_forked, map_forked\n"
        "signal.signal(signal.SIGTERM, cli._interrupted)\n"
        "signal.signal(signal.SIGINT, cli._interrupted)\n"
        "assert can_fork()\n"
        "print(map_forked(abs, [-1, -2, -3, -4], workers=2))\n"
        "def slow(x):\n"
        "    time.sleep(x)\n"
        "    return x\n"
        "with closing(imap_forked(slow, [0, 2, 2, 2], workers=2)) as found:\n"
        "    print(next(found))\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[1,", "2,", "3,", "4]", "0"]
    assert "interrupted" not in done.stdout + done.stderr


# --------------------------------------------------------------------------- processes


def _start(scenario_path: Path, output: Path, *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "sim", "run", str(scenario_path), "-q", *NO_REPORT,
               "--output", str(output), *extra]  # fmt: skip
    return subprocess.Popen(
        command, cwd=output.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _wait_for(predicate, seconds: float = 60) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline and not predicate():
        time.sleep(0.02)
    assert predicate(), "timed out"


def test_pool_workers_die_with_their_parent(scenario_path, tmp_path):
    # `kill -9` leaves the parent no chance to stop its workers: they must end themselves.
    psutil = pytest.importorskip("psutil")
    output = tmp_path / "out"
    process = _start(scenario_path, output, "--replications", "400", "--workers", "2")
    try:
        _wait_for(lambda: len(psutil.Process(process.pid).children(recursive=True)) >= 2)
        workers = psutil.Process(process.pid).children(recursive=True)
    finally:
        process.kill()
        process.communicate(timeout=30)
    gone, alive = psutil.wait_procs(workers, timeout=15)
    assert not alive, f"workers outlived their parent: {alive}"


@pytest.mark.slow
def test_repeated_ctrl_c_in_a_process_pool_ends_the_run_quickly(scenario_path, tmp_path):
    # Ctrl-C reaches the whole process group; the workers leave it to the parent, which
    # stops them. Three tries, at different moments of the run (once it has started).
    for attempt, wait in enumerate((0.0, 0.5, 2.0)):
        output = tmp_path / f"out{attempt}"
        process = _start(scenario_path, output, "--replications", "400", "--workers", "2")
        _wait_for((output / ".approvalsim.lock").exists)
        time.sleep(wait)
        process.send_signal(signal.SIGINT)
        stopped = time.time()
        _, stderr = process.communicate(timeout=30)
        assert time.time() - stopped < 10, f"try {attempt}: took {time.time() - stopped:.1f} s"
        assert process.returncode in (128 + signal.SIGINT, 0), stderr
        assert "Traceback" not in stderr, stderr
        if output.exists():
            assert leftovers(output) == [] and not list(output.glob(".staging-*"))


def test_ctrl_c_while_tables_are_written_keeps_the_earlier_run(scenario_path, tmp_path):
    # Tables go into a staging folder first: an interrupted run leaves the earlier files.
    output = tmp_path / "out"
    first = subprocess.run(
        [sys.executable, "-m", "sim", "run", str(scenario_path), "-q", *NO_REPORT,
         "--executor", "serial", "--output", str(output), "--seed", "1"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    def files() -> dict[str, bytes]:  # the lock file holds the last writer's process id
        return {p.name: p.read_bytes() for p in output.iterdir() if p.is_file() and p.name != LOCK}

    before = files()
    marker = tmp_path / "writing"
    script = tmp_path / "slow_tables.py"
    script.write_text(
        "import sys, time\n"
        "from pathlib import Path\n"
        "import sim.cli\n"
        "original = sim.cli.write_tables\n"
        "def slow(result, folder, **options):\n"
        "    written = original(result, folder, **options)\n"
        f"    Path({str(marker)!r}).write_text('x')\n"
        "    time.sleep(60)\n"
        "    return written\n"
        "sim.cli.write_tables = slow\n"
        "sys.argv = ['approvalsim', *sys.argv[1:]]\n"
        "sim.cli.main()\n",
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [sys.executable, str(script), "run", str(scenario_path), "-q", *NO_REPORT,
         "--executor", "serial", "--output", str(output), "--seed", "2"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    _wait_for(marker.exists)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 128 + signal.SIGINT, stderr
    assert "Traceback" not in stderr
    assert files() == before
    assert not list(output.glob(".staging-*"))


def test_a_second_run_into_a_folder_being_written_refuses(scenario_path, tmp_path):
    output = tmp_path / "out"
    process = _start(scenario_path, output, "--replications", "20000", "--executor", "serial")
    try:
        _wait_for(lambda: bool(list(output.glob("runs/*/replication_*.npz"))))
        second = subprocess.run(
            [sys.executable, "-m", "sim", "run", str(scenario_path), "-q", *NO_REPORT,
             "--executor", "serial", "--output", str(output), "--seed", "99"],
            cwd=tmp_path, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    assert second.returncode == 2
    line = _one_line(second.stderr)
    assert f"process {process.pid}" in line and "--output" in line
    assert not (output / "cases.csv").exists()
