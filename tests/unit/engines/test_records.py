"""The record schema's column hand-over: pieces, coded text and compact row chunks become
the table's columns; case ids."""

import datetime

import numpy as np
import pandas as pd

from sim.domain.calendar import WorkingCalendar
from sim.engines.records import (
    FLOAT,
    INTEGER,
    STEP_FIELDS,
    Coded,
    Pieces,
    Records,
    RowChunks,
    case_ids,
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
    lists = [[], [], []]
    for index, row in enumerate(rows):
        for field, value in enumerate(row):
            lists[field].append(value)
        if index in (0, 2):
            chunks.take(lists)
            assert lists == [[], [], []]
    chunks.take(lists)
    chunks.take(lists)
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
