"""The fitted procedure and scenario as the mappings their files hold.

Every fitted number says where it came from: the ``source:`` of its step, attribute,
agency, arrival rate or target reads ``fitted from <file>, <n> cases, <period>, <method>``,
and a comment per number (`Comments`) gives the method and interval in full. With a
procedure file given, its mapping is copied and only the numbers of the steps the records
have are replaced (its structure, conditions, materials' relative shares, trips, fees and
clocks stay as written).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.calibration.discovery import ROUTE, Structure
from sim.analysis.calibration.fitting import Fit, rounded
from sim.analysis.calibration.steps import StepFit
from sim.domain.calendar import DayRule, WorkingCalendar
from sim.domain.distributions import Distribution, Empirical, Fixed

# The fitted scenario's horizon: drained at least to the long cases' length, warmed up
# for about the 90th percentile cycle time when staff are limited; the scenario format's
# limit on working days.
DRAIN_QUANTILE = 0.99
WARMUP_BOUNDS = (5.0, 120.0)
MAX_HORIZON = 5000

Comments = dict[tuple[Any, ...], str]
"""A comment per location in a mapping (keys and indexes), written above the value."""


@dataclass(frozen=True)
class Provenance:
    """Where fitted numbers come from: the file, how many cases, which period."""

    file: str
    cases: int
    period: str

    def source(self, method: str, cases: int | None = None) -> str:
        """A ``source:`` text (``cases``: how many cases the number rests on, if fewer)."""
        count = self.cases if cases is None else cases
        return f"fitted from {self.file}, {count} cases, {self.period}, {method}"


def distribution_spec(distribution: Distribution) -> Any:
    """A distribution as a file writes it (a bare number when fixed)."""
    if isinstance(distribution, Fixed):
        return distribution.value
    if isinstance(distribution, Empirical):
        return {"type": "empirical", "values": list(distribution.values)}
    return {key: value for key, value in distribution.to_spec().items()}


def _comment(what: str, fit: Fit) -> str:
    interval = fit.interval_text()
    return f"{what}: {fit.method}" + (f"; {interval}" if interval else "")


def _defects(fit: StepFit) -> dict[str, Any]:
    return {
        "id": "sent_back",
        "name": "补正 (sent back, fitted)",
        "kind": "main",
        "probability_defective": rounded(fit.send_back),
    }


def _send_back(fit: StepFit) -> dict[str, Any]:
    assert fit.response is not None
    return {
        "response": distribution_spec(fit.response.distribution),
        "max_resubmissions": fit.max_resubmissions,
    }


def _step_source(fit: StepFit, provenance: Provenance) -> str:
    parts = [f"handling {fit.handling.short}"]
    if fit.waiting is not None:
        parts.append(f"waiting {fit.waiting.short}")
    if fit.send_back > 0 and fit.response is not None:
        parts.append(
            f"sent back in {fit.send_back:.3f} of {fit.executions} submissions, "
            f"response {fit.response.short}"
        )
    return provenance.source("; ".join(parts), cases=fit.cases)


def _step_comments(base: tuple[Any, ...], fit: StepFit, has_send_back: bool) -> Comments:
    comments: Comments = {(*base, "handling"): _comment("handling", fit.handling)}
    if fit.waiting is not None:
        comments[(*base, "waiting")] = _comment("waiting", fit.waiting)
    if has_send_back and fit.response is not None:
        comments[(*base, "send_back")] = (
            f"send-back share {fit.send_back:.4f} (95% Clopper-Pearson "
            f"{fit.send_back_interval[0]:.4f}-{fit.send_back_interval[1]:.4f}); "
            + _comment("response", fit.response)
        )
    return comments


def discovered_procedure(
    procedure_id: str,
    title: str,
    structure: Structure,
    fits: Mapping[str, StepFit],
    attributes: Sequence[dict[str, Any]],
    target: tuple[float, str],
    provenance: Provenance,
) -> tuple[dict[str, Any], Comments]:
    """The procedure mapping of a discovered structure with its fitted steps."""
    comments: Comments = {}
    steps = []
    for step in structure.ids:
        fit = fits.get(step)
        if fit is None:
            continue
        entry: dict[str, Any] = {
            "id": step,
            "name": {"zh": structure.names[step], "en": structure.names[step]},
            "agency": structure.agencies[step],
        }
        after = [b for b in structure.after.get(step, ()) if b in fits]
        if after:
            entry["after"] = after
        entry["handling"] = distribution_spec(fit.handling.distribution)
        if fit.waiting is not None:
            entry["waiting"] = distribution_spec(fit.waiting.distribution)
        has_send_back = fit.send_back > 0 and fit.response is not None
        if has_send_back:
            entry["materials"] = [_defects(fit)]
            entry["send_back"] = _send_back(fit)
        condition = structure.condition(step)
        if condition:
            entry["when"] = condition
        entry["source"] = _step_source(fit, provenance)
        comments.update(_step_comments(("steps", len(steps)), fit, has_send_back))
        steps.append(entry)
    data: dict[str, Any] = {
        "id": procedure_id,
        "name": {"zh": title, "en": title},
        "target": {"working_days": rounded(target[0]), "source": target[1]},
    }
    if attributes:
        data["attributes"] = list(attributes)
    data["steps"] = steps
    return data, comments


def refitted_procedure(
    original: Mapping[str, Any],
    structure: Structure,
    fits: Mapping[str, StepFit],
    provenance: Provenance,
) -> tuple[dict[str, Any], Comments]:
    """A procedure file's mapping with the numbers of the steps in the records refitted."""
    data = json.loads(json.dumps(original, default=str))
    comments: Comments = {}
    for index, entry in enumerate(data["steps"]):
        fit = fits.get(entry["id"])
        if fit is None:
            continue
        entry["handling"] = distribution_spec(fit.handling.distribution)
        if fit.waiting is not None:
            entry["waiting"] = distribution_spec(fit.waiting.distribution)
        has_send_back = fit.send_back > 0 and fit.response is not None
        materials = entry.get("materials") or []
        if has_send_back:
            _scale_defects(materials, fit.send_back)
            if not any(m.get("probability_defective", 0) > 0 for m in materials):
                materials.append(_defects(fit))
            entry["materials"] = materials
            entry["send_back"] = {
                **_send_back(fit),
                "max_resubmissions": max(
                    fit.max_resubmissions,
                    (entry.get("send_back") or {}).get("max_resubmissions", 0),
                ),
            }
        else:
            for material in materials:
                material["probability_defective"] = 0.0
        entry["source"] = _step_source(fit, provenance) + f"; structure from {original.get('id')}"
        comments.update(_step_comments(("steps", index), fit, has_send_back))
    return data, comments


def _scale_defects(materials: list[dict[str, Any]], share: float) -> None:
    """Scale the defect shares so that a submission is sent back with probability ``share``."""
    current = [float(m.get("probability_defective", 0.0)) for m in materials]
    if not any(current):
        return

    def sent_back(factor: float) -> float:
        return 1 - math.prod(1 - min(p * factor, 1.0) for p in current)

    low, high = 0.0, 1.0 / max(current)
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if sent_back(middle) < share else (low, middle)
    for material, value in zip(materials, current, strict=True):
        material["probability_defective"] = rounded(min(value * high, 1.0))


def route_attribute(structure: Structure, provenance: Provenance) -> dict[str, Any] | None:
    """The categorical ``route`` attribute of the optional steps (None: no optional step)."""
    if not structure.routes:
        return None
    shares = [rounded(route.share) for route in structure.routes]
    shares[0] = rounded(1.0 - sum(shares[1:]))
    folded = (
        f"; {structure.folded} cases of rare routes folded into the nearest"
        if structure.folded
        else ""
    )
    return {
        "id": ROUTE,
        "kind": "categorical",
        "shares": {
            route.name: share for route, share in zip(structure.routes, shares, strict=True)
        },
        "source": provenance.source(f"share of the closed cases taking each set of steps{folded}"),
    }


def scenario_mapping(
    name: str,
    title: str,
    procedure_id: str,
    arrivals: tuple[float, str],
    agencies: Sequence[dict[str, Any]],
    calendar: dict[str, Any],
    horizon: dict[str, Any],
    seed: int,
    replications: int,
    description: str,
) -> dict[str, Any]:
    """The scenario mapping: the fitted procedure, its arrivals and agencies, the test period."""
    return {
        "name": name,
        "title": title,
        "description": description,
        "seed": seed,
        "replications": replications,
        "calendar": calendar,
        "horizon": horizon,
        "agencies": list(agencies),
        "procedures": [
            {
                "procedure": procedure_id,
                "arrivals_per_day": rounded(arrivals[0]),
                "source": arrivals[1],
            }
        ],
    }


def scenario_period(
    calendar: WorkingCalendar,
    rule: DayRule,
    cases: pd.DataFrame,
    split: float,
    export_end: float,
    limited: bool,
) -> tuple[dict[str, Any], dict[str, float], str]:
    """The scenario's calendar and horizon: the held-back period.

    Arrivals run over the held-back period, after a warm-up when staff are limited; the
    drain reaches the end of the export or the long cases' length.

    Returns:
        ``(calendar, horizon, description)`` entries of the scenario mapping.
    """
    training = cases[~cases["test"]]
    closed = training[~training["open"]]["cycle"]
    long = float(np.quantile(closed, DRAIN_QUANTILE)) if len(closed) else 60.0
    warmup = float(np.clip(np.quantile(closed, 0.9) if len(closed) else 20.0, *WARMUP_BOUNDS))
    last_first = float(cases.loc[cases["test"], "first"].max())
    begin = max(math.floor(split - warmup), 0) if limited else math.floor(split)
    warmup = split - begin if limited else 0.0
    arrival_days = math.ceil(last_first + 1 - begin)
    drain = math.ceil(max(export_end - last_first, long)) + 1
    # The loader builds the calendar for 7/5 calendar days a working day from the start:
    # keep that inside the years the calendar's source knows.
    start_day = calendar.date_of(float(begin))
    known = (calendar.span[1] - start_day).days if calendar.span else 0
    drain = int(max(min(drain, math.floor(known * 5 / 7) - arrival_days - 12, MAX_HORIZON), 0))
    entry: dict[str, Any] = {"start": start_day.isoformat()}
    if rule.kind == "country":
        entry["country"] = rule.country
    elif rule.kind in ("weekdays", "all"):
        entry["days"] = rule.kind
    horizon = {
        "working_days": float(arrival_days),
        "drain_working_days": float(drain),
        "warmup_working_days": float(round(warmup, 6)),
    }
    description = (
        f"Fitted by approvalsim calibrate. Cases arrive over the held-back period from "
        f"{calendar.date_of(split)} (after {warmup:g} working days of warm-up) to the last "
        "held-back case, so that a run reproduces the period the fit report compares with."
    )
    return entry, horizon, description


def agency_entries(
    structure: Structure,
    staff: dict[str, int | None],
    names: dict[str, str],
    provenance: Provenance,
    timed: bool,
    basis: str,
    stated: dict[str, int],
) -> list[dict[str, Any]]:
    """The scenario's agencies with their fitted staff and where it came from."""
    entries = []
    for agency in sorted(set(structure.agencies.values())):
        name = names.get(agency, agency) if structure.discovered else agency
        limit = staff.get(agency)
        if limit is None and not timed:
            source = (
                "assumption: unlimited: with end times only, queueing cannot be told from "
                "handling, so the fitted handling holds the queue (see docs/calibration.md)"
            )
        elif limit is None:
            source = "assumption: unlimited: no execution of this agency has a start time"
        elif agency in stated:
            source = "stated estimate (approvalsim calibrate --staff)"
        else:
            source = provenance.source(f"the most staff seen working at the same moment ({basis})")
        entries.append(
            {
                "id": agency,
                "name": {"zh": name, "en": name},
                "staff": "unlimited" if limit is None else int(limit),
                "source": source,
            }
        )
    return entries
