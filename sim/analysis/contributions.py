"""What each reform of a package contributes: each alone, and added one by one in order.

A package (a declared variant) is a list of reforms applied in order. Two sets of
synthetic variants answer "which reform does the work":

* **alone**: the baseline plus one reform of the package (its effect without the others);
* **cumulative**: the baseline plus the package's first k reforms, k = 1..n (the last one
  is the package itself); the step from prefix k - 1 to prefix k is what reform k adds
  given the reforms before it (a waterfall). Reforms interact (parallel handling gains
  little where a step was merged away), so the steps of the waterfall depend on the
  order and need not add up to the "alone" effects.

They are built as a changed copy of the scenario (`dataclasses.replace` with new
`sim.domain.model.Variant` objects, named ``<variant>__alone_<k>`` and ``<variant>__upto_<k>``)
and run with `sim.run.experiment.run_experiment`: the same seed and common random numbers as
the main run, so the differences are paired. A reform that cannot stand alone (it names
a step an earlier reform of the package created) is reported with a note and no numbers.
This is 2n - 1 further variant runs per replication (the first prefix is the first reform
alone): optional extra computation for the report.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.cases import split_cases
from sim.analysis.comparison import compare
from sim.analysis.summary import summarize
from sim.domain.errors import InputError
from sim.domain.model import Name, Scenario, Variant
from sim.reforms import named_procedures, resolve_variant
from sim.run.experiment import run_experiment

CONTRIBUTION_COLUMNS = (
    "variant",
    "procedure",
    "position",
    "reform",
    "reform_type",
    "mode",
    "synthetic",
    "replications",
    "mean_days",
    "mean_days_low",
    "mean_days_high",
    "share_within_target",
    "share_within_target_low",
    "share_within_target_high",
    "mean_days_change",
    "mean_days_change_low",
    "mean_days_change_high",
    "share_within_target_change",
    "share_within_target_change_low",
    "share_within_target_change_high",
    "mean_days_step",
    "mean_days_step_low",
    "mean_days_step_high",
    "share_within_target_step",
    "share_within_target_step_low",
    "share_within_target_step_high",
    "baseline_mean_days",
    "baseline_share_within_target",
    "relevant",
    "note",
)
"""Columns of `reform_contributions`. ``*_change`` is the paired difference against the
baseline; ``*_step`` (cumulative rows) the paired difference against the previous prefix
(the baseline for the first), i.e. the waterfall's bar. ``relevant`` marks the reforms
that name the procedure, change the whole variant (added staff), or change its numbers
materially (through shared agencies: see `MATERIAL_SHARE`); a package for a whole city
has many reforms that leave a given procedure alone."""

_NAN = float("nan")
MATERIAL_SHARE = 0.005
"""A reform that names another procedure is listed when it moves the share within
target by at least this much (half a point) ..."""
MATERIAL_DAYS = 0.05
"""... or the mean by at least this many working days ..."""
MATERIAL_SHARE_OF_MEAN = 0.005
"""... and at least this share of the baseline mean (through shared agencies)."""
_METRICS = ("mean_days", "share_within_target")


def _titled(title: Name, part: str) -> Name:
    """A package's title with a part of it named after it."""
    return Name(f"{title.zh}: {part}", f"{title.en}: {part}")


def default_variant(scenario: Scenario) -> str:
    """The package analysed by default: the last declared variant with reforms.

    Raises:
        InputError: When the scenario declares no variant with reforms.
    """
    for variant in reversed(scenario.variants):
        if variant.reforms:
            return variant.name
    raise InputError("the scenario declares no variant with reforms", file=scenario.file)


def contribution_variants(
    scenario: Scenario, variant: str
) -> tuple[Scenario, list[dict[str, Any]]]:
    """The scenario with the synthetic variants of ``variant`` added, and their plan.

    Args:
        scenario: The loaded scenario.
        variant: The name of a declared variant (the package).

    Returns:
        ``(scenario copy, plan)``; the plan has one entry per (mode, position) with keys
        ``mode``, ``position`` (1-based), ``reform`` (label), ``reform_type``,
        ``synthetic`` (the variant to read, None when it could not be built) and
        ``note``. The copy holds only the synthetic variants that resolve.

    Raises:
        InputError: When ``variant`` is not declared or has no reforms.
    """
    declared = {v.name: v for v in scenario.variants}
    if variant not in declared:
        raise InputError(
            f"unknown variant '{variant}'; the scenario has: {', '.join(declared) or 'none'}",
            file=scenario.file,
        )
    package = declared[variant]
    if not package.reforms:
        raise InputError(f"variant '{variant}' has no reforms to take apart", file=scenario.file)
    candidates: list[tuple[str, int, Variant]] = []
    for position, reform in enumerate(package.reforms, start=1):
        candidates.append(
            (
                "alone",
                position,
                Variant(
                    name=f"{variant}__alone_{position}",
                    title=_titled(package.title, reform.label),
                    reforms=(reform,),
                ),
            )
        )
        if position > 1:
            candidates.append(
                (
                    "cumulative",
                    position,
                    Variant(
                        name=f"{variant}__upto_{position}",
                        title=_titled(package.title, f"1-{position}"),
                        reforms=package.reforms[:position],
                    ),
                )
            )
    trial = dataclasses.replace(scenario, variants=tuple(v for _, _, v in candidates))
    models = []
    notes: dict[str, str] = {}
    for _, _, synthetic in candidates:
        try:
            models.append(resolve_variant(trial, synthetic.name))
        except InputError as error:  # reported per reform in the table
            reason = str(error).split("; known:")[0]
            notes[synthetic.name] = f"cannot be applied alone: {reason}"
    usable = [v for _, _, v in candidates if v.name in {m.variant for m in models}]
    plan = []
    names = {v.name for v in usable}
    for mode, position, synthetic in candidates:
        reform = package.reforms[position - 1]
        entry = {
            "mode": mode,
            "position": position,
            "reform": reform.label,
            "reform_type": reform.type,
            "procedures": named_procedures(reform),
            "synthetic": synthetic.name if synthetic.name in names else None,
            "note": notes.get(synthetic.name, ""),
        }
        plan.append(entry)
        if mode == "alone" and position == 1:
            plan.append({**entry, "mode": "cumulative"})
    plan.sort(key=lambda e: (e["mode"] != "alone", e["position"]))
    changed = dataclasses.replace(
        scenario,
        variants=tuple(usable),
        models=(scenario.model("baseline"), *models),
    )
    return changed, plan


def reform_contributions(
    scenario: Scenario,
    variant: str | None = None,
    replications: int | None = None,
    seed: int | None = None,
    executor: str | Executor = "serial",
    workers: int | None = None,
    cache: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Run each reform of a package alone and cumulatively; summarise against the baseline.

    Args:
        scenario: The loaded scenario.
        variant: The package (a declared variant); default `default_variant`.
        replications: Replications (default: the scenario's).
        seed: Root seed (default: the scenario's); use the main run's for paired numbers.
        executor: ``serial``, ``process``, ``dask`` or an Executor.
        workers: Worker count for the process pool or a local Dask cluster.
        cache: Folder for finished replications (resume); None keeps nothing on disk.
        progress: Called with (finished, total) as replications finish.

    Returns:
        A tidy frame with columns `CONTRIBUTION_COLUMNS`: one row per (procedure, mode,
        position); ``mode`` is ``alone`` or ``cumulative`` (the last cumulative row is
        the whole package).
    """
    variant = variant or default_variant(scenario)
    changed, plan = contribution_variants(scenario, variant)
    synthetic = [v.name for v in changed.variants]
    result = run_experiment(
        changed,
        replications=replications,
        seed=seed,
        variants=["baseline", *synthetic],
        executor=executor,
        workers=workers,
        cache=cache,
        progress=progress,
        cases="first",  # every replication's figures are kept; its case rows need not be
    )
    return contributions_table(result.cases, changed, variant, plan, result.figures)


def contributions_table(
    cases: pd.DataFrame,
    changed: Scenario,
    variant: str,
    plan,
    figures: pd.DataFrame | None = None,
):
    """The tidy table of `reform_contributions` from the cases of the synthetic variants.

    Args:
        cases: Case table with the baseline and the synthetic variants.
        changed: The scenario copy of `contribution_variants`.
        variant: The package's name.
        plan: The plan of `contribution_variants`.
        figures: The run's figures of every replication (`sim.run.figures`), when
            ``cases`` holds the kept replications' rows only.

    Returns:
        The frame (columns `CONTRIBUTION_COLUMNS`).
    """
    split = split_cases(cases, changed, figures) if len(cases) else None
    summary = summarize(cases, changed, split=split)
    comparison = compare(cases, changed, split=split)
    procedures = list(dict.fromkeys(summary["procedure"]))
    level = summary.set_index(["variant", "procedure"])
    change = comparison[comparison["metric"].isin(_METRICS)].set_index(
        ["variant", "procedure", "metric"]
    )
    steps = _prefix_steps(cases, changed, plan, figures)
    rows = []
    for procedure in procedures:
        base = (
            level.loc[("baseline", procedure)] if ("baseline", procedure) in level.index else None
        )
        for entry in plan:
            name = entry["synthetic"]
            row: dict[str, Any] = {
                "variant": variant,
                "procedure": procedure,
                "position": entry["position"],
                "reform": entry["reform"],
                "reform_type": entry["reform_type"],
                "mode": entry["mode"],
                "synthetic": name or "",
                "note": entry["note"],
                "baseline_mean_days": _get(base, "mean_days"),
                "baseline_share_within_target": _get(base, "share_within_target"),
            }
            found = level.loc[(name, procedure)] if (name, procedure) in level.index else None
            row["replications"] = _get(found, "replications")
            for metric in _METRICS:
                for suffix in ("", "_low", "_high"):
                    row[f"{metric}{suffix}"] = _get(found, f"{metric}{suffix}")
                key = (name, procedure, metric)
                compared = change.loc[key] if key in change.index else None
                row[f"{metric}_change"] = _get(compared, "difference")
                row[f"{metric}_change_low"] = _get(compared, "difference_low")
                row[f"{metric}_change_high"] = _get(compared, "difference_high")
                stepped = steps.get((entry["mode"], entry["position"], procedure, metric))
                for suffix, value in zip(
                    ("", "_low", "_high"), stepped or (_NAN,) * 3, strict=True
                ):
                    row[f"{metric}_step{suffix}"] = value
            rows.append(row)
    frame = pd.DataFrame(rows, columns=list(CONTRIBUTION_COLUMNS))
    named = {(e["position"]): e["procedures"] for e in plan}
    # A reform's own effect: its change when alone, its waterfall step when cumulative (the
    # cumulative change belongs to the whole prefix, not to the reform at its end).
    alone = (frame["mode"] == "alone").to_numpy()
    share = pd.Series(
        np.where(alone, frame["share_within_target_change"], frame["share_within_target_step"]),
        index=frame.index,
    ).abs()
    days = pd.Series(
        np.where(alone, frame["mean_days_change"], frame["mean_days_step"]), index=frame.index
    ).abs()
    floor = np.maximum(MATERIAL_DAYS, MATERIAL_SHARE_OF_MEAN * frame["baseline_mean_days"].abs())
    material = (share >= MATERIAL_SHARE) | (days >= floor.fillna(MATERIAL_DAYS))
    by_reform = material.groupby([frame["procedure"], frame["position"]]).transform("any")
    targets = [
        not named[position] or procedure in named[position]
        for procedure, position in zip(frame["procedure"], frame["position"], strict=True)
    ]
    frame["relevant"] = by_reform.to_numpy(bool) | np.asarray(targets, dtype=bool)
    return frame


def _prefix_steps(cases: pd.DataFrame, changed: Scenario, plan, figures=None) -> dict:
    """Paired differences between consecutive prefixes (the waterfall's bars)."""
    found: dict[tuple, tuple[float, float, float]] = {}
    previous = "baseline"
    for entry in [e for e in plan if e["mode"] == "cumulative"]:
        current = entry["synthetic"]
        if current is None or previous is None:
            previous = current
            continue
        pair = cases[cases["variant"].isin([previous, current])]
        ordered = dataclasses.replace(
            changed,
            variants=tuple(v for v in changed.variants if v.name in (previous, current)),
        )
        pair_figures = None
        if figures is not None and len(figures):
            pair_figures = figures[figures["variant"].isin([previous, current])]
        split = split_cases(pair, ordered, pair_figures) if len(pair) else None
        compared = compare(pair, ordered, baseline=previous, split=split)
        for row in compared[compared["metric"].isin(_METRICS)].itertuples(index=False):
            found[("cumulative", entry["position"], row.procedure, row.metric)] = (
                float(row.difference),
                float(row.difference_low),
                float(row.difference_high),
            )
        previous = current
    return found


def _get(row, column: str) -> float:
    if row is None:
        return _NAN
    value = row.get(column, _NAN)
    try:
        return float(value)
    except (TypeError, ValueError):
        return _NAN if value is None or (isinstance(value, float) and math.isnan(value)) else value
