"""Fitting durations to the registry: the family, the empirical fallback, the intervals."""

from __future__ import annotations

import numpy as np
import pytest

from sim.analysis.calibration.fitting import (
    Fit,
    fit_values,
    ks_distance,
    moments_gamma,
    rounded,
)
from sim.analysis.calibration.steps import send_back_rate
from sim.domain.distributions import Exponential, Gamma, LogNormal, Triangular, Uniform


@pytest.mark.parametrize(
    ("truth", "family"),
    [
        (LogNormal(2, 5), "lognormal"),
        (Gamma(3, 4), "gamma"),
        (Uniform(1, 3), "uniform"),
        (Triangular(1, 2, 6), "triangular"),
    ],
)
def test_large_samples_find_their_family(truth, family):
    values = truth.sample(np.random.default_rng(5), 4000)
    fit = fit_values(values, np.random.default_rng(1), resamples=50)
    assert fit.family == family, fit.scores
    assert fit.ks < 0.05
    assert abs(fit.distribution.mean - truth.mean) < 0.05 * truth.mean


def test_intervals_contain_the_truth_most_of_the_time():
    # 95% bootstrap intervals of a log-normal's median and p90 over 40 samples of 300.
    truth = LogNormal(2, 5)
    hits = {"median": 0, "p90": 0}
    for seed in range(40):
        values = truth.sample(np.random.default_rng(seed), 300)
        fit = fit_values(
            values, np.random.default_rng(100 + seed), families=("lognormal",), resamples=100
        )
        for name in hits:
            low, high = fit.intervals[name]
            hits[name] += low <= getattr(truth, name) <= high
    # Binomial(40, 0.95): at least 33 with probability above 0.99.
    assert min(hits.values()) >= 33, hits


def test_constant_values_are_fixed_and_few_values_empirical():
    rng = np.random.default_rng(0)
    assert fit_values([2.0] * 30, rng).family == "fixed"
    few = fit_values([1.0, 2.0, 4.0], rng)
    assert few.family == "empirical" and sorted(few.distribution.values) == [1.0, 2.0, 4.0]


def test_whole_days_with_many_zeros_fall_back_to_empirical():
    rng = np.random.default_rng(3)
    values = np.where(rng.random(2000) < 0.3, 0.0, np.floor(Exponential(4).sample(rng, 2000)) + 1)
    fit = fit_values(values, rng, resamples=20)
    assert fit.family == "empirical"
    assert "Kolmogorov-Smirnov" in fit.reason
    assert len(fit.distribution.values) == 200  # quantiles, not every value
    assert ks_distance(fit.distribution, values) < 0.05 + 0.3  # the atom at zero is kept
    assert np.mean(np.asarray(fit.distribution.values) == 0) == pytest.approx(0.3, abs=0.02)


def test_bic_penalises_parameters_more():
    values = Exponential(2).sample(np.random.default_rng(9), 300)
    aic = fit_values(values, np.random.default_rng(1), "aic", resamples=0)
    bic = fit_values(values, np.random.default_rng(1), "bic", resamples=0)
    assert (
        bic.scores["triangular"] - bic.scores["exponential"]
        > aic.scores["triangular"] - aic.scores["exponential"]
    )


def test_method_text_names_the_criterion_and_runner_up():
    fit = fit_values(
        LogNormal(2, 5).sample(np.random.default_rng(2), 500),
        np.random.default_rng(0),
        resamples=20,
    )
    assert fit.method.startswith("lognormal by maximum likelihood, chosen by AIC")
    assert "next" in fit.method
    assert "bootstrap" in fit.interval_text()


def test_end_points_are_rounded_outward():
    assert rounded(1.0000251, -1) <= 1.0000251 <= rounded(1.0000251, 1)
    assert rounded(2.5e-7, -1) <= 2.5e-7
    inside = Uniform(1.00003, 3.0000048).sample(np.random.default_rng(1), 500)
    values = np.concatenate([inside, [1.0000251, 3.0000049]])
    fit = fit_values(values, np.random.default_rng(0), families=("uniform",), resamples=0)
    assert isinstance(fit, Fit) and fit.family == "uniform"
    assert fit.distribution.min <= values.min() and fit.distribution.max >= values.max()


def test_response_by_moments_subtracts_the_handling():
    rng = np.random.default_rng(4)
    handling = Gamma(2, 2)
    response = Gamma(3, 5)
    gaps = response.sample(rng, 5000) + handling.sample(rng, 5000)
    fit = moments_gamma(gaps, handling, rng, resamples=50)
    assert fit.distribution.mean == pytest.approx(5, rel=0.05)
    assert fit.distribution.shape == pytest.approx(3, rel=0.2)
    low, high = fit.intervals["mean"]
    assert low <= 5 <= high


def test_send_back_rate_interval():
    rate, low, high = send_back_rate(30, 70)
    assert rate == 0.3 and low < 0.3 < high
    assert send_back_rate(0, 50)[1] == 0.0


def test_fast_distances_match_scipy():
    from scipy import stats

    from sim.analysis.calibration.evaluation import ks_statistic, w1_distance

    rng = np.random.default_rng(0)
    for a, b in (
        (rng.gamma(2, size=40), rng.lognormal(size=90)),
        (np.floor(rng.gamma(2, size=300)), np.floor(rng.gamma(2.2, size=400))),  # ties
    ):
        a, b = np.sort(a), np.sort(b)
        assert w1_distance(a, b) == pytest.approx(stats.wasserstein_distance(a, b))
        assert ks_statistic(a, b) == pytest.approx(stats.ks_2samp(a, b).statistic)
