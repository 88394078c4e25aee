"""The summary table: per variant and procedure, time taken and the share within target.

Statistics from random runs are claims, so every figure here carries a confidence
interval or the number of replications it rests on.

* Across replications (R >= 2) the unit is the replication: a figure is computed per
  replication (a mean, a median, a share) and a Student-t interval is taken over the R
  values. Replications are independent, so this is valid whatever the correlation
  between cases inside a run (queues make neighbouring cases alike).
* With one replication the interval comes from the cases of the run and assumes they
  are independent: a t interval for a mean, the Wilson interval for a share, the
  distribution-free order-statistic (binomial) interval for a median or a quantile.
  Cases that queue for the same staff are positively correlated, so these intervals are
  too narrow under load; the column ``interval_basis`` says which basis was used.

Cases arriving before ``scenario.horizon.warmup_days`` are dropped; open cases (still
running when the run stopped) count as arrived but not as meeting the target.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.cases import COUNTED_MEASURES, CaseSplit, Target, case_flags, split_cases
from sim.analysis.intervals import (
    BASIS_FIXED,
    BASIS_ONE_RUN,
    BASIS_REPLICATIONS,
    batch_means_interval,
    quantile_interval,
    t_interval,
    wilson_interval,
)

SUMMARY_COLUMNS = (
    "variant",
    "procedure",
    "target_days",
    "target_unit",
    "replications",
    "interval_basis",
    "arrived",
    "completed",
    "withdrawn",
    "open",
    "mean_days",
    "mean_days_low",
    "mean_days_high",
    "median_days",
    "median_days_low",
    "median_days_high",
    "p90_days",
    "p90_days_low",
    "p90_days_high",
    "share_within_target",
    "share_within_target_low",
    "share_within_target_high",
    "mean_calendar_days",
    "mean_clock_days",
    "mean_clock_days_low",
    "mean_clock_days_high",
    "share_within_target_clock",
    "share_within_target_clock_low",
    "share_within_target_clock_high",
    "steps",
    "materials",
    "certificates",
    "trips",
    "fees_cny",
)

_NAN = float("nan")


# --------------------------------------------------------------------------- summary


def _one_run_mean(values: np.ndarray, confidence: float) -> tuple[float, float, float]:
    """Mean of one run's cases in arrival order: batch means, or t on cases if too few."""
    mean, low, high = batch_means_interval(values, confidence)
    if math.isnan(low):
        return t_interval(values, confidence)
    return mean, low, high


def summarize(
    cases: pd.DataFrame,
    scenario,
    confidence: float = 0.95,
    split: CaseSplit | None = None,
    fixed: bool = False,
) -> pd.DataFrame:
    """One row per (variant, procedure): counts, durations, target shares, the measures.

    Figures are computed per replication over the cases arriving after the warm-up, then
    averaged over the R replications. Durations and the measures are over completed
    cases; the target shares are over *arrived* cases (withdrawn, revoked and open cases
    did not meet the target; ``open`` is reported beside them). Intervals: Student-t over
    replications when R >= 2; with R == 1, from the cases of the run: batch means in
    order of arrival for a mean (cases that queue together are correlated), Wilson for a
    share and order statistics for the median and the 90th percentile (these assume
    independent cases). ``interval_basis`` names the basis.

    Args:
        cases: The case table (`sim.engines.records.CASE_COLUMNS`), any number of replications
            and variants.
        scenario: The scenario (variant and procedure order, targets, warm-up).
        confidence: Two-sided confidence level of the intervals.
        split: ``split_cases(cases, scenario)``, if made already (it is made here if not).
        fixed: The cases are a fixed-time method's (one path): no interval.

    Returns:
        A frame with columns `SUMMARY_COLUMNS`, variants in ``scenario.variant_names``
        order, procedures in the scenario's order.
    """
    rows = []
    if len(cases) == 0:
        return pd.DataFrame(columns=list(SUMMARY_COLUMNS))
    split = split or split_cases(cases, scenario)
    for variant in split.variants:
        replications = split.replications_of.get(variant, [])
        for procedure in split.procedures:
            target = split.target(procedure)
            subset = split.part(variant, procedure)
            per = split.per_replication(variant, procedure, replications)
            row = _summary_row(per, subset, target, confidence)
            if fixed:
                row = _without_intervals(row)
            row.update(
                variant=variant,
                procedure=procedure,
                target_days=target.days,
                target_unit=target.unit,
            )
            rows.append(row)
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def _without_intervals(row: dict[str, Any]) -> dict[str, Any]:
    """A fixed-time method's row: the figures, without intervals."""
    for key in list(row):
        if key.endswith(("_low", "_high")):
            row[key] = _NAN
    row["interval_basis"] = BASIS_FIXED
    return row


def _summary_row(per: pd.DataFrame, subset: pd.DataFrame, target: Target, confidence: float):
    replications = len(per)
    row: dict[str, Any] = {"replications": replications}
    for column in ("arrived", "completed", "withdrawn", "open", "mean_calendar_days"):
        row[column] = float(per[column].mean()) if replications else _NAN
    for column in COUNTED_MEASURES:
        row[column] = float(per[column].mean()) if per[column].notna().any() else _NAN
    interval_columns = (
        "mean_days",
        "median_days",
        "p90_days",
        "share_within_target",
        "mean_clock_days",
        "share_within_target_clock",
    )
    if replications >= 2:
        row["interval_basis"] = BASIS_REPLICATIONS
        for column in interval_columns:
            row[column], row[f"{column}_low"], row[f"{column}_high"] = t_interval(
                per[column], confidence
            )
            if column.startswith("share"):  # a share lies in [0, 1]
                row[f"{column}_low"] = float(np.clip(row[f"{column}_low"], 0.0, 1.0))
                row[f"{column}_high"] = float(np.clip(row[f"{column}_high"], 0.0, 1.0))
        return row
    row["interval_basis"] = BASIS_ONE_RUN
    flags = case_flags(subset, target)
    done = subset[flags["completed"].to_numpy()].sort_values("arrival_day", kind="stable")
    elapsed = done["elapsed_working_days"].to_numpy(float)
    # Cases that queue together are correlated: batch means keep the interval honest.
    row["mean_days"], row["mean_days_low"], row["mean_days_high"] = _one_run_mean(
        elapsed, confidence
    )
    for column, q in (("median_days", 0.5), ("p90_days", 0.9)):
        row[column], row[f"{column}_low"], row[f"{column}_high"] = quantile_interval(
            elapsed, q, confidence
        )
    row["mean_clock_days"], row["mean_clock_days_low"], row["mean_clock_days_high"] = _one_run_mean(
        done["approval_clock_days"].to_numpy(float), confidence
    )
    arrived = len(subset)
    for column, flag in (
        ("share_within_target", "within"),
        ("share_within_target_clock", "within_clock"),
    ):
        hits = int(flags[flag].sum())
        if flag == "within_clock" and not target.holds_the_clock:
            row[column] = row[f"{column}_low"] = row[f"{column}_high"] = _NAN
            continue
        row[column] = hits / arrived if arrived else _NAN
        row[f"{column}_low"], row[f"{column}_high"] = wilson_interval(hits, arrived, confidence)
    return row
