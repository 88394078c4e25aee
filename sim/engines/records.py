"""The fixed record schema of a run: one row a case, one row a step execution.

Engines append plain tuples in the column order below, or (the vectorised engine) hand
over whole columns in ``case_columns`` / ``step_columns`` (numpy arrays, `Coded` text,
or `Pieces`); `Records.frames` turns either into the same pandas DataFrames and adds
calendar dates from the working-day calendar. The schema is documented here and
asserted by a test; change it only with a note in the README.

Case table (``cases.csv``):
    replication, variant, procedure, case_id: which case. ``case_id`` is the same case in
        every variant of a replication (common random numbers).
    status: ``completed``, ``withdrawn`` (gave up after too many send-backs), ``revoked``
        (a failed commitment or post-check revoked the approval) or ``open`` (still
        running when the run stopped).
    arrival_day, end_day: working-day clock (0 = the calendar's first working day);
        ``end_day`` is empty for open cases.
    arrival_date, end_date: the same as dates (an end at the end of a working day is
        dated that day, `sim.domain.calendar`).
    elapsed_working_days, elapsed_calendar_days: end minus arrival; in calendar days
        from the arrival to the end, without the non-working days that follow the end.
    approval_clock_days: working days on the legal approval clock (queueing and handling
        of steps that count; hearings, testing and expert review do not (Administrative
        Licensing Law art. 45), nor, by this model's convention, public notice and the
        applicant's correction time).
    within_target: completed within the procedure's target, counted in the target's own
        unit (working days, or calendar days from the arrival to the end).
    steps, materials, certificates, trips, fees_cny: the measures the plans ask to cut,
        for this case (steps done, materials handed in, certificates needed, trips made,
        fees paid).
    send_backs: how often a file was sent back for correction.
    reforms_fired: reforms that changed this case's path, ``;``-separated in the order the
        variant applies them (the audit trail): a reform that changed a step the case ran
        (for a tolerated deficiency: that tolerated a missing material of the case; for a
        step removed: that the case needed), or every case of its version (a fast lane, a
        bundle).
    attributes: the case's attributes as JSON.

Step table (``steps.csv``), an event log:
    replication, variant, procedure, case_id, step, agency (``+``-joined for a joint step),
    attempt (1 for the first submission), outcome (``accepted``, ``tolerated`` (accepted
    with minor materials missing, on a written commitment), ``sent_back``, ``withdrawn``
    (sent back once more than allowed: the case is withdrawn), ``rework``, ``revoked``,
    ``interrupted`` (cut short when its case stopped: withdrawn while the step was in its
    handling or waiting, or still running when the run ended; the row ends then)),
    ready_day (arrival at the step), start_day (staff taken), handled_day (staff
    released), end_day (waiting over), queue_days, handling_days, waiting_days, and
    ready_date, start_date, end_date. The handling days of the rows add up to the
    agencies' staff-days: a stopped case frees its staff, and starts nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd

CASE_COLUMNS = (
    "replication",
    "variant",
    "procedure",
    "case_id",
    "status",
    "arrival_day",
    "end_day",
    "arrival_date",
    "end_date",
    "elapsed_working_days",
    "elapsed_calendar_days",
    "approval_clock_days",
    "within_target",
    "steps",
    "materials",
    "certificates",
    "trips",
    "fees_cny",
    "send_backs",
    "reforms_fired",
    "attributes",
)

STEP_COLUMNS = (
    "replication",
    "variant",
    "procedure",
    "case_id",
    "step",
    "agency",
    "attempt",
    "outcome",
    "ready_day",
    "start_day",
    "handled_day",
    "end_day",
    "queue_days",
    "handling_days",
    "waiting_days",
    "ready_date",
    "start_date",
    "end_date",
)

# What engines append, in order; the rest is derived in `frames`.
CASE_FIELDS = (
    "procedure",
    "case_id",
    "status",
    "arrival_day",
    "end_day",
    "approval_clock_days",
    "target_days",
    "target_unit",
    "steps",
    "materials",
    "certificates",
    "trips",
    "fees_cny",
    "send_backs",
    "reforms_fired",
    "attributes",
)
# The step columns that queue figures read (`Records.queue_columns`).
QUEUE_FRAME_COLUMNS = ("replication", "variant", "agency", "outcome", "ready_day", "queue_days")
# A step row as appended: the step table's columns from `procedure` to `end_day`.
STEP_FIELDS = STEP_COLUMNS[STEP_COLUMNS.index("procedure") : STEP_COLUMNS.index("end_day") + 1]


@dataclass(frozen=True, eq=False)
class Coded:
    """A text column given as codes into labels: the column is ``labels[codes]``.

    Lets an engine hand over, say, a million step names without making a million
    references; `Records.frames` expands it.
    """

    codes: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.codes)

    def expand(self) -> np.ndarray:
        """The column as an object array of text."""
        codes = self.codes.join(np.intp) if isinstance(self.codes, Pieces) else self.codes
        return np.asarray(self.labels, dtype=object)[codes]


@dataclass(frozen=True, eq=False)
class Pieces:
    """A column given as consecutive pieces: arrays, or a value standing for ``size`` copies.

    Lets an engine hand over rows in the arrays it computed them in (a step's rows, say)
    without first copying them into one; `Records.frames` joins them once, into the
    table's type.

    Attributes:
        parts: The pieces in order, each an array or a single value.
        sizes: The length of each piece.
    """

    parts: tuple
    sizes: tuple[int, ...]

    def __len__(self) -> int:
        return sum(self.sizes)

    def join(self, dtype) -> np.ndarray:
        """The column as one array of ``dtype``."""
        if all(np.ndim(part) == 0 for part in self.parts):
            return np.repeat(np.array(self.parts, dtype=dtype), self.sizes)
        return np.concatenate(
            [
                np.full(size, part, dtype=dtype) if np.ndim(part) == 0 else part
                for part, size in zip(self.parts, self.sizes, strict=True)
            ],
            dtype=dtype,
            casting="unsafe",
        )

    def __add__(self, other: Pieces) -> Pieces:
        return Pieces(self.parts + other.parts, self.sizes + other.sizes)


# Column types of the raw fields when given as arrays (what the tuple rows give).
_FIELD_TYPES = {
    "procedure": object,
    "case_id": object,
    "status": object,
    "arrival_day": np.float64,
    "end_day": np.float64,
    "approval_clock_days": np.float64,
    "target_days": np.float64,
    "target_unit": object,
    "steps": np.int64,
    "materials": np.int64,
    "certificates": np.int64,
    "trips": np.float64,
    "fees_cny": np.float64,
    "send_backs": np.int64,
    "reforms_fired": object,
    "attributes": object,
    "step": object,
    "agency": object,
    "attempt": np.int64,
    "outcome": object,
    "ready_day": np.float64,
    "start_day": np.float64,
    "handled_day": np.float64,
}


@dataclass
class Records:
    """Rows appended by an engine during one run of one variant.

    Attributes:
        replication: The replication's number.
        variant: The variant's name.
        cases: Case rows, tuples in `CASE_FIELDS` order.
        steps: Step rows, tuples in `STEP_FIELDS` order.
        agency_busy: Staff-days of handling per agency.
        case_columns: Further case rows as columns (field name to array, `Coded` for
            text, or `Pieces`), after ``cases``.
        step_columns: Further step rows as columns, after ``steps``.
        calendar_days: The elapsed calendar days of the tuple rows' cases, when the
            engine counts them itself (the deterministic methods: a Doing Business path
            may end on a day off); None (or NaN for a case): counted from the clock.
    """

    replication: int
    variant: str
    cases: list[tuple] = field(default_factory=list)
    steps: list[tuple] = field(default_factory=list)
    agency_busy: dict[str, float] = field(default_factory=dict)
    case_columns: dict[str, np.ndarray | Coded | Pieces] | None = None
    step_columns: dict[str, np.ndarray | Coded | Pieces] | None = None
    calendar_days: list[float] | None = None

    @property
    def case_count(self) -> int:
        """How many case rows there are."""
        return len(self.cases) + _length(self.case_columns, "case_id")

    def frames(self, calendar) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The case and step tables, with dates from ``calendar``."""
        return case_frame(self, calendar), step_frame(self, calendar)

    def queue_columns(self, calendar) -> dict[str, Any]:
        """The step columns that queue figures read, without the rest.

        When the step rows are not kept, only their queue figures are
        (`sim.run.reduce.queue_totals`): these columns, made straight from the tuple rows,
        give the same figures as the whole table at a fraction of the cost (no dates, no
        frame, text left as Python objects, the run's replication and variant given once).
        """
        if self.step_columns is not None or not self.steps:
            frame = step_frame(self, calendar)
            return {name: frame[name].to_numpy() for name in QUEUE_FRAME_COLUMNS}
        agency, outcome, ready, start = (
            list(map(itemgetter(STEP_FIELDS.index(name)), self.steps))
            for name in ("agency", "outcome", "ready_day", "start_day")
        )
        ready, start = np.array(ready, dtype=np.float64), np.array(start, dtype=np.float64)
        return {
            "replication": self.replication,
            "variant": self.variant,
            "agency": agency,
            "outcome": outcome,
            "ready_day": ready,
            "queue_days": start - ready,
        }


def _length(columns: dict[str, np.ndarray] | None, name: str) -> int:
    return 0 if columns is None else len(columns[name])


def _raw(rows: list[tuple], columns: dict[str, np.ndarray] | None, fields) -> pd.DataFrame:
    """The raw fields as a frame, from tuple rows and/or columns, with the same dtypes."""
    if columns is None or len(columns[fields[1]]) == 0:
        return _rows_frame(rows, fields)
    frame = pd.DataFrame({name: column_array(columns[name], _FIELD_TYPES[name]) for name in fields})
    if rows:
        frame = pd.concat([_rows_frame(rows, fields), frame], ignore_index=True)
    return frame


def _rows_frame(rows: list[tuple], fields) -> pd.DataFrame:
    """Tuple rows as a frame, column by column with the known types (no type inference)."""
    return pd.DataFrame(
        {
            name: np.array(list(map(itemgetter(index), rows)), dtype=_FIELD_TYPES[name])
            for index, name in enumerate(fields)
        }
    )


def column_array(column: np.ndarray | Coded | Pieces, dtype) -> np.ndarray:
    """A handed-over column as one array.

    `Coded` text is expanded, `Pieces` are joined into ``dtype``, an array is taken as
    ``dtype``.
    """
    if isinstance(column, Coded):
        return column.expand()
    if isinstance(column, Pieces):
        return column.join(dtype)
    return np.asarray(column, dtype=dtype)


def case_frame(records: Records, calendar) -> pd.DataFrame:
    """The case table of a run."""
    raw = _raw(records.cases, records.case_columns, CASE_FIELDS)
    arrival = raw["arrival_day"].to_numpy(float)
    end = raw["end_day"].to_numpy(float)
    elapsed = end - arrival
    spans = calendar.calendar_span(arrival, end)
    if records.calendar_days is not None:  # an engine that counts them itself
        given = np.asarray(records.calendar_days, dtype=float)
        spans = np.where(np.isnan(end), np.nan, np.where(np.isnan(given), spans, given))
    target = raw["target_days"].to_numpy(float) + 1e-9
    in_calendar_days = (raw["target_unit"] == "calendar_days").to_numpy()
    within = np.where(in_calendar_days, spans <= target, elapsed <= target)
    frame = pd.DataFrame(
        {
            "replication": records.replication,
            "variant": records.variant,
            "procedure": raw["procedure"],
            "case_id": raw["case_id"],
            "status": raw["status"],
            "arrival_day": arrival,
            "end_day": end,
            "arrival_date": calendar.dates_of(arrival),
            "end_date": calendar.end_dates_of(end, arrival),
            "elapsed_working_days": elapsed,
            "elapsed_calendar_days": spans,
            "approval_clock_days": raw["approval_clock_days"].to_numpy(float),
            "within_target": (raw["status"] == "completed").to_numpy() & within,
        }
    )
    for column in CASE_COLUMNS[13:]:
        frame[column] = raw[column]
    return frame[list(CASE_COLUMNS)]


def step_frame(records: Records, calendar) -> pd.DataFrame:
    """The step table (event log) of a run."""
    raw = _raw(records.steps, records.step_columns, STEP_FIELDS)
    frame = raw.copy()
    frame.insert(0, "variant", records.variant)
    frame.insert(0, "replication", records.replication)
    ready, start, handled, end = (
        raw[name].to_numpy(float) for name in ("ready_day", "start_day", "handled_day", "end_day")
    )
    frame["queue_days"] = start - ready
    frame["handling_days"] = handled - start
    frame["waiting_days"] = end - handled
    frame["ready_date"] = calendar.dates_of(ready)
    frame["start_date"] = calendar.dates_of(start)
    frame["end_date"] = calendar.end_dates_of(end, start)
    return frame[list(STEP_COLUMNS)]


def audit_trail(fired: dict[str, None] | set[str], order: dict[str, int]) -> str:
    """The reforms that changed a case (``reforms_fired``), ``;``-joined in ``order``.

    Args:
        fired: The labels.
        order: Label to its place among the reforms of the case's procedure version
            (`Procedure.fired`); other labels (of hand-made models) come last, by name.
    """
    if len(fired) < 2:
        return "".join(fired)
    return ";".join(audit_order(fired, order))


def audit_order(labels, order: dict[str, int]) -> list[str]:
    """Reform labels in ``order`` (`audit_trail`), others last by name."""
    last = len(order)
    return sorted(labels, key=lambda label: (order.get(label, last), label))


def union_length(intervals: list[tuple[float, float]]) -> float:
    """Total length covered by possibly overlapping intervals."""
    if not intervals:
        return 0.0
    ordered = sorted(intervals)
    total = 0.0
    current_start, current_end = ordered[0]
    for start, end in ordered[1:]:
        if start > current_end:
            total += current_end - current_start
            current_start, current_end = start, end
        elif end > current_end:
            current_end = end
    return total + current_end - current_start
