"""What a replication is reduced to where it runs: queue totals per agency.

The step rows of a run are large (several a case); the agency table needs only these
totals, small enough to keep for every replication when the rows themselves are not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from sim.engines.records import QUEUE_FRAME_COLUMNS

QUEUE_COLUMNS = (
    "replication",
    "variant",
    "agency",
    "steps",
    "queue_days_total",
    "p90_queue_days",
    "early_steps",
    "early_queue_days_total",
    "late_steps",
    "late_queue_days_total",
)
"""Columns of `queue_totals`: one row per (replication, variant, agency) with queued steps."""


def queue_totals(steps: pd.DataFrame | Mapping[str, Any], horizon) -> pd.DataFrame:
    """The queue figures `agency_load` needs, per (replication, variant, agency).

    Over the step rows ready after the warm-up (a joint step counts for each of its
    agencies; revocation marks hold no staff and are left out): how many, their total
    and 90th-percentile ``queue_days`` (linear interpolation), and count and total of
    those ready in the first and in the second half of the arrival period. Small enough
    to keep for every replication when the step rows themselves are not kept. Computed
    with numpy on the few columns it reads: it runs once for every variant of every
    replication, where a pandas group-by took as long as making the case table.

    Args:
        steps: Step rows (`sim.engines.records.STEP_COLUMNS`, or at least
            `sim.engines.records.QUEUE_FRAME_COLUMNS`), or those columns as arrays by name with
            ``replication`` and ``variant`` as single values (one run's,
            `sim.engines.records.Records.queue_columns`).
        horizon: The scenario's horizon (warm-up and arrival period).

    Returns:
        A frame with columns `QUEUE_COLUMNS`, groups in order of first appearance.
    """
    names_given = steps.columns if isinstance(steps, pd.DataFrame) else steps.keys()
    if not set(QUEUE_FRAME_COLUMNS) <= set(names_given) or len(steps["ready_day"]) == 0:
        return pd.DataFrame({name: [] for name in QUEUE_COLUMNS})
    agency, names, rows = queued(steps, horizon.warmup_days)
    if len(rows) == 0:
        return pd.DataFrame({name: [] for name in QUEUE_COLUMNS})
    ready = np.asarray(steps["ready_day"], dtype=float)[rows]
    waits = np.asarray(steps["queue_days"], dtype=float)[rows]
    # One run's replication and variant are single values: no need to group by them.
    keys = [
        np.asarray(steps[name], dtype=dtype)
        for name, dtype in (("replication", np.int64), ("variant", object))
    ]
    group, first = _groups_in_order(
        *(pd.factorize(values[rows])[0] for values in keys if values.ndim), agency
    )
    count = len(first)
    replication, variant = (
        values[rows[first]] if values.ndim else np.full(count, values[()], values.dtype)
        for values in keys
    )
    sizes = np.bincount(group, minlength=count)
    start, end = horizon.warmup_days, horizon.arrival_days
    middle = (start + end) / 2
    early = (ready >= start) & (ready < middle)
    late = (ready >= middle) & (ready < end)
    return pd.DataFrame(
        {
            "replication": replication,
            "variant": variant,
            "agency": names[agency[first]],
            "steps": sizes.astype(np.int64),
            "queue_days_total": np.bincount(group, weights=waits, minlength=count),
            "p90_queue_days": _group_quantiles(group, waits, sizes, 0.9),
            "early_steps": np.bincount(group, weights=early, minlength=count).astype(np.int64),
            "early_queue_days_total": np.bincount(group, weights=waits * early, minlength=count),
            "late_steps": np.bincount(group, weights=late, minlength=count).astype(np.int64),
            "late_queue_days_total": np.bincount(group, weights=waits * late, minlength=count),
        }
    )


def queued(steps: pd.DataFrame | Mapping[str, Any], warmup: float):
    """The step rows ready after the warm-up that held staff, one per agency held.

    Revocation marks hold no staff; a joint step (``a+b``) counts for each of its agencies.

    Returns:
        Codes into the agency names, the names, and the source row of each.
    """
    ready = np.asarray(steps["ready_day"], dtype=float)
    keep = (np.asarray(steps["outcome"], dtype=object) != "revoked") & (ready >= warmup)
    rows = np.flatnonzero(keep)
    return _split_agency_codes(np.asarray(steps["agency"], dtype=object)[rows], rows)


def _split_agency_codes(labels: np.ndarray, rows: np.ndarray):
    """One agency a row, joint steps (``a+b``) repeated for each.

    Returns:
        Codes into the names, the names, and the source row of each.
    """
    codes, distinct = pd.factorize(labels)
    # Split the few distinct labels, not every row.
    parts = [[name for name in str(label).split("+") if name] for label in distinct]
    names, number = pd.factorize(np.array([name for found in parts for name in found] or [""]))
    counts = np.array([len(found) for found in parts], dtype=np.intp)
    if (counts == 1).all():
        return names[codes], np.asarray(number, dtype=object), rows
    table = np.zeros((len(parts), max(counts.max(), 1)), dtype=np.intp)
    offsets = np.cumsum(counts) - counts
    for index, found in enumerate(parts):
        table[index, : len(found)] = names[offsets[index] : offsets[index] + len(found)]
    counts = counts[codes]
    positions = np.repeat(np.arange(len(rows)), counts)
    within = np.arange(len(positions)) - np.repeat(np.cumsum(counts) - counts, counts)
    return table[codes[positions], within], np.asarray(number, dtype=object), rows[positions]


def _groups_in_order(*codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group number of each row (numbered in order of first appearance) and first rows.

    Args:
        codes: One array of non-negative integer codes a key.
    """
    combined = np.zeros(len(codes[0]), dtype=np.int64)
    for key in codes:
        combined = combined * (int(key.max(initial=0)) + 1) + key
    group, _ = pd.factorize(combined)  # numbered in order of first appearance
    highest = np.maximum.accumulate(group)
    first = np.flatnonzero(np.concatenate(([True], highest[1:] > highest[:-1])))
    return group, first


def _group_quantiles(group: np.ndarray, values: np.ndarray, sizes: np.ndarray, q: float):
    """The ``q`` quantile of each group's values (linear interpolation, as numpy's).

    Each group needs only its two order statistics around the quantile: the rows are put
    in group order (a radix sort of small codes) and each group partitioned, a fifth of
    the time of sorting every value.
    """
    codes = group.astype(np.int16) if len(sizes) <= np.iinfo(np.int16).max else group
    by_group = values[np.argsort(codes, kind="stable")]
    starts = np.cumsum(sizes) - sizes
    position = q * (sizes - 1)
    low = np.floor(position).astype(np.intp)
    high = np.minimum(low + 1, sizes - 1)
    below, above = np.empty(len(sizes)), np.empty(len(sizes))
    for index, (start, size) in enumerate(zip(starts.tolist(), sizes.tolist(), strict=True)):
        part = np.partition(by_group[start : start + size], (low[index], high[index]))
        below[index], above[index] = part[low[index]], part[high[index]]
    return below + (above - below) * (position - low)
