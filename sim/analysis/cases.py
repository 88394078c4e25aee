"""The case table split by variant and procedure, with each replication's figures.

The summary and the comparison read the same subsets of the case table and the same
figures per replication (counts, mean, median and 90th percentile of the elapsed
working days, the target shares, the six measures); `CaseSplit` makes each once, with
`sim.run.figures` (the one implementation), or reads them from a run's figures, made
where each replication ran (the case rows are then the kept replications'). Cases
arriving before the warm-up are dropped; open cases (still running when the run
stopped) count as arrived but not as meeting the target. A target in calendar days is
met on the calendar days elapsed; the approval clock (working days) is held against a
target in working days only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sim.engines.records import CASE_COLUMNS
from sim.run.figures import (
    COUNTED_MEASURES,
    MEASURES,
    REPLICATION_FIGURES,
    UNKNOWN_TARGET,
    Target,
    case_flags,
    per_replication,
    targets,
)
from sim.run.forking import map_forked

__all__ = [
    "COUNTED_MEASURES",
    "MEASURES",
    "CaseSplit",
    "Target",
    "case_flags",
    "groups_by",
    "none_of",
    "ordered",
    "replications_by_variant",
    "split_cases",
]

# --------------------------------------------------------------------------- helpers


def ordered(present: Iterable[Any], preferred: Sequence[Any]) -> list[Any]:
    """``preferred`` items that are present, then the other present ones as first seen."""
    if isinstance(present, pd.Series):
        present = pd.unique(present)  # in order of first appearance, hashed at C speed
    seen = list(dict.fromkeys(present))
    known = set(seen)
    first = [item for item in preferred if item in known]
    return first + [item for item in seen if item not in set(first)]


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
    With a run's figures (`sim.run.figures.replication_figures`, made where each
    replication ran) the variants, procedures, replications and figures are those of
    every replication, and the case rows (the kept replications') only give the subsets.
    """

    def __init__(self, cases: pd.DataFrame, scenario, figures: pd.DataFrame | None = None):
        # The text columns are hashed once (in order of first appearance), then codes only.
        variant_codes, variant_names = pd.factorize(cases["variant"].to_numpy(object))
        procedure_codes, procedure_names = pd.factorize(cases["procedure"].to_numpy(object))
        variant_names, procedure_names = list(variant_names), list(procedure_names)
        self.variants = ordered(variant_names, scenario.variant_names)
        declared = [demand.procedure.id for demand in scenario.demands]
        self.procedures = declared + [p for p in procedure_names if p not in set(declared)]
        self.targets = targets(scenario)
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
        self._made: dict[tuple[str, str], pd.DataFrame] | None = None
        if figures is not None and len(figures):
            self._from_figures(figures, scenario.variant_names, declared)

    def _from_figures(self, figures: pd.DataFrame, variants, declared: list[str]) -> None:
        """Variants, procedures, replications and figures from a run's figures."""
        self.variants = ordered(figures["variant"], variants)
        named = pd.unique(figures["procedure"].to_numpy(object)).tolist()
        self.procedures = declared + [p for p in named if p not in set(declared)]
        self.replications_of = {
            variant: sorted(set(rows["replication"].tolist()))
            for variant, rows in figures.groupby("variant", sort=False)
        }
        indexed = figures.set_index("replication")[list(REPLICATION_FIGURES)]
        self._made = {
            key: rows
            for key, rows in indexed.groupby(
                [figures["variant"].to_numpy(object), figures["procedure"].to_numpy(object)],
                sort=False,
            )
        }

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
        target = self.target(procedure)
        if self._made is None:
            return per_replication(self.part(variant, procedure), replications, target)
        # The figures made where the replications ran; a replication without a row (no
        # case of the procedure in it) gets those of no cases.
        index = pd.Index(list(replications), name="replication")
        made = self._made.get((variant, procedure))
        found = (made if made is not None else self._made_empty()).reindex(index)
        missing = found["arrived"].isna().to_numpy()
        if missing.any():
            found.loc[missing] = per_replication(
                self.empty, index[missing].tolist(), target
            ).to_numpy()
        return found

    def _made_empty(self) -> pd.DataFrame:
        return pd.DataFrame(
            columns=list(REPLICATION_FIGURES), index=pd.Index([], name="replication"), dtype=float
        )


def split_cases(cases: pd.DataFrame, scenario, figures: pd.DataFrame | None = None) -> CaseSplit:
    """The case table split for `summarize` and `compare` (pass it to both to split once).

    Args:
        cases: The case table (`sim.engines.records.CASE_COLUMNS`), not empty.
        scenario: The scenario (variant and procedure order, targets, warm-up).
        figures: The run's figures of every replication
            (`sim.run.figures.replication_figures`), when its case rows are those of
            the kept replications only; None: made from ``cases``.

    Returns:
        The split.
    """
    return CaseSplit(cases, scenario, figures)
