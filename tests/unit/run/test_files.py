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


def test_a_planted_symbolic_link_is_never_followed(tmp_path):
    # The old temporary name `.<name>.<pid>.tmp` was predictable: a link planted there
    # sent the write elsewhere. Now every name a writer could guess is left alone.
    import os

    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious\n")
    for guess in (f".cases.csv.{os.getpid()}.tmp", f".cases.csv.{os.getpid() + 1}.tmp"):
        (tmp_path / guess).symlink_to(victim)
    seen = []

    def write(path: Path) -> None:
        seen.append(path)
        path.write_text("new\n")

    write_atomically(tmp_path / "cases.csv", write)
    assert victim.read_bytes() == b"precious\n"
    assert (tmp_path / "cases.csv").read_text() == "new\n"
    assert not seen[0].is_symlink() and seen[0].name.startswith(".cases.csv.")


def test_written_files_follow_the_umask(tmp_path):
    import os

    old = os.umask(0o027)
    try:
        write_atomically(tmp_path / "a.csv", lambda path: path.write_text("x"))
    finally:
        os.umask(old)
    assert (tmp_path / "a.csv").stat().st_mode & 0o777 == 0o640


def test_a_results_folder_takes_one_runs_files_manifest_last(tmp_path):
    import json

    from sim.run.files import MANIFEST, ResultsFolder, read_manifest

    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "report.md").write_text("earlier run's report")  # a name runs write
    (folder / "mine.txt").write_text("the user's own file")
    with ResultsFolder(folder) as results:
        staged = results.staging / "cases.csv"
        staged.write_text("new cases")
        placed = results.commit([staged], {"run_id": "abc"}, owned=["report.md"])
    assert placed == [folder / "cases.csv"]
    assert (folder / "cases.csv").read_text() == "new cases"
    assert not (folder / "report.md").exists()  # not this run's: removed
    assert (folder / "mine.txt").read_text() == "the user's own file"
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["run_id"] == "abc" and set(manifest["files"]) == {"cases.csv"}
    assert read_manifest(folder)["cases.csv"]["bytes"] == len("new cases")
    assert not list(folder.glob(".staging-*"))


def test_a_failed_run_leaves_the_folder_as_it_was(tmp_path):
    from sim.run.files import ResultsFolder

    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "cases.csv").write_text("earlier")
    with pytest.raises(SystemExit), ResultsFolder(folder) as results:
        (results.staging / "cases.csv").write_text("half of the new")
        raise SystemExit(130)
    assert (folder / "cases.csv").read_text() == "earlier"
    assert not list(folder.glob(".staging-*"))


def test_a_locked_folder_refuses_a_second_writer_naming_the_first(tmp_path):
    import os

    from sim.domain.errors import InputError
    from sim.run.files import ResultsFolder, lock_folder

    folder = tmp_path / "out"
    folder.mkdir()
    with ResultsFolder(folder):
        with pytest.raises(InputError, match=f"process {os.getpid()}"):
            lock_folder(folder)
    lock_folder(folder).close()  # released when the first run ends
