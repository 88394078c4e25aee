"""Summaries of runs with their uncertainty: intervals, paired comparisons, agency load.

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
* Variants are compared *paired*: every variant runs on the same cases with the same
  random numbers (common random numbers), so the difference within a replication (or,
  with one replication, within a case) is far less noisy than the difference of two
  independent estimates. The unpaired (Welch) interval of the mean is shown beside it.

Cases arriving before ``scenario.horizon.warmup_days`` are dropped; open cases (still
running when the run stopped) count as arrived but not as meeting the target.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sim.records import CASE_COLUMNS, QUEUE_FRAME_COLUMNS

MEASURES = ("steps", "materials", "certificates", "trips", "elapsed_working_days", "fees_cny")
"""The six measures the plans ask to cut (六减: steps, materials, certificates, trips, time,
fees), as case-table columns."""

# The measures other than time (time is ``mean_days``).
_COUNTED_MEASURES = tuple(m for m in MEASURES if m != "elapsed_working_days")

BASIS_REPLICATIONS = "replications"
BASIS_CASES = "cases (one replication; assumes independent cases)"
BASIS_ONE_RUN = (
    "one replication: batch means for means; cases for shares and percentiles "
    "(assumes independent cases: run replications for firmer intervals)"
)
BASIS_BATCHES = "batch means (one replication; {batches} batches in order of arrival)"

SUMMARY_COLUMNS = (
    "variant",
    "procedure",
    "target_days",
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

COMPARISON_METRICS = (
    "mean_days",
    "p90_days",
    "share_within_target",
    "mean_clock_days",
    *_COUNTED_MEASURES,
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
# Batches for the batch-means interval of one replication's queue.
QUEUE_BATCHES = 20
# Resamples of the paired bootstrap of a quantile difference (one replication).
BOOTSTRAP_RESAMPLES = 1000
# Tolerance when comparing durations with a target (the engine's float arithmetic).
_EPS = 1e-9
_NAN = float("nan")


def _stats():
    """``scipy.stats``, imported when first needed.

    Importing it takes the better part of a second, and the workers of a run, which only
    make queue totals here, never need it.
    """
    from scipy import stats

    return stats


# --------------------------------------------------------------------------- intervals


def _finite(values: Iterable[float] | np.ndarray | pd.Series) -> np.ndarray:
    array = np.asarray(values, dtype=float).ravel()
    return array[np.isfinite(array)]


def t_interval(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """The mean of ``values`` and its Student-t confidence interval.

    Non-finite values are dropped. With fewer than two values the interval is NaN; when
    every value is the same the interval is that value.

    Args:
        values: Observations, taken as independent and identically distributed.
        confidence: Two-sided confidence level, e.g. 0.95.

    Returns:
        ``(mean, low, high)``.
    """
    data = _finite(values)
    n = len(data)
    if n == 0:
        return _NAN, _NAN, _NAN
    mean = float(data.mean())
    if n < 2:
        return mean, _NAN, _NAN
    sd = float(data.std(ddof=1))
    if sd == 0.0:
        return mean, mean, mean
    half = float(_stats().t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    return mean, mean - half, mean + half


def wilson_interval(successes: float, n: float, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion.

    Args:
        successes: Number of successes.
        n: Number of trials.
        confidence: Two-sided confidence level.

    Returns:
        ``(low, high)``; NaN for ``n == 0``.
    """
    if not n or n <= 0:
        return _NAN, _NAN
    z = float(_stats().norm.ppf(0.5 + confidence / 2))
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def quantile_interval(values, q: float, confidence: float = 0.95) -> tuple[float, float, float]:
    """A sample quantile and its distribution-free (order-statistic) confidence interval.

    The number of observations below the true ``q``-quantile is Binomial(n, q), so the
    order statistics ``x(l) <= x(u)`` with ``l`` and ``u - 1`` the binomial
    ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles bracket it with at
    least the stated confidence (for continuous data). A bound that would need an order
    statistic outside the sample is NaN: the sample is too small to give it.

    Args:
        values: Independent observations (non-finite ones are dropped).
        q: The quantile, in (0, 1).
        confidence: Two-sided confidence level.

    Returns:
        ``(estimate, low, high)``; the estimate is ``numpy.quantile`` (linear).
    """
    data = np.sort(_finite(values))
    n = len(data)
    if n == 0:
        return _NAN, _NAN, _NAN
    estimate = float(np.quantile(data, q))
    alpha = 1 - confidence
    lower = int(_stats().binom.ppf(alpha / 2, n, q))  # 1-based order statistic
    upper = int(_stats().binom.ppf(1 - alpha / 2, n, q)) + 1
    low = float(data[lower - 1]) if lower >= 1 else _NAN
    high = float(data[upper - 1]) if upper <= n else _NAN
    return estimate, low, high


def batch_means_interval(
    values, confidence: float = 0.95, batches: int = QUEUE_BATCHES
) -> tuple[float, float, float]:
    """The mean of a correlated series and a batch-means t interval.

    The series (in time order) is cut into ``batches`` contiguous batches of equal size;
    batch means of long enough batches are nearly independent, so a t interval on them
    allows for the correlation between neighbours (e.g. waits in one queue).

    Args:
        values: The series, in time order (non-finite values are dropped).
        confidence: Two-sided confidence level.
        batches: Number of batches (at least 2; needs two values a batch).

    Returns:
        ``(mean, low, high)``; the interval is NaN for fewer than ``2 * batches`` values.
    """
    data = _finite(values)
    if len(data) == 0:
        return _NAN, _NAN, _NAN
    mean = float(data.mean())
    size = len(data) // batches
    if batches < 2 or size < 2:
        return mean, _NAN, _NAN
    means = data[: size * batches].reshape(batches, size).mean(axis=1)
    _, low, high = t_interval(means, confidence)
    half = (high - low) / 2
    return mean, mean - half, mean + half


def welch_interval(baseline, variant, confidence: float = 0.95) -> tuple[float, float, float]:
    """Difference of two independent means (variant minus baseline), Welch t interval.

    Args:
        baseline: Observations of the first sample.
        variant: Observations of the second sample.
        confidence: Two-sided confidence level.

    Returns:
        ``(difference, low, high)``; the interval is NaN when a sample has fewer than two
        values.
    """
    a, b = _finite(baseline), _finite(variant)
    if len(a) == 0 or len(b) == 0:
        return _NAN, _NAN, _NAN
    difference = float(b.mean() - a.mean())
    if len(a) < 2 or len(b) < 2:
        return difference, _NAN, _NAN
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    if se == 0.0:
        return difference, difference, difference
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = float(_stats().t.ppf(0.5 + confidence / 2, df)) * se
    return difference, difference - half, difference + half


def paired_quantile_bootstrap(
    baseline,
    variant,
    q: float,
    confidence: float = 0.95,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Difference of a quantile between paired samples, percentile bootstrap interval.

    Pairs (the same case in both variants) are resampled together, which keeps the
    correlation that common random numbers create. The resampling uses its own fixed
    seed, so the result is reproducible.

    Args:
        baseline: Values of the baseline, one per pair.
        variant: Values of the variant, aligned with ``baseline``.
        q: The quantile, in (0, 1).
        confidence: Two-sided confidence level.
        resamples: Bootstrap resamples.
        seed: Seed of the resampling.

    Returns:
        ``(difference, low, high)``; the interval is NaN for fewer than two pairs.
    """
    a = np.asarray(baseline, dtype=float)
    b = np.asarray(variant, dtype=float)
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    n = len(a)
    if n == 0:
        return _NAN, _NAN, _NAN
    difference = float(np.quantile(b, q) - np.quantile(a, q))
    if n < 2:
        return difference, _NAN, _NAN
    generator = np.random.default_rng(seed)
    chunk = max(1, min(resamples, 2_000_000 // n))
    differences = []
    for first in range(0, resamples, chunk):
        rows = min(chunk, resamples - first)
        index = generator.integers(0, n, size=(rows, n))
        differences.append(np.quantile(b[index], q, axis=1) - np.quantile(a[index], q, axis=1))
    pooled = np.concatenate(differences)
    alpha = 1 - confidence
    low, high = np.quantile(pooled, [alpha / 2, 1 - alpha / 2])
    return difference, float(low), float(high)


# --------------------------------------------------------------------------- helpers


def _ordered(present: Iterable[Any], preferred: Sequence[Any]) -> list[Any]:
    """``preferred`` items that are present, then the other present ones as first seen."""
    if isinstance(present, pd.Series):
        present = pd.unique(present)  # in order of first appearance, hashed at C speed
    seen = list(dict.fromkeys(present))
    known = set(seen)
    first = [item for item in preferred if item in known]
    return first + [item for item in seen if item not in set(first)]


def _targets(
    scenario, cases: pd.DataFrame, present: Iterable[str] | None = None
) -> dict[str, float]:
    """Target (working days) of every procedure in the scenario or in the case table.

    A procedure that only a variant creates (a bundle, 一件事一次办) is looked up in the
    resolved variants; a target that cannot be found is NaN. ``present``: the table's
    distinct procedures, if known.
    """
    targets = {
        demand.procedure.id: float(demand.procedure.target_days) for demand in scenario.demands
    }
    if present is None:
        present = pd.unique(cases["procedure"]) if len(cases) else ()
    unknown = set(present) - set(targets)
    if unknown:
        try:
            from sim.reforms import resolve

            for variant in pd.unique(cases.loc[cases["procedure"].isin(unknown), "variant"]):
                for demand in resolve(scenario, variant).demands:
                    targets.setdefault(demand.procedure.id, float(demand.procedure.target_days))
        except Exception:  # a scenario that cannot be resolved here: targets stay unknown
            pass
    return targets


def groups_by(frame: pd.DataFrame, *columns: str) -> dict[Any, pd.DataFrame]:
    """Row subsets by the values of ``columns`` (one pass, not a filter per key).

    Each subset keeps the frame's row order and index; a missing key means no rows.
    """
    if len(frame) == 0:
        return {}
    keys = list(columns) if len(columns) > 1 else columns[0]
    return dict(iter(frame.groupby(keys, sort=False)))


def _none(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.iloc[:0]


def _case_flags(cases: pd.DataFrame, target: float) -> pd.DataFrame:
    """Per case: completed, ended early (withdrawn or revoked), open, and the target flags."""
    status = cases["status"].to_numpy()
    completed = status == "completed"
    elapsed = cases["elapsed_working_days"].to_numpy(float)
    clock = cases["approval_clock_days"].to_numpy(float)
    within = completed & (elapsed <= target + _EPS)
    if math.isnan(target) and "within_target" in cases:
        # Target unknown to the statistics: the flag the engine recorded for each case.
        within = completed & cases["within_target"].fillna(False).to_numpy(bool)
    return pd.DataFrame(
        {
            "completed": completed,
            "withdrawn": np.isin(status, ("withdrawn", "revoked")),
            "open": status == "open",
            "within": within,
            "within_clock": completed & (clock <= target + _EPS),
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
    *_COUNTED_MEASURES,
)


def _per_replication(cases: pd.DataFrame, replications: Sequence[int], target: float):
    """Figures of one (variant, procedure) per replication, indexed by replication.

    Replications without cases of the procedure have zero counts and NaN figures.
    """
    index = pd.Index(list(replications), name="replication")
    flags = _case_flags(cases, target)
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
    if math.isnan(target):  # no target to hold the approval clock against
        frame["share_within_target_clock"] = _NAN
    for column in _COUNTED_MEASURES:
        frame[column] = grouped[column].mean().reindex(index).astype(float)
    return frame[list(_REPLICATION_FIGURES)].astype(float)


def _replications_by_variant(frame: pd.DataFrame) -> dict[str, list[int]]:
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
        self.variants = _ordered(variant_names, scenario.variant_names)
        declared = [demand.procedure.id for demand in scenario.demands]
        self.procedures = declared + [p for p in procedure_names if p not in set(declared)]
        self.targets = _targets(scenario, cases, procedure_names)
        replication = cases["replication"].to_numpy(np.int64)
        span = int(replication.max(initial=0)) + 1
        pairs = pd.unique(variant_codes.astype(np.int64) * span + replication)
        self.replications_of: dict[str, list[int]] = {}
        for pair in sorted(pairs.tolist()):
            self.replications_of.setdefault(variant_names[pair // span], []).append(pair % span)
        columns = [name for name in _FIGURE_COLUMNS if name in cases.columns]
        keep = cases["arrival_day"].to_numpy(float) >= scenario.horizon.warmup_days
        kept = cases.loc[keep, columns]
        self.empty = _none(kept)
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

    def target(self, procedure: str) -> float:
        """The procedure's target in working days (NaN if unknown)."""
        return self.targets.get(procedure, _NAN)

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
        forked workers (`sim.forking`; ``workers`` None: one a core, 1: here), the
        same numbers as one by one.
        """
        from sim.forking import map_forked

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
        cases: The case table (`sim.records.CASE_COLUMNS`), not empty.
        scenario: The scenario (variant and procedure order, targets, warm-up).

    Returns:
        The split.
    """
    return CaseSplit(cases, scenario)


# --------------------------------------------------------------------------- summary


def _one_run_mean(values: np.ndarray, confidence: float) -> tuple[float, float, float]:
    """Mean of one run's cases in arrival order: batch means, or t on cases if too few."""
    mean, low, high = batch_means_interval(values, confidence)
    if math.isnan(low):
        return t_interval(values, confidence)
    return mean, low, high


def summarize(
    cases: pd.DataFrame, scenario, confidence: float = 0.95, split: CaseSplit | None = None
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
        cases: The case table (`sim.records.CASE_COLUMNS`), any number of replications
            and variants.
        scenario: The scenario (variant and procedure order, targets, warm-up).
        confidence: Two-sided confidence level of the intervals.
        split: ``split_cases(cases, scenario)``, if made already (it is made here if not).

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
            row.update(variant=variant, procedure=procedure, target_days=target)
            rows.append(row)
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def _summary_row(per: pd.DataFrame, subset: pd.DataFrame, target: float, confidence: float):
    replications = len(per)
    row: dict[str, Any] = {"replications": replications}
    for column in ("arrived", "completed", "withdrawn", "open", "mean_calendar_days"):
        row[column] = float(per[column].mean()) if replications else _NAN
    for column in _COUNTED_MEASURES:
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
    flags = _case_flags(subset, target)
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
        if flag == "within_clock" and math.isnan(target):
            row[column] = row[f"{column}_low"] = row[f"{column}_high"] = _NAN
            continue
        row[column] = hits / arrived if arrived else _NAN
        row[f"{column}_low"], row[f"{column}_high"] = wilson_interval(hits, arrived, confidence)
    return row


# --------------------------------------------------------------------------- comparison


def compare(
    cases: pd.DataFrame,
    scenario,
    confidence: float = 0.95,
    baseline: str = "baseline",
    split: CaseSplit | None = None,
) -> pd.DataFrame:
    """Paired differences of every variant against the baseline, per procedure.

    With R >= 2 replications (in both variants) the difference is taken within each
    replication (variant minus baseline: common random numbers make them paired) and a
    t interval is put on the R differences. With R == 1 the same case (``case_id``) is
    paired across the variants: the mean metrics over cases completed in both, the
    target share over every case (indicator differences), each with a t interval on the
    per-case differences; the 90th percentile by a paired bootstrap. ``baseline_value``
    and ``variant_value`` are over the pairs used, so that ``difference`` is their
    difference. For ``mean_days`` the unpaired (Welch) interval is given too, to show
    how much the pairing narrows it.

    A difference is ``distinguishable`` when its paired interval excludes zero. When it
    is not and the difference is nonzero, ``replications_needed`` estimates the R at
    which the half-width would be about ``|difference| / 1.5`` (half-widths shrink as
    one over the square root of R).

    Args:
        cases: The case table, several variants.
        scenario: The scenario (order, targets, warm-up).
        confidence: Two-sided confidence level.
        baseline: The variant compared against.
        split: ``split_cases(cases, scenario)``, if made already (it is made here if not).

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
                found = _compare_cases(base, other, replications, target, confidence)
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
) -> dict[str, Any]:
    difference, low, high = interval
    distinguishable = bool(np.isfinite(low) and np.isfinite(high) and (low > 0 or high < 0))
    needed = _NAN
    level = f"{100 * confidence:g}%"
    if not np.isfinite(difference):
        note = "no cases to compare"
    elif not (np.isfinite(low) and np.isfinite(high)):
        note = "too few replications or cases for an interval"
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
        )
    return found


_CASE_METRIC_COLUMNS = {
    "mean_days": "elapsed_working_days",
    "mean_clock_days": "approval_clock_days",
    **{measure: measure for measure in _COUNTED_MEASURES},
}


def _compare_cases(base, other, replications, target, confidence):
    if replications:
        base = base[base["replication"] == replications[0]]
        other = other[other["replication"] == replications[0]]
    else:
        base, other = base.iloc[:0], other.iloc[:0]
    base = base.assign(**_case_flags(base, target))
    other = other.assign(**_case_flags(other, target))
    pairs = base.merge(other, on="case_id", suffixes=("_b", "_v"))
    both = pairs[pairs["completed_b"] & pairs["completed_v"]]
    count = len(replications)
    found = {}
    for metric in COMPARISON_METRICS:
        if metric == "share_within_target":
            a = pairs["within_b"].to_numpy(float)
            b = pairs["within_v"].to_numpy(float)
            basis = f"one replication: paired on {len(pairs)} cases"
            interval = t_interval(b - a, confidence)
        elif metric == "p90_days":
            a = both["elapsed_working_days_b"].to_numpy(float)
            b = both["elapsed_working_days_v"].to_numpy(float)
            basis = f"one replication: paired bootstrap on {len(both)} cases"
            interval = paired_quantile_bootstrap(a, b, 0.9, confidence)
        else:
            column = _CASE_METRIC_COLUMNS[metric]
            a = both[f"{column}_b"].to_numpy(float)
            b = both[f"{column}_v"].to_numpy(float)
            basis = f"one replication: paired on {len(both)} cases completed in both"
            interval = t_interval(b - a, confidence)
        if metric == "p90_days":
            base_value = float(np.quantile(a, 0.9)) if len(a) else _NAN
            variant_value = float(np.quantile(b, 0.9)) if len(b) else _NAN
        else:
            base_value = float(a.mean()) if len(a) else _NAN
            variant_value = float(b.mean()) if len(b) else _NAN
        unpaired = None
        if metric == "mean_days":
            unpaired = welch_interval(
                base.loc[base["completed"], "elapsed_working_days"],
                other.loc[other["completed"], "elapsed_working_days"],
                confidence,
            )
        found[metric] = _compared(
            base_value, variant_value, interval, unpaired, count, confidence, basis
        )
    return found


# --------------------------------------------------------------------------- agencies

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
)
"""Columns of `queue_totals`: one row per (replication, variant, agency) with queued steps."""


def queue_totals(steps: pd.DataFrame | Mapping[str, Any], horizon) -> pd.DataFrame:
    """The queue figures `agency_load` needs, per (replication, variant, agency).

    Over the step rows ready after the warm-up (a joint step counts for each of its
    agencies; revocation marks hold no staff and are left out): how many, their total
    and 90th-percentile ``queue_days`` (linear interpolation), and count and total of
    those ready in the first and in the second half of the arrival period. Small enough
    to keep for every replication when the step rows themselves are not kept. Computed
    with numpy on the few columns it reads: it runs once for every variant of every
    replication, where a pandas group-by took as long as making the case table.

    Args:
        steps: Step rows (`sim.records.STEP_COLUMNS`, or at least
            `sim.records.QUEUE_FRAME_COLUMNS`), or those columns as arrays by name with
            ``replication`` and ``variant`` as single values (one run's,
            `sim.records.Records.queue_columns`).
        horizon: The scenario's horizon (warm-up and arrival period).

    Returns:
        A frame with columns `QUEUE_COLUMNS`, groups in order of first appearance.
    """
    names_given = steps.columns if isinstance(steps, pd.DataFrame) else steps.keys()
    if not set(QUEUE_FRAME_COLUMNS) <= set(names_given) or len(steps["ready_day"]) == 0:
        return pd.DataFrame({name: [] for name in QUEUE_COLUMNS})
    agency, names, rows = _queued(steps, horizon.warmup_days)
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
    sizes = np.bincount(group, minlength=count)
    start, end = horizon.warmup_days, horizon.arrival_days
    middle = (start + end) / 2
    early = (ready >= start) & (ready < middle)
    late = (ready >= middle) & (ready < end)
    return pd.DataFrame(
        {
            "replication": replication,
            "variant": variant,
            "agency": names[agency[first]],
            "steps": sizes.astype(np.int64),
            "queue_days_total": np.bincount(group, weights=waits, minlength=count),
            "p90_queue_days": _group_quantiles(group, waits, sizes, 0.9),
            "early_steps": np.bincount(group, weights=early, minlength=count).astype(np.int64),
            "early_queue_days_total": np.bincount(group, weights=waits * early, minlength=count),
            "late_steps": np.bincount(group, weights=late, minlength=count).astype(np.int64),
            "late_queue_days_total": np.bincount(group, weights=waits * late, minlength=count),
        }
    )


def _queued(steps: pd.DataFrame | Mapping[str, Any], warmup: float):
    """The step rows ready after the warm-up that held staff, one per agency held.

    Revocation marks hold no staff; a joint step (``a+b``) counts for each of its agencies.

    Returns:
        Codes into the agency names, the names, and the source row of each.
    """
    ready = np.asarray(steps["ready_day"], dtype=float)
    keep = (np.asarray(steps["outcome"], dtype=object) != "revoked") & (ready >= warmup)
    rows = np.flatnonzero(keep)
    return _split_agency_codes(np.asarray(steps["agency"], dtype=object)[rows], rows)


def _split_agency_codes(labels: np.ndarray, rows: np.ndarray):
    """One agency a row, joint steps (``a+b``) repeated for each.

    Returns:
        Codes into the names, the names, and the source row of each.
    """
    codes, distinct = pd.factorize(labels)
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


def _groups_in_order(*codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group number of each row (numbered in order of first appearance) and first rows.

    Args:
        codes: One array of non-negative integer codes a key.
    """
    combined = np.zeros(len(codes[0]), dtype=np.int64)
    for key in codes:
        combined = combined * (int(key.max(initial=0)) + 1) + key
    group, _ = pd.factorize(combined)  # numbered in order of first appearance
    highest = np.maximum.accumulate(group)
    first = np.flatnonzero(np.concatenate(([True], highest[1:] > highest[:-1])))
    return group, first


def _group_quantiles(group: np.ndarray, values: np.ndarray, sizes: np.ndarray, q: float):
    """The ``q`` quantile of each group's values (linear interpolation, as numpy's).

    Each group needs only its two order statistics around the quantile: the rows are put
    in group order (a radix sort of small codes) and each group partitioned, a fifth of
    the time of sorting every value.
    """
    codes = group.astype(np.int16) if len(sizes) <= np.iinfo(np.int16).max else group
    by_group = values[np.argsort(codes, kind="stable")]
    starts = np.cumsum(sizes) - sizes
    position = q * (sizes - 1)
    low = np.floor(position).astype(np.intp)
    high = np.minimum(low + 1, sizes - 1)
    below, above = np.empty(len(sizes)), np.empty(len(sizes))
    for index, (start, size) in enumerate(zip(starts.tolist(), sizes.tolist(), strict=True)):
        part = np.partition(by_group[start : start + size], (low[index], high[index]))
        below[index], above[index] = part[low[index]], part[high[index]]
    return below + (above - below) * (position - low)


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
    utilisation).

    Args:
        steps: The step table (may be empty, or hold only some replications, when
            ``queues`` is given; one replication's batch means need its rows).
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
    variants = _ordered(present, scenario.variant_names)
    busy_of = groups_by(busy, "variant")
    queues_of = groups_by(queues, "variant")
    reps_of = {}
    for frame in (busy, queues):
        for variant, found in _replications_by_variant(frame).items():
            reps_of.setdefault(variant, set()).update(found)
    one_run_rows: dict | None = None
    rows = []
    for variant in variants:
        listed = tuple((agencies or {}).get(variant, scenario.agencies))
        replications = sorted(reps_of.get(variant, ()))
        variant_busy = busy_of.get(variant, _none(busy))
        variant_queues = groups_by(queues_of.get(variant, _none(queues)), "agency")
        if len(replications) < 2 and one_run_rows is None:
            raw_rows = _agency_queue_rows(steps, horizon.warmup_days)
            one_run_rows = groups_by(raw_rows, "variant", "agency")
        for agency in listed:
            raw = (one_run_rows or {}).get((variant, agency.id)) if len(replications) < 2 else None
            rows.append(
                _agency_row(
                    variant,
                    agency,
                    variant_busy,
                    variant_queues.get(agency.id, _none(queues)),
                    raw,
                    replications,
                    horizon,
                    confidence,
                )
            )
    frame = pd.DataFrame(rows, columns=list(AGENCY_COLUMNS))
    frame["staff"] = frame["staff"].astype("Int64")
    frame["overloaded"] = frame["overloaded"].astype(bool)
    return frame


def _agency_queue_rows(steps: pd.DataFrame, warmup: float) -> pd.DataFrame:
    """Step rows ready after the warm-up, one per agency held (joint steps split)."""
    columns = ["replication", "variant", "agency", "ready_day", "queue_days"]
    if len(steps) == 0 or not set(columns) <= set(steps.columns):
        return pd.DataFrame({name: [] for name in columns})
    codes, names, rows = _queued(steps, warmup)
    return steps.iloc[rows][columns].assign(agency=names[codes])


def _agency_row(variant, agency, busy, queue, raw, replications, horizon, confidence):
    staff = agency.staff
    count = len(replications)
    row: dict[str, Any] = {
        "variant": variant,
        "agency": agency.id,
        "staff": staff,
        "replications": count,
        "interval_basis": BASIS_REPLICATIONS
        if count >= 2
        else BASIS_BATCHES.format(batches=QUEUE_BATCHES),
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
    else:
        ordered = (
            raw.sort_values("ready_day", kind="stable")["queue_days"]
            if raw is not None
            else pd.Series([], dtype=float)
        )
        mean_queue = batch_means_interval(ordered, confidence)
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
