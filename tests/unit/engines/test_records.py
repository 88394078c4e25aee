"""The record schema's column hand-over: pieces, coded text and compact row chunks become
the table's columns; case ids."""

import datetime

import numpy as np
import pandas as pd
import pytest
from librt.vecs import append, vec
from mypy_extensions import i64

from sim.domain.calendar import WorkingCalendar
from sim.engines import records as records_module
from sim.engines.records import (
    FLOAT,
    INTEGER,
    OUTCOMES,
    STATUSES,
    STEP_FIELDS,
    Coded,
    Pieces,
    Records,
    RowChunks,
    case_frame,
    case_id_texts,
    case_ids,
    join_labels,
    step_frame,
)


def test_pieces_join_arrays_and_repeated_values():
    """Step rows handed over in pieces become the same columns once joined."""
    pieces = Pieces((np.array([1.5, 2.0]), 3, np.array([7.0])), (2, 2, 1))
    assert len(pieces) == 5
    assert pieces.join(np.float64).tolist() == [1.5, 2.0, 3.0, 3.0, 7.0]
    assert (pieces + Pieces((4,), (1,))).join(np.float64).tolist() == [1.5, 2, 3, 3, 7, 4]
    assert Pieces((1, 2), (2, 1)).join(np.int8).dtype == np.int8
    text = Coded(Pieces((0, np.array([1, 0])), (2, 2)), np.array(["a", "b"], dtype=object))
    assert text.expand().tolist() == ["a", "a", "b", "a"]


def test_row_chunks_give_back_every_field_as_appended():
    """Whole numbers of any range, floats bit for bit (-0.0, NaN, inf), a float field that
    mostly equals another, over several chunks and an empty hand-over."""
    chunks = RowChunks((INTEGER, FLOAT, 1))
    rows = [
        (5, 1.5, 1.5),
        (-3, -0.0, 0.0),
        (2**40, float("nan"), float("nan")),
        (7, float("inf"), 2.25),
    ]

    def empty() -> list:
        return [vec[i64](), vec[float](), vec[float]()]  # the engine's typed columns

    columns = empty()
    for index, row in enumerate(rows):
        for field, value in enumerate(row):
            columns[field] = append(columns[field], value)
        if index in (0, 2):
            chunks.take(columns)
            columns = empty()
    chunks.take(columns)
    chunks.take(empty())
    assert len(chunks) == 4
    assert chunks.column(0).tolist() == [5, -3, 2**40, 7]
    for field in (1, 2):
        expected = np.array([row[field] for row in rows])
        assert chunks.column(field).view(np.int64).tolist() == expected.view(np.int64).tolist()
    assert chunks.deferred(2).make().tolist()[-1] == 2.25


def test_case_ids_kept_and_extended():
    """Case ids are named as the event engine names them, also after the cache grows."""
    first = case_ids("grow_check", 10)
    longer = case_ids("grow_check", 5_000)
    assert list(longer) == [f"grow_check-{index:06d}" for index in range(1, 5_001)]
    assert list(first) == list(longer[:10])
    assert len(case_ids("grow_check", 7)) == 7


def test_coded_text_gives_the_table_of_the_same_rows_as_tuples():
    """Step rows handed over as codes make the same frame, values and types, as tuples."""
    rows = [
        ("p", "p-000002", "b", "desk+office", 2, "sent_back", 0.5, 1.0, 2.0, 2.0),
        ("p", "p-000001", "a", "office", 1, "accepted", 0.0, 0.0, 1.25, 3.0),
        ("p", "p-000002", "b", "desk+office", 3, "tolerated", 4.0, 4.5, 5.0, 5.0),
    ]
    as_tuples = Records(0, "baseline", steps=list(rows))
    columns = {name: [row[index] for row in rows] for index, name in enumerate(STEP_FIELDS)}
    coded = {}
    for name, values in columns.items():
        if isinstance(values[0], str):
            labels, codes = np.unique(np.array(values, dtype=object), return_inverse=True)
            coded[name] = Coded(codes, labels.astype(object))
        else:
            coded[name] = np.array(values)
    as_codes = Records(0, "baseline", step_columns=coded)
    calendar = WorkingCalendar.build(datetime.date(2025, 3, 3), datetime.date(2025, 6, 30))
    pd.testing.assert_frame_equal(
        step_frame(as_codes, calendar), step_frame(as_tuples, calendar), check_exact=True
    )


CALENDAR = WorkingCalendar.build(datetime.date(2025, 1, 2), datetime.date(2025, 12, 31))


def as_rows(records: Records) -> Records:
    """The same rows as tuples (the plain way through the frames)."""
    return Records(
        records.replication,
        records.variant,
        cases=records.case_rows(),
        steps=records.step_rows(),
    )


def pieces_records() -> Records:
    """Step rows in pieces of every kind: runs, consecutive and scattered case numbers,
    an empty piece, a repeated value among arrays; cases with and without an end."""
    ids = case_id_texts("pieces_check", 6)
    steps = np.array(["intake", "review", "issue"], dtype=object)
    sizes = (6, 0, 3, 2, 1)
    cases = Pieces(
        (np.arange(6), np.arange(0), np.array([2, 3, 4]), np.array([5, 1]), np.array([0])), sizes
    )
    ready = np.array([0.0, 0.5, 1.0, 1.25, 2.0, 3.0, 4.0, 4.5, 5.0, 6.0, 7.25, 9.0])
    handled = ready + np.array([1, 0.5, 2, 1, 1, 3, 0.25, 1, 1, 2, 1, 0])
    step_columns = {
        "procedure": Coded(Pieces((0,), (12,)), np.array(["pieces_check"], dtype=object)),
        "case_id": Coded(cases, ids),
        "step": Coded(Pieces((0, 1, 1, 2, 0), sizes), steps),
        "agency": Coded(
            Pieces((0, 0, np.array([1, 0, 1]), 1, 0), sizes),
            np.array(["window", "office+desk"], dtype=object),
        ),
        "attempt": Pieces((1, 1, np.array([1, 2, 1]), 2, 1), sizes),
        "outcome": Coded(Pieces((0, 0, 2, np.array([0, 6]), 1), sizes), OUTCOMES),
        "ready_day": Pieces((ready,), (12,)),
        "start_day": Pieces((ready,), (12,)),
        "handled_day": Pieces((handled,), (12,)),
        "end_day": Pieces((handled + 1.0,), (12,)),
    }
    statuses = np.array([0, 0, 1, 3, 0, 2])
    case_columns = {
        "procedure": Coded(np.zeros(6, dtype=np.int8), np.array(["pieces_check"], dtype=object)),
        "case_id": Coded(np.arange(6), ids),
        "status": Coded(statuses, STATUSES),
        "arrival_day": np.array([0.0, 0.5, 1.0, 1.25, 2.0, 3.0]),
        "end_day": np.array([5.0, 9.5, 12.0, np.nan, 3.0, 4.75]),
        "approval_clock_days": np.array([4.0, 8.0, 10.0, 2.0, 1.0, 1.5]),
        "target_days": np.array([5.0, 5.0, 5.0, 5.0, 5.0, 5.0]),
        "target_unit": Coded(
            np.array([0, 1, 0, 1, 0, 1]), np.array(["working_days", "calendar_days"], dtype=object)
        ),
        "steps": np.array([3, 4, 5, 1, 2, 2]),
        "materials": np.array([1, 2, 3, 4, 5, 6]),
        "certificates": np.array([0, 1, 0, 1, 0, 1]),
        "trips": np.array([1.0, 2.0, 3.0, 1.0, 1.0, 0.0]),
        "fees_cny": np.array([0.0, 10.5, 0.0, 0.0, 3.0, 0.0]),
        "send_backs": np.array([0, 1, 0, 2, 0, 0]),
        "reforms_fired": Coded(np.array([0, 1, 0, 0, 1, 0]), np.array(["", "a;b"], dtype=object)),
        "attributes": Coded(np.zeros(6, dtype=np.intp), np.array(["{}"], dtype=object)),
    }
    return Records(3, "reform", case_columns=case_columns, step_columns=step_columns)


@pytest.mark.parametrize("helper_rows", [0, 50_000])
def test_tables_from_columns_equal_those_from_tuple_rows(monkeypatch, helper_rows):
    """Columns in pieces, runs, coded text and case-id text make the same case and step
    tables, column order, types and values, as the same rows given as tuples; also with
    the text made on a helper thread (from 0 rows on)."""
    monkeypatch.setattr(records_module, "HELPER_ROWS", helper_rows)
    records = pieces_records()
    rows = as_rows(records)
    assert rows.step_rows()[3][1] == "pieces_check-000004"  # expanded from case-id text
    for frame in (case_frame, step_frame):
        made, plain = frame(records, CALENDAR), frame(rows, CALENDAR)
        pd.testing.assert_frame_equal(made, plain, check_exact=True)
        assert made.to_csv(index=False) == plain.to_csv(index=False)
    steps = step_frame(records, CALENDAR)
    assert steps["case_id"].tolist()[6:12] == [
        "pieces_check-000003",
        "pieces_check-000004",
        "pieces_check-000005",
        "pieces_check-000006",
        "pieces_check-000002",
        "pieces_check-000001",
    ]
    assert steps["outcome"].tolist()[9:12] == ["accepted", "interrupted", "tolerated"]
    assert str(steps["ready_date"].dtype) == "datetime64[s]"


def test_dates_of_the_tables_are_the_calendar_days_of_each_row():
    """The tables' dates, looked up by working day, are each row's date as `date_of` and
    `end_dates_of` give it one value at a time; an open case's end has no date."""
    records = pieces_records()
    steps = step_frame(records, CALENDAR)
    for clock, date in zip(steps["ready_day"], steps["ready_date"], strict=True):
        assert CALENDAR.date_of(clock) == date.date()
    for row in steps.itertuples():
        end = CALENDAR.end_dates_of(np.array([row.end_day]), np.array([row.start_day]))[0]
        assert pd.Timestamp(end) == row.end_date
    cases = case_frame(records, CALENDAR)
    assert cases["end_date"].isna().tolist() == [False, False, False, True, False, False]
    assert cases["within_target"].tolist() == [True, False, False, False, True, False]


def test_case_id_texts_are_the_case_ids_as_table_text():
    """The kept text of case ids is `case_ids`, whatever the length asked; labels of
    several columns join in order, text or not."""
    assert list(case_id_texts("text_check", 12)) == list(case_ids("text_check", 12))
    assert list(case_id_texts("text_check", 3_000)) == list(case_ids("text_check", 3_000))
    joined = join_labels([case_id_texts("text_check", 2), case_id_texts("other_check", 1)])
    assert list(joined) == ["text_check-000001", "text_check-000002", "other_check-000001"]
    numbers = join_labels([np.array([1.0]), np.array([2.0, 3.0])])
    assert numbers.tolist() == [1.0, 2.0, 3.0]
