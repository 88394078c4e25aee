"""What a replication is reduced to where it runs: queue totals per agency.

The step rows of a run are large (several a case); the agency table needs only these
totals, small enough to keep for every replication when the rows themselves are not:
counts, sums and the 90th percentile of the queues, and the batch means that one
replication's interval rests on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from sim.engines.records import QUEUE_FRAME_COLUMNS, Coded, column_array

# Batches of the batch-means interval of one replication's series.
BATCHES = 20
BATCH_COLUMNS = tuple(f"queue_batch_{number:02d}" for number in range(1, BATCHES + 1))
"""Columns of `queue_totals` holding the batch means of the queues, in order of ready time."""

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
    "finite_steps",
    "finite_mean_queue_days",
    *BATCH_COLUMNS,
)
"""Columns of `queue_totals`: one row per (replication, variant, agency) with queued steps."""


def queue_totals(
    steps: pd.DataFrame | Mapping[str, Any], horizon, batches: bool = True
) -> pd.DataFrame:
    """The queue figures `agency_load` needs, per (replication, variant, agency).

    Over the step rows ready after the warm-up (a joint step counts for each of its
    agencies; revocation marks hold no staff and are left out): how many, their total
    and 90th-percentile ``queue_days`` (linear interpolation), and count and total of
    those ready in the first and in the second half of the arrival period; for the
    interval of one replication, the count and mean of the finite queues and their
    `BATCHES` batch means in order of ready time (`batch_means`; NaN when too few).
    Small enough to keep for every replication when the step rows themselves are not
    kept. Computed
    with numpy on the few columns it reads: it runs once for every variant of every
    replication, where a pandas group-by took as long as making the case table.

    Args:
        steps: Step rows (`sim.engines.records.STEP_COLUMNS`, or at least
            `sim.engines.records.QUEUE_FRAME_COLUMNS`), or those columns as arrays by name with
            ``replication`` and ``variant`` as single values (one run's,
            `sim.engines.records.Records.queue_columns`).
        horizon: The scenario's horizon (warm-up and arrival period).
        batches: Whether to make the finite queues' mean and batch means (NaN if not):
            only an interval from one replication reads them, and that replication is
            replication 0, so a run makes them for replication 0 alone (they need the
            rows sorted by ready time).

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
    columns: dict[str, Any] = {
        "replication": replication,
        "variant": variant,
        "agency": names[agency[first]],
    }
    del agency, rows
    sizes = np.bincount(group, minlength=count)
    start, end = horizon.warmup_days, horizon.arrival_days
    middle = (start + end) / 2
    early = (ready >= start) & (ready < middle)
    late = (ready >= middle) & (ready < end)
    columns |= {
        "steps": sizes.astype(np.int64),
        "queue_days_total": np.bincount(group, weights=waits, minlength=count),
        "early_steps": np.bincount(group, weights=early, minlength=count).astype(np.int64),
        "early_queue_days_total": np.bincount(group, weights=waits * early, minlength=count),
        "late_steps": np.bincount(group, weights=late, minlength=count).astype(np.int64),
        "late_queue_days_total": np.bincount(group, weights=waits * late, minlength=count),
    }
    del early, late
    # Each group's queues in order of ready time (ties in row order): one sort serves
    # the percentiles and the batch means; without these, grouped as they come.
    order = np.lexsort((ready, group)) if batches else np.argsort(group, kind="stable")
    by_group = _by_group(waits[order], sizes)
    del ready, waits, group, order
    columns["p90_queue_days"] = _quantiles(by_group, 0.9)
    columns |= _batch_figures(by_group, batches)
    return pd.DataFrame({name: columns[name] for name in QUEUE_COLUMNS})


def batch_means(data: np.ndarray, batches: int = BATCHES) -> np.ndarray | None:
    """The means of ``batches`` contiguous batches of equal size of a series.

    Args:
        data: The series in time order, finite values only; the last ``len(data) %
            batches`` values are left out.
        batches: How many batches.

    Returns:
        The batch means, or None for fewer than two values a batch (or two batches).
    """
    size = len(data) // batches
    if batches < 2 or size < 2:
        return None
    return data[: size * batches].reshape(batches, size).mean(axis=1)


def _by_group(series: np.ndarray, sizes: np.ndarray) -> list[np.ndarray]:
    """The series cut into consecutive groups of the given sizes (views, no copies)."""
    bounds = np.cumsum(sizes).tolist()
    return [series[stop - size : stop] for stop, size in zip(bounds, sizes.tolist(), strict=True)]


def _quantiles(groups: list[np.ndarray], q: float) -> np.ndarray:
    """The ``q`` quantile of each group's values (linear interpolation, as numpy's).

    Each group needs only its two order statistics around the quantile: a partition,
    not a sort.
    """
    found = np.full(len(groups), np.nan)
    for number, values in enumerate(groups):
        position = q * (len(values) - 1)
        low = math.floor(position)
        high = min(low + 1, len(values) - 1)
        part = np.partition(values, (low, high))
        found[number] = part[low] + (part[high] - part[low]) * (position - low)
    return found


def _batch_figures(groups: list[np.ndarray], made: bool = True) -> dict[str, np.ndarray]:
    """Per group's queues (in order of ready time): the finite ones' count, mean, batch means.

    Batch means as `batch_means` (NaN for too few), each figure computed on that group's
    series alone, so that it equals one made from the group's rows by themselves. Not
    ``made``: the count only, the mean and batch means NaN.
    """
    counts = np.zeros(len(groups), dtype=np.int64)
    means = np.full(len(groups), np.nan)
    batches = np.full((len(groups), BATCHES), np.nan)
    for number, values in enumerate(groups):
        data = values[np.isfinite(values)]
        counts[number] = len(data)
        if not made:
            continue
        if len(data):
            means[number] = float(data.mean())
        found = batch_means(data)
        if found is not None:
            batches[number] = found
    return {
        "finite_steps": counts,
        "finite_mean_queue_days": means,
        **dict(zip(BATCH_COLUMNS, batches.T, strict=True)),
    }


def queued(steps: pd.DataFrame | Mapping[str, Any], warmup: float):
    """The step rows ready after the warm-up that held staff, one per agency held.

    Revocation marks hold no staff; a joint step (``a+b``) counts for each of its agencies.
    The text columns may be `sim.engines.records.Coded` (one run's, as the engine gave
    them): they are then read by code, without making a Python string a row.

    Returns:
        Codes into the agency names, the names, and the source row of each.
    """
    ready = np.asarray(steps["ready_day"], dtype=float)
    outcome, outcomes = _codes_of(steps["outcome"])
    revoked = np.flatnonzero(outcomes == "revoked")
    rows = np.flatnonzero(~np.isin(outcome, revoked) & (ready >= warmup))
    del ready, outcome
    agency, labels = _codes_of(steps["agency"])
    return _split_agency_codes(agency[rows], labels, rows)


def _codes_of(column) -> tuple[np.ndarray, np.ndarray]:
    """A text column as codes into its distinct labels (an object array)."""
    if isinstance(column, Coded):
        labels = column_array(column.labels, object)
        # Labels may repeat (one a step): codes into the distinct ones.
        distinct_codes, distinct = pd.factorize(labels)
        return distinct_codes[column_array(column.codes, np.intp)], np.asarray(distinct, object)
    codes, distinct = pd.factorize(np.asarray(column, dtype=object))
    return codes, np.asarray(distinct, dtype=object)


def _split_agency_codes(codes: np.ndarray, distinct: np.ndarray, rows: np.ndarray):
    """One agency a row, joint steps (``a+b``) repeated for each.

    Args:
        codes: Each row's code into ``distinct``.
        distinct: The agency labels (a joint step's ``a+b``).
        rows: Each row's source row.

    Returns:
        Codes into the names, the names, and the source row of each.
    """
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


# Up to this many distinct keys, groups are found by a pass over the rows for each.
FEW_GROUPS = 64


def _groups_in_order(*codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group number of each row (numbered in order of first appearance) and first rows.

    Args:
        codes: One array of non-negative integer codes a key.
    """
    combined = np.zeros(len(codes[0]), dtype=np.int64)
    for key in codes:
        combined = combined * (int(key.max(initial=0)) + 1) + key
    distinct = int(combined.max(initial=0)) + 1
    if distinct <= FEW_GROUPS:
        # One run's groups are its agencies, a handful: a pass for each beats hashing
        # every row.
        present = np.flatnonzero(np.bincount(combined, minlength=distinct))
        starts = np.array([np.argmax(combined == key) for key in present.tolist()], np.intp)
        first = np.sort(starts)
        number = np.zeros(distinct, dtype=np.int8)
        number[present[np.argsort(starts)]] = np.arange(len(present))
        return number[combined], first
    group, _ = pd.factorize(combined)  # numbered in order of first appearance
    highest = np.maximum.accumulate(group)
    first = np.flatnonzero(np.concatenate(([True], highest[1:] > highest[:-1])))
    return group, first
