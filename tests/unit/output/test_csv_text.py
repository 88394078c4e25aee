r"""`csv_text` writes the same bytes as pandas' ``to_csv`` (index off, ``\n`` lines).

Random tables of every kind of column the run's tables have (floats of any value,
whole numbers, booleans, dates at midnight or not with missing ones, text with commas,
quotes, line breaks, carriage returns, formulas and missing cells), chunks of them as
the writer formats them, and tables of other kinds that are left to pandas.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sim.output.csv_text import csv_text


def pandas_text(frame: pd.DataFrame, header: bool = True) -> str:
    return frame.to_csv(index=False, header=header, lineterminator="\n")


texts = st.one_of(
    st.none(),
    st.text(alphabet=st.sampled_from(list('ab ,"\n\r\t=+-@中;')), max_size=6),
)
seconds = st.one_of(
    st.integers(-(10**9), 2 * 10**9),
    st.integers(-(10**4), 3 * 10**4).map(lambda day: day * 86_400),
)


@st.composite
def tables(draw) -> pd.DataFrame:
    rows = draw(st.integers(0, 12))
    floats = draw(hnp.arrays(np.float64, rows, elements=st.floats(allow_nan=True)))
    few = draw(
        st.lists(st.sampled_from([0.0, -0.0, 1.5, np.nan, 1e16]), min_size=rows, max_size=rows)
    )
    midnight = draw(st.booleans())
    dates = draw(st.lists(st.one_of(st.none(), seconds), min_size=rows, max_size=rows))
    if midnight:
        dates = [None if value is None else value // 86_400 * 86_400 for value in dates]
    return pd.DataFrame(
        {
            "float": floats,
            "few floats": np.array(few, dtype=np.float64),
            "whole": draw(hnp.arrays(np.int64, rows)),
            "small": draw(hnp.arrays(np.uint8, rows)),
            "flag": draw(hnp.arrays(np.bool_, rows)),
            "date": np.array(
                [
                    np.datetime64("NaT") if value is None else np.datetime64(value, "s")
                    for value in dates
                ],
                dtype="datetime64[s]",
            ),
            "text, quoted": pd.array(
                draw(st.lists(texts, min_size=rows, max_size=rows)), dtype="str"
            ),
        }
    )


@settings(max_examples=300, deadline=None)
@given(frame=tables(), header=st.booleans())
def test_the_same_text_as_pandas(frame, header):
    assert csv_text(frame, header) == pandas_text(frame, header)


@settings(max_examples=100, deadline=None)
@given(frame=tables(), start=st.integers(0, 12), size=st.integers(1, 12))
def test_chunks_the_same_as_pandas(frame, start, size):
    """A chunk decides alone whether its dates are all at midnight, as pandas does."""
    chunk = frame.iloc[start : start + size]
    assert csv_text(chunk, start == 0) == pandas_text(chunk, start == 0)


def test_other_kinds_are_left_to_pandas():
    """Nullable numbers, objects, float32, finer dates, one column: pandas' own text."""
    frames = [
        pd.DataFrame({"a": pd.array([1, None], dtype="Int64"), "b": [1.0, 2.0]}),
        pd.DataFrame({"a": np.array([1, "x"], dtype=object), "b": [1.0, 2.0]}),
        pd.DataFrame({"a": np.array([0.1, 2.5], dtype=np.float32), "b": [1, 2]}),
        pd.DataFrame({"a": pd.to_datetime(["2024-01-01 10:00:00.5", None]), "b": [1, 2]}),
        pd.DataFrame({"a": pd.array(["", None], dtype="str")}),
        pd.DataFrame({"a": [], "b": []}),
    ]
    for frame in frames:
        assert csv_text(frame) == pandas_text(frame)
