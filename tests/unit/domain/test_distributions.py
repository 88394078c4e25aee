"""The closed registry of duration distributions: means, quantiles, scaling, specs, errors."""

import json
import math
import pickle

import numpy as np
import pytest

from sim.domain.distributions import (
    MAX_WORKING_DAYS,
    REGISTRY,
    Capped,
    Distribution,
    DistributionSpecError,
    Empirical,
    Exponential,
    Fixed,
    Gamma,
    LogNormal,
    Pert,
    Triangular,
    Uniform,
    from_spec,
)

N = 200_000

FAMILIES = [
    Fixed(3),
    Uniform(1, 4),
    Triangular(1, 2, 5),
    Triangular(0, 0, 4),
    Pert(1, 2, 5),
    Pert(0, 1, 10, shape=2.5),
    LogNormal(3, 8),
    Exponential(2),
    Gamma(0.7, 3),
    Gamma(5, 3),
    Empirical((1, 2, 2, 3, 10)),
    Capped(LogNormal(3, 8), 5),
    Capped(Triangular(1, 2, 5), 3),
    Capped(Empirical((1, 2, 2, 3, 10)), 2.5),
]
IDS = [repr(d) for d in FAMILIES]

# One base of each family, for the capped-mean checks.
BASES = [d for d in FAMILIES if not isinstance(d, Capped)]


def within_4_se(x: np.ndarray, expected: float) -> bool:
    se = x.std(ddof=1) / math.sqrt(x.size)
    return abs(x.mean() - expected) <= 4 * se + 1e-12 * max(1.0, abs(expected))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240601)


def test_registry_is_the_closed_set():
    assert set(REGISTRY) == {
        "fixed",
        "uniform",
        "triangular",
        "pert",
        "lognormal",
        "exponential",
        "gamma",
        "empirical",
    }
    for name, cls in REGISTRY.items():
        assert cls.type_name == name


@pytest.mark.parametrize("d", FAMILIES, ids=IDS)
def test_sample_mean_matches_analytic_mean(d: Distribution, rng):
    assert within_4_se(d.sample(rng, N), d.mean)


@pytest.mark.parametrize("d", FAMILIES, ids=IDS)
def test_quantile_monotone_and_within_bounds(d: Distribution, rng):
    u = np.sort(np.concatenate([np.linspace(0, 1, 10_001)[:-1], rng.random(5000)]))
    q = d.quantile(u)
    assert q.shape == u.shape and q.dtype == np.float64
    assert np.all(np.diff(q) >= 0)
    assert np.all(q >= d.minimum) and np.all(q <= d.maximum)
    assert d.quantile(np.array([0.0]))[0] == d.minimum


@pytest.mark.parametrize("d", FAMILIES, ids=IDS)
def test_quantile_keeps_shape(d: Distribution):
    u = np.full((2, 3), 0.3)
    assert d.quantile(u).shape == (2, 3)
    assert d.sample(np.random.default_rng(0), (4, 5)).shape == (4, 5)


@pytest.mark.parametrize("d", FAMILIES, ids=IDS)
def test_sample_reproducible_and_is_quantile_of_uniforms(d: Distribution):
    a = d.sample(np.random.default_rng(7), 1000)
    b = d.sample(np.random.default_rng(7), 1000)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, d.quantile(np.random.default_rng(7).random(1000)))


@pytest.mark.parametrize("d", FAMILIES, ids=IDS)
def test_scaled(d: Distribution):
    s = d.scaled(2)
    assert type(s) is type(d)
    assert s.mean == pytest.approx(2 * d.mean, rel=1e-12)
    assert s.typical == pytest.approx(2 * d.typical, rel=1e-12)
    # Common random numbers: the same uniform maps to exactly twice the value.
    u = np.linspace(0, 1, 101)[:-1]
    np.testing.assert_allclose(s.quantile(u), 2 * d.quantile(u), rtol=1e-12, atol=0)
    zero = d.scaled(0)
    assert zero == Fixed(0)
    with pytest.raises(ValueError):
        d.scaled(-1)


@pytest.mark.parametrize("d", FAMILIES, ids=IDS)
def test_spec_round_trip(d: Distribution):
    spec = d.to_spec()
    # Through JSON so the spec is plain data (no numpy scalars, no tuples needed).
    back = from_spec(json.loads(json.dumps(spec)))
    assert back == d
    assert hash(back) == hash(d)
    assert pickle.loads(pickle.dumps(d)) == d


@pytest.mark.parametrize(
    ("d", "typical"),
    [
        (Fixed(3), 3),
        (Uniform(1, 4), 2.5),
        (Triangular(1, 2, 5), 2),
        (Pert(1, 2, 5), 2),
        (LogNormal(3, 8), 3),
        (Exponential(2), 2),
        (Gamma(0.7, 3), 3),
        (Empirical((10, 1, 2, 2, 3)), 2),
        (Empirical((4, 1, 3, 2)), 2.5),
        (Capped(Triangular(1, 4, 5), 3), 3),
    ],
)
def test_typical(d: Distribution, typical: float):
    assert d.typical == typical


def test_pert_and_triangular_means():
    assert Pert(1, 2, 5).mean == pytest.approx((1 + 4 * 2 + 5) / 6)
    assert Pert(1, 2, 5, shape=2).mean == pytest.approx((1 + 2 * 2 + 5) / 4)
    assert Triangular(1, 2, 6).mean == pytest.approx(3)


def test_lognormal_hits_median_and_p90():
    for median, p90 in [(3, 8), (0.25, 0.3), (40, 4000)]:
        d = LogNormal(median, p90)
        q = d.quantile(np.array([0.5, 0.9]))
        assert q[0] == pytest.approx(median, rel=1e-9)
        assert q[1] == pytest.approx(p90, rel=1e-9)


def test_degenerate_triangular_and_pert_are_constant():
    for d in (Triangular(2, 2, 2), Pert(2, 2, 2)):
        np.testing.assert_array_equal(d.quantile(np.array([0.0, 0.5, 0.99])), 2.0)
        assert d.mean == 2 and d.typical == 2


def test_empirical_quantile_is_order_statistic():
    d = Empirical((5, 1, 3, 3))
    u = np.array([0.0, 0.2499, 0.25, 0.5, 0.74, 0.75, np.nextafter(1.0, 0.0)])
    np.testing.assert_array_equal(d.quantile(u), [1, 1, 3, 3, 3, 5, 5])
    assert d.values == (5, 1, 3, 3)  # order as given, so to_spec matches the file


@pytest.mark.parametrize("base", BASES, ids=[repr(b) for b in BASES])
def test_capped(base: Distribution, rng):
    x = base.sample(rng, 50_000)
    # The generic quadrature of Distribution.limited_mean, done once for all caps.
    grid = base.quantile((np.arange(1 << 16) + 0.5) / (1 << 16))
    for cap in (0.0, 0.5 * base.typical, base.typical, 2 * base.mean):
        d = Capped(base, cap)
        assert np.all(d.quantile(rng.random(1000)) <= cap)
        assert d.maximum <= cap
        assert within_4_se(np.minimum(x, cap), d.mean)
        # Closed form against quadrature (documented error <= range / 2**16).
        assert d.mean == pytest.approx(np.minimum(grid, cap).mean(), abs=1e-5 * max(1.0, cap))
    big_cap = base.maximum if math.isfinite(base.maximum) else 1e5
    assert Capped(base, big_cap).mean == pytest.approx(base.mean, rel=1e-6)


def test_generic_limited_mean_fallback():
    base = Triangular(1, 2, 5)
    for cap in (0.5, 1.7, 2.0, 3.3, 6.0):
        exact = base.limited_mean(cap)
        assert Distribution.limited_mean(base, cap) == pytest.approx(exact, abs=4 / 2**16)


def test_capped_of_capped_uses_smaller_cap():
    base = Gamma(2, 4)
    assert Capped(Capped(base, 3), 5).mean == pytest.approx(Capped(base, 3).mean, rel=1e-14)
    assert Capped(Capped(base, 5), 3).mean == pytest.approx(Capped(base, 3).mean, rel=1e-14)


def test_from_spec_accepts_numbers_and_mappings():
    assert from_spec(3) == Fixed(3.0)
    assert from_spec(2.5) == Fixed(2.5)
    assert from_spec(np.float64(1.5)) == Fixed(1.5)
    assert from_spec({"type": "pert", "min": 1, "mode": 2, "max": 5}) == Pert(1, 2, 5, 4.0)
    assert from_spec({"type": "empirical", "values": [1, 2, 2, 3]}).mean == 2
    assert from_spec({"type": "triangular", "min": 2, "mode": 2, "max": 2}).mean == 2
    d = LogNormal(3, 8)
    assert from_spec(d) is d
    assert isinstance(from_spec(3).value, float)


BAD_SPECS = [
    # (spec, field, substrings that must appear in the message)
    ({"type": "triangel", "min": 1}, "type", ["'triangel'", "'triangular'", "known types"]),
    ({"type": 3}, "type", ["unknown distribution type", "lognormal"]),
    ({"min": 1, "max": 2}, "type", ["needs a 'type'"]),
    ({"type": "lognormal", "median": 3}, "p90", ["needs parameter 'p90'"]),
    ({"type": "triangular", "min": 1, "mdoe": 2, "max": 5}, "mdoe", ["'mdoe'", "'mode'"]),
    ({"type": "fixed", "value": 1, "sd": 2}, "sd", ["no parameter 'sd'"]),
    ({"type": "triangular", "min": 1, "mode": "2", "max": 5}, "mode", ["must be a number"]),
    ({"type": "gamma", "shape": True, "mean": 2}, "shape", ["must be a number", "bool"]),
    ({"type": "exponential", "mean": None}, "mean", ["must be a number"]),
    ({"type": "lognormal", "median": math.nan, "p90": 8}, "median", ["finite"]),
    ({"type": "uniform", "min": 0, "max": math.inf}, "max", ["finite"]),
    ({"type": "triangular", "min": -1, "mode": 2, "max": 5}, "min", [">= 0", "-1"]),
    (
        {"type": "triangular", "min": 3, "mode": 2, "max": 5},
        "mode",
        ["triangular needs min <= mode <= max; got min=3, mode=2"],
    ),
    (
        {"type": "pert", "min": 1, "mode": 6, "max": 5},
        "mode",
        ["pert needs min <= mode <= max; got mode=6, max=5"],
    ),
    ({"type": "uniform", "min": 2, "max": 2}, "max", ["min < max", "plain number"]),
    ({"type": "uniform", "min": 3, "max": 2}, "max", ["min < max; got min=3, max=2"]),
    ({"type": "lognormal", "median": 3, "p90": 3}, "p90", ["p90 > median"]),
    ({"type": "lognormal", "median": 3, "p90": 2}, "p90", ["p90 > median"]),
    ({"type": "lognormal", "median": 0, "p90": 2}, "median", ["> 0"]),
    ({"type": "exponential", "mean": 0}, "mean", ["> 0"]),
    ({"type": "gamma", "shape": 2, "mean": 0}, "mean", ["> 0"]),
    ({"type": "gamma", "shape": 0, "mean": 2}, "shape", ["> 0"]),
    ({"type": "pert", "min": 1, "mode": 2, "max": 5, "shape": -1}, "shape", ["> 0"]),
    ({"type": "empirical", "values": []}, "values", ["empty"]),
    ({"type": "empirical", "values": 3}, "values", ["list of numbers"]),
    ({"type": "empirical", "values": "123"}, "values", ["list of numbers"]),
    ({"type": "empirical", "values": [1, True]}, "values", ["values[1]", "must be a number"]),
    ({"type": "empirical", "values": [1, -2]}, "values", ["values[1]", ">= 0"]),
    ({"type": "fixed", "value": 1e6}, "value", ["too large"]),
    ({"type": "triangular", "min": 1, "mode": 2, "max": 200_000}, "max", ["too large"]),
    (
        {"type": "capped", "base": {"type": "pert", "min": 1, "mode": 9, "max": 5}, "cap": 2},
        "base.mode",
        ["capped.base", "min <= mode <= max"],
    ),
    ({"type": "capped", "base": 3, "cap": -1}, "cap", [">= 0"]),
    (-1, None, [">= 0"]),
    (math.nan, None, ["finite"]),
    (1e9, None, ["too large"]),
    (True, None, ["number", "bool"]),
    ("3", None, ["number", "str"]),
    ([1, 2], None, ["mapping"]),
]


@pytest.mark.parametrize(("spec", "field", "parts"), BAD_SPECS, ids=[repr(b[0]) for b in BAD_SPECS])
def test_from_spec_errors(spec, field, parts):
    with pytest.raises(DistributionSpecError) as info:
        from_spec(spec)
    assert info.value.field == field
    for part in parts:
        assert part in info.value.message
    assert isinstance(info.value, ValueError)
    assert str(info.value) == info.value.message


def test_constructors_validate_too():
    with pytest.raises(DistributionSpecError) as info:
        Triangular(3, 2, 5)
    assert info.value.field == "mode"
    with pytest.raises(DistributionSpecError):
        Capped("not a distribution", 3)  # type: ignore[arg-type]
    assert MAX_WORKING_DAYS == 100_000
