"""Confidence intervals on small samples with known answers (Wilson, t, order statistics,
Welch, batch means)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from sim.analysis.intervals import (
    batch_means_interval,
    quantile_interval,
    t_interval,
    welch_interval,
    wilson_interval,
)


def test_wilson_interval_of_8_out_of_10():
    # Reference: Wilson (1927) score interval, z = 1.959964: [0.4902, 0.9433].
    low, high = wilson_interval(8, 10, 0.95)
    assert low == pytest.approx(0.49016, abs=5e-5)
    assert high == pytest.approx(0.94332, abs=5e-5)


def test_wilson_interval_edges():
    low, high = wilson_interval(0, 10, 0.95)
    assert low == 0 and 0 < high < 0.35
    low, high = wilson_interval(10, 10, 0.95)
    assert high == pytest.approx(1.0) and 0.65 < low < 1
    assert all(math.isnan(x) for x in wilson_interval(0, 0, 0.95))


def test_t_interval_matches_scipy():
    values = np.array([2.1, 3.4, 1.9, 5.0, 4.2, 3.3])
    mean, low, high = t_interval(values, 0.9)
    ref = stats.t.interval(0.9, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
    assert mean == pytest.approx(values.mean())
    assert (low, high) == pytest.approx(ref)


def test_t_interval_small_and_constant_samples():
    assert math.isnan(t_interval([], 0.95)[0])
    mean, low, high = t_interval([3.0], 0.95)
    assert mean == 3.0 and math.isnan(low) and math.isnan(high)
    assert t_interval([2.0, 2.0, np.nan], 0.95) == (2.0, 2.0, 2.0)


def test_quantile_interval_uses_order_statistics():
    # The classic 95% interval for the median of 100 values is [x(40), x(61)].
    values = np.arange(1.0, 101.0)
    rng = np.random.default_rng(0)
    estimate, low, high = quantile_interval(rng.permutation(values), 0.5, 0.95)
    assert estimate == pytest.approx(50.5)
    assert (low, high) == (40.0, 61.0)
    coverage = stats.binom.cdf(60, 100, 0.5) - stats.binom.cdf(39, 100, 0.5)
    assert coverage >= 0.95


def test_quantile_interval_too_small_for_a_bound():
    # With 5 values, no order statistic is above the 90th percentile with 97.5% certainty.
    estimate, low, high = quantile_interval([1, 2, 3, 4, 5], 0.9, 0.95)
    assert estimate == pytest.approx(4.6)
    assert math.isnan(high) and low <= estimate


def test_welch_interval_matches_scipy():
    a = np.array([5.0, 6.0, 7.5, 8.0, 9.0])
    b = np.array([3.0, 3.5, 4.0, 6.0])
    difference, low, high = welch_interval(a, b, 0.95)
    ref = stats.ttest_ind(b, a, equal_var=False).confidence_interval(0.95)
    assert difference == pytest.approx(b.mean() - a.mean())
    assert (low, high) == pytest.approx((ref.low, ref.high))


def test_batch_means_interval_on_independent_batches():
    values = np.repeat([1.0, 2.0, 3.0, 4.0], 5)  # four batches of five, means 1..4
    mean, low, high = batch_means_interval(values, 0.95, batches=4)
    _, ref_low, ref_high = t_interval([1.0, 2.0, 3.0, 4.0], 0.95)
    assert mean == pytest.approx(2.5)
    assert (low, high) == pytest.approx((ref_low, ref_high))
    assert math.isnan(batch_means_interval([1.0, 2.0, 3.0], 0.95, batches=4)[1])
