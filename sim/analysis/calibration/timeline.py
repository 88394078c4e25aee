"""Step executions on the working-day clock, and what a procedure's structure makes of them.

Both the records and the simulated cases go through these functions, so that the fit
report compares like with like: a case's cycle time runs from its first recorded event
(a start, or an end when starts are not recorded) to its last end; a step is *ready*
when the last of the steps it waits on (its ancestors in the structure) has ended, or
when the case began if it waits on none, and a repeated step (a send-back) when its
previous execution ended; the *gap* of an execution is from ready to its start (to its
end when starts are not recorded). Where starts are recorded and an agency's staff are
limited, the part of a gap during which all its staff were busy is the *queue*.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

EXECUTION_COLUMNS = ("case", "step", "start", "end", "agency")
OPTIONAL_COLUMNS = ("resource",)


def prepare(frame: pd.DataFrame) -> pd.DataFrame:
    """Executions sorted, with their ``begin`` and ``attempt``.

    Args:
        frame: ``case``, ``step``, clock ``start`` (NaN: not recorded), ``end``, ``agency``
            and, optionally, ``resource`` (the person, for staff counts).

    Returns:
        The executions sorted by case and end, with ``begin`` (the start, else the end)
        and ``attempt`` (1 for the first execution of the step in the case).
    """
    columns = [*EXECUTION_COLUMNS, *(c for c in OPTIONAL_COLUMNS if c in frame)]
    frame = frame.loc[:, columns].copy()
    frame["begin"] = frame["start"].where(frame["start"].notna(), frame["end"])
    frame = frame.sort_values(["case", "end", "begin"], kind="stable").reset_index(drop=True)
    frame["attempt"] = frame.groupby(["case", "step"], sort=False).cumcount() + 1
    return frame


def case_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row a case of prepared executions.

    Columns: ``first`` (clock of its first event), ``last`` (its last end), ``cycle``
    (last - first), ``last_step`` (the step that ended last) and ``executions``.
    """
    grouped = frame.groupby("case", sort=False)
    table = pd.DataFrame(
        {
            "first": grouped["begin"].min(),
            "last": grouped["end"].max(),
            "executions": grouped.size(),
        }
    )
    # Sorted by end, then begin, then as recorded: the last row is the step that ended last.
    ends_last = frame.groupby("case", sort=False).tail(1)
    table["last_step"] = ends_last.set_index("case")["step"].reindex(table.index)
    table["cycle"] = table["last"] - table["first"]
    return table


def ready_times(
    frame: pd.DataFrame, ancestors: Mapping[str, frozenset[str]], first: pd.Series
) -> tuple[pd.Series, dict[str, int]]:
    """When each execution became ready (module doc), and order deviations by step.

    Args:
        frame: Prepared executions (`prepare`).
        ancestors: Step to every step it waits on, directly or through others.
        first: Each case's first event (`case_table`'s ``first``).

    Returns:
        ``(ready, deviations)``: the ready clock of every execution (indexed as
        ``frame``), and per step how many first executions had an ancestor end after
        they began (the records do not follow the structure there; the ancestor is then
        not waited for).
    """
    ready = frame["case"].map(first).astype(float)
    repeats = frame["attempt"] > 1
    previous = frame.groupby(["case", "step"], sort=False)["end"].shift(1)
    ready[repeats] = previous[repeats]
    deviations: dict[str, int] = {}
    firsts = frame[~repeats]
    for step, before in ancestors.items():
        if not before:
            continue
        left = firsts[firsts["step"] == step]
        right = frame[frame["step"].isin(before)]
        if left.empty or right.empty:
            continue
        left = left[["case", "begin"]].reset_index().sort_values("begin", kind="stable")
        right = right[["case", "end"]].rename(columns={"end": "ancestor_end"})
        right = right.sort_values("ancestor_end", kind="stable")
        found = pd.merge_asof(
            left, right, left_on="begin", right_on="ancestor_end", by="case", direction="backward"
        )
        later = pd.merge_asof(
            left,
            right,
            left_on="begin",
            right_on="ancestor_end",
            by="case",
            direction="forward",
            allow_exact_matches=False,
        )
        deviations[step] = int(later["ancestor_end"].notna().sum())
        hit = found["ancestor_end"].notna().to_numpy()
        index = found["index"].to_numpy()[hit]
        ready.loc[index] = np.maximum(
            ready.loc[index].to_numpy(), found["ancestor_end"].to_numpy()[hit]
        )
    return ready, deviations


def peak_staff(frame: pd.DataFrame, people: bool = False) -> dict[str, int]:
    """Per agency, the most executions seen in handling at the same moment (starts needed).

    Args:
        frame: Prepared executions.
        people: Count the distinct people of the ``resource`` column busy at once
            instead (a person's overlapping executions count once).
    """
    timed = frame[frame["start"].notna() & (frame["end"] > frame["start"])]
    peaks = {}
    for agency, part in timed.groupby("agency", sort=False):
        times, deltas = _busy_events(part, people)
        peaks[str(agency)] = int(np.max(np.cumsum(deltas))) if deltas.size else 0
    return peaks


def _busy_intervals(part: pd.DataFrame, people: bool) -> tuple[np.ndarray, np.ndarray]:
    """When staff were busy: each execution, or each person's merged executions."""
    if not people or "resource" not in part or (part["resource"] == "").any():
        return part["start"].to_numpy(float), part["end"].to_numpy(float)
    ordered = part.sort_values(["resource", "start"], kind="stable")
    person = ordered["resource"]
    reach = ordered.groupby(person, sort=False)["end"].cummax()
    before = reach.groupby(person, sort=False).shift(1)
    block = (before.isna() | (ordered["start"] > before)).cumsum()
    merged = ordered.groupby(block.to_numpy(), sort=False).agg(
        start=("start", "min"), end=("end", "max")
    )
    return merged["start"].to_numpy(float), merged["end"].to_numpy(float)


def _busy_events(part: pd.DataFrame, people: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Start (+1) and end (-1) events of busy intervals, ends first at equal times."""
    starts, ends = _busy_intervals(part, people)
    times = np.concatenate([starts, ends])
    deltas = np.concatenate([np.ones(starts.size), -np.ones(ends.size)])
    order = np.lexsort((deltas, times))
    return times[order], deltas[order]


def queue_parts(
    frame: pd.DataFrame, ready: pd.Series, staff: Mapping[str, int | None]
) -> pd.Series:
    """The part of each gap (ready to start) during which every staff member was busy.

    Args:
        frame: Prepared executions with recorded starts.
        ready: Their ready clocks (`ready_times`).
        staff: Agency to its staff (None: unlimited, no queue).

    Returns:
        Working days of queue per execution (0 without a start or a staff limit).
    """
    queue = pd.Series(0.0, index=frame.index)
    timed = frame["start"].notna()
    for agency, part in frame[timed].groupby("agency", sort=False):
        limit = staff.get(str(agency))
        if limit is None:
            continue
        busy = part[part["end"] > part["start"]]
        times, deltas = _busy_events(busy)
        if times.size == 0:
            continue
        count = np.cumsum(deltas)
        # Saturated time accumulated up to each event time.
        full = (count[:-1] >= limit) * np.diff(times)
        saturated = np.concatenate([[0.0], np.cumsum(full)])
        curve = (times, saturated, count >= limit)
        begin = part["start"].to_numpy(float)
        since = np.minimum(ready.loc[part.index].to_numpy(float), begin)
        queue.loc[part.index] = np.maximum(_saturated(curve, begin) - _saturated(curve, since), 0.0)
    return queue


def _saturated(curve: tuple[np.ndarray, np.ndarray, np.ndarray], moments: np.ndarray) -> np.ndarray:
    """Time every staff member was busy from the first event to each moment."""
    times, saturated, full = curve
    index = np.searchsorted(times, moments, side="right") - 1
    safe = np.maximum(index, 0)
    extra = np.where(full[safe], moments - times[safe], 0.0)
    return np.where(index >= 0, saturated[safe] + extra, 0.0)
