"""Finished replications kept on disk, so that an interrupted run resumes where it stopped.

Each finished replication is written atomically as ``replication_NNNNN.npz`` under
``<output>/runs/<run id>/``; the run id hashes everything that determines the numbers
(`sim.run.experiment.scenario_digest`), so a changed scenario starts afresh. Once the run
has finished and its results are written, its replications are removed
unless they are asked to be kept (``--keep cache``), with those of earlier runs (`prune`).

The format carries data only, never code: NumPy arrays of numbers, booleans and dates,
and text as UTF-8 bytes with offsets (read with ``allow_pickle=False``, uncompressed
members only), and a JSON header naming the run id, the replication, and each table's
columns and types. What is read back is checked against the header and the tables'
schemas (`sim.engines.records`); a file that does not match is not used: the replication
is computed again and the run says why.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.engines.records import CASE_COLUMNS, STEP_COLUMNS
from sim.run.figures import FIGURE_COLUMNS
from sim.run.files import write_atomically
from sim.run.reduce import QUEUE_COLUMNS

FORMAT = 3
BUSY_COLUMNS = ("replication", "variant", "agency", "busy_days")
# Each table's columns; a table of case or step rows may also be empty (not kept).
SCHEMAS: dict[str, tuple[str, ...]] = {
    "cases": CASE_COLUMNS,
    "steps": STEP_COLUMNS,
    "busy": BUSY_COLUMNS,
    "queues": QUEUE_COLUMNS,
    "figures": FIGURE_COLUMNS,
}
# The tables a replication may leave out (no columns): rows it was not asked to keep.
OPTIONAL = ("cases", "steps")
NUMBERS = ("int64", "float64", "bool", "datetime64[s]", "datetime64[ms]", "datetime64[us]")
# Text comes back as pandas' default text type (kept in Arrow when pyarrow is there), the
# type a fresh run's tables have.
TEXTS = {"str": pd.StringDtype(na_value=np.nan), "object": np.dtype(object)}


class CacheError(ValueError):
    """A kept replication that cannot be used: why."""


def replication_file(folder: Path, replication: int) -> Path:
    """The file of a finished replication."""
    return folder / f"replication_{replication:05d}.npz"


def keeps_steps(steps: str, replication: int) -> bool:
    """Whether a replication keeps its step rows (``steps``: ``first``, ``all`` or ``none``)."""
    return steps == "all" or (steps == "first" and replication == 0)


def keeps_cases(cases: str, replication: int) -> bool:
    """Whether a replication keeps its case rows (``cases``: ``first`` or ``all``)."""
    return cases == "all" or replication == 0


def load_finished(
    folder: Path | None, replications: int, steps: str, run_id: str, cases: str = "all"
) -> tuple[dict[int, dict[str, pd.DataFrame]], list[str]]:
    """The replications finished by an earlier run that this run can use, by number.

    Returns:
        The usable replications' tables (``cases``, ``steps``, ``busy``, ``queues``,
        ``figures``) by number, and why each file that was there could not be used.
    """
    finished: dict[int, dict[str, pd.DataFrame]] = {}
    refused: list[str] = []
    if folder is None or not folder.is_dir():
        return finished, refused
    for replication in range(replications):
        path = replication_file(folder, replication)
        if not path.exists():
            continue
        try:
            tables = read_replication(path, run_id, replication)
        except CacheError as error:
            refused.append(f"{path}: {error}; computed again")
            continue
        lacks_steps = keeps_steps(steps, replication) and not len(tables["steps"].columns)
        lacks_cases = keeps_cases(cases, replication) and not len(tables["cases"].columns)
        if not (lacks_steps or lacks_cases):
            finished[replication] = tables
    return finished, refused


def save_finished(folder: Path, run_id: str, replication: int, tables: Mapping[str, Any]) -> None:
    """Keep a finished replication's tables (cases, steps, busy, queues, figures)."""
    arrays: dict[str, np.ndarray] = {}
    header: dict[str, Any] = {
        "format": FORMAT,
        "run_id": run_id,
        "replication": replication,
        "tables": {},
    }
    for name in SCHEMAS:
        frame = tables[name]
        header["tables"][name] = {
            "rows": len(frame),
            "columns": [[str(c), _dtype_name(frame[c])] for c in frame.columns],
        }
        for index, column in enumerate(frame.columns):
            arrays.update(_encode(f"{name}.{index}", frame[column]))
    arrays["header"] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)

    def write(path: Path) -> None:
        with path.open("wb") as handle:
            np.savez(handle, **arrays)

    write_atomically(replication_file(folder, replication), write)


def _dtype_name(column: pd.Series) -> str:
    dtype = column.dtype
    if isinstance(dtype, pd.StringDtype):
        return "str"
    return str(dtype)


def _encode(key: str, column: pd.Series) -> dict[str, np.ndarray]:
    if _dtype_name(column) in NUMBERS:
        return {key: column.to_numpy()}
    codes, distinct = pd.factorize(column, use_na_sentinel=True)
    encoded = [str(value).encode("utf-8", "surrogatepass") for value in distinct]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    return {
        f"{key}.codes": codes.astype(np.int64, copy=False),
        f"{key}.offsets": offsets,
        f"{key}.text": np.frombuffer(b"".join(encoded), dtype=np.uint8),
    }


def read_replication(path: Path, run_id: str, replication: int) -> dict[str, pd.DataFrame]:
    """A kept replication's tables, checked against its header and the schemas.

    Raises:
        CacheError: The file is not a replication of this run in this format.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            if any(info.compress_type != zipfile.ZIP_STORED for info in archive.infolist()):
                raise CacheError("compressed members (not written by approvalsim)")
        with np.load(path, allow_pickle=False) as stored:
            members = set(stored.files)
            header = _header(stored, run_id, replication)
            tables = {}
            expected = {"header"}
            for name, spec in header["tables"].items():
                tables[name], keys = _table(stored, name, spec)
                expected |= keys
    except CacheError:
        raise
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, EOFError) as error:
        raise CacheError(f"unreadable ({type(error).__name__}: {error})") from None
    if members != expected:
        raise CacheError("holds arrays its header does not describe")
    return tables


def _header(stored: Any, run_id: str, replication: int) -> dict[str, Any]:
    raw = stored["header"]
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise CacheError("no header")
    header = json.loads(raw.tobytes().decode("utf-8"))
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CacheError("another format")
    if header.get("run_id") != run_id or header.get("replication") != replication:
        raise CacheError(
            f"saved for run {header.get('run_id')!r}, replication {header.get('replication')!r}"
        )
    tables = header.get("tables")
    if not isinstance(tables, dict) or set(tables) != set(SCHEMAS):
        raise CacheError("other tables than a replication's")
    return header


def _table(stored: Any, name: str, spec: Any) -> tuple[pd.DataFrame, set[str]]:
    rows = spec.get("rows") if isinstance(spec, dict) else None
    columns = spec.get("columns") if isinstance(spec, dict) else None
    if not isinstance(rows, int) or rows < 0 or not isinstance(columns, list):
        raise CacheError(f"table {name}: no row count or columns")
    names = tuple(c[0] for c in columns if isinstance(c, list) and len(c) == 2)
    not_kept = name in OPTIONAL and not names  # rows not kept
    if len(names) != len(columns) or (names != SCHEMAS[name] and not not_kept):
        raise CacheError(f"table {name}: columns {list(names)} are not the schema's")
    if not_kept and rows:
        raise CacheError(f"table {name}: rows without columns")
    data: dict[str, Any] = {}
    keys: set[str] = set()
    for index, (column, dtype) in enumerate(columns):
        key = f"{name}.{index}"
        if dtype in NUMBERS:
            values = stored[key]
            if values.dtype != np.dtype(dtype) or values.shape != (rows,):
                raise CacheError(f"table {name}: column {column} is not {rows} values of {dtype}")
            data[column] = values
            keys.add(key)
        elif dtype in TEXTS:
            data[column] = pd.array(_texts(stored, key, rows), dtype=TEXTS[dtype])
            keys |= {f"{key}.codes", f"{key}.offsets", f"{key}.text"}
        else:
            raise CacheError(f"table {name}: column {column} has type {dtype!r}")
    frame = pd.DataFrame(data, columns=list(names)) if names else pd.DataFrame()
    if len(frame) != rows:
        raise CacheError(f"table {name}: {len(frame)} rows, the header says {rows}")
    return frame, keys


def _texts(stored: Any, key: str, rows: int) -> np.ndarray:
    codes, offsets, text = (stored[f"{key}.{part}"] for part in ("codes", "offsets", "text"))
    if (
        codes.dtype != np.int64
        or codes.shape != (rows,)
        or offsets.dtype != np.int64
        or offsets.ndim != 1
        or text.dtype != np.uint8
        or offsets[0] != 0
        or offsets[-1] != len(text)
        or np.any(np.diff(offsets) < 0)
        or (rows and (codes.min() < -1 or codes.max() >= len(offsets) - 1))
    ):
        raise CacheError(f"column {key}: text that does not fit its offsets")
    blob = text.tobytes()
    bounds = offsets.tolist()
    distinct = [
        blob[start:end].decode("utf-8", "surrogatepass")
        for start, end in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    values = np.empty(len(distinct) + 1, dtype=object)
    values[:-1] = distinct
    values[-1] = None  # code -1: a missing value
    return values[codes]


def prune(cache: Path, keep: str | None = None) -> int:
    """Remove the kept replications of ``cache`` but those of run ``keep`` (None: all).

    A results folder holds one run: once it has finished and its files are written, the
    replications kept to resume it, and those of earlier runs into the folder, are no
    longer needed.

    Returns:
        The bytes freed.
    """
    freed = 0
    if cache.is_dir():
        for entry in sorted(cache.iterdir()):
            if entry.name != keep and entry.is_dir() and not entry.is_symlink():
                freed += folder_bytes(entry)
                shutil.rmtree(entry, ignore_errors=True)
    with contextlib.suppress(OSError):
        cache.rmdir()
    return freed


def folder_bytes(folder: Path) -> int:
    """The bytes of the files under ``folder`` (0 if there is none)."""
    if not folder.is_dir():
        return 0
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
