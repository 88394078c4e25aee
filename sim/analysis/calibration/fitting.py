"""Fitting durations to the closed distribution registry, with intervals.

Each family of `sim.domain.distributions.REGISTRY` but ``empirical`` is fitted by
maximum likelihood: exponential, log-normal, gamma and uniform in closed form (gamma's
shape by Newton's method), triangular and PERT (shape 4) numerically (Nelder-Mead on
their three points, on at most `NUMERIC_SAMPLE` values that always include the smallest
and largest). The family with the lowest information criterion (AIC by default, BIC on
request) is chosen among those the data allow (log-normal and gamma need every value
above zero). The empirical distribution (`EMPIRICAL_POINTS` quantiles of the data) is
the fallback when there are fewer than `MIN_VALUES` values or the chosen family's
Kolmogorov-Smirnov distance to the data exceeds both `MAX_KS` and the test's 1% critical
value: the data then say something no family of the registry says (ties of whole days,
a spike at zero, two humps).

Intervals are percentile bootstrap intervals (resampling the values, `RESAMPLES` times,
refitting the chosen family). For the numerical families above `NUMERIC_SAMPLE` values
the resamples have `NUMERIC_SAMPLE` values and the half-widths are scaled by
sqrt(`NUMERIC_SAMPLE` / n), which is exact for parameters estimated at the usual
root-n rate and conservative for end points, which converge faster.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

import numpy as np
from scipy import optimize, special, stats

from sim.domain.distributions import (
    Distribution,
    Empirical,
    Exponential,
    Fixed,
    Gamma,
    LogNormal,
    Pert,
    Triangular,
    Uniform,
)

FAMILIES = ("exponential", "lognormal", "gamma", "uniform", "triangular", "pert")
CRITERIA = ("aic", "bic")
MIN_VALUES = 10
MAX_KS = 0.05
EMPIRICAL_POINTS = 200
NUMERIC_SAMPLE = 2000
RESAMPLES = 200
CONFIDENCE = 0.95
_Z90 = float(special.ndtri(0.9))
_DIGITS = 6


def rounded(value: float, direction: int = 0) -> float:
    """A fitted number as written in a file: six significant digits.

    Args:
        value: The number.
        direction: -1 rounds down, 1 up (an end point must stay outside the data), 0 to
            the nearest.
    """
    near = float(f"{value:.{_DIGITS}g}")
    if direction == 0 or near == value or value == 0:
        return near
    step = 10.0 ** (math.floor(math.log10(abs(value))) - _DIGITS + 1)
    if direction < 0 and near > value:
        near = float(f"{near - step:.{_DIGITS}g}")
    elif direction > 0 and near < value:
        near = float(f"{near + step:.{_DIGITS}g}")
    return max(near, 0.0)


@dataclass(frozen=True)
class Fit:
    """A fitted distribution and where it came from.

    Attributes:
        distribution: The distribution (parameters rounded as written in files).
        family: Its family (``fixed``, ``empirical`` or one of `FAMILIES`).
        n: How many values it was fitted to.
        criterion: ``aic`` or ``bic``.
        scores: The criterion of every family the data allowed (lower is better).
        intervals: Parameter name (and ``mean``) to its bootstrap interval.
        ks: The Kolmogorov-Smirnov distance between the fit and the data.
        reason: Why the empirical distribution was used, if it was.
    """

    distribution: Distribution
    family: str
    n: int
    criterion: str = "aic"
    scores: dict[str, float] = field(default_factory=dict)
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    ks: float = float("nan")
    reason: str = ""

    @property
    def short(self) -> str:
        """The family and how it was chosen, in a few words."""
        if self.criterion == "moments":
            return f"{self.family} by moments"
        if self.family in ("fixed", "empirical"):
            return self.family
        return f"{self.family} by maximum likelihood ({self.criterion.upper()})"

    @property
    def method(self) -> str:
        """How it was fitted, in a few words (for a ``source:`` text)."""
        if self.criterion == "moments":
            return (
                f"{self.family} by the method of moments from {self.n} gaps, less the "
                "step's handling"
            )
        if self.family == "fixed":
            return f"every one of {self.n} values is the same"
        if self.family == "empirical":
            return f"empirical distribution of {self.n} values ({self.reason})"
        ranked = sorted(self.scores.items(), key=lambda item: item[1])
        runner = f"; next {ranked[1][0]} {ranked[1][1]:.1f}" if len(ranked) > 1 else ""
        return (
            f"{self.family} by maximum likelihood, chosen by {self.criterion.upper()} "
            f"({self.scores[self.family]:.1f}{runner})"
        )

    def interval_text(self) -> str:
        """The bootstrap intervals as text, e.g. ``median 1.8-2.3, p90 4.1-5.0``."""
        parts = [
            f"{name} {low + 0.0:.3g} to {high + 0.0:.3g}"
            for name, (low, high) in self.intervals.items()
        ]
        return f"{CONFIDENCE:.0%} bootstrap intervals: " + ", ".join(parts) if parts else ""


# --------------------------------------------------------------------------- families


def _scipy(distribution: Distribution):
    """The scipy.stats frozen distribution of a registry distribution (None: no density)."""
    if isinstance(distribution, Exponential):
        return stats.expon(scale=distribution.mean)
    if isinstance(distribution, LogNormal):
        return stats.lognorm(s=distribution.sigma, scale=distribution.median)
    if isinstance(distribution, Gamma):
        return stats.gamma(a=distribution.shape, scale=distribution.scale)
    if isinstance(distribution, Uniform):
        return stats.uniform(loc=distribution.min, scale=distribution.max - distribution.min)
    if isinstance(distribution, Triangular):
        width = distribution.max - distribution.min
        return stats.triang(
            c=(distribution.mode - distribution.min) / width, loc=distribution.min, scale=width
        )
    if isinstance(distribution, Pert):
        a, b = distribution._ab()
        return stats.beta(a, b, loc=distribution.min, scale=distribution.max - distribution.min)
    return None


def cdf(distribution: Distribution, values: np.ndarray) -> np.ndarray:
    """The distribution function at ``values`` (any registry distribution)."""
    frozen = _scipy(distribution)
    if frozen is not None:
        return frozen.cdf(values)
    if isinstance(distribution, Fixed):
        return (values >= distribution.value).astype(float)
    ordered = np.sort(np.asarray(distribution.quantile(np.linspace(0, 1, 4097)[:-1])))
    return np.searchsorted(ordered, values, side="right") / ordered.size


def log_likelihood(distribution: Distribution, values: np.ndarray) -> float:
    """The log-likelihood of ``values``; -inf where the density is zero."""
    frozen = _scipy(distribution)
    with np.errstate(divide="ignore", invalid="ignore"):
        total = float(np.sum(frozen.logpdf(values)))
    return total if math.isfinite(total) else -math.inf


def _exponential(x: np.ndarray) -> Distribution | None:
    mean = float(np.mean(x))
    return Exponential(rounded(mean)) if mean > 0 else None


def _lognormal(x: np.ndarray) -> Distribution | None:
    if np.any(x <= 0):
        return None
    logs = np.log(x)
    sigma = float(np.std(logs))
    if not sigma > 0:
        return None
    median = math.exp(float(np.mean(logs)))
    p90 = median * math.exp(_Z90 * sigma)
    median, p90 = rounded(median), rounded(p90)
    return LogNormal(median, p90) if p90 > median else None


def gamma_shape(x: np.ndarray) -> np.ndarray | float:
    """The maximum-likelihood gamma shape (Minka's start, then Newton), along the last axis."""
    s = np.log(np.mean(x, axis=-1)) - np.mean(np.log(x), axis=-1)
    s = np.maximum(s, 1e-12)
    k = (3 - s + np.sqrt((s - 3) ** 2 + 24 * s)) / (12 * s)
    for _ in range(6):
        k = k - (np.log(k) - special.digamma(k) - s) / (1 / k - special.polygamma(1, k))
        k = np.maximum(k, 1e-6)
    return k


def _gamma(x: np.ndarray) -> Distribution | None:
    if np.any(x <= 0) or np.ptp(x) == 0:
        return None
    return Gamma(rounded(float(gamma_shape(x))), rounded(float(np.mean(x))))


def _uniform(x: np.ndarray) -> Distribution | None:
    low, high = rounded(float(np.min(x)), -1), rounded(float(np.max(x)), 1)
    return Uniform(low, high) if high > low else None


def _triangular_density(x: np.ndarray, a: float, m: float, b: float) -> float:
    """The log-likelihood of a triangular distribution (fast: no scipy objects)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.log(2 * (x - a) / ((b - a) * (m - a))) if m > a else np.full(x.shape, -np.inf)
        right = np.log(2 * (b - x) / ((b - a) * (b - m))) if b > m else np.full(x.shape, -np.inf)
        value = np.where(x < m, left, right)
        if m == a:
            value = np.where(x == a, math.log(2 / (b - a)), value)
        if m == b:
            value = np.where(x == b, math.log(2 / (b - a)), value)
    total = float(np.sum(value))
    return total if math.isfinite(total) else -math.inf


def _pert_density(x: np.ndarray, a: float, m: float, b: float) -> float:
    """The log-likelihood of a PERT distribution of shape 4."""
    width = b - a
    alpha, beta = 1 + 4 * (m - a) / width, 1 + 4 * (b - m) / width
    y = (x - a) / width
    with np.errstate(divide="ignore", invalid="ignore"):
        value = special.xlogy(alpha - 1, y) + special.xlog1py(beta - 1, -y)
    total = float(np.sum(value)) - x.size * (special.betaln(alpha, beta) + math.log(width))
    return total if math.isfinite(total) else -math.inf


def _three_points(
    x: np.ndarray, family: str, start: tuple[float, float, float] | None = None
) -> Distribution | None:
    """Maximum likelihood of a min/mode/max family, numerically (module doc).

    Args:
        x: The values.
        family: ``triangular`` or ``pert``.
        start: End points and mode to start from (a bootstrap starts from the fit).
    """
    low, high = float(np.min(x)), float(np.max(x))
    width = high - low
    if not width > 0:
        return None
    sample = x
    if x.size > NUMERIC_SAMPLE:
        # Evenly spaced order statistics: deterministic, and they keep both extremes.
        sample = np.sort(x)[np.linspace(0, x.size - 1, NUMERIC_SAMPLE).round().astype(int)]
    density = _triangular_density if family == "triangular" else _pert_density

    def points(p: np.ndarray) -> tuple[float, float, float]:
        a = low * (1 - special.expit(p[0])) if low > 0 else 0.0
        b = high + width * math.exp(min(p[1], 30.0))
        return a, a + special.expit(p[2]) * (b - a), b

    def cost(p: np.ndarray) -> float:
        value = density(sample, *points(p))
        return -value if math.isfinite(value) else 1e300

    if start is None:
        a, mode, b = low - width / sample.size, float(np.median(sample)), high + width / sample.size
    else:
        a, mode, b = start
    a = min(max(a, low * 1e-6), low * (1 - 1e-6)) if low > 0 else 0.0
    b = max(b, high + width * 1e-6)
    mode = min(max(mode, a + (b - a) * 1e-3), b - (b - a) * 1e-3)
    guess = np.array(
        [
            special.logit(1 - a / low) if low > 0 else 0.0,
            math.log((b - high) / width),
            special.logit((mode - a) / (b - a)),
        ]
    )
    found = optimize.minimize(
        cost, guess, method="Nelder-Mead", options={"maxiter": 400, "xatol": 1e-4, "fatol": 1e-6}
    )
    a, mode, b = points(found.x)
    a, b = rounded(a, -1), rounded(b, 1)
    mode = min(max(rounded(mode), a), b)
    if not (b > a and a <= low and b >= high):
        return None
    make = Triangular if family == "triangular" else (lambda *p: Pert(*p, 4.0))
    try:
        return make(a, mode, b)
    except ValueError:
        return None


def _triangular(x: np.ndarray, start=None) -> Distribution | None:
    return _three_points(x, "triangular", start)


def _pert(x: np.ndarray, start=None) -> Distribution | None:
    return _three_points(x, "pert", start)


FITTERS: dict[str, tuple[Callable[[np.ndarray], Distribution | None], int]] = {
    "exponential": (_exponential, 1),
    "lognormal": (_lognormal, 2),
    "gamma": (_gamma, 2),
    "uniform": (_uniform, 2),
    "triangular": (_triangular, 3),
    "pert": (_pert, 3),
}
"""Each family's maximum-likelihood fit and its number of parameters."""
NUMERIC = frozenset({"triangular", "pert"})


def parameters(distribution: Distribution) -> dict[str, float]:
    """The named parameters of a fitted distribution and its mean."""
    spec = distribution.to_spec()
    skip = {"type", "values"} | ({"shape"} if isinstance(distribution, Pert) else set())
    values = {key: float(value) for key, value in spec.items() if key not in skip}
    values["mean"] = float(distribution.mean)
    return values


# --------------------------------------------------------------------------- choosing


def ks_distance(distribution: Distribution, values: np.ndarray) -> float:
    """The Kolmogorov-Smirnov distance between a distribution and data."""
    ordered = np.sort(values)
    n = ordered.size
    at = cdf(distribution, ordered)
    above = np.arange(1, n + 1) / n - at
    below = at - np.arange(0, n) / n
    return float(max(above.max(), below.max()))


def empirical(values: np.ndarray) -> Empirical:
    """The empirical distribution: every value, or `EMPIRICAL_POINTS` evenly spaced quantiles."""
    ordered = np.sort(values)
    if ordered.size > EMPIRICAL_POINTS:
        ordered = np.quantile(ordered, (np.arange(EMPIRICAL_POINTS) + 0.5) / EMPIRICAL_POINTS)
    return Empirical(tuple(round(float(v), 4) for v in ordered))


def fit_values(
    values: Sequence[float] | np.ndarray,
    rng: np.random.Generator,
    criterion: str = "aic",
    families: Sequence[str] = FAMILIES,
    resamples: int = RESAMPLES,
) -> Fit:
    """Fit non-negative values (working days) to the registry (module doc).

    Args:
        values: The observations; non-finite ones are dropped, negative ones refused.
        rng: For the bootstrap.
        criterion: ``aic`` or ``bic``.
        families: The families to try.
        resamples: Bootstrap resamples for the intervals (0: none).

    Returns:
        The fit.

    Raises:
        ValueError: No finite value, a negative value, or an unknown criterion.
    """
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {', '.join(CRITERIA)}")
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        raise ValueError("no values to fit")
    if np.any(x < 0):
        raise ValueError("durations are not negative")
    n = int(x.size)
    if np.ptp(x) <= 1e-9:
        return Fit(Fixed(rounded(float(x[0]))), "fixed", n, criterion)
    if n < MIN_VALUES:
        return _empirical_fit(x, rng, criterion, {}, f"fewer than {MIN_VALUES} values", resamples)
    scores = {}
    fitted = {}
    for family in families:
        make, k = FITTERS[family]
        distribution = make(x)
        if distribution is None:
            continue
        likelihood = log_likelihood(distribution, x)
        if not math.isfinite(likelihood):
            continue
        penalty = 2 * k if criterion == "aic" else k * math.log(n)
        scores[family] = penalty - 2 * likelihood
        fitted[family] = distribution
    if not scores:
        return _empirical_fit(x, rng, criterion, scores, "no family fits these values", resamples)
    best = min(scores, key=scores.__getitem__)
    distance = ks_distance(fitted[best], x)
    critical = 1.63 / math.sqrt(n)
    if distance > max(MAX_KS, critical):
        reason = f"best family {best} is {distance:.2f} from the data by Kolmogorov-Smirnov"
        return _empirical_fit(x, rng, criterion, scores, reason, resamples)
    intervals = bootstrap(x, best, rng, resamples)
    return Fit(fitted[best], best, n, criterion, scores, intervals, distance)


def _empirical_fit(x, rng, criterion, scores, reason: str, resamples: int) -> Fit:
    distribution = empirical(x)
    intervals = {}
    if resamples and x.size > 1:
        means = np.array([rng.choice(x, x.size).mean() for _ in range(resamples)])
        intervals["mean"] = _percentiles(means)
    return Fit(distribution, "empirical", int(x.size), criterion, scores, intervals, 0.0, reason)


def _percentiles(values: np.ndarray) -> tuple[float, float]:
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap(
    x: np.ndarray, family: str, rng: np.random.Generator, resamples: int = RESAMPLES
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap intervals of a family's parameters and mean (module doc)."""
    if resamples <= 0:
        return {}
    if family == "uniform":
        return _uniform_intervals(x)
    make = FITTERS[family][0]
    n = x.size
    size = min(n, NUMERIC_SAMPLE) if family in NUMERIC else n
    if family in NUMERIC:
        whole = make(x)
        if whole is None:
            return {}
        begin = (whole.minimum, whole.typical, whole.maximum)
        make = partial(FITTERS[family][0], start=begin)
    draws: dict[str, list[float]] = {}
    for _ in range(resamples):
        distribution = make(rng.choice(x, size))
        if distribution is None:
            continue
        for name, value in parameters(distribution).items():
            draws.setdefault(name, []).append(value)
    centre = parameters(make(x)) if size < n else {}
    scale = math.sqrt(size / n)
    intervals = {}
    for name, found in draws.items():
        if len(found) < resamples // 2:
            continue
        low, high = _percentiles(np.asarray(found))
        if size < n and name in centre:
            middle = centre[name]
            low, high = middle - (middle - low) * scale, middle + (high - middle) * scale
        intervals[name] = (low, high)
    return intervals


def _uniform_intervals(x: np.ndarray) -> dict[str, tuple[float, float]]:
    """Exact-order intervals of a uniform's end points (the bootstrap fails at end points).

    The smallest of n uniforms lies a Beta(1, n) share of the width above the lower end
    (and the largest as far below the upper end); the width is estimated by the range
    times (n + 1) / (n - 1).
    """
    n = x.size
    low, high = float(np.min(x)), float(np.max(x))
    width = (high - low) * (n + 1) / max(n - 1, 1)
    tail = (1 - CONFIDENCE) / 2
    near, far = (float(stats.beta(1, n).ppf(q)) * width for q in (tail, 1 - tail))
    mean = (low + high) / 2
    # The mid-range's standard deviation is width / sqrt(2 (n + 1) (n + 2)).
    spread = float(special.ndtri(1 - tail)) * width / math.sqrt(2 * (n + 1) * (n + 2))
    return {
        "min": (max(low - far, 0.0), max(low - near, 0.0)),
        "max": (high + near, high + far),
        "mean": (mean - spread, mean + spread),
    }


def moments_gamma(
    gaps: np.ndarray, inner: Distribution, rng: np.random.Generator, resamples: int = RESAMPLES
) -> Fit:
    """A gamma for X where gaps = X + Y, Y ~ ``inner`` independent: by the method of moments.

    With end times only, the time from a send-back to the end of the repeated step is the
    applicant's response plus the step's handling; the response's mean and variance are
    the gaps' minus the handling's.
    """
    x = np.asarray(gaps, dtype=float)
    x = x[np.isfinite(x)]
    inner_mean = float(inner.mean)
    inner_variance = float(np.var(inner.quantile((np.arange(4096) + 0.5) / 4096)))

    def estimate(sample: np.ndarray) -> Distribution:
        mean = float(np.mean(sample)) - inner_mean
        variance = float(np.var(sample)) - inner_variance
        if mean <= 1e-9:
            return Fixed(0.0)
        if variance <= 1e-12:
            return Fixed(rounded(mean))
        return Gamma(rounded(min(mean * mean / variance, 1e4)), rounded(mean))

    distribution = estimate(x)
    intervals = {}
    if resamples and x.size > 1:
        means = np.array([estimate(rng.choice(x, x.size)).mean for _ in range(resamples)])
        intervals["mean"] = _percentiles(means)
    family = "gamma" if isinstance(distribution, Gamma) else "fixed"
    fit = Fit(distribution, family, int(x.size), "moments", {}, intervals, float("nan"))
    return fit
