"""What a replication's case rows are reduced to where it runs: figures per replication.

The summary and the comparison rest, across replications, on a few figures of each
(variant, procedure) per replication (counts, mean, median and 90th percentile of the
elapsed working days, the target shares, the six measures). They are made here, in the
worker or on the Dask cluster that ran the replication (`replication_figures`), so that
a run's parent keeps them for every replication and case rows only for the replications
it keeps; `sim.analysis.cases` reads them from this one implementation. Cases arriving
before the warm-up are dropped; open cases count as arrived but not as meeting the
target. A target in calendar days is met on the calendar days elapsed; the approval
clock (working days) is held against a target in working days only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from sim.domain.model import CALENDAR_DAYS, WORKING_DAYS, Scenario

MEASURES = ("steps", "materials", "certificates", "trips", "elapsed_working_days", "fees_cny")
"""The six measures the plans ask to cut (六减: steps, materials, certificates, trips, time,
fees), as case-table columns."""

# The measures other than time (time is ``mean_days``).
COUNTED_MEASURES = tuple(m for m in MEASURES if m != "elapsed_working_days")

# Tolerance when comparing durations with a target (the engine's float arithmetic).
_EPS = 1e-9
_NAN = float("nan")


class Target(NamedTuple):
    """A procedure's target: days, in working days or calendar days."""

    days: float
    unit: str = WORKING_DAYS

    @property
    def elapsed_column(self) -> str:
        """The case-table column the target is held against."""
        return "elapsed_calendar_days" if self.unit == CALENDAR_DAYS else "elapsed_working_days"

    @property
    def holds_the_clock(self) -> bool:
        """Whether the approval clock (working days) can be held against it."""
        return self.unit == WORKING_DAYS and not math.isnan(self.days)


UNKNOWN_TARGET = Target(_NAN)


def targets(scenario: Scenario) -> dict[str, Target]:
    """Target of every procedure of every variant, a bundle's included."""
    found: dict[str, Target] = {}
    for model in scenario.models:
        for procedure_id, procedure in model.procedure_index.items():
            found.setdefault(
                procedure_id, Target(float(procedure.target_days), procedure.target_unit)
            )
    return found


def case_flags(cases: pd.DataFrame, target: Target) -> pd.DataFrame:
    """Per case: completed, ended early (withdrawn or revoked), open, and the target flags.

    ``within``: completed within the target, in its unit; ``within_clock``: completed
    with the approval clock within a target in working days.
    """
    status = cases["status"].to_numpy()
    completed = status == "completed"
    elapsed = cases[target.elapsed_column].to_numpy(float)
    clock = cases["approval_clock_days"].to_numpy(float)
    within = completed & (elapsed <= target.days + _EPS)
    if math.isnan(target.days) and "within_target" in cases:
        # Target unknown to the statistics: the flag the engine recorded for each case.
        within = completed & cases["within_target"].fillna(False).to_numpy(bool)
    return pd.DataFrame(
        {
            "completed": completed,
            "withdrawn": np.isin(status, ("withdrawn", "revoked")),
            "open": status == "open",
            "within": within,
            "within_clock": completed & target.holds_the_clock & (clock <= target.days + _EPS),
        },
        index=cases.index,
    )


REPLICATION_FIGURES = (
    "arrived",
    "completed",
    "withdrawn",
    "open",
    "mean_days",
    "median_days",
    "p90_days",
    "mean_calendar_days",
    "mean_clock_days",
    "within",
    "within_clock",
    "share_within_target",
    "share_within_target_clock",
    *COUNTED_MEASURES,
)


def per_replication(cases: pd.DataFrame, replications: Sequence[int], target: Target):
    """Figures of one (variant, procedure) per replication, indexed by replication.

    Replications without cases of the procedure have zero counts and NaN figures.
    """
    index = pd.Index(list(replications), name="replication")
    flags = case_flags(cases, target)
    by = cases["replication"].to_numpy()
    counts = flags.groupby(by).sum()
    frame = pd.DataFrame(index=index)
    frame["arrived"] = pd.Series(cases.groupby(by).size()).reindex(index).fillna(0).astype(float)
    for column in ("completed", "withdrawn", "open", "within", "within_clock"):
        frame[column] = counts[column].reindex(index).fillna(0).astype(float)
    done = cases[flags["completed"].to_numpy()]
    grouped = done.groupby("replication")
    elapsed = grouped["elapsed_working_days"]
    frame["mean_days"] = elapsed.mean().reindex(index)
    frame["median_days"] = elapsed.median().reindex(index)
    frame["p90_days"] = elapsed.quantile(0.9).reindex(index)
    frame["mean_calendar_days"] = grouped["elapsed_calendar_days"].mean().reindex(index)
    frame["mean_clock_days"] = grouped["approval_clock_days"].mean().reindex(index)
    arrived = frame["arrived"].where(frame["arrived"] > 0)
    frame["share_within_target"] = frame["within"] / arrived
    frame["share_within_target_clock"] = frame["within_clock"] / arrived
    if not target.holds_the_clock:  # no target in working days to hold the clock against
        frame["share_within_target_clock"] = _NAN
    for column in COUNTED_MEASURES:
        frame[column] = grouped[column].mean().reindex(index).astype(float)
    return frame[list(REPLICATION_FIGURES)].astype(float)


FIGURE_COLUMNS = ("replication", "variant", "procedure", *REPLICATION_FIGURES)
"""Columns of `replication_figures`: one row per (replication, variant, procedure)."""


def replication_figures(cases: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """`per_replication` of every (variant, procedure) of one replication's case rows.

    A row for each variant with case rows (in their order) and each procedure declared
    or with case rows of that variant (declared first, then in order of appearance),
    over the cases arriving after the warm-up.

    Args:
        cases: One replication's case rows (`sim.engines.records.CASE_COLUMNS`), any
            variants.
        scenario: The scenario (targets, warm-up, declared procedures).

    Returns:
        A frame with columns `FIGURE_COLUMNS`.
    """
    if len(cases) == 0:
        return empty_figures()
    replication = int(cases["replication"].iloc[0])
    declared = [demand.procedure.id for demand in scenario.demands]
    known = targets(scenario)
    after = cases["arrival_day"].to_numpy(float) >= scenario.horizon.warmup_days
    parts = []
    for variant, rows in cases.groupby("variant", sort=False):
        present = pd.unique(rows["procedure"].to_numpy(object)).tolist()
        kept = rows[after[cases["variant"].to_numpy(object) == variant]]
        by_procedure = dict(iter(kept.groupby("procedure", sort=False)))
        for procedure in declared + [p for p in present if p not in set(declared)]:
            part = by_procedure.get(procedure, kept.iloc[:0])
            figures = per_replication(part, [replication], known.get(procedure, UNKNOWN_TARGET))
            parts.append(figures.reset_index().assign(variant=variant, procedure=procedure))
    return pd.concat(parts, ignore_index=True)[list(FIGURE_COLUMNS)]


def empty_figures() -> pd.DataFrame:
    """No figures, with the columns of `replication_figures`."""
    frame = pd.DataFrame({name: pd.Series(dtype=float) for name in FIGURE_COLUMNS})
    return frame.astype({"replication": np.int64, "variant": object, "procedure": object})
