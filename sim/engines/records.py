"""The fixed record schema of a run: one row a case, one row a step execution.

Engines append plain tuples in the column order below (the SimPy reference model, the
fixed-time engine), or hand over whole columns in ``case_columns`` / ``step_columns``
(NumPy arrays, `Coded` text, `Pieces`, or `Deferred` columns made on demand: the
vectorised engine's arrays; the discrete-event engine's `RowChunks`, its rows kept as
typed arrays, text as codes); `Records.frames` turns either into the same pandas
DataFrames and adds calendar dates from the working-day calendar. The schema is documented here and
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

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sim.engines.collector import tune_allocators

# The tables' large arrays and text reuse the heap (`sim.engines.collector`).
tune_allocators()

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


# A row's outcome and a case's status as engines code them (the column is the text).
OUTCOMES = np.array(
    ["accepted", "tolerated", "sent_back", "withdrawn", "rework", "revoked", "interrupted"],
    dtype=object,
)
OUTCOME_CODES = {name: code for code, name in enumerate(OUTCOMES.tolist())}
STATUSES = np.array(["completed", "withdrawn", "revoked", "open"], dtype=object)
STATUS_CODES = {name: code for code, name in enumerate(STATUSES.tolist())}
# Rows an engine appends to its columns before they move into compact NumPy arrays
# (`RowChunks`): enough to make each move cheap, few enough to hold little uncompacted.
CHUNK_ROWS = 4_096


@dataclass(frozen=True, eq=False)
class Coded:
    """A column given as codes into labels: the column is ``labels[codes]``.

    Lets an engine hand over, say, a million step names without making a million
    references; `Records.frames` expands it. Labels are text (an object array, or pandas
    text: `case_id_texts`) or, for a number that depends on a code (a version's target),
    numbers.
    """

    codes: np.ndarray | Pieces | Deferred
    labels: np.ndarray | Deferred

    def __len__(self) -> int:
        return len(self.codes)

    def expand(self) -> np.ndarray:
        """The column as an array of the labels' type (object for text)."""
        codes = column_array(self.codes, np.intp)
        labels = self.labels.make() if isinstance(self.labels, Deferred) else self.labels
        return np.asarray(labels)[codes]


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
        """The column as one array of ``dtype`` (each piece cast as an assignment casts)."""
        column = np.empty(sum(self.sizes), dtype=dtype)
        start = 0
        for part, size in zip(self.parts, self.sizes, strict=True):
            column[start : start + size] = part
            start += size
        return column

    def __add__(self, other: Pieces) -> Pieces:
        return Pieces(self.parts + other.parts, self.sizes + other.sizes)


# How `RowChunks` keeps a field: whole numbers, or floats; a float field may name
# another that it mostly equals (a step's start its ready time, its end its handling's
# end), and keeps only the values that differ.
INTEGER = -1
FLOAT = -2


class RowChunks:
    """Rows an engine appends field by field, kept compact in NumPy arrays.

    The engine appends each field to a typed column (a `librt.vecs.vec`, which the
    compiled engine fills without making a Python object a value; a list works too) and
    hands the columns over every `CHUNK_ROWS` rows (`take`), which copies them into
    compact arrays: a row then takes a few bytes a field, not a tuple of Python
    objects, and the cycle collector has nothing of them to walk. Whole numbers are kept
    as the difference from the chunk's least, in the smallest unsigned type that holds
    them; a float field that mostly equals another keeps a bit a row and the values that
    differ.
    `column` gives a field back whole, as it was appended.

    Args:
        kinds: Per field, `INTEGER`, `FLOAT`, or the index of the (earlier, float)
            field it mostly equals.
    """

    def __init__(self, kinds: tuple[int, ...]) -> None:
        self.kinds = kinds
        self.parts: list[list[tuple]] = [[] for _ in kinds]
        self.sizes: list[int] = []

    def take(self, lists: list) -> None:
        """Copy the rows in ``lists`` (one column a field, in order) into arrays."""
        size = len(lists[0])
        if not size:
            return
        self.sizes.append(size)
        floats: dict[int, np.ndarray] = {}
        for number, (kind, values) in enumerate(zip(self.kinds, lists, strict=True)):
            if kind == INTEGER:
                array = np.array(values, dtype=np.int64)
                least = int(array.min())
                array -= least
                stored: tuple = (least, array.astype(np.min_scalar_type(int(array.max()))))
            else:
                array = floats[number] = np.array(values, dtype=np.float64)
                if kind == FLOAT:
                    stored = (array,)
                else:
                    # Compared bit for bit: -0.0 is kept apart from 0.0, NaN equals NaN.
                    differs = array.view(np.int64) != floats[kind].view(np.int64)
                    stored = (np.packbits(differs), array[differs])
            self.parts[number].append(stored)

    def __len__(self) -> int:
        return sum(self.sizes)

    def column(self, field: int) -> np.ndarray:
        """One field of every row, as appended (int64 or float64)."""
        kind = self.kinds[field]
        if not self.sizes:
            return np.empty(0, dtype=np.int64 if kind == INTEGER else np.float64)
        if kind == INTEGER:
            return np.concatenate(
                [array.astype(np.int64) + least for least, array in self.parts[field]]
            )
        if kind == FLOAT:
            return np.concatenate([array for (array,) in self.parts[field]])
        column = self.column(kind)
        start = 0
        for size, (bits, values) in zip(self.sizes, self.parts[field], strict=True):
            differs = np.unpackbits(bits, count=size).view(bool)
            column[start : start + size][differs] = values
            start += size
        return column

    def deferred(self, field: int) -> Deferred:
        """`column` of a field, made when a table needs it."""
        return Deferred(lambda: self.column(field), len(self))


@dataclass(frozen=True, eq=False)
class Deferred:
    """A column made only when a table needs it (an engine's compact rows, case ids)."""

    make: Any
    size: int

    def __len__(self) -> int:
        return self.size


_CASE_IDS: dict[str, np.ndarray] = {}
# The same ids as the tables' text, converted once (`case_id_texts`).
_CASE_ID_TEXTS: dict[str, Any] = {}


# Case ids kept for the next run up to this many a procedure: beyond, a run's ids
# (Python strings, about 180 bytes a case) would outweigh the time they save.
KEPT_CASE_IDS = 250_000


def case_ids(procedure_id: str, n: int) -> np.ndarray:
    """``<procedure>-000001`` ... as the engines name cases (kept for the next run).

    Made with some room to spare, and extended by the ids missing, as the next
    replication's count of cases differs a little; not kept beyond `KEPT_CASE_IDS`.
    """
    ids = _CASE_IDS.get(procedure_id)
    have = 0 if ids is None else len(ids)
    if ids is None or have < n:
        size = n + max(1_000, n // 20)
        more = np.array(
            [f"{procedure_id}-{index:06d}" for index in range(have + 1, size + 1)], dtype=object
        )
        ids = more if ids is None else np.concatenate([ids, more])
        ids.flags.writeable = False
        if len(_CASE_IDS) > 64:
            _CASE_IDS.clear()
            _CASE_ID_TEXTS.clear()
        if size <= KEPT_CASE_IDS:
            _CASE_IDS[procedure_id] = ids
        else:
            _CASE_IDS.pop(procedure_id, None)
            _CASE_ID_TEXTS.pop(procedure_id, None)
    return ids[:n]


def case_id_texts(procedure_id: str, n: int) -> Any:
    """`case_ids` as the tables' text (`Coded` labels), converted once and kept (as they are).

    The object array itself when pandas keeps text as Python objects.
    """
    ids = case_ids(procedure_id, n)
    whole = _CASE_IDS.get(procedure_id)
    if whole is None:  # too many to keep (`KEPT_CASE_IDS`): converted for this table alone
        text = _text(ids)
        return ids if text is None else text
    text = _CASE_ID_TEXTS.get(procedure_id)
    if text is None or len(text) != len(whole):
        text = _text(whole)
        if text is None:
            return ids
        _CASE_ID_TEXTS[procedure_id] = text
    return text[:n]


def join_labels(labels: list) -> Any:
    """Several `Coded` columns' labels as one, in order (text stays the tables' text)."""
    if len(labels) == 1:
        return labels[0]
    if all(isinstance(part, pd.api.extensions.ExtensionArray) for part in labels):
        return pd.concat([pd.Series(part, copy=False) for part in labels], ignore_index=True).array
    return np.concatenate([np.asarray(part) for part in labels])


def engine_columns(
    case_chunks: RowChunks,
    step_chunks: RowChunks,
    versions: list,
    blocks: list,
    labels: list[tuple[str, str, str]],
    trails: list[str],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The case and step columns of the discrete-event engine's coded rows.

    A case is its number in the run (its procedure's first number, in the order of the
    blocks, plus its index); a step row's text is one code for its (procedure, step,
    agency); a case row names its procedure version and its audit trail by code. The
    columns are made when a table needs them (`Deferred`), case ids and attribute texts
    too: until then the records hold the compact rows.

    Args:
        case_chunks: Case rows: number, version, status code, arrival, end, approval
            clock, steps, materials, certificates, send-backs, trips, fees, trail code.
        step_chunks: Step rows: case number, label, attempt, outcome code, ready, start,
            handled, end.
        versions: The procedure versions, by code.
        blocks: Each procedure's draws (`sim.engines.draws.ProcedureDraws`), in order.
        labels: (procedure, step, agency) by label code.
        trails: Audit trails by code.

    Returns:
        ``case_columns`` and ``step_columns`` for `Records`.
    """
    cases = len(case_chunks)
    ids = Deferred(lambda: _case_ids_of(blocks), sum(draws.cases for draws in blocks))
    version = case_chunks.deferred(1)

    def of_version(values: list, dtype=object) -> np.ndarray:
        return np.array(values, dtype=dtype) if values else np.empty(0, dtype)

    case_columns = {
        "procedure": Coded(version, of_version([v.id for v in versions])),
        "case_id": Coded(case_chunks.deferred(0), ids),
        "status": Coded(case_chunks.deferred(2), STATUSES),
        "arrival_day": case_chunks.deferred(3),
        "end_day": case_chunks.deferred(4),
        "approval_clock_days": case_chunks.deferred(5),
        "target_days": Coded(version, of_version([v.target_days for v in versions], float)),
        "target_unit": Coded(version, of_version([v.target_unit for v in versions])),
        "steps": case_chunks.deferred(6),
        "materials": case_chunks.deferred(7),
        "certificates": case_chunks.deferred(8),
        "send_backs": case_chunks.deferred(9),
        "trips": case_chunks.deferred(10),
        "fees_cny": case_chunks.deferred(11),
        "reforms_fired": Coded(case_chunks.deferred(12), np.array(trails, dtype=object)),
        "attributes": Deferred(lambda: _attributes_of(blocks, case_chunks.column(0)), cases),
    }
    label = step_chunks.deferred(1)
    by_label = [np.array(part, dtype=object) for part in zip(*labels, strict=True)] or [
        np.empty(0, dtype=object)
    ] * 3
    step_columns = {
        "procedure": Coded(label, by_label[0]),
        "case_id": Coded(step_chunks.deferred(0), ids),
        "step": Coded(label, by_label[1]),
        "agency": Coded(label, by_label[2]),
        "attempt": step_chunks.deferred(2),
        "outcome": Coded(step_chunks.deferred(3), OUTCOMES),
        "ready_day": step_chunks.deferred(4),
        "start_day": step_chunks.deferred(5),
        "handled_day": step_chunks.deferred(6),
        "end_day": step_chunks.deferred(7),
    }
    return case_columns, step_columns


def _case_ids_of(blocks: list) -> Any:
    """The case ids of every procedure's cases, in the order of the blocks."""
    ids = [case_id_texts(draws.procedure.id, draws.cases) for draws in blocks]
    return join_labels(ids) if ids else np.empty(0, dtype=object)


def _attributes_of(blocks: list, numbers: np.ndarray) -> np.ndarray:
    """The attributes (JSON text) of the cases of these numbers."""
    codes, texts, start = [], [], 0
    for draws in blocks:
        block_codes, block_texts = draws.attribute_texts()
        codes.append(np.asarray(block_codes, dtype=np.intp) + start)
        texts.append(np.asarray(block_texts, dtype=object))
        start += len(block_texts)
    if not blocks:
        return np.empty(0, dtype=object)
    return np.concatenate(texts)[np.concatenate(codes)[numbers]]


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
            text, `Pieces` or `Deferred`), after ``cases``.
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
    case_columns: dict[str, Any] | None = None
    step_columns: dict[str, Any] | None = None
    calendar_days: list[float] | None = None

    @property
    def case_count(self) -> int:
        """How many case rows there are."""
        return len(self.cases) + _length(self.case_columns, "case_id")

    def case_rows(self) -> list[tuple]:
        """The case rows as tuples in `CASE_FIELDS` order, whichever way they were given."""
        return self.cases + _tuples(self.case_columns, CASE_FIELDS)

    def step_rows(self) -> list[tuple]:
        """The step rows as tuples in `STEP_FIELDS` order, whichever way they were given."""
        return self.steps + _tuples(self.step_columns, STEP_FIELDS)

    def frames(self, calendar) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The case and step tables, with dates from ``calendar``."""
        return case_frame(self, calendar), step_frame(self, calendar)

    def queue_columns(self, calendar) -> dict[str, Any]:
        """The step columns that queue figures read, without the rest.

        When the step rows are not kept, only their queue figures are
        (`sim.run.reduce.queue_totals`): these columns, made straight from the tuple rows,
        give the same figures as the whole table at a fraction of the cost (no dates, no
        frame, text left as codes or Python objects, the run's replication and variant
        given once).
        """
        if self.step_columns is not None and not self.steps:
            columns = self.step_columns
            # Coded text stays coded (`sim.run.reduce.queued` reads the codes), the codes
            # made now, in their smallest type, so that the rows can be freed.
            agency, outcome = (
                Coded(
                    _compact(column_array(column.codes, np.intp)),
                    column_array(column.labels, object),
                )
                if isinstance(column := columns[name], Coded)
                else column_array(column, _FIELD_TYPES[name])
                for name in ("agency", "outcome")
            )
            ready, start = (
                column_array(columns[name], np.float64) for name in ("ready_day", "start_day")
            )
        elif self.step_columns is not None or not self.steps:
            frame = step_frame(self, calendar)
            return {name: frame[name].to_numpy() for name in QUEUE_FRAME_COLUMNS}
        else:
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


def _compact(codes: np.ndarray) -> np.ndarray:
    """Non-negative codes in the smallest unsigned type that holds them."""
    return codes.astype(np.min_scalar_type(int(codes.max(initial=0))))


def _tuples(columns: dict[str, Any] | None, fields) -> list[tuple]:
    if columns is None:
        return []
    values = [column_array(columns[name], _FIELD_TYPES[name]).tolist() for name in fields]
    return list(zip(*values, strict=True))


def _length(columns: dict[str, np.ndarray] | None, name: str) -> int:
    return 0 if columns is None else len(columns[name])


def _raw(rows: list[tuple], columns: dict[str, Any] | None, fields, helper=None) -> _Made:
    """The raw fields as columns for a frame, from tuple rows and/or columns, with the same dtypes.

    Columns alone (what the array engines hand over) are taken as they are, each made
    once (`_frame_column`), coded ones on the ``helper`` thread if one is given; tuple
    rows go through a frame.
    """
    if columns is not None and len(columns[fields[1]]) and not rows:
        return _Made(
            {
                name: _later(
                    helper if isinstance(columns[name], Coded) else None,
                    _frame_column,
                    columns[name],
                    _FIELD_TYPES[name],
                )
                for name in fields
            }
        )
    if columns is None or len(columns[fields[1]]) == 0:
        frame = _rows_frame(rows, fields)
    else:
        given = pd.DataFrame(
            {name: _frame_column(columns[name], _FIELD_TYPES[name]) for name in fields}
        )
        frame = pd.concat([_rows_frame(rows, fields), given], ignore_index=True)
    return _Made({name: frame[name].array for name in fields})


class _Made(dict):
    """Columns by name, some perhaps still being made on a helper thread: given when done."""

    def __getitem__(self, name: str) -> Any:
        return _done(super().__getitem__(name))


def _done(value: Any) -> Any:
    """A column, once the helper thread has made it if it makes it."""
    return value.result() if isinstance(value, Future) else value


# Rows from which a table's text is made on a helper thread while this thread makes its
# numbers and dates (Arrow and NumPy release the GIL in their loops; the vectorised
# engine draws on helper threads too). Smaller tables are not worth a thread.
HELPER_ROWS = 50_000


@contextmanager
def _helper(rows: int) -> Iterator[ThreadPoolExecutor | None]:
    """A helper thread for a table of ``rows`` rows, or None (`HELPER_ROWS`)."""
    if rows < HELPER_ROWS:
        yield None
        return
    with ThreadPoolExecutor(max_workers=1) as helper:
        yield helper


def _later(helper: ThreadPoolExecutor | None, make, *args) -> Any:
    """``make(*args)``, on the helper thread if there is one (then a `Future`)."""
    return make(*args) if helper is None else helper.submit(make, *args)


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
    if isinstance(column, Deferred):
        column = column.make()
    return np.asarray(column, dtype=dtype)


def _frame_column(column: Any, dtype) -> Any:
    """A handed-over column for a frame (`column_array`), coded text taken as pandas text.

    Coded text becomes the frame's text type from its labels, each converted once, then
    taken by code: the same column as from the expanded Python strings, without
    converting a million of them (with pyarrow, pandas' text is Arrow). Text given in
    pieces is made piece by piece (`_pieces_text`), without joining the codes first.
    """
    if isinstance(column, Coded):
        labels = column.labels.make() if isinstance(column.labels, Deferred) else column.labels
        text = _text(labels)
        if text is not None:
            codes = column.codes
            if isinstance(codes, Pieces) and isinstance(text, pd.arrays.ArrowStringArray):
                return _pieces_text(text, codes)
            return text.take(column_array(codes, np.intp))
    if isinstance(column, np.ndarray):
        # The table gets its own copy of an engine's array (made columns are new already).
        return np.array(column, dtype=dtype)
    return column_array(column, dtype)


def _text(labels: Any) -> Any:
    """Labels as pandas text (the frames' type), or None when they are not text."""
    if not isinstance(labels, pd.api.extensions.ExtensionArray):
        labels = np.asarray(labels)
        if labels.dtype != object or not len(labels):
            return None
        labels = pd.Series(labels, copy=False).array
    return labels if isinstance(labels.dtype, pd.StringDtype) and len(labels) else None


def _pieces_text(text: pd.arrays.ArrowStringArray, codes: Pieces) -> pd.arrays.ArrowStringArray:
    """``text[codes]`` for codes in pieces, each piece taken the cheapest way.

    Runs (every piece a single code: a step's name on its rows) are decoded in one pass
    (Arrow's run-end decoding); otherwise a piece of consecutive codes (a step's rows
    for every case, in case order) is a slice of the labels, any other piece is taken
    by its codes, and the pieces are joined once.
    """
    pieces = [(part, size) for part, size in zip(codes.parts, codes.sizes, strict=True) if size]
    if not pieces:
        return text[:0]
    if all(np.ndim(part) == 0 for part, _ in pieces):
        values = text.take(np.array([part for part, _ in pieces], dtype=np.intp))
        ends = np.cumsum([size for _, size in pieces], dtype=np.int64)
        encoded = pa.RunEndEncodedArray.from_arrays(pa.array(ends), arrow_text(values))
        return type(text)(pc.run_end_decode(encoded), dtype=text.dtype)
    labels = arrow_text(text)
    arrays = []
    for part, size in pieces:
        if np.ndim(part) == 0:
            arrays.append(pa.repeat(labels[int(part)], size))
        elif part[-1] - part[0] == size - 1 and (np.diff(part) == 1).all():
            arrays.append(labels.slice(int(part[0]), size))
        else:
            arrays.append(labels.take(np.asarray(part, dtype=np.intp)))
    return type(text)(pa.concat_arrays(arrays), dtype=text.dtype)


def arrow_text(text: Any) -> pa.Array:
    """Pandas text as one Arrow array (a missing cell as null)."""
    array = pa.array(text, from_pandas=True)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _constant_text(value: str, size: int) -> Any:
    """A text column of ``size`` copies of ``value``, or the value (for a frame to repeat)."""
    text = _text(np.array([value], dtype=object))
    if not isinstance(text, pd.arrays.ArrowStringArray):
        return value
    return type(text)(pa.repeat(arrow_text(text)[0], size), dtype=text.dtype)


def _equals(values: Any, text: str) -> np.ndarray:
    """Whether each value of a raw text column is ``text``."""
    return (pd.Series(values, copy=False) == text).to_numpy(bool)


def case_frame(records: Records, calendar) -> pd.DataFrame:
    """The case table of a run."""
    with _helper(records.case_count) as helper:
        raw = _raw(records.cases, records.case_columns, CASE_FIELDS, helper)
        arrival = np.asarray(raw["arrival_day"], dtype=float)
        variant = _later(helper, _constant_text, records.variant, len(arrival))
        end = np.asarray(raw["end_day"], dtype=float)
        elapsed = end - arrival
        spans = calendar.calendar_span(arrival, end)
        if records.calendar_days is not None:  # an engine that counts them itself
            given = np.asarray(records.calendar_days, dtype=float)
            spans = np.where(np.isnan(end), np.nan, np.where(np.isnan(given), spans, given))
        arrival_dates = calendar.dates_of(arrival, unit="s")
        end_dates = calendar.end_dates_of(end, arrival, unit="s")
        target = np.asarray(raw["target_days"], dtype=float) + 1e-9
        in_calendar_days = _equals(raw["target_unit"], "calendar_days")
        within = np.where(in_calendar_days, spans <= target, elapsed <= target)
        # Made once, in the table's order, from the columns as they are (no copies).
        return pd.DataFrame(
            {
                "replication": records.replication,
                "variant": _done(variant),
                "procedure": raw["procedure"],
                "case_id": raw["case_id"],
                "status": raw["status"],
                "arrival_day": arrival,
                "end_day": end,
                "arrival_date": arrival_dates,
                "end_date": end_dates,
                "elapsed_working_days": elapsed,
                "elapsed_calendar_days": spans,
                "approval_clock_days": np.asarray(raw["approval_clock_days"], dtype=float),
                "within_target": _equals(raw["status"], "completed") & within,
                **{name: raw[name] for name in CASE_COLUMNS[13:]},
            },
            copy=False,
        )


def step_frame(records: Records, calendar) -> pd.DataFrame:
    """The step table (event log) of a run."""
    with _helper(len(records.steps) + _length(records.step_columns, "case_id")) as helper:
        raw = _raw(records.steps, records.step_columns, STEP_FIELDS, helper)
        ready, start, handled, end = (
            np.asarray(raw[name], dtype=float)
            for name in ("ready_day", "start_day", "handled_day", "end_day")
        )
        variant = _later(helper, _constant_text, records.variant, len(ready))
        ready_dates = calendar.dates_of(ready, unit="s")
        # Without queues a step starts when ready: the same dates, copied, not looked up again.
        same = np.array_equal(start, ready)
        columns = {
            "ready_day": ready,
            "start_day": start,
            "handled_day": handled,
            "end_day": end,
            "queue_days": start - ready,
            "handling_days": handled - start,
            "waiting_days": end - handled,
            "ready_date": ready_dates,
            "start_date": ready_dates.copy() if same else calendar.dates_of(start, unit="s"),
            "end_date": calendar.end_dates_of(end, start, unit="s"),
        }
        return pd.DataFrame(
            {
                "replication": records.replication,
                "variant": _done(variant),
                **{name: raw[name] for name in STEP_FIELDS[:6]},
                **columns,
            },
            copy=False,
        )


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
