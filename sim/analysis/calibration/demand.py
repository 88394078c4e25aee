"""Arrivals per working day, their weekday and month profile, and the case attributes.

Cases arrive (their first event) at a Poisson rate per working day, with an exact
(Garwood) interval. Whether the rate differs by weekday, or by month when the period
covers a year, is tested with a chi-square test of the counts against the working days
each weekday or month had; the engine draws a constant rate, so a profile the records
show is reported, not simulated.

Case attributes are the record columns whose value never changes within a case: yes/no
columns become boolean attributes, numeric columns with many values numeric ones (fitted
like durations), and the rest categorical, with the shares of their values (the least
frequent beyond `MAX_VALUES` pooled as ``other``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim.analysis.calibration.discovery import ROUTE, identifier
from sim.analysis.calibration.fitting import CONFIDENCE, fit_values, rounded
from sim.analysis.calibration.spec import Comments, Provenance, distribution_spec
from sim.domain.calendar import WorkingCalendar

MAX_VALUES = 12
TRUE_WORDS = frozenset({"true", "1", "yes", "y", "是", "t"})
FALSE_WORDS = frozenset({"false", "0", "no", "n", "否", "f"})
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MIN_FOR_TEST = 30


@dataclass(frozen=True)
class ArrivalFit:
    """The arrival rate of the training period and its profile.

    Attributes:
        rate: Cases per working day.
        low: Lower end of its interval.
        high: Upper end.
        cases: Cases counted.
        days: Working days of the period.
        profile: Rows ``kind`` (``weekday``/``month``), ``label``, ``working_days``,
            ``cases``, ``rate``.
        weekday_p: P-value of the chi-square test of a weekday profile (NaN: not tested).
        month_p: The same for months.
    """

    rate: float
    low: float
    high: float
    cases: int
    days: float
    profile: pd.DataFrame
    weekday_p: float = float("nan")
    month_p: float = float("nan")

    def source(self, provenance: Provenance) -> str:
        """The arrival rate's ``source:`` text, with its interval and profile tests."""
        note = self.note()
        return provenance.source(
            f"cases a working day, {self.cases} first events in {self.days:.1f} working "
            f"days (95% interval {self.low:.4g}-{self.high:.4g})" + (f"; {note}" if note else "")
        )

    def note(self) -> str:
        """What the profile tests say, for a ``source:`` text."""
        parts = []
        for kind, p in (("weekday", self.weekday_p), ("month", self.month_p)):
            if np.isnan(p):
                continue
            verdict = "shows" if p < 0.01 else "shows no"
            parts.append(f"the records {verdict} a {kind} profile (chi-square p={p:.3g})")
        if any(p < 0.01 for p in (self.weekday_p, self.month_p) if not np.isnan(p)):
            parts.append("the engine draws a constant rate: see the fit report")
        return "; ".join(parts)


def fit_arrivals(
    firsts: np.ndarray, begin: float, end: float, calendar: WorkingCalendar
) -> ArrivalFit:
    """Arrival rate and profile from the first events' clocks in ``[begin, end)``."""
    days = max(end - begin, 1.0)
    n = int(firsts.size)
    tail = (1 - CONFIDENCE) / 2
    low = float(stats.chi2.ppf(tail, 2 * n) / 2) / days if n > 0 else 0.0
    high = float(stats.chi2.ppf(1 - tail, 2 * (n + 1)) / 2) / days
    worked = calendar.workdays[int(np.floor(begin)) : int(np.ceil(end))]
    arrived = calendar.dates_of(np.minimum(np.floor(firsts), len(calendar) - 1))
    rows = []
    tests = {}
    for kind, key in (("weekday", _weekday), ("month", _month)):
        if kind == "month" and (worked[-1] - worked[0]).astype(int) < 365:
            continue
        available = pd.Series(key(worked)).value_counts()
        counted = pd.Series(key(arrived)).value_counts().reindex(available.index, fill_value=0)
        order = sorted(available.index)
        for label in order:
            rows.append(
                (
                    kind,
                    _label(kind, label),
                    int(available[label]),
                    int(counted[label]),
                    counted[label] / available[label],
                )
            )
        if n >= MIN_FOR_TEST and len(order) > 1:
            expected = available[order] / available.sum() * counted.sum()
            tests[kind] = float(stats.chisquare(counted[order], expected).pvalue)
    profile = pd.DataFrame(rows, columns=["kind", "label", "working_days", "cases", "rate"])
    return ArrivalFit(
        n / days,
        low,
        high,
        n,
        days,
        profile,
        tests.get("weekday", float("nan")),
        tests.get("month", float("nan")),
    )


def _weekday(days: np.ndarray) -> np.ndarray:
    return (days.astype("datetime64[D]").astype(np.int64) + 3) % 7


def _month(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[M]").astype(np.int64) % 12 + 1


def _label(kind: str, value: int) -> str:
    return WEEKDAYS[int(value)] if kind == "weekday" else f"{int(value):02d}"


# --------------------------------------------------------------------------- attributes


def fit_attributes(
    cases: pd.DataFrame,
    columns: Sequence[str],
    provenance: Provenance,
    rng: np.random.Generator,
    criterion: str = "aic",
) -> tuple[list[dict[str, Any]], Comments, dict[str, str]]:
    """Attribute mappings for a procedure file, their comments, and column to id.

    Args:
        cases: One row a training case, with the attribute columns.
        columns: The attribute columns.
        provenance: For the ``source:`` texts.
        rng: For the bootstrap of numeric attributes.
        criterion: ``aic`` or ``bic``.
    """
    taken = {ROUTE}
    found: list[dict[str, Any]] = []
    comments: Comments = {}
    ids: dict[str, str] = {}
    for column in columns:
        values = cases[column].dropna().astype(str).str.strip()
        values = values[values != ""]
        if values.nunique() < 2:
            continue
        attribute_id = identifier(column, taken, "attribute")
        missing = len(cases) - len(values)
        note = f"column '{column}'" + (
            f", {missing} cases without a value left out" if missing else ""
        )
        entry = _attribute(
            values, attribute_id, note, provenance, rng, criterion, comments, len(found)
        )
        if entry is not None:
            found.append(entry)
            ids[column] = attribute_id
    return found, comments, ids


def _attribute(values, attribute_id, note, provenance, rng, criterion, comments, index):
    words = set(values.str.lower())
    count = len(values)
    if words <= TRUE_WORDS | FALSE_WORDS:
        share = float(values.str.lower().isin(TRUE_WORDS).mean())
        return {
            "id": attribute_id,
            "kind": "boolean",
            "probability": rounded(share),
            "source": provenance.source(f"share of yes in {note}", cases=count),
        }
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.notna().all() and numbers.nunique() > MAX_VALUES and (numbers >= 0).all():
        fit = fit_values(numbers.to_numpy(float), rng, criterion)
        comments[("attributes", index, "distribution")] = f"{note}: {fit.method}"
        return {
            "id": attribute_id,
            "kind": "numeric",
            "distribution": distribution_spec(fit.distribution),
            "source": provenance.source(f"{note}, {fit.method}", cases=count),
        }
    counts = values.value_counts()
    if len(counts) > MAX_VALUES:
        counts = pd.concat(
            [
                counts.iloc[: MAX_VALUES - 1],
                pd.Series({"other": counts.iloc[MAX_VALUES - 1 :].sum()}),
            ]
        )
        note += f", values beyond the {MAX_VALUES - 1} most frequent pooled as other"
    shares = _shares(counts)
    return {
        "id": attribute_id,
        "kind": "categorical",
        "shares": shares,
        "source": provenance.source(f"share of each value of {note}", cases=count),
    }


def _shares(counts: pd.Series) -> dict[str, float]:
    """Shares rounded for a file, adding up to 1 (the largest takes the rounding)."""
    total = counts.sum()
    shares = {str(label): rounded(count / total) for label, count in counts.items()}
    largest = str(counts.index[0])
    shares[largest] = rounded(1.0 - sum(v for k, v in shares.items() if k != largest))
    return shares


def share_within(cycles: np.ndarray, limits: np.ndarray | float) -> np.ndarray:
    """Whether each cycle time is within its limit (NaN where either is missing)."""
    cycles = np.asarray(cycles, dtype=float)
    limits = np.broadcast_to(np.asarray(limits, dtype=float), cycles.shape)
    result = (cycles <= limits).astype(float)
    result[np.isnan(cycles) | np.isnan(limits)] = np.nan
    return result


def deadline_target(deadlines: pd.Series, provenance: Provenance) -> tuple[float, str] | None:
    """The procedure's target from the records' deadline days (their median), if any."""
    days = pd.to_numeric(deadlines, errors="coerce").dropna()
    days = days[days > 0]
    if days.empty:
        return None
    return float(days.median()), provenance.source(
        f"median of the records' own deadlines (working days) of {len(days)} cases", cases=len(days)
    )


def mapping_of(entries: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Entries by id."""
    return {str(entry["id"]): entry for entry in entries}
