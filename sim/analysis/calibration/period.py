"""The records' period on the clock: calendar, chosen cases, held-back split, open cases.

The calendar reaches from before the first record to well after the last (as far as its
source knows years); date-times go on its clock (`WorkingCalendar.clock_of_moments`).
Cases are chosen by their first event; the latest ones are held back. A case is still
open at the end of the export when a status column says so, or else when it ends on a
step that rarely ends a case (`end_steps`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.calibration import timeline
from sim.domain.calendar import CalendarError, DayRule, WorkingCalendar, year_table
from sim.domain.errors import InputError

# Closed cases: a case counts as still open at the end of the export when its last step
# is one that ends fewer than this share of the cases that had time to go on.
END_STEP_SHARE = 0.02
MIN_TRAINING_CASES = 5
CLOSED_WORDS = ("办结", "完成", "结束", "已办", "close", "complete", "finish", "done", "end")


def records_calendar(executions: pd.DataFrame, rule: DayRule, file: Path) -> WorkingCalendar:
    """A calendar from before the first record to well after the last.

    It reaches as far as the rule's source knows years: the fitted scenario's drain runs
    beyond the export.
    """
    moments = pd.concat([executions["start"].dropna(), executions["end"]])
    first, last = moments.min().date(), moments.max().date()
    try:
        for year in range(first.year, last.year + 1):
            year_table(rule, year)
    except CalendarError as error:
        # The error's advice (an override file) is for scenarios; records name a calendar.
        reason = str(error).split(";")[0]
        raise InputError(
            f"{reason}; the records run from {first} to {last}: name their calendar with "
            "--calendar (a country code such as IT, weekdays or all)",
            file=file,
        ) from None
    low, high = first.year, last.year
    while low > first.year - 2 and _knows(rule, low - 1):
        low -= 1
    while high < last.year + 3 and _knows(rule, high + 1):
        high += 1
    return WorkingCalendar.build(dt.date(low, 1, 1), dt.date(high, 12, 31), rule=rule)


def _knows(rule: DayRule, year: int) -> bool:
    try:
        year_table(rule, year)
    except CalendarError:
        return False
    return 1 <= year <= 9998


def on_clock(
    executions: pd.DataFrame, calendar: WorkingCalendar, agencies: dict[str, str], people: bool
) -> pd.DataFrame:
    """Executions on the clock; ``people``: the resource column names people (staff counts)."""
    frame = pd.DataFrame(
        {
            "case": executions["case"].to_numpy(),
            "step": executions["step"].to_numpy(),
            "start": calendar.clock_of_moments(executions["start"].to_numpy()),
            "end": calendar.clock_of_moments(executions["end"].to_numpy()),
            "agency": executions["step"].map(agencies).to_numpy(),
            "resource": executions["resource"].to_numpy() if people else "",
        }
    )
    # A start at night and its end the next morning fall on one clock moment: keep order.
    frame["start"] = np.minimum(frame["start"], frame["end"])
    return timeline.prepare(frame)


def select_period(
    cases: pd.DataFrame,
    since: dt.date | None,
    until: dt.date | None,
    calendar: WorkingCalendar,
    file: Path,
) -> pd.DataFrame:
    """The cases whose first event falls between ``since`` and ``until`` (inclusive).

    Raises:
        InputError: No case starts in the period.
    """
    keep = pd.Series(True, index=cases.index)
    if since is not None:
        keep &= cases["first"] >= calendar.clock_of(since)
    if until is not None:
        keep &= cases["first"] < calendar.clock_of(until + dt.timedelta(days=1))
    if not keep.any():
        raise InputError("no case starts in the period given by --since and --until", file=file)
    return cases[keep]


def split_cases(cases: pd.DataFrame, share: float, file: Path) -> tuple[pd.DataFrame, float]:
    """The cases with ``test`` (the latest ``share`` by first event), and the split's clock.

    Raises:
        InputError: A share outside (0, 1), or too few cases left to fit on.
    """
    if not 0 < share < 1:
        raise InputError(f"--test-share must be between 0 and 1, not {share:g}")
    ordered = cases.sort_values(["first"], kind="stable")
    held = max(1, int(round(share * len(ordered))))
    if len(ordered) - held < MIN_TRAINING_CASES:
        raise InputError(
            f"{len(ordered)} cases in the period: too few to fit on {len(ordered) - held} and "
            f"hold back {held} (at least {MIN_TRAINING_CASES} are needed to fit on)",
            file=file,
        )
    test = pd.Series(False, index=ordered.index)
    test.iloc[len(ordered) - held :] = True
    ordered = ordered.assign(test=test)
    return ordered, float(ordered.loc[ordered["test"], "first"].min())


# --------------------------------------------------------------------------- open cases


def end_steps(frame: pd.DataFrame, cases: pd.DataFrame, export_end: float) -> frozenset[str]:
    """Steps that end at least `END_STEP_SHARE` of the cases that had time to go on.

    A case had time to go on when its last event came at least the 95th percentile of the
    gaps between a case's consecutive events before the end of the export.
    """
    gaps = frame.groupby("case", sort=False)["end"].diff().dropna()
    horizon = float(np.quantile(gaps, 0.95)) if len(gaps) else 0.0
    settled = cases[cases["last"] <= export_end - horizon]
    if settled.empty:
        return frozenset(frame["step"])
    shares = settled["last_step"].value_counts(normalize=True)
    return frozenset(shares.index[shares >= END_STEP_SHARE])


def open_cases(
    cases: pd.DataFrame, ends: frozenset[str], status: pd.Series | None = None
) -> pd.Series:
    """Whether each case was still open at the end of the export.

    A status column, when the records have one, decides (a status naming completion,
    e.g. 办结 or closed, is closed); otherwise a case is open when its last step is not one
    of ``ends``.
    """
    if status is not None:
        text = status.reindex(cases.index).fillna("").astype(str).str.lower()
        known = text != ""
        closed = text.apply(lambda value: any(word in value for word in CLOSED_WORDS))
        by_step = ~cases["last_step"].isin(ends)
        return pd.Series(np.where(known, ~closed, by_step), index=cases.index)
    return ~cases["last_step"].isin(ends)


# --------------------------------------------------------------------------- agencies
