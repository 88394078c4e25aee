"""The run's tables as CSV files, each written whole or not at all, safe to open.

Text cells that a spreadsheet would take for a formula (beginning with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return: a reform's ``label:`` is the user's text) get a
leading ``'``, as the OWASP guidance on CSV injection says; numbers, and text that is a
plain number, are written as they are.
"""

from __future__ import annotations

import re
from contextlib import closing
from pathlib import Path
from typing import Any

import pandas as pd

from sim.engines.records import STEP_COLUMNS
from sim.run.experiment import RunResult
from sim.run.files import write_atomically
from sim.run.forking import imap_forked

# Rows a CSV chunk formats at a time when several workers write a table.
CSV_CHUNK_ROWS = 50_000


def write_tables(
    result: RunResult, output: Path, steps: str = "first", workers: int | None = None
) -> list[Path]:
    """Write the run's tables as CSV into ``output``, each file atomically.

    Formatting the numbers as text is slow (a few microseconds a value), so large tables
    are formatted in chunks side by side (`sim.run.forking`); the text is the same as one
    ``to_csv`` would write.

    Args:
        result: The run.
        output: The folder (created if needed).
        steps: ``first`` writes the step table of the first replication only (it is
            large), ``all`` every replication's kept.
        workers: Processes formatting the text (default: one a core).

    Returns:
        The files written.
    """
    tables = {
        "cases.csv": result.cases,
        "steps.csv": (
            result.steps
            if steps == "all" or len(result.steps) == 0
            else result.steps[result.steps["replication"].to_numpy() == 0]
        ),
        "summary.csv": result.summary,
        "comparison.csv": result.comparison,
        "agencies.csv": result.agencies,
    }
    if len(tables["steps.csv"].columns) == 0:  # no case: the header still says what it holds
        tables["steps.csv"] = pd.DataFrame(columns=list(STEP_COLUMNS))
    # Every table has at least one chunk: an empty one still gets its header.
    starts = {name: range(0, max(len(table), 1), CSV_CHUNK_ROWS) for name, table in tables.items()}
    jobs = [(tables[name], start) for name, found in starts.items() for start in found]
    written = []
    # Chunks are written as they come, so a large table is never all in memory as text.
    with closing(imap_forked(_csv_chunk, jobs, workers)) as chunks:
        for name in tables:
            count = len(starts[name])

            def write(path: Path, count: int = count) -> None:
                with path.open("w", encoding="utf-8", newline="") as handle:
                    for _ in range(count):
                        handle.write(next(chunks))

            write_atomically(output / name, write)
            written.append(output / name)
    return written


def _csv_chunk(job: tuple) -> str:
    """CSV text of rows ``[start, start + CSV_CHUNK_ROWS)``; the header with the first."""
    table, start = job
    chunk = spreadsheet_safe_frame(table.iloc[start : start + CSV_CHUNK_ROWS])
    return chunk.to_csv(index=False, header=start == 0, lineterminator="\n")


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
