"""Paths through single cases: the typical (median) case, its critical path, the slow tail.

The step table (`sim.engines.records.STEP_COLUMNS`) records every step execution of a case with
four clock values: ``ready_day`` (the step could start), ``start_day`` (staff taken),
``handled_day`` (staff released) and ``end_day`` (waiting over). From these rows alone:

* **Critical path** of a completed case (`critical_path`): start from the row that ends
  last (the case ends with it) and walk back. The engine starts a step at the very
  moment its last predecessor ends, so the predecessor of a first attempt is the
  finished row (outcome ``accepted`` or ``tolerated``) whose ``end_day`` equals this
  row's ``ready_day``; when several end at that instant the one listed in the step's
  ``after`` (of the case's procedure version, when known) is taken, else the one
  recorded last. A resubmission (attempt k > 1) follows the sent-back attempt k - 1 of
  the same step (the gap is the applicant's correction time); a rework row follows the
  finished row of its step (the gap is the delay of the failed commitment or
  post-check). The walk stops at a row that nothing ends into (a first step, ready at
  arrival). Steps skipped by a ``when:`` condition leave no row and are stepped over
  naturally, since their successors become ready when the skipped step's predecessor
  ends.
* The critical path **decomposes the elapsed time** exactly: each row on it contributes
  its queue (ready to start), handling (start to handled) and waiting (handled to end),
  and the gap before it is correction (after a send-back) or follow-up delay (before a
  rework); the sum is the case's ``end_day - arrival_day``. `tail_drivers` adds these
  up per step and agency over the slowest cases.
* The approval clock: queueing and handling count when the step's
  ``handling_on_clock`` is set, waiting when ``waiting_on_clock`` is, rework always,
  corrections never (as in the engine).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sim.domain.conditions import ConditionError
from sim.domain.model import Demand, Name, Procedure, Scenario, Step

FINISHED = ("accepted", "tolerated")
TIMELINE_COLUMNS = (
    "row",
    "step",
    "step_zh",
    "step_en",
    "agency",
    "agency_zh",
    "agency_en",
    "attempt",
    "outcome",
    "kind",
    "start",
    "end",
    "on_clock",
    "critical",
)

DRIVER_COLUMNS = (
    "variant",
    "procedure",
    "step",
    "step_zh",
    "step_en",
    "agency",
    "agency_zh",
    "agency_en",
    "kind",
    "tail_days",
    "tail_share",
    "all_days",
    "all_share",
    "tail_cases",
    "threshold_days",
)

_EPS = 1e-9
# Cases sampled (evenly spaced) for the "all cases" column of `tail_drivers`.
ALL_CASES_SAMPLE = 1000


# --------------------------------------------------------------------------- versions


@dataclass
class VariantProcedures:
    """The procedures of one variant, with the version each case ran (reforms applied).

    A conditional reform gives a case the procedure version of its *signature* (which
    conditions its attributes meet); the version is recomputed here from the case's
    attributes, so step names, ``after`` lists and approval-clock flags are those the
    case ran under.
    """

    demands: dict[str, Demand]
    _versions: dict[tuple[str, tuple[bool, ...]], Procedure] = field(default_factory=dict)

    @classmethod
    def of(cls, scenario: Scenario, variant: str) -> VariantProcedures:
        """The procedures of ``variant``."""
        return cls({demand.procedure.id: demand for demand in scenario.model(variant).demands})

    def version(self, procedure: str, attributes: str | dict | None = None) -> Procedure | None:
        """The procedure version a case with these attributes (JSON or dict) ran."""
        demand = self.demands.get(procedure)
        if demand is None:
            return None
        if not demand.conditions:
            return demand.procedure
        values = _attributes(attributes)
        try:
            signature = tuple(bool(c.evaluate(values)) for c in demand.conditions)
        except ConditionError:  # attributes missing from the table: every condition met
            signature = tuple(True for _ in demand.conditions)
        key = (procedure, signature)
        if key not in self._versions:
            self._versions[key] = demand.version(signature)
        return self._versions[key]

    def steps(self, procedure: str) -> dict[str, Step]:
        """Every step id of any version of ``procedure`` (for names), first found wins."""
        demand = self.demands.get(procedure)
        found: dict[str, Step] = {}
        if demand is None:
            return found
        for version in (*demand.versions(), demand.procedure):
            for step in version.steps:
                found.setdefault(step.id, step)
        return found


def _attributes(attributes: str | dict | None) -> dict[str, Any]:
    if isinstance(attributes, dict):
        return attributes
    if isinstance(attributes, str) and attributes:
        try:
            values = json.loads(attributes)
        except ValueError:
            return {}
        return values if isinstance(values, dict) else {}
    return {}


def agency_name(scenario: Scenario, agency: str) -> Name:
    """The display name of an agency id, or of a joint ``a+b`` (names joined by ``+``)."""
    parts = [part for part in str(agency).split("+") if part]
    if not parts:
        return Name("", "")
    names = [scenario.agency_index.get(part) for part in parts]
    zh = "+".join(n.name.zh if n else p for n, p in zip(names, parts, strict=True))
    en = "+".join(n.name.en if n else p for n, p in zip(names, parts, strict=True))
    return Name(zh, en)


# --------------------------------------------------------------------------- critical path


def _path_positions(
    step: np.ndarray,
    attempt: np.ndarray,
    outcome: np.ndarray,
    ready: np.ndarray,
    end: np.ndarray,
    after: dict[str, tuple[str, ...]] | None = None,
) -> list[int]:
    """Positions (into the arrays) of the critical path, first to last; see the module doc."""
    usable = np.flatnonzero(outcome != "revoked")
    if usable.size == 0:
        return []
    last_end = end[usable].max()
    current = int(usable[np.flatnonzero(end[usable] >= last_end - _EPS)[-1]])
    path = [current]
    seen = {current}
    finished = np.isin(outcome, FINISHED)
    while True:
        r_ready = ready[current]
        if outcome[current] == "rework":
            candidates = np.flatnonzero(
                (step == step[current]) & finished & (end <= r_ready + _EPS)
            )
        elif attempt[current] > 1:
            candidates = np.flatnonzero(
                (step == step[current])
                & (attempt == attempt[current] - 1)
                & (outcome == "sent_back")
                & (end <= r_ready + _EPS)
            )
        else:
            candidates = np.flatnonzero(finished & (np.abs(end - r_ready) <= _EPS))
            if candidates.size > 1 and after is not None:
                direct = [c for c in candidates if step[c] in after.get(step[current], ())]
                if direct:
                    candidates = np.asarray(direct)
        candidates = [int(c) for c in candidates if int(c) not in seen]
        if not candidates:
            break
        best = max(candidates, key=lambda c: (end[c], c))
        path.append(best)
        seen.add(best)
        current = best
    path.reverse()
    return path


def critical_path(case_steps: pd.DataFrame, procedure: Procedure | None = None) -> list:
    """The critical path of one case: index labels of its step rows, first to last.

    Args:
        case_steps: The step rows of one case (one replication, one variant).
        procedure: The procedure version the case ran; its ``after`` lists break ties
            between predecessors ending at the same instant. Optional.

    Returns:
        Index labels of ``case_steps`` on the critical path, in time order; empty when
        the case has no rows.
    """
    if len(case_steps) == 0:
        return []
    after = {s.id: s.after for s in procedure.steps} if procedure is not None else None
    positions = _path_positions(
        case_steps["step"].to_numpy(object),
        case_steps["attempt"].to_numpy(int),
        case_steps["outcome"].to_numpy(object),
        case_steps["ready_day"].to_numpy(float),
        case_steps["end_day"].to_numpy(float),
        after,
    )
    return [case_steps.index[p] for p in positions]


def _gap_kind(outcome: str, attempt: int) -> str:
    if outcome == "rework":
        return "delay"
    return "correction" if attempt > 1 else "queue"


def path_parts(
    case_steps: pd.DataFrame, arrival: float, path: list
) -> list[tuple[Any, str, float]]:
    """The elapsed time of a case split along its critical path.

    Args:
        case_steps: The step rows of one case.
        arrival: The case's arrival day.
        path: Index labels from `critical_path`.

    Returns:
        ``(index label, kind, days)`` for every part (kind ``queue``, ``handling``,
        ``waiting``, ``correction`` or ``delay``); the gap before a
        row (correction or follow-up delay) is charged to that row. The days add up to
        the end of the last row minus ``arrival``.
    """
    parts: list[tuple[Any, str, float]] = []
    previous_end = arrival
    for label in path:
        row = case_steps.loc[label]
        gap = float(row["ready_day"]) - previous_end
        if gap > _EPS:
            parts.append((label, _gap_kind(row["outcome"], int(row["attempt"])), gap))
        for kind, low, high in (
            ("queue", "ready_day", "start_day"),
            ("handling", "start_day", "handled_day"),
            ("waiting", "handled_day", "end_day"),
        ):
            days = float(row[high]) - float(row[low])
            if days > _EPS:
                parts.append((label, kind, days))
        previous_end = float(row["end_day"])
    return parts


# --------------------------------------------------------------------------- the median case


def median_case(
    cases: pd.DataFrame,
    procedure: str,
    variants: list[str] | tuple[str, ...],
    replication: int = 0,
    warmup: float = 0.0,
) -> dict[str, str]:
    """A typical case of a procedure for each variant (replication ``replication``).

    Every variant runs the same cases (common random numbers), so one case id is shown in
    all of them where possible: among the cases completed in every variant, the one
    whose elapsed working days are nearest the median in each variant (the smallest
    largest distance of its percentile rank from 50% over the variants). Variants where
    that case did not complete get their own median case (the lower middle one).

    Args:
        cases: The case table.
        procedure: The procedure id.
        variants: Variant names.
        replication: The replication to take the case from.
        warmup: Cases arriving before this day are not considered.

    Returns:
        Variant name to case id; variants without a completed case are left out.
    """
    chosen: dict[str, str] = {}
    subset = cases[
        (cases["procedure"] == procedure)
        & (cases["replication"] == replication)
        & (cases["status"] == "completed")
        & (cases["arrival_day"].to_numpy(float) >= warmup)
    ]
    ranks = {}
    for variant in variants:
        rows = subset[subset["variant"] == variant]
        if len(rows):
            ranks[variant] = rows.set_index("case_id")["elapsed_working_days"].rank(pct=True)
    if not ranks:
        return chosen
    common = None
    for rank in ranks.values():
        common = rank.index if common is None else common.intersection(rank.index)
    if common is not None and len(common):
        distance = pd.concat(
            [(rank.reindex(common) - 0.5).abs() for rank in ranks.values()], axis=1
        ).max(axis=1)
        best = str(distance.sort_values(kind="stable").index[0])
        chosen = dict.fromkeys(ranks, best)
    for variant in variants:
        if variant in ranks and variant not in chosen:
            rows = subset[subset["variant"] == variant].sort_values(
                ["elapsed_working_days", "case_id"], kind="stable"
            )
            chosen[variant] = str(rows["case_id"].iloc[(len(rows) - 1) // 2])
    return chosen


def case_timeline(
    result_steps: pd.DataFrame,
    case: pd.Series,
    scenario: Scenario,
    procedures: VariantProcedures | None = None,
) -> pd.DataFrame:
    """The Gantt segments of one case, clock days counted from its arrival.

    Args:
        result_steps: Step rows (any replications and variants; the case's are picked).
        case: The case's row of the case table.
        scenario: The scenario (agency names).
        procedures: The variant's procedures (step names, ``after``, clock flags);
            default resolved from the scenario.

    Returns:
        A frame with columns `TIMELINE_COLUMNS`: one row per segment (``kind`` in
        `path_parts`); ``row`` numbers the chart's lines in order of first readiness (a step's
        attempts share a line, a rework has its own); ``critical`` marks the segments on
        the critical path; ``on_clock`` those counting on the legal approval clock.
    """
    variant = str(case["variant"])
    procedures = procedures or VariantProcedures.of(scenario, variant)
    steps = result_steps[
        (result_steps["replication"] == case["replication"])
        & (result_steps["variant"] == variant)
        & (result_steps["case_id"] == case["case_id"])
        & (result_steps["outcome"] != "revoked")
    ].sort_values(["ready_day", "attempt"], kind="stable")
    if len(steps) == 0:
        return pd.DataFrame({name: [] for name in TIMELINE_COLUMNS})
    version = procedures.version(str(case["procedure"]), case.get("attributes"))
    definitions = dict(procedures.steps(str(case["procedure"])))
    if version is not None:
        definitions.update({s.id: s for s in version.steps})
    path = set(critical_path(steps, version))
    arrival = float(case["arrival_day"])
    lines: dict[tuple[str, bool], int] = {}
    last_end: dict[str, float] = {}
    rows = []
    for label, row in steps.iterrows():
        step_id = str(row["step"])
        rework = row["outcome"] == "rework"
        line = lines.setdefault((step_id, rework), len(lines))
        definition = definitions.get(step_id)
        name = definition.name if definition is not None else Name(step_id, step_id)
        if rework:
            name = Name(f"{name.zh}（整改）", f"{name.en} (rework)")
        agency = agency_name(scenario, row["agency"])
        handling_clock = True if rework else (definition.handling_on_clock if definition else True)
        waiting_clock = definition.waiting_on_clock if definition is not None else False
        critical = label in path
        base = {
            "row": line,
            "step": step_id,
            "step_zh": name.zh,
            "step_en": name.en,
            "agency": str(row["agency"]),
            "agency_zh": agency.zh,
            "agency_en": agency.en,
            "attempt": int(row["attempt"]),
            "outcome": str(row["outcome"]),
            "critical": critical,
        }
        ready = float(row["ready_day"])
        gap_from = last_end.get(step_id)
        if (int(row["attempt"]) > 1 or rework) and gap_from is not None and ready > gap_from:
            kind = "delay" if rework else "correction"
            rows.append({**base, "kind": kind, "start": gap_from, "end": ready, "on_clock": False})
        for kind, low, high, clock in (
            ("queue", "ready_day", "start_day", handling_clock),
            ("handling", "start_day", "handled_day", handling_clock),
            ("waiting", "handled_day", "end_day", waiting_clock),
        ):
            if float(row[high]) > float(row[low]) + _EPS or kind == "handling":
                rows.append(
                    {
                        **base,
                        "kind": kind,
                        "start": float(row[low]),
                        "end": float(row[high]),
                        "on_clock": bool(clock),
                    }
                )
        if not rework:
            last_end[step_id] = float(row["end_day"])
    frame = pd.DataFrame(rows, columns=list(TIMELINE_COLUMNS))
    frame["start"] -= arrival
    frame["end"] -= arrival
    return frame


# --------------------------------------------------------------------------- the slow tail


def tail_drivers(
    cases: pd.DataFrame,
    steps: pd.DataFrame,
    scenario: Scenario,
    procedure: str,
    variant: str,
    tail: float = 0.1,
    procedures: VariantProcedures | None = None,
) -> pd.DataFrame:
    """Which steps and agencies the slowest cases spend their time in.

    The slow tail is the completed cases (after the warm-up, every replication whose
    steps were kept) whose elapsed working days are at least the ``1 - tail`` quantile.
    Each case's elapsed time is split along its critical path (`path_parts`) and the
    parts are averaged per (step, agency, kind) over the tail; the same over all
    completed cases (an evenly spaced sample of at most `ALL_CASES_SAMPLE`) is given
    beside it, so that what is special about the tail stands out.

    Args:
        cases: The case table.
        steps: The step table.
        scenario: The scenario.
        procedure: The procedure id.
        variant: The variant name.
        tail: The share of slowest cases (0.1: the slowest 10%).
        procedures: The variant's procedures; default resolved from the scenario.

    Returns:
        A frame with columns `DRIVER_COLUMNS`: ``tail_days`` is the mean days per tail
        case, ``tail_share`` its share of the tail's elapsed time (the shares of a
        variant add up to 1), ``all_days`` and ``all_share`` the same over all cases;
        sorted by ``tail_days``, largest first. Empty when there are no completed cases
        with steps.
    """
    empty = pd.DataFrame({name: [] for name in DRIVER_COLUMNS})
    if len(steps) == 0 or len(cases) == 0:
        return empty
    kept = set(pd.unique(steps.loc[steps["variant"] == variant, "replication"]))
    done = cases[
        (cases["procedure"] == procedure)
        & (cases["variant"] == variant)
        & (cases["status"] == "completed")
        & cases["replication"].isin(kept)
        & (cases["arrival_day"].to_numpy(float) >= scenario.horizon.warmup_days)
    ]
    if len(done) == 0:
        return empty
    threshold = float(np.quantile(done["elapsed_working_days"].to_numpy(float), 1 - tail))
    slow = done[done["elapsed_working_days"].to_numpy(float) >= threshold - _EPS]
    if len(done) > ALL_CASES_SAMPLE:
        picks = np.linspace(0, len(done) - 1, ALL_CASES_SAMPLE).round().astype(int)
        sample = done.iloc[np.unique(picks)]
    else:
        sample = done
    procedures = procedures or VariantProcedures.of(scenario, variant)
    wanted = pd.concat([slow, sample])[["replication", "case_id"]].drop_duplicates()
    rows = steps[(steps["variant"] == variant) & (steps["procedure"] == procedure)]
    rows = rows.merge(wanted, on=["replication", "case_id"], how="inner")
    tail_parts = _sum_parts(slow, rows, procedures)
    all_parts = _sum_parts(sample, rows, procedures)
    definitions = procedures.steps(procedure)
    keys = sorted(set(tail_parts) | set(all_parts))
    tail_total = sum(tail_parts.values()) or math.nan
    all_total = sum(all_parts.values()) or math.nan
    out = []
    for step_id, agency, kind in keys:
        definition = definitions.get(step_id)
        name = definition.name if definition is not None else Name(step_id, step_id)
        agency_label = agency_name(scenario, agency)
        out.append(
            {
                "variant": variant,
                "procedure": procedure,
                "step": step_id,
                "step_zh": name.zh,
                "step_en": name.en,
                "agency": agency,
                "agency_zh": agency_label.zh,
                "agency_en": agency_label.en,
                "kind": kind,
                "tail_days": tail_parts.get((step_id, agency, kind), 0.0) / len(slow),
                "tail_share": tail_parts.get((step_id, agency, kind), 0.0) / tail_total,
                "all_days": all_parts.get((step_id, agency, kind), 0.0) / len(sample),
                "all_share": all_parts.get((step_id, agency, kind), 0.0) / all_total,
                "tail_cases": len(slow),
                "threshold_days": threshold,
            }
        )
    frame = pd.DataFrame(out, columns=list(DRIVER_COLUMNS))
    return frame.sort_values("tail_days", ascending=False, kind="stable").reset_index(drop=True)


def _sum_parts(
    selected: pd.DataFrame, rows: pd.DataFrame, procedures: VariantProcedures
) -> dict[tuple[str, str, str], float]:
    """Critical-path parts summed per (step, agency, kind) over the selected cases."""
    totals: dict[tuple[str, str, str], float] = {}
    if len(selected) == 0 or len(rows) == 0:
        return totals
    rows = rows[rows["outcome"] != "revoked"].sort_values(
        ["replication", "case_id", "ready_day"], kind="stable"
    )
    keys = list(zip(rows["replication"].to_numpy(), rows["case_id"].to_numpy(), strict=True))
    bounds: dict[tuple, tuple[int, int]] = {}
    for position, key in enumerate(keys):
        first, _ = bounds.get(key, (position, position))
        bounds[key] = (first, position + 1)
    step = rows["step"].to_numpy(object)
    agency = rows["agency"].astype(str).to_numpy(object)
    attempt = rows["attempt"].to_numpy(int)
    outcome = rows["outcome"].to_numpy(object)
    times = {
        name: rows[name].to_numpy(float)
        for name in ("ready_day", "start_day", "handled_day", "end_day")
    }
    afters: dict[int, dict[str, tuple[str, ...]]] = {}
    for case in selected.itertuples(index=False):
        found = bounds.get((case.replication, case.case_id))
        if found is None:
            continue
        lo, hi = found
        version = procedures.version(case.procedure, case.attributes)
        after = None
        if version is not None:
            after = afters.setdefault(id(version), {s.id: s.after for s in version.steps})
        ready, start = times["ready_day"][lo:hi], times["start_day"][lo:hi]
        handled, end = times["handled_day"][lo:hi], times["end_day"][lo:hi]
        path = _path_positions(step[lo:hi], attempt[lo:hi], outcome[lo:hi], ready, end, after)
        previous_end = float(case.arrival_day)
        for p in path:
            key_step, key_agency = str(step[lo + p]), str(agency[lo + p])
            gap = ready[p] - previous_end
            parts = (
                (_gap_kind(outcome[lo + p], int(attempt[lo + p])), gap),
                ("queue", start[p] - ready[p]),
                ("handling", handled[p] - start[p]),
                ("waiting", end[p] - handled[p]),
            )
            for kind, days in parts:
                if days > _EPS:
                    key = (key_step, key_agency, kind)
                    totals[key] = totals.get(key, 0.0) + float(days)
            previous_end = end[p]
    return totals
