"""Paired comparisons of every variant against the baseline (common random numbers).

Every variant runs on the same cases with the same random numbers, so the difference
within a replication (or, with one replication, within a case) is far less noisy than
the difference of two independent estimates; the unpaired (Welch) interval of the mean
is shown beside it. With one replication the cases' differences are correlated through
the queues they share: the interval is batch means on them, in order of arrival.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.cases import COUNTED_MEASURES, CaseSplit, case_flags, split_cases
from sim.analysis.intervals import (
    batch_means_interval,
    paired_quantile_bootstrap,
    t_interval,
    welch_interval,
)

COMPARISON_METRICS = (
    "mean_days",
    "p90_days",
    "share_within_target",
    "mean_clock_days",
    *COUNTED_MEASURES,
)
"""Metrics compared against the baseline (time, the sixth measure, is ``mean_days``)."""

COMPARISON_COLUMNS = (
    "variant",
    "procedure",
    "metric",
    "baseline_value",
    "variant_value",
    "difference",
    "difference_low",
    "difference_high",
    "unpaired_low",
    "unpaired_high",
    "replications",
    "distinguishable",
    "replications_needed",
    "note",
)

_NAN = float("nan")


# --------------------------------------------------------------------------- comparison


def compare(
    cases: pd.DataFrame,
    scenario,
    confidence: float = 0.95,
    baseline: str = "baseline",
    split: CaseSplit | None = None,
    fixed: bool = False,
) -> pd.DataFrame:
    """Paired differences of every variant against the baseline, per procedure.

    With R >= 2 replications (in both variants) the difference is taken within each
    replication (variant minus baseline: common random numbers make them paired) and a
    t interval is put on the R differences. With R == 1 the same case (``case_id``) is
    paired across the variants: the mean metrics over cases completed in both, the
    target share over every case (indicator differences). Cases that queue together are
    correlated, so the interval is batch means on the paired differences in order of
    arrival (as the summary does for means); with too few cases for the batches there is
    no interval ("cannot tell"). The 90th percentile's is a paired bootstrap.
    ``baseline_value`` and ``variant_value`` are over the pairs used, so that
    ``difference`` is their difference. For ``mean_days`` the unpaired (Welch) interval
    is given too, to show how much the pairing narrows it.

    A difference is ``distinguishable`` when its paired interval excludes zero. When it
    is not and the difference is nonzero, ``replications_needed`` estimates the R at
    which the half-width would be about ``|difference| / 1.5`` (half-widths shrink as
    one over the square root of R). A target share of 0% on both sides reads "neither
    meets the target" (100%: "both meet the target"), with no estimate.

    Args:
        cases: The case table, several variants.
        scenario: The scenario (order, targets, warm-up).
        confidence: Two-sided confidence level.
        baseline: The variant compared against.
        split: ``split_cases(cases, scenario)``, if made already (it is made here if not).
        fixed: The cases are a fixed-time method's (one path): the differences are
            exact, with no interval.

    Returns:
        A frame with columns `COMPARISON_COLUMNS`, one row per (variant, procedure,
        metric) with metrics `COMPARISON_METRICS`; empty when there is only the baseline.

    Raises:
        ValueError: When there are other variants but no rows of ``baseline``.
    """
    if len(cases) == 0:
        return pd.DataFrame(columns=list(COMPARISON_COLUMNS))
    split = split or split_cases(cases, scenario)
    variants = [v for v in split.variants if v != baseline]
    if not variants:
        return pd.DataFrame(columns=list(COMPARISON_COLUMNS))
    if baseline not in split.variants:
        raise ValueError(f"no cases of the baseline '{baseline}' to compare against")
    base_reps = set(split.replications_of.get(baseline, []))
    rows = []
    for variant in variants:
        replications = sorted(base_reps & set(split.replications_of.get(variant, [])))
        for procedure in split.procedures:
            target = split.target(procedure)
            base = split.part(baseline, procedure)
            other = split.part(variant, procedure)
            if len(replications) >= 2:
                found = _compare_replications(
                    split.per_replication(baseline, procedure, replications),
                    split.per_replication(variant, procedure, replications),
                    len(replications),
                    confidence,
                )
            else:
                found = _compare_cases(base, other, replications, target, confidence, fixed)
            for metric, values in found.items():
                rows.append(
                    {"variant": variant, "procedure": procedure, "metric": metric, **values}
                )
    frame = pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))
    frame["distinguishable"] = frame["distinguishable"].astype(bool)
    return frame


def _compared(
    base_value: float,
    variant_value: float,
    interval: tuple[float, float, float],
    unpaired: tuple[float, float, float] | None,
    replications: int,
    confidence: float,
    basis: str = "",
    metric: str = "",
) -> dict[str, Any]:
    difference, low, high = interval
    distinguishable = bool(np.isfinite(low) and np.isfinite(high) and (low > 0 or high < 0))
    needed = _NAN
    level = f"{100 * confidence:g}%"
    extreme = _both_extreme(metric, base_value, variant_value)
    if not np.isfinite(difference):
        note = "no cases to compare"
    elif extreme:
        note = extreme
    elif not (np.isfinite(low) and np.isfinite(high)):
        note = "cannot tell: too few replications or cases for an interval"
    elif distinguishable:
        direction = "lower" if difference < 0 else "higher"
        note = f"{direction} than the baseline (the {level} interval excludes 0)"
    elif difference == 0 and high == low:
        note = "no difference"
    elif difference == 0:
        note = "no difference on average; interval includes 0"
    else:
        half = (high - low) / 2
        needed = float(math.ceil(replications * (half / (abs(difference) / 1.5)) ** 2))
        note = f"interval too wide to tell apart; about {needed:.0f} replications needed"
    if basis:
        note = f"{note} ({basis})"
    return {
        "baseline_value": base_value,
        "variant_value": variant_value,
        "difference": difference,
        "difference_low": low,
        "difference_high": high,
        "unpaired_low": unpaired[1] if unpaired else _NAN,
        "unpaired_high": unpaired[2] if unpaired else _NAN,
        "replications": replications,
        "distinguishable": distinguishable,
        "replications_needed": needed,
        "note": note,
    }


def _both_extreme(metric: str, base_value: float, variant_value: float) -> str:
    """For a share within target of 0% or 100% on both sides: what that says."""
    if metric != "share_within_target":
        return ""
    if base_value == 0 and variant_value == 0:
        return "neither meets the target"
    if base_value == 1 and variant_value == 1:
        return "both meet the target in every case"
    return ""


def _compare_replications(per_base, per_other, replications: int, confidence):
    found = {}
    for metric in COMPARISON_METRICS:
        a = per_base[metric].to_numpy(float)
        b = per_other[metric].to_numpy(float)
        both = np.isfinite(a) & np.isfinite(b)
        interval = t_interval(b[both] - a[both], confidence)
        unpaired = welch_interval(a, b, confidence) if metric == "mean_days" else None
        found[metric] = _compared(
            float(a[both].mean()) if both.any() else _NAN,
            float(b[both].mean()) if both.any() else _NAN,
            interval,
            unpaired,
            replications,
            confidence,
            metric=metric,
        )
    return found


_CASE_METRIC_COLUMNS = {
    "mean_days": "elapsed_working_days",
    "mean_clock_days": "approval_clock_days",
    **{measure: measure for measure in COUNTED_MEASURES},
}


def _compare_cases(base, other, replications, target, confidence, fixed: bool = False):
    """The comparison of one replication, pairing each case with itself."""
    if replications:
        base = base[base["replication"] == replications[0]]
        other = other[other["replication"] == replications[0]]
    else:
        base, other = base.iloc[:0], other.iloc[:0]
    base = base.assign(**case_flags(base, target))
    other = other.assign(**case_flags(other, target))
    # In order of arrival: batch means need the cases as they queued.
    pairs = base.merge(other, on="case_id", suffixes=("_b", "_v")).sort_values(
        "arrival_day_b", kind="stable"
    )
    both = pairs[pairs["completed_b"] & pairs["completed_v"]]
    count = len(replications)
    found = {}
    for metric in COMPARISON_METRICS:
        if metric == "share_within_target":
            a = pairs["within_b"].to_numpy(float)
            b = pairs["within_v"].to_numpy(float)
            basis = f"one replication: batch means of the paired differences of {len(pairs)} cases"
            interval = batch_means_interval(b - a, confidence)
        elif metric == "p90_days":
            a = both["elapsed_working_days_b"].to_numpy(float)
            b = both["elapsed_working_days_v"].to_numpy(float)
            basis = f"one replication: paired bootstrap on {len(both)} cases"
            interval = paired_quantile_bootstrap(a, b, 0.9, confidence)
        else:
            column = _CASE_METRIC_COLUMNS[metric]
            a = both[f"{column}_b"].to_numpy(float)
            b = both[f"{column}_v"].to_numpy(float)
            basis = (
                f"one replication: batch means of the paired differences of {len(both)} "
                "cases completed in both"
            )
            interval = batch_means_interval(b - a, confidence)
        if metric == "p90_days":
            base_value = float(np.quantile(a, 0.9)) if len(a) else _NAN
            variant_value = float(np.quantile(b, 0.9)) if len(b) else _NAN
        else:
            base_value = float(a.mean()) if len(a) else _NAN
            variant_value = float(b.mean()) if len(b) else _NAN
        unpaired = None
        if metric == "mean_days" and not fixed:
            unpaired = welch_interval(
                base.loc[base["completed"], "elapsed_working_days"],
                other.loc[other["completed"], "elapsed_working_days"],
                confidence,
            )
        if fixed:
            found[metric] = _exact(base_value, variant_value, metric)
            continue
        found[metric] = _compared(
            base_value, variant_value, interval, unpaired, count, confidence, basis, metric
        )
    return found


def _exact(base_value: float, variant_value: float, metric: str) -> dict[str, Any]:
    """A fixed-time method's difference: exact, with no interval."""
    difference = variant_value - base_value
    changed = bool(np.isfinite(difference) and difference != 0)
    note = _both_extreme(metric, base_value, variant_value)
    if not note:
        note = "fixed times: the difference is exact" if changed else "no difference"
    return {
        "baseline_value": base_value,
        "variant_value": variant_value,
        "difference": difference,
        "difference_low": _NAN,
        "difference_high": _NAN,
        "unpaired_low": _NAN,
        "unpaired_high": _NAN,
        "replications": 1,
        "distinguishable": changed,
        "replications_needed": _NAN,
        "note": note,
    }
