"""Atomic writes: a file is written to a temporary file in its folder and renamed into
place, so a reader (or a crash) sees the old file or the new one, never half of one."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from sim.run.files import write_atomically
from tests.factories import leftovers


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "cases.csv"
    target.write_bytes(b"old complete file\n")

    def half_then_fail(path: Path) -> None:
        path.write_bytes(b"new but only ha")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        write_atomically(target, half_then_fail)
    assert target.read_bytes() == b"old complete file\n"
    assert leftovers(tmp_path) == []


def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path):
    # SIGTERM/SIGINT become SystemExit (sim.cli._interrupted), which unwinds the same way.
    target = tmp_path / "summary.csv"
    target.write_bytes(b"old\n")

    def interrupted(path: Path) -> None:
        path.write_bytes(b"partial")
        raise SystemExit(143)

    with pytest.raises(SystemExit):
        write_atomically(target, interrupted)
    assert target.read_bytes() == b"old\n"
    assert leftovers(tmp_path) == []


def test_a_write_goes_through_a_temporary_file_in_the_same_folder(tmp_path):
    # The rename is atomic only within one file system, hence the same folder.
    seen = []

    def write(path: Path) -> None:
        seen.append(path)
        path.write_text("x")

    write_atomically(tmp_path / "deep" / "file.csv", write)
    assert seen[0].parent == tmp_path / "deep" and seen[0].name.endswith(".tmp")
    assert (tmp_path / "deep" / "file.csv").read_text() == "x"
    assert leftovers(tmp_path) == []
