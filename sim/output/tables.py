"""The run's tables as CSV files (or Parquet), each written whole or not at all, safe to open.

A run writes what a planner needs (`kept_tables`): the summary, the comparison, the
agencies and the first replication's cases; every replication's cases and the step rows
when asked (``--keep``, ``--steps all``). ``--format parquet`` writes the case and step
rows as compressed Parquet.

Text cells that a spreadsheet would take for a formula (beginning with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return: a reform's ``label:`` is the user's text) get a
leading ``'``, as the OWASP guidance on CSV injection says; numbers, and text that is a
plain number, are written as they are.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from contextlib import closing
from pathlib import Path
from typing import Any

import pandas as pd

from sim.engines.records import STEP_COLUMNS
from sim.output.csv_text import csv_text
from sim.run.experiment import RunResult
from sim.run.files import write_atomically
from sim.run.forking import imap_forked

# Rows a CSV chunk formats at a time when several workers write a table.
CSV_CHUNK_ROWS = 50_000
FORMATS = ("csv", "parquet")
# What a run may keep beyond its default files (``--keep``).
KEEP = ("cases", "steps", "cache")
SMALL_TABLES = ("summary", "comparison", "agencies")


def kept_tables(
    result: RunResult, steps: str = "first", keep: Iterable[str] = ()
) -> dict[str, pd.DataFrame]:
    """The tables a run writes, by name: what a planner needs, and what was asked for.

    The case rows of the first replication (every replication's with ``cases`` in
    ``keep``), the summary, the comparison and the agencies; the step rows only with
    ``steps`` in ``keep`` (the first replication's) or ``steps="all"`` (every one's).
    """
    keep = set(keep)
    cases = result.cases
    if "cases" not in keep and len(cases):
        cases = cases[cases["replication"].to_numpy() == 0]
    tables = {"cases": cases}
    if "steps" in keep or steps == "all":
        rows = result.steps
        if steps != "all" and len(rows):
            rows = rows[rows["replication"].to_numpy() == 0]
        if len(rows.columns) == 0:  # no case: the header still says what it holds
            rows = pd.DataFrame(columns=list(STEP_COLUMNS))
        tables["steps"] = rows
    tables.update(summary=result.summary, comparison=result.comparison, agencies=result.agencies)
    return tables


def write_tables(
    result: RunResult,
    output: Path,
    steps: str = "first",
    workers: int | None = None,
    keep: Iterable[str] = (),
    format: str = "csv",  # noqa: A002 - the CLI's word
    progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """Write the run's tables into ``output``, each file atomically (`kept_tables` says which).

    Formatting the numbers as text is slow (about half a microsecond a value, with
    `sim.output.csv_text`), so large tables are formatted in chunks side by side
    (`sim.run.forking`); the text is the same as one ``to_csv`` would write.

    Args:
        result: The run.
        output: The folder (created if needed).
        steps: ``first`` or ``all``: the replications whose step rows were kept (``all``
            writes them).
        workers: Processes formatting the text (default: one a core).
        keep: More to write: ``cases`` (every replication's), ``steps``.
        format: ``csv``, or ``parquet`` for the case and step rows (compressed; the
            small tables stay CSV).
        progress: Called with (rows written, rows in all) as the tables are written.

    Returns:
        The files written.
    """
    if format not in FORMATS:
        raise ValueError(f"unknown table format '{format}'; use one of {', '.join(FORMATS)}")
    tables = kept_tables(result, steps, keep)
    total = sum(len(table) for table in tables.values())
    done = 0

    def advance(rows: int) -> None:
        nonlocal done
        done += rows
        if progress:
            progress(done, total)

    advance(0)
    written = []
    large = [name for name in tables if name not in SMALL_TABLES]
    if format == "parquet":
        for name in large:
            written.append(write_parquet(tables.pop(name), output / f"{name}.parquet", advance))
    written += _write_csvs(
        {f"{name}.csv": table for name, table in tables.items()}, output, workers, advance
    )
    return written


def _write_csvs(
    tables: dict[str, pd.DataFrame], output: Path, workers: int | None, advance
) -> list[Path]:
    # Every table has at least one chunk: an empty one still gets its header.
    starts = {name: range(0, max(len(table), 1), CSV_CHUNK_ROWS) for name, table in tables.items()}
    jobs = [(tables[name], start) for name, found in starts.items() for start in found]
    written = []
    # Chunks are written as they come, so a large table is never all in memory as text.
    with closing(imap_forked(_csv_chunk, jobs, workers)) as chunks:
        for name in tables:
            count, rows = len(starts[name]), len(tables[name])

            def write(path: Path, count: int = count, rows: int = rows) -> None:
                with path.open("w", encoding="utf-8", newline="") as handle:
                    for index in range(count):
                        handle.write(next(chunks))
                        advance(min(CSV_CHUNK_ROWS, rows - index * CSV_CHUNK_ROWS))

            write_atomically(output / name, write)
            written.append(output / name)
    return written


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """One table as a CSV file, atomically, its text cells safe from formulas."""
    text = csv_text(spreadsheet_safe_frame(frame))
    write_atomically(path, lambda p: p.write_text(text, encoding="utf-8", newline=""))
    return path


def write_parquet(frame: pd.DataFrame, path: Path, advance=None) -> Path:
    """A table as a compressed Parquet file (zstd), atomically, in row groups.

    Text columns are stored as text, the ``attributes`` column as its JSON text, dates
    as dates; Parquet has no formulas, so cells are stored as they are.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.Schema.from_pandas(frame, preserve_index=False)

    def write(temporary: Path) -> None:
        with pq.ParquetWriter(temporary, schema, compression="zstd") as writer:
            for start in range(0, max(len(frame), 1), CSV_CHUNK_ROWS):
                chunk = frame.iloc[start : start + CSV_CHUNK_ROWS]
                writer.write_table(pa.Table.from_pandas(chunk, schema=schema, preserve_index=False))
                if advance:
                    advance(len(chunk))

    write_atomically(path, write)
    return path


def _csv_chunk(job: tuple) -> str:
    """CSV text of rows ``[start, start + CSV_CHUNK_ROWS)``; the header with the first."""
    table, start = job
    chunk = spreadsheet_safe_frame(table.iloc[start : start + CSV_CHUNK_ROWS])
    return csv_text(chunk, header=start == 0)


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def spreadsheet_safe(value: Any) -> Any:
    """A cell a spreadsheet will not run: text read as a formula gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def spreadsheet_safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with `spreadsheet_safe` text cells (itself when none needs a change)."""
    changed = {}
    for column in frame.columns:
        series = frame[column]
        if series.dtype.kind in "biufcmM":
            continue  # numbers, booleans and dates are never formulas
        distinct = pd.unique(series.dropna())
        if any(spreadsheet_safe(value) is not value for value in distinct):
            changed[column] = series.map(spreadsheet_safe)
    if not changed:
        return frame
    frame = frame.copy()
    for column, values in changed.items():
        frame[column] = values
    return frame
