"""The case table split by variant and procedure, with each replication's figures.

The summary and the comparison read the same subsets of the case table and the same
figures per replication (counts, mean, median and 90th percentile of the elapsed
working days, the target shares, the six measures); `CaseSplit` makes each once. Cases
arriving before the warm-up are dropped; open cases (still running when the run
stopped) count as arrived but not as meeting the target. A target in calendar days is
met on the calendar days elapsed; the approval clock (working days) is held against a
target in working days only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from sim.domain.model import CALENDAR_DAYS, WORKING_DAYS, Scenario
from sim.engines.records import CASE_COLUMNS
from sim.run.forking import map_forked

MEASURES = ("steps", "materials", "certificates", "trips", "elapsed_working_days", "fees_cny")
"""The six measures the plans ask to cut (六减: steps, materials, certificates, trips, time,
fees), as case-table columns."""

# The measures other than time (time is ``mean_days``).
COUNTED_MEASURES = tuple(m for m in MEASURES if m != "elapsed_working_days")

# Tolerance when comparing durations with a target (the engine's float arithmetic).
_EPS = 1e-9
_NAN = float("nan")


# --------------------------------------------------------------------------- helpers


def ordered(present: Iterable[Any], preferred: Sequence[Any]) -> list[Any]:
    """``preferred`` items that are present, then the other present ones as first seen."""
    if isinstance(present, pd.Series):
        present = pd.unique(present)  # in order of first appearance, hashed at C speed
    seen = list(dict.fromkeys(present))
    known = set(seen)
    first = [item for item in preferred if item in known]
    return first + [item for item in seen if item not in set(first)]


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


def _targets(scenario: Scenario) -> dict[str, Target]:
    """Target of every procedure of every variant, a bundle's included."""
    targets: dict[str, Target] = {}
    for model in scenario.models:
        for procedure_id, procedure in model.procedure_index.items():
            found = Target(
                float(procedure.target_days), getattr(procedure, "target_unit", WORKING_DAYS)
            )
            targets.setdefault(procedure_id, found)
    return targets


def groups_by(frame: pd.DataFrame, *columns: str) -> dict[Any, pd.DataFrame]:
    """Row subsets by the values of ``columns`` (one pass, not a filter per key).

    Each subset keeps the frame's row order and index; a missing key means no rows.
    """
    if len(frame) == 0:
        return {}
    keys = list(columns) if len(columns) > 1 else columns[0]
    return dict(iter(frame.groupby(keys, sort=False)))


def none_of(frame: pd.DataFrame) -> pd.DataFrame:
    """No rows of ``frame``, its columns kept."""
    return frame.iloc[:0]


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


_REPLICATION_FIGURES = (
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


def _per_replication(cases: pd.DataFrame, replications: Sequence[int], target: Target):
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
    return frame[list(_REPLICATION_FIGURES)].astype(float)


def replications_by_variant(frame: pd.DataFrame) -> dict[str, list[int]]:
    """The replications with rows, per variant."""
    if len(frame) == 0:
        return {}
    found = frame.groupby("variant", sort=False)["replication"].unique()
    return {variant: sorted(values) for variant, values in found.items()}


# The case-table columns the summary and the comparison read.
_FIGURE_COLUMNS = tuple(
    name
    for name in CASE_COLUMNS
    if name not in ("end_day", "arrival_date", "end_date", "reforms_fired", "attributes")
)


class CaseSplit:
    """Case rows after the warm-up by (variant, procedure), with per-replication figures.

    The summary and the comparison read the same subsets and the same per-replication
    figures; splitting a large case table (millions of rows) once, on the columns they
    read, and making each figure once, saves most of their time. Made by `split_cases`.
    """

    def __init__(self, cases: pd.DataFrame, scenario):
        # The text columns are hashed once (in order of first appearance), then codes only.
        variant_codes, variant_names = pd.factorize(cases["variant"].to_numpy(object))
        procedure_codes, procedure_names = pd.factorize(cases["procedure"].to_numpy(object))
        variant_names, procedure_names = list(variant_names), list(procedure_names)
        self.variants = ordered(variant_names, scenario.variant_names)
        declared = [demand.procedure.id for demand in scenario.demands]
        self.procedures = declared + [p for p in procedure_names if p not in set(declared)]
        self.targets = _targets(scenario)
        replication = cases["replication"].to_numpy(np.int64)
        span = int(replication.max(initial=0)) + 1
        pairs = pd.unique(variant_codes.astype(np.int64) * span + replication)
        self.replications_of: dict[str, list[int]] = {}
        for pair in sorted(pairs.tolist()):
            self.replications_of.setdefault(variant_names[pair // span], []).append(pair % span)
        columns = [name for name in _FIGURE_COLUMNS if name in cases.columns]
        keep = cases["arrival_day"].to_numpy(float) >= scenario.horizon.warmup_days
        kept = cases.loc[keep, columns]
        self.empty = none_of(kept)
        count = len(procedure_names)
        group = (variant_codes.astype(np.int64) * count + procedure_codes)[keep]
        self.parts = {
            (variant_names[code // count], procedure_names[code % count]): part
            for code, part in kept.groupby(group, sort=False)
        }
        self._figures: dict[tuple, pd.DataFrame] = {}

    def part(self, variant: str, procedure: str) -> pd.DataFrame:
        """The rows of one (variant, procedure); empty if none."""
        return self.parts.get((variant, procedure), self.empty)

    def target(self, procedure: str) -> Target:
        """The procedure's target (NaN days if unknown)."""
        return self.targets.get(procedure, UNKNOWN_TARGET)

    def per_replication(self, variant: str, procedure: str, replications: Sequence[int]):
        """`_per_replication` of one (variant, procedure), made once (do not modify it)."""
        key = (variant, procedure, tuple(replications))
        found = self._figures.get(key)
        if found is None:
            found = self._figures[key] = self._figure(key)
        return found

    def make_figures(self, workers: int | None = None) -> None:
        """Make the per-replication figures of every (variant, procedure) at once.

        They are most of the summary's time, and independent: made side by side in
        forked workers (`sim.run.forking`; ``workers`` None: one a core, 1: here), the
        same numbers as one by one.
        """
        keys = [
            (variant, procedure, tuple(self.replications_of.get(variant, [])))
            for variant in self.variants
            for procedure in self.procedures
        ]
        keys = [key for key in keys if key not in self._figures]
        self._figures.update(zip(keys, map_forked(self._figure, keys, workers), strict=True))

    def _figure(self, key: tuple[str, str, tuple[int, ...]]) -> pd.DataFrame:
        variant, procedure, replications = key
        return _per_replication(self.part(variant, procedure), replications, self.target(procedure))


def split_cases(cases: pd.DataFrame, scenario) -> CaseSplit:
    """The case table split for `summarize` and `compare` (pass it to both to split once).

    Args:
        cases: The case table (`sim.engines.records.CASE_COLUMNS`), not empty.
        scenario: The scenario (variant and procedure order, targets, warm-up).

    Returns:
        The split.
    """
    return CaseSplit(cases, scenario)
