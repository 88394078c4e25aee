"""Confidence intervals: Student t, Wilson, order statistics, batch means, Welch, bootstrap.

Every figure from random runs carries one of these (or its replication count). Each
function takes plain values and drops non-finite ones; an interval that the data cannot
give is NaN.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

from sim.run.reduce import BATCHES, batch_means

# What the intervals of a table rest on (its ``interval_basis`` column).
BASIS_REPLICATIONS = "replications"
BASIS_ONE_RUN = (
    "one replication: batch means for means; cases for shares and percentiles "
    "(assumes independent cases: run replications for firmer intervals)"
)
BASIS_BATCHES = "batch means (one replication; {batches} batches in order of arrival)"
BASIS_FIXED = "fixed times: one path, no interval"

# Resamples of the paired bootstrap of a quantile difference (one replication).
BOOTSTRAP_RESAMPLES = 1000
_NAN = float("nan")


def _stats():
    """``scipy.stats``, imported when first needed.

    Importing it takes the better part of a second, and the workers of a run, which only
    make queue totals here, never need it.
    """
    from scipy import stats

    return stats


# --------------------------------------------------------------------------- intervals


def finite(values: Iterable[float] | np.ndarray | pd.Series) -> np.ndarray:
    """The finite values, as a flat float array."""
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
    data = finite(values)
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
    # At 0 or n successes a bound is exactly 0 or 1, which rounding would miss.
    low = 0.0 if successes <= 0 else max(0.0, centre - half)
    high = 1.0 if successes >= n else min(1.0, centre + half)
    return low, high


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
    data = np.sort(finite(values))
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
    values, confidence: float = 0.95, batches: int = BATCHES
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
    data = finite(values)
    if len(data) == 0:
        return _NAN, _NAN, _NAN
    return batch_interval(float(data.mean()), batch_means(data, batches), confidence)


def batch_interval(mean: float, means, confidence: float = 0.95) -> tuple[float, float, float]:
    """A batch-means t interval around ``mean`` from the batch means (`batch_means`).

    Args:
        mean: The series' mean (the interval's centre).
        means: The batch means; None, or any NaN among them, when the series was too
            short for batches.
        confidence: Two-sided confidence level.

    Returns:
        ``(mean, low, high)``; the interval is NaN without batch means.
    """
    if means is None or np.isnan(means).any():
        return mean, _NAN, _NAN
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
    a, b = finite(baseline), finite(variant)
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
