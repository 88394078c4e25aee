"""Files written whole or not at all, and a results folder that holds one run's files.

`write_atomically` writes a file through a temporary file that no one else can have
planted (`tempfile.mkstemp`: an unpredictable name, created with ``O_EXCL``, so a symbolic
link placed there beforehand is never followed) and renames it into place.

`ResultsFolder` is a run's results folder: locked (``fcntl.flock``) while the run writes,
so that a second run into it stops with a clear message; the run's files are written
into a staging folder inside it and moved in together, signals held, once all of them
are complete; ``manifest.json`` is written last and lists them. A folder whose manifest
is missing is being written or was left half-way (by ``kill -9`` or a power cut): its
files are not one run's.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from sim.domain.errors import InputError

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; runs into one folder are not guarded
    fcntl = None  # type: ignore[assignment]

MANIFEST = "manifest.json"
LOCK = ".approvalsim.lock"
STAGING_PREFIX = ".staging-"


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file in the same folder and rename it into place.

    Args:
        path: The file to write.
        write: Writes the content into the path it is given.

    Raises:
        OSError: Writing failed (the old file is left as it was); its ``filename`` is
            ``path``, never the temporary file's name.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = None
    try:
        # A signal between making the file and knowing its name would leave it behind.
        with signals_held():
            handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            temporary = Path(name)
        os.close(handle)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes it private (0600)
        write(temporary)
        os.replace(temporary, path)
    except OSError as error:
        error.filename = str(path)
        raise
    finally:
        if temporary is not None and temporary.exists():
            temporary.unlink()


def _umask() -> int:
    with _UMASK_LOCK:
        mask = os.umask(0)
        os.umask(mask)
    return mask


_UMASK_LOCK = threading.Lock()


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends (they are delivered then).

    Only the main thread receives them, and only it can hold them; elsewhere this does
    nothing.
    """
    held = {signal.SIGINT, signal.SIGTERM}
    can_hold = hasattr(signal, "pthread_sigmask") and (
        threading.current_thread() is threading.main_thread()
    )
    if can_hold:
        signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        if can_hold:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, held)


class ResultsFolder:
    """A run's results folder, locked while the run writes; files swapped in together.

    Use as a context manager: entering takes the lock (or raises `InputError` naming the
    process that holds it) and makes the staging folder; writers write into `staging`;
    `commit` moves their files in; leaving removes the staging folder (with whatever an
    interrupted or failed run wrote there) and releases the lock.
    """

    def __init__(self, folder: Path, staging: bool = True) -> None:
        self.folder = Path(folder)
        self.staging = self.folder
        self._stage = staging
        self._lock: Any = None

    def __enter__(self) -> ResultsFolder:
        self._lock = lock_folder(self.folder)
        if not self._stage:
            return self
        try:
            self.staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.folder))
        except BaseException:
            self._lock.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._stage:
                shutil.rmtree(self.staging, ignore_errors=True)
        finally:
            self._lock.close()

    def public(self, path: Path | str | None) -> Path | str | None:
        """Where a staged file goes (for messages): ``folder/name`` for ``staging/name``."""
        if path is None:
            return None
        path = Path(path)
        if path.parent == self.staging:
            return self.folder / path.name
        return path

    def commit(
        self,
        files: Iterable[Path],
        about: dict[str, Any],
        owned: Iterable[str] = (),
        kept: Iterable[str] = (),
    ) -> list[Path]:
        """Move the staged ``files`` into the folder and write the manifest last.

        The earlier run's manifest goes first, and with it the earlier run's files that
        this run does not write (and any of ``owned``, the names runs write, left by a
        version without manifests): the folder never shows two runs' files as one.

        Args:
            files: Staged files (in `staging`).
            about: What the manifest says about the run (run id, seed, ...).
            owned: File names a run writes.
            kept: Files of the earlier manifest that stay, as they are (a report
                rewritten for the same run keeps the run's tables).

        Returns:
            The files' places in the folder.
        """
        files = list(files)
        listed = read_manifest(self.folder) or {}
        entries = {name: listed[name] for name in kept if name in listed}
        entries.update({path.name: _describe(path) for path in files})
        names = set(entries)
        earlier = set(listed) | set(owned)
        with signals_held():
            (self.folder / MANIFEST).unlink(missing_ok=True)
            for name in sorted(earlier - names):
                (self.folder / name).unlink(missing_ok=True)
            placed = []
            for path in files:
                os.replace(path, self.folder / path.name)
                placed.append(self.folder / path.name)
            now = datetime.datetime.now(datetime.timezone.utc)
            manifest = {**about, "written": now.isoformat(timespec="seconds"), "files": entries}
            text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
            write_atomically(self.folder / MANIFEST, lambda p: p.write_text(text, encoding="utf-8"))
        return placed


def _describe(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"bytes": path.stat().st_size, "sha256": digest.hexdigest()}


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The files a results folder's manifest lists (name to size and digest), or None.

    None when there is no manifest or it cannot be read: the folder then holds no
    complete run.
    """
    try:
        data = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    files = data.get("files") if isinstance(data, dict) else None
    return files if isinstance(files, dict) else None


def lock_folder(folder: Path) -> Any:
    """Take the folder's lock (an open file; closing it releases the lock).

    Raises:
        InputError: Another process holds it; the message names that process.
    """
    path = Path(folder) / LOCK
    try:
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held until closed
    except OSError as error:
        raise InputError(
            f"cannot lock the results folder: {error.strerror or error}", file=folder
        ) from None
    if fcntl is None:
        return handle
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise InputError(
            f"another run (process {holder}) is writing into this results folder; wait "
            "for it to finish or choose another folder with --output",
            file=folder,
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def remove_staging(folder: Path) -> int:
    """Remove staging folders a killed run left in ``folder`` (hold its lock); bytes freed."""
    freed = 0
    for entry in Path(folder).glob(STAGING_PREFIX + "*"):
        if entry.is_dir() and not entry.is_symlink():
            freed += sum(p.stat().st_size for p in entry.rglob("*") if p.is_file())
            shutil.rmtree(entry, ignore_errors=True)
    return freed
