"""Agency load: utilisation, queues and overload warnings per variant and agency."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.cases import groups_by, none_of, ordered, replications_by_variant
from sim.analysis.intervals import (
    BASIS_BATCHES,
    BASIS_FIXED,
    BASIS_REPLICATIONS,
    batch_interval,
    t_interval,
)
from sim.run.reduce import BATCH_COLUMNS, BATCHES, queue_totals

AGENCY_COLUMNS = (
    "variant",
    "agency",
    "staff",
    "replications",
    "interval_basis",
    "utilisation",
    "utilisation_low",
    "utilisation_high",
    "mean_queue_days",
    "mean_queue_days_low",
    "mean_queue_days_high",
    "p90_queue_days",
    "queue_growth",
    "overloaded",
    "warning",
)

# Rows needed in each half of the arrival period before a queue growth is reported.
MIN_GROWTH_ROWS = 10
_NAN = float("nan")


def agency_load(
    steps: pd.DataFrame,
    busy: pd.DataFrame,
    scenario,
    agencies: Mapping[str, Sequence[Any]] | None = None,
    confidence: float = 0.95,
    queues: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per (variant, agency): staff, utilisation, queues and an overload warning.

    ``utilisation`` is the offered load per staff member: staff-days of handling divided
    by ``staff * arrival_days``, averaged over replications (NaN for unlimited staff).
    Queues are the ``queue_days`` of the agency's step rows that became ready after the
    warm-up (a joint step, agency ``a+b``, counts for each of its agencies; revocation
    marks, which hold no staff, are left out). ``p90_queue_days`` is the 90th
    percentile of a replication's queues, averaged over replications. ``queue_growth``
    is the mean queue of the steps ready in the second half of the arrival period
    (after the warm-up) over that of the first half: a queue that keeps growing is the
    mark of an overloaded agency even when the utilisation is just under one.

    Intervals (utilisation and mean queue): t over replications when R >= 2; with one
    replication, batch means of the queue in order of arrival (no interval for the
    utilisation), which `queue_totals` made where the replication ran.

    Args:
        steps: The step table (may be empty, or hold only some replications, when
            ``queues`` is given).
        busy: Columns ``replication``, ``variant``, ``agency``, ``busy_days``.
        scenario: The scenario (horizon, agencies, variant order).
        agencies: Each variant's agencies (their staff may differ by variant); default
            ``scenario.agencies`` for every variant.
        confidence: Two-sided confidence level of the intervals.
        queues: `queue_totals` of every replication (default, or when empty: computed
            from ``steps``).

    Returns:
        A frame with columns `AGENCY_COLUMNS`; ``staff`` is a nullable integer, missing
        for unlimited staff; ``overloaded`` is True when the utilisation is at least 1 or
        the queue more than doubled to over one working day.
    """
    horizon = scenario.horizon
    if queues is None or len(queues) == 0:
        queues = queue_totals(steps, horizon)
    present = [
        *(pd.unique(busy["variant"]) if len(busy) else ()),
        *(pd.unique(queues["variant"]) if len(queues) else ()),
    ]
    variants = ordered(present, scenario.variant_names)
    busy_of = groups_by(busy, "variant")
    queues_of = groups_by(queues, "variant")
    reps_of = {}
    for frame in (busy, queues):
        for variant, found in replications_by_variant(frame).items():
            reps_of.setdefault(variant, set()).update(found)
    rows = []
    for variant in variants:
        listed = tuple((agencies or {}).get(variant, scenario.agencies))
        replications = sorted(reps_of.get(variant, ()))
        variant_busy = busy_of.get(variant, none_of(busy))
        variant_queues = groups_by(queues_of.get(variant, none_of(queues)), "agency")
        for agency in listed:
            rows.append(
                _agency_row(
                    variant,
                    agency,
                    variant_busy,
                    variant_queues.get(agency.id, none_of(queues)),
                    replications,
                    horizon,
                    confidence,
                )
            )
    frame = pd.DataFrame(rows, columns=list(AGENCY_COLUMNS))
    frame["staff"] = frame["staff"].astype("Int64")
    frame["overloaded"] = frame["overloaded"].astype(bool)
    return frame


def _agency_row(variant, agency, busy, queue, replications, horizon, confidence):
    staff = agency.staff
    count = len(replications)
    row: dict[str, Any] = {
        "variant": variant,
        "agency": agency.id,
        "staff": staff,
        "replications": count,
        "interval_basis": BASIS_REPLICATIONS
        if count >= 2
        else BASIS_BATCHES.format(batches=BATCHES),
    }
    # Utilisation per replication; a replication without a busy row had no work there.
    utilisation = (_NAN, _NAN, _NAN)
    if staff is not None and count and "agency" in busy:
        days = busy.loc[busy["agency"] == agency.id].groupby("replication")["busy_days"].sum()
        days = days.reindex(replications).fillna(0.0).to_numpy(float)
        capacity = staff * horizon.arrival_days
        if capacity > 0:
            per = days / capacity
            utilisation = t_interval(per, confidence) if count >= 2 else (float(per[0]), _NAN, _NAN)
    row["utilisation"], row["utilisation_low"], row["utilisation_high"] = utilisation
    totals = queue["queue_days_total"].to_numpy(float)
    counts = queue["steps"].to_numpy(float)
    if count >= 2:
        # The mean of the replications' mean queues, so that it is the interval's centre.
        mean_queue = t_interval(totals / counts, confidence)
    elif len(queue):
        # One replication: its batch means, made where it ran (`queue_totals`).
        mean_queue = batch_interval(
            float(queue["finite_mean_queue_days"].iloc[0]),
            queue[list(BATCH_COLUMNS)].iloc[0].to_numpy(float),
            confidence,
        )
    else:
        mean_queue = (_NAN, _NAN, _NAN)
    row["mean_queue_days"], row["mean_queue_days_low"], row["mean_queue_days_high"] = mean_queue
    p90 = queue["p90_queue_days"].to_numpy(float)
    row["p90_queue_days"] = float(p90.mean()) if len(p90) else _NAN
    growth, late_mean, early_mean = _queue_growth(queue)
    row["queue_growth"] = growth
    reasons = []
    u = row["utilisation"]
    if np.isfinite(u) and u >= 1:
        reasons.append(
            f"{agency.id}: utilisation {u:.2f} >= 1, more handling arrives than its "
            f"{staff} staff can do; queues grow without limit"
        )
    if not math.isnan(growth) and growth > 2 and late_mean > 1:
        reasons.append(
            f"{agency.id}: the mean queue grew from {early_mean:.1f} to {late_mean:.1f} "
            "working days between the halves of the arrival period"
        )
    row["overloaded"] = bool(reasons)
    row["warning"] = "; ".join(reasons)
    return row


def _queue_growth(queue: pd.DataFrame) -> tuple[float, float, float]:
    """Second-half over first-half mean queue (after the warm-up), and the two means."""
    early_count = float(queue["early_steps"].sum())
    late_count = float(queue["late_steps"].sum())
    if early_count < MIN_GROWTH_ROWS or late_count < MIN_GROWTH_ROWS:
        return _NAN, _NAN, _NAN
    early_mean = float(queue["early_queue_days_total"].sum()) / early_count
    late_mean = float(queue["late_queue_days_total"].sum()) / late_count
    if early_mean == 0:
        return (math.inf if late_mean > 0 else _NAN), late_mean, early_mean
    return late_mean / early_mean, late_mean, early_mean


def without_utilisation(load: pd.DataFrame) -> pd.DataFrame:
    """The agency table of a fixed-time run: no utilisation, no interval, no warning.

    A fixed-time method times one representative case, so its staff-days say nothing
    of the agencies' load.
    """
    load = load.copy()
    for column in AGENCY_COLUMNS:
        if column.startswith("utilisation") or column.endswith(("_low", "_high")):
            load[column] = _NAN
    load["interval_basis"] = BASIS_FIXED
    load["queue_growth"] = _NAN
    load["overloaded"] = False
    load["warning"] = ""
    return load


def busiest_agency(load: pd.DataFrame, variant: str) -> tuple[str, float] | None:
    """The agency with the highest utilisation in a variant.

    Args:
        load: The frame of `agency_load`.
        variant: The variant.

    Returns:
        ``(agency, utilisation)``, or None when no agency of the variant has limited staff.
    """
    rows = load[(load["variant"] == variant) & load["utilisation"].notna()]
    if rows.empty:
        return None
    best = rows.loc[rows["utilisation"].astype(float).idxmax()]
    return str(best["agency"]), float(best["utilisation"])
