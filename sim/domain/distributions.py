"""Distributions of durations (working days) and numeric case attributes.

The set of families is closed: a process file names a family with ``type:`` and gives its
parameters by name; nothing is ever evaluated as an expression. Every family implements an
exact, vectorised inverse CDF (:meth:`Distribution.quantile`) because common random numbers
across simulated variants are obtained by drawing uniforms from keyed streams and mapping
them through the quantile function: the same uniform must give the "same" draw whichever
reform changed the distribution.

Example:
    >>> d = from_spec({"type": "triangular", "min": 1, "mode": 2, "max": 5})
    >>> float(d.quantile(np.array([0.0]))[0]), d.mean
    (1.0, 2.6666666666666665)
"""

from __future__ import annotations

import abc
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, fields
from typing import Any, ClassVar

import numpy as np
from scipy import special

from sim.domain.suggest import did_you_mean

__all__ = [
    "MAX_WORKING_DAYS",
    "REGISTRY",
    "Capped",
    "Distribution",
    "DistributionSpecError",
    "Empirical",
    "Exponential",
    "Fixed",
    "Gamma",
    "LogNormal",
    "Pert",
    "Triangular",
    "Uniform",
    "from_spec",
]

MAX_WORKING_DAYS = 100_000.0
"""Largest parameter accepted; anything above is almost surely a unit or typing mistake."""

_Z90 = float(special.ndtri(0.9))

# Number of midpoints for the generic numerical capped mean; see Distribution.limited_mean.
_NUMERIC_GRID = 1 << 16


class DistributionSpecError(ValueError):
    """A distribution spec (or constructor argument) that cannot be accepted.

    Attributes:
        message: What is wrong and how to fix it.
        field: The offending parameter (e.g. ``"mode"``), ``"type"``, a nested path such as
            ``"base.mode"`` for a capped distribution, or None when the spec as a whole is bad.
    """

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def _fmt(x: float) -> str:
    """Format a parameter the way a user would have written it (2.0 -> "2")."""
    return f"{x:g}" if x != int(x) or abs(x) >= 1e16 else str(int(x))


def _check_number(
    family: str, name: str, value: Any, *, positive: bool = False, limit: bool = True
) -> float:
    """Validate one numeric parameter and return it as a float.

    Args:
        family: Family name, for the message.
        name: Parameter name, reported as the error's field.
        value: The value given.
        positive: Require > 0 rather than >= 0.
        limit: Apply the MAX_WORKING_DAYS bound.

    Returns:
        The value as a Python float.

    Raises:
        DistributionSpecError: Not a real number, NaN/inf, negative (or zero when
            ``positive``), or too large.
    """
    # bool is an int subclass, so YAML `true` would otherwise silently become 1.
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise DistributionSpecError(
            f"{family}.{name} must be a number; got {value!r} ({type(value).__name__})", name
        )
    x = float(value)
    if not math.isfinite(x):
        raise DistributionSpecError(f"{family}.{name} must be finite; got {value!r}", name)
    if positive and x <= 0:
        raise DistributionSpecError(f"{family}.{name} must be > 0; got {_fmt(x)}", name)
    if x < 0:
        raise DistributionSpecError(
            f"{family}.{name} must be >= 0 (durations and attributes here are non-negative); "
            f"got {_fmt(x)}",
            name,
        )
    if limit and x > MAX_WORKING_DAYS:
        raise DistributionSpecError(
            f"{family}.{name}={_fmt(x)} is too large (limit {_fmt(MAX_WORKING_DAYS)} working "
            "days); check the unit",
            name,
        )
    return x


def _as_array(u: Any) -> np.ndarray:
    return np.asarray(u, dtype=np.float64)


def _check_factor(factor: float) -> float:
    f = float(factor)
    if not (math.isfinite(f) and f >= 0):
        raise ValueError(f"scale factor must be finite and >= 0; got {factor!r}")
    return f


class Distribution(abc.ABC):
    """Base class of the distribution families; subclasses are frozen dataclasses.

    Subclasses set ``type_name`` (the ``type:`` used in specs) and implement ``mean``,
    ``typical``, ``minimum``, ``maximum``, ``quantile``, ``scaled`` and ideally an exact
    ``limited_mean``.

    Attributes:
        mean: Exact analytic mean. Only annotated here, not defined: Exponential and Gamma
            store it as a dataclass field, which an inherited property would shadow.
    """

    type_name: ClassVar[str]
    mean: float

    @property
    @abc.abstractmethod
    def typical(self) -> float:
        """The single "fixed time" used by the deterministic (Doing Business) method."""
        raise NotImplementedError

    @property
    @abc.abstractmethod
    def minimum(self) -> float:
        """Smallest possible value."""
        raise NotImplementedError

    @property
    @abc.abstractmethod
    def maximum(self) -> float:
        """Largest possible value (``inf`` where unbounded)."""
        raise NotImplementedError

    @abc.abstractmethod
    def quantile(self, u: np.ndarray) -> np.ndarray:
        """Vectorised inverse CDF.

        Args:
            u: Uniforms in [0, 1), any shape. Values are not range-checked (this is the hot
                path); u == 1 gives ``maximum`` (``inf`` for unbounded families).

        Returns:
            Float64 array of the same shape as ``u``, within [minimum, maximum] and
            nondecreasing in ``u``. Fixed, uniform, triangular, exponential and empirical are
            exactly monotone; pert, lognormal and gamma inherit a wobble of a few ulps from
            scipy's betaincinv/ndtri/gammaincinv at their internal branch points (e.g. ndtri
            just either side of u = exp(-2)), far below any meaningful duration difference.
        """
        raise NotImplementedError

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
        """Draw by inversion, so one uniform is consumed per value whatever the family.

        Args:
            rng: Source of uniforms.
            size: Output shape.

        Returns:
            ``self.quantile(rng.random(size))``.
        """
        return self.quantile(rng.random(size))

    @abc.abstractmethod
    def scaled(self, factor: float) -> Distribution:
        """The distribution of ``factor * X``, in the same family (Fixed(0) for factor 0).

        Args:
            factor: Finite, >= 0.

        Returns:
            The scaled distribution.

        Raises:
            ValueError: Negative or non-finite factor.
            DistributionSpecError: A scaled parameter exceeds MAX_WORKING_DAYS.
        """
        raise NotImplementedError

    def to_spec(self) -> dict[str, Any]:
        """A plain mapping (YAML-ready) that :func:`from_spec` turns back into ``self``."""
        spec: dict[str, Any] = {"type": self.type_name}
        for f in fields(self):  # type: ignore[arg-type]
            spec[f.name] = getattr(self, f.name)
        return spec

    def limited_mean(self, cap: float) -> float:
        """E[min(X, cap)], the mean after a time limit ``cap`` is imposed.

        This generic version integrates the quantile function numerically with the midpoint
        rule on 2**16 points. Because min(quantile(u), cap) is monotone and bounded, the
        absolute error is at most (min(cap, maximum) - minimum) / 2**16 (about 1.5e-5 of the
        range), and O(2**-32) when the quantile function is smooth. Every registered family
        overrides it with a closed form.

        Args:
            cap: The cap, >= 0.

        Returns:
            The limited expected value.
        """
        if cap >= self.maximum:
            return self.mean
        if cap <= self.minimum:
            return float(cap)
        u = (np.arange(_NUMERIC_GRID, dtype=np.float64) + 0.5) / _NUMERIC_GRID
        return float(np.minimum(self.quantile(u), cap).mean())


@dataclass(frozen=True)
class Fixed(Distribution):
    """Always ``value``."""

    value: float
    type_name: ClassVar[str] = "fixed"

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", _check_number("fixed", "value", self.value))

    @property
    def mean(self) -> float:
        """The value."""
        return self.value

    @property
    def typical(self) -> float:
        """The value."""
        return self.value

    @property
    def minimum(self) -> float:
        """The value."""
        return self.value

    @property
    def maximum(self) -> float:
        """The value."""
        return self.value

    def quantile(self, u: np.ndarray) -> np.ndarray:
        """Constant ``value`` with the shape of ``u``."""
        return np.full(np.shape(u), self.value, dtype=np.float64)

    def scaled(self, factor: float) -> Fixed:
        """Fixed(value * factor)."""
        return Fixed(self.value * _check_factor(factor))

    def limited_mean(self, cap: float) -> float:
        """min(value, cap)."""
        return min(self.value, float(cap))


class _Bounded(Distribution):
    """Shared by the families on [min, max]."""

    min: float
    max: float

    @property
    def minimum(self) -> float:
        """The ``min`` parameter."""
        return self.min

    @property
    def maximum(self) -> float:
        """The ``max`` parameter."""
        return self.max


@dataclass(frozen=True)
class Uniform(_Bounded):
    """Uniform on [min, max], min < max (a constant is written as a fixed value)."""

    min: float
    max: float
    type_name: ClassVar[str] = "uniform"

    def __post_init__(self) -> None:
        lo = _check_number("uniform", "min", self.min)
        hi = _check_number("uniform", "max", self.max)
        if not lo < hi:
            raise DistributionSpecError(
                f"uniform needs min < max; got min={_fmt(lo)}, max={_fmt(hi)}"
                + (" (for a constant write a plain number)" if lo == hi else ""),
                "max",
            )
        object.__setattr__(self, "min", lo)
        object.__setattr__(self, "max", hi)

    @property
    def mean(self) -> float:
        """Midpoint ``(min + max) / 2``."""
        return 0.5 * (self.min + self.max)

    @property
    def typical(self) -> float:
        """The mean."""
        return self.mean

    def quantile(self, u: np.ndarray) -> np.ndarray:
        """Linear: ``min + u * (max - min)``."""
        return self.min + _as_array(u) * (self.max - self.min)

    def scaled(self, factor: float) -> Distribution:
        """Uniform(min * factor, max * factor); Fixed(0) for factor 0."""
        f = _check_factor(factor)
        return Fixed(0.0) if f == 0 else Uniform(self.min * f, self.max * f)

    def limited_mean(self, cap: float) -> float:
        """Closed form: area under the survival function up to ``cap``."""
        c = float(cap)
        if c >= self.max:
            return self.mean
        if c <= self.min:
            return c
        w = self.max - self.min
        # Mean of the part below c weighted by its probability, plus c times P(X > c).
        p = (c - self.min) / w
        return p * 0.5 * (self.min + c) + (1 - p) * c


class _ThreePoint(_Bounded):
    """Shared by the min/mode/max families: the typical value is the mode."""

    mode: float

    @property
    def typical(self) -> float:
        """The mode."""
        return self.mode


@dataclass(frozen=True)
class Triangular(_ThreePoint):
    """Triangular on [min, max] with peak at ``mode``; min == mode == max means a constant."""

    min: float
    mode: float
    max: float
    type_name: ClassVar[str] = "triangular"

    def __post_init__(self) -> None:
        lo, mode, hi = _check_ordered("triangular", self.min, self.mode, self.max)
        object.__setattr__(self, "min", lo)
        object.__setattr__(self, "mode", mode)
        object.__setattr__(self, "max", hi)

    @property
    def mean(self) -> float:
        """Closed form ``(min + mode + max) / 3``."""
        return (self.min + self.mode + self.max) / 3.0

    def quantile(self, u: np.ndarray) -> np.ndarray:
        """Closed-form inverse of the piecewise-quadratic CDF."""
        u = _as_array(u)
        w = self.max - self.min
        if w == 0:
            return np.full(u.shape, self.min)
        left_k = w * (self.mode - self.min)
        right_k = w * (self.max - self.mode)
        c = (self.mode - self.min) / w
        # Each branch is clipped at the mode so rounding near u == c cannot make the
        # result step backwards; every operation is otherwise monotone under rounding.
        left = np.minimum(self.min + np.sqrt(u * left_k), self.mode)
        right = np.maximum(self.max - np.sqrt((1.0 - u) * right_k), self.mode)
        return np.where(u < c, left, right)

    def scaled(self, factor: float) -> Distribution:
        """Triangular with all three parameters scaled; Fixed(0) for factor 0."""
        f = _check_factor(factor)
        if f == 0:
            return Fixed(0.0)
        return Triangular(self.min * f, self.mode * f, self.max * f)

    def limited_mean(self, cap: float) -> float:
        """Closed form: integral of the survival function from 0 to ``cap``."""
        c = float(cap)
        a, m, b = self.min, self.mode, self.max
        if c >= b:
            return self.mean
        if c <= a:
            return c
        w = b - a
        # E[min(X,c)] = a + integral_a^c S(x) dx, S piecewise quadratic.
        if c <= m:
            # S(x) = 1 - (x-a)^2 / (w (m-a)); integral = (c-a) - (c-a)^3 / (3 w (m-a))
            return a + (c - a) - (c - a) ** 3 / (3 * w * (m - a))
        # Up to the mode: (m-a) - (m-a)^2/(3w); beyond it S(x) = (b-x)^2 / (w (b-m)).
        below = (m - a) - (m - a) ** 2 / (3 * w)
        above = ((b - m) ** 3 - (b - c) ** 3) / (3 * w * (b - m))
        return a + below + above


def _check_ordered(family: str, lo: Any, mode: Any, hi: Any) -> tuple[float, float, float]:
    lo = _check_number(family, "min", lo)
    mode = _check_number(family, "mode", mode)
    hi = _check_number(family, "max", hi)
    if not lo <= mode <= hi:
        got = f"min={_fmt(lo)}, mode={_fmt(mode)}" if lo > mode else ""
        got = got or f"mode={_fmt(mode)}, max={_fmt(hi)}"
        raise DistributionSpecError(f"{family} needs min <= mode <= max; got {got}", "mode")
    return lo, mode, hi


@dataclass(frozen=True)
class Pert(_ThreePoint):
    """Beta-PERT on [min, max] with mode ``mode``; ``shape`` weights the mode (4 is classic).

    The underlying beta has alpha = 1 + shape (mode - min) / (max - min) and
    beta = 1 + shape (max - mode) / (max - min).
    """

    min: float
    mode: float
    max: float
    shape: float = 4.0
    type_name: ClassVar[str] = "pert"

    def __post_init__(self) -> None:
        lo, mode, hi = _check_ordered("pert", self.min, self.mode, self.max)
        shape = _check_number("pert", "shape", self.shape, positive=True)
        object.__setattr__(self, "min", lo)
        object.__setattr__(self, "mode", mode)
        object.__setattr__(self, "max", hi)
        object.__setattr__(self, "shape", shape)

    def _ab(self) -> tuple[float, float]:
        w = self.max - self.min
        return (
            1.0 + self.shape * (self.mode - self.min) / w,
            1.0 + self.shape * (self.max - self.mode) / w,
        )

    @property
    def mean(self) -> float:
        """Closed form ``(min + shape * mode + max) / (shape + 2)``."""
        return (self.min + self.shape * self.mode + self.max) / (self.shape + 2.0)

    def quantile(self, u: np.ndarray) -> np.ndarray:
        """Scaled beta quantile: ``min + (max - min) * betaincinv(alpha, beta, u)``."""
        u = _as_array(u)
        w = self.max - self.min
        if w == 0:
            return np.full(u.shape, self.min)
        a, b = self._ab()
        # 1-d so the NaN patch below can assign even when u is a scalar.
        flat = u.reshape(-1)
        x = special.betaincinv(a, b, flat)
        bad = np.isnan(x)
        if bad.any():
            # scipy's betaincinv returns NaN for u below about 1e-200 (e.g. a = b = 3).
            # For any sensible shape x is then tiny and I_x(a, b) = x**a / (a B(a, b)) *
            # (1 + O(b x)) is exact to double precision, so invert that instead.
            with np.errstate(divide="ignore"):
                small = np.exp((np.log(flat[bad]) + math.log(a) + special.betaln(a, b)) / a)
            x[bad] = small
        return np.clip(self.min + w * x, self.min, self.max).reshape(u.shape)

    def scaled(self, factor: float) -> Distribution:
        """Pert with min, mode and max scaled and the same shape; Fixed(0) for factor 0."""
        f = _check_factor(factor)
        if f == 0:
            return Fixed(0.0)
        return Pert(self.min * f, self.mode * f, self.max * f, self.shape)

    def limited_mean(self, cap: float) -> float:
        """Closed form via the incomplete beta: E[Y 1{Y<=t}] = a/(a+b) I_t(a+1, b)."""
        c = float(cap)
        if c >= self.max:
            return self.mean
        if c <= self.min:
            return c
        w = self.max - self.min
        a, b = self._ab()
        t = (c - self.min) / w
        head = a / (a + b) * float(special.betainc(a + 1.0, b, t))
        tail = t * (1.0 - float(special.betainc(a, b, t)))
        return self.min + w * (head + tail)


class _Unbounded(Distribution):
    """Shared by the families on [0, infinity)."""

    @property
    def minimum(self) -> float:
        """Zero."""
        return 0.0

    @property
    def maximum(self) -> float:
        """Infinity: unbounded above."""
        return math.inf


@dataclass(frozen=True)
class LogNormal(_Unbounded):
    """Log-normal given by its median and 90th percentile (both > 0, p90 > median).

    mu = ln(median), sigma = (ln p90 - ln median) / z_0.9.
    """

    median: float
    p90: float
    type_name: ClassVar[str] = "lognormal"

    def __post_init__(self) -> None:
        med = _check_number("lognormal", "median", self.median, positive=True)
        p90 = _check_number("lognormal", "p90", self.p90)
        if not p90 > med:
            raise DistributionSpecError(
                f"lognormal needs p90 > median; got median={_fmt(med)}, p90={_fmt(p90)}", "p90"
            )
        object.__setattr__(self, "median", med)
        object.__setattr__(self, "p90", p90)

    @property
    def sigma(self) -> float:
        """Standard deviation of ln X."""
        return math.log(self.p90 / self.median) / _Z90

    @property
    def mean(self) -> float:
        """Closed form ``median * exp(sigma**2 / 2)``."""
        return self.median * math.exp(0.5 * self.sigma**2)

    @property
    def typical(self) -> float:
        """The median."""
        return self.median

    def quantile(self, u: np.ndarray) -> np.ndarray:
        """Closed form ``median * exp(sigma * ndtri(u))``; exact at u = 0.5 as ndtri(0.5) == 0."""
        z = special.ndtri(_as_array(u))
        if np.ndim(z) == 0:
            return self.median * np.exp(self.sigma * z)
        # The same operations in place: no temporaries on this hot path.
        z *= self.sigma
        np.exp(z, out=z)
        z *= self.median
        return z

    def scaled(self, factor: float) -> Distribution:
        """LogNormal(median * factor, p90 * factor); Fixed(0) for factor 0."""
        f = _check_factor(factor)
        return Fixed(0.0) if f == 0 else LogNormal(self.median * f, self.p90 * f)

    def limited_mean(self, cap: float) -> float:
        """Closed form with the normal CDF."""
        c = float(cap)
        if c <= 0:
            return 0.0
        s = self.sigma
        mu = math.log(self.median)
        z = (math.log(c) - mu) / s
        return self.mean * float(special.ndtr(z - s)) + c * float(special.ndtr(-z))


@dataclass(frozen=True)
class Exponential(_Unbounded):
    """Exponential with the given mean (> 0)."""

    mean: float
    type_name: ClassVar[str] = "exponential"

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "mean", _check_number("exponential", "mean", self.mean, positive=True)
        )

    @property
    def typical(self) -> float:
        """The mean."""
        return self.mean

    def quantile(self, u: np.ndarray) -> np.ndarray:
        """Closed form ``-mean * log1p(-u)``."""
        t = -_as_array(u)
        if np.ndim(t) == 0:
            return -self.mean * np.log1p(t)
        # The same operations in place: no temporaries on this hot path.
        np.log1p(t, out=t)
        t *= -self.mean
        return t

    def scaled(self, factor: float) -> Distribution:
        """Exponential(mean * factor); Fixed(0) for factor 0."""
        f = _check_factor(factor)
        return Fixed(0.0) if f == 0 else Exponential(self.mean * f)

    def limited_mean(self, cap: float) -> float:
        """Closed form ``mean * (1 - exp(-cap / mean))``."""
        c = float(cap)
        return self.mean * -math.expm1(-c / self.mean) if c > 0 else 0.0


@dataclass(frozen=True)
class Gamma(_Unbounded):
    """Gamma with the given shape and mean (both > 0); scale = mean / shape."""

    shape: float
    mean: float
    type_name: ClassVar[str] = "gamma"

    def __post_init__(self) -> None:
        shape = _check_number("gamma", "shape", self.shape, positive=True)
        mean = _check_number("gamma", "mean", self.mean, positive=True)
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "mean", mean)

    @property
    def scale(self) -> float:
        """Scale parameter, ``mean / shape``."""
        return self.mean / self.shape

    @property
    def typical(self) -> float:
        """The mean."""
        return self.mean

    def quantile(self, u: np.ndarray) -> np.ndarray:
        """Scaled gamma quantile: ``scale * gammaincinv(shape, u)``."""
        return self.scale * special.gammaincinv(self.shape, _as_array(u))

    def scaled(self, factor: float) -> Distribution:
        """Gamma(shape, mean * factor); Fixed(0) for factor 0."""
        f = _check_factor(factor)
        return Fixed(0.0) if f == 0 else Gamma(self.shape, self.mean * f)

    def limited_mean(self, cap: float) -> float:
        """Closed form ``mean * P(shape + 1, cap/scale) + cap * Q(shape, cap/scale)``."""
        c = float(cap)
        if c <= 0:
            return 0.0
        x = c / self.scale
        return self.mean * float(special.gammainc(self.shape + 1.0, x)) + c * float(
            special.gammaincc(self.shape, x)
        )


@dataclass(frozen=True)
class Empirical(Distribution):
    """Resamples the listed values with equal weight (duplicates count as often as listed)."""

    values: tuple[float, ...]
    type_name: ClassVar[str] = "empirical"

    def __post_init__(self) -> None:
        raw = self.values
        if isinstance(raw, (str, bytes, Mapping)) or not isinstance(raw, (Sequence, np.ndarray)):
            raise DistributionSpecError(
                f"empirical.values must be a list of numbers; got {raw!r}", "values"
            )
        if len(raw) == 0:
            raise DistributionSpecError("empirical.values must not be empty", "values")
        vals = []
        for i, v in enumerate(raw):
            try:
                vals.append(_check_number("empirical", "values", v))
            except DistributionSpecError as e:
                raise DistributionSpecError(
                    e.message.replace("empirical.values", f"empirical.values[{i}]", 1), "values"
                ) from None
        object.__setattr__(self, "values", tuple(vals))
        # Cached outside the dataclass fields so eq/hash stay on `values`.
        srt = np.sort(np.array(vals, dtype=np.float64))
        srt.flags.writeable = False
        object.__setattr__(self, "_sorted", srt)

    @property
    def mean(self) -> float:
        """Mean of the values."""
        return float(np.mean(self._sorted))

    @property
    def typical(self) -> float:
        """Median of the values (average of the middle two for an even count)."""
        return float(np.median(self._sorted))

    @property
    def minimum(self) -> float:
        """Smallest value."""
        return float(self._sorted[0])

    @property
    def maximum(self) -> float:
        """Largest value."""
        return float(self._sorted[-1])

    def quantile(self, u: np.ndarray) -> np.ndarray:
        """Order statistic ``sorted_values[floor(u * n)]``."""
        srt: np.ndarray = self._sorted
        n = srt.size
        # Clip because u * n can round up to n for u just below 1 and large n.
        idx = np.clip(np.floor(_as_array(u) * n).astype(np.intp), 0, n - 1)
        return srt[idx]

    def scaled(self, factor: float) -> Distribution:
        """Every value multiplied by ``factor``; Fixed(0) for factor 0."""
        f = _check_factor(factor)
        return Fixed(0.0) if f == 0 else Empirical(tuple(v * f for v in self.values))

    def to_spec(self) -> dict[str, Any]:
        """{"type": "empirical", "values": [...]} in the order given."""
        return {"type": self.type_name, "values": list(self.values)}

    def limited_mean(self, cap: float) -> float:
        """Mean of min(values, cap)."""
        return float(np.minimum(self._sorted, float(cap)).mean())


@dataclass(frozen=True)
class Capped(Distribution):
    """min(base, cap): the effect of a binding (compressed) time limit.

    The mean is exact for every registered family (each implements ``limited_mean``
    in closed form); unregistered bases fall back to the numerical
    :meth:`Distribution.limited_mean`.
    """

    base: Distribution
    cap: float
    type_name: ClassVar[str] = "capped"

    def __post_init__(self) -> None:
        if not isinstance(self.base, Distribution):
            raise DistributionSpecError(
                f"capped.base must be a distribution; got {self.base!r}", "base"
            )
        object.__setattr__(self, "cap", _check_number("capped", "cap", self.cap))

    @property
    def mean(self) -> float:
        """E[min(base, cap)]."""
        return self.base.limited_mean(self.cap)

    @property
    def typical(self) -> float:
        """min(base.typical, cap)."""
        return min(self.base.typical, self.cap)

    @property
    def minimum(self) -> float:
        """min(base.minimum, cap)."""
        return min(self.base.minimum, self.cap)

    @property
    def maximum(self) -> float:
        """min(base.maximum, cap)."""
        return min(self.base.maximum, self.cap)

    def quantile(self, u: np.ndarray) -> np.ndarray:
        """Capped base quantile; min with a constant keeps it an exact inverse CDF."""
        return np.minimum(self.base.quantile(u), self.cap)

    def scaled(self, factor: float) -> Distribution:
        """Capped(base.scaled(factor), cap * factor); Fixed(0) for factor 0."""
        f = _check_factor(factor)
        return Fixed(0.0) if f == 0 else Capped(self.base.scaled(f), self.cap * f)

    def to_spec(self) -> dict[str, Any]:
        """{"type": "capped", "base": <base spec>, "cap": cap}."""
        return {"type": self.type_name, "base": self.base.to_spec(), "cap": self.cap}

    def limited_mean(self, cap: float) -> float:
        """A cap on a cap is the smaller cap."""
        return self.base.limited_mean(min(self.cap, float(cap)))


REGISTRY: dict[str, type[Distribution]] = {
    cls.type_name: cls
    for cls in (Fixed, Uniform, Triangular, Pert, LogNormal, Exponential, Gamma, Empirical)
}
"""The families a process file may name. ``capped`` is not here: it is produced by reforms,
though :func:`from_spec` also reads it back so that ``to_spec`` round-trips."""

_READABLE: dict[str, type[Distribution]] = {**REGISTRY, Capped.type_name: Capped}


def from_spec(spec: float | int | Mapping[str, Any] | Distribution) -> Distribution:
    """Build a distribution from a process-file spec.

    Args:
        spec: A bare number (a fixed duration), a mapping with ``type`` and the family's
            named parameters, e.g. ``{"type": "lognormal", "median": 3, "p90": 8}``, or an
            already-built Distribution (returned unchanged).

    Returns:
        The distribution.

    Raises:
        DistributionSpecError: Unknown type, missing or unknown parameter, non-number
            (booleans and strings included), NaN/inf, negative, inverted or degenerate
            parameters, or any parameter above MAX_WORKING_DAYS. ``field`` names the
            parameter; inside a capped spec, base fields are reported as ``base.<name>``.
    """
    if isinstance(spec, Distribution):
        return spec
    if isinstance(spec, Mapping):
        return _from_mapping(spec)
    if isinstance(spec, (bool, np.bool_)) or not isinstance(spec, numbers.Real):
        raise DistributionSpecError(
            "a distribution is a number (fixed duration) or a mapping with 'type' and "
            f"parameters; got {spec!r} ({type(spec).__name__})"
        )
    try:
        return Fixed(spec)
    except DistributionSpecError as e:
        # A bare number has no parameter name for the loader to point at.
        raise DistributionSpecError(e.message.replace("fixed.value", "the value", 1)) from None


def _from_mapping(spec: Mapping[str, Any]) -> Distribution:
    known = sorted(_READABLE)
    if "type" not in spec:
        raise DistributionSpecError(
            f"distribution mapping needs a 'type' (one of {', '.join(known)})", "type"
        )
    name = spec["type"]
    if not isinstance(name, str) or name not in _READABLE:
        hint = did_you_mean(name, known, listing=None) if isinstance(name, str) else ""
        raise DistributionSpecError(
            f"unknown distribution type {name!r}{hint} (known types: {', '.join(known)})",
            "type",
        )
    cls = _READABLE[name]
    params = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    required = [
        f.name
        for f in fields(cls)  # type: ignore[arg-type]
        if f.default is MISSING and f.default_factory is MISSING
    ]
    for key in spec:
        if key != "type" and key not in params:
            key_s = str(key)
            raise DistributionSpecError(
                f"{name} has no parameter {key_s!r}{did_you_mean(key_s, params, listing=None)} "
                f"({name} takes {', '.join(params)})",
                key_s,
            )
    for p in required:
        if p not in spec:
            raise DistributionSpecError(
                f"{name} needs parameter {p!r} ({name} takes {', '.join(params)})", p
            )
    kwargs = {p: spec[p] for p in params if p in spec}
    if cls is Capped:
        try:
            kwargs["base"] = from_spec(kwargs["base"])
        except DistributionSpecError as e:
            raise DistributionSpecError(
                f"capped.base: {e.message}", f"base.{e.field}" if e.field else "base"
            ) from None
    return cls(**kwargs)
