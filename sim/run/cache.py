"""Finished replications kept on disk, so that an interrupted run resumes where it stopped.

Each finished replication is written atomically as ``replication_NNNNN.pkl`` under
``<output>/runs/<run id>/``; the run id hashes everything that determines the numbers
(`sim.run.experiment.scenario_digest`), so a changed scenario starts afresh.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from sim.run.files import write_atomically


def replication_file(folder: Path, replication: int) -> Path:
    """The file of a finished replication."""
    return folder / f"replication_{replication:05d}.pkl"


def keeps_steps(steps: str, replication: int) -> bool:
    """Whether a replication keeps its step rows (``steps``: ``first`` or ``all``)."""
    return steps == "all" or replication == 0


def load_finished(folder: Path | None, replications: int, steps: str) -> dict[int, Any]:
    """The replications finished by an earlier run that this run can use, by number."""
    finished: dict[int, Any] = {}
    if folder is None or not folder.is_dir():
        return finished
    for replication in range(replications):
        path = replication_file(folder, replication)
        if path.is_file():
            try:
                with path.open("rb") as handle:
                    result = pickle.load(handle)
            except (
                OSError,
                EOFError,
                pickle.UnpicklingError,
                ImportError,
                AttributeError,
                TypeError,
            ):
                continue  # unreadable, or saved by another version: compute it again
            lacks_steps = (
                keeps_steps(steps, replication) and len(result.cases) and not len(result.steps)
            )
            if getattr(result, "queues", None) is None or lacks_steps:
                continue  # saved by an older version, or without the steps now wanted
            finished[replication] = result
    return finished


def save_finished(folder: Path, result: Any) -> None:
    """Keep a finished replication (a `sim.run.experiment.ReplicationResult`)."""
    write_atomically(
        replication_file(folder, result.replication),
        lambda path: path.write_bytes(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)),
    )
