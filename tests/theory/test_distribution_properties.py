"""Hypothesis properties of the distributions' quantile functions over random parameters."""

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.domain.distributions import Distribution, Gamma, LogNormal, Pert, Triangular


# Quantiles from scipy's inverse special functions (betaincinv, ndtri) may step back by a
# few ulps at their internal branch points; allow that, nothing more.
def nondecreasing(q: np.ndarray, scale: float) -> bool:
    return bool(np.all(np.diff(q) >= -1e-12 * (np.abs(q[1:]) + scale)))


uniforms = st.lists(
    st.floats(min_value=0.0, max_value=1.0, exclude_max=True, allow_subnormal=True),
    min_size=1,
    max_size=50,
).map(lambda xs: np.sort(np.array(xs + [0.0, np.nextafter(1.0, 0.0)])))


@st.composite
def three_point(draw, cls):
    lo = draw(st.floats(0, 1000))
    width = draw(st.one_of(st.just(0.0), st.floats(1e-6, 1000)))
    frac = draw(st.floats(0, 1))
    if cls is Triangular:
        return Triangular(lo, lo + frac * width, lo + width)
    return Pert(lo, lo + frac * width, lo + width, draw(st.floats(0.1, 50)))


lognormals = st.builds(
    lambda median, ratio: LogNormal(median, median * ratio),
    st.floats(1e-3, 1000),
    st.floats(1.001, 100),
)


gammas = st.builds(Gamma, st.floats(0.05, 50), st.floats(1e-3, 1000))


@settings(max_examples=100, deadline=None)
@given(
    d=st.one_of(three_point(Triangular), three_point(Pert), lognormals, gammas),
    u=uniforms,
)
def test_quantile_property(d: Distribution, u: np.ndarray):
    q = d.quantile(u)
    assert np.all(q >= d.minimum) and np.all(q <= d.maximum)
    scale = d.maximum - d.minimum if math.isfinite(d.maximum) else d.typical
    assert nondecreasing(q, scale)
