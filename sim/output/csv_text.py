r"""CSV text of a table, byte for byte as pandas' ``to_csv`` writes it, faster.

pandas turns every float into text with NumPy (about a microsecond a value) and then
writes the rows through its generic writer; the case table of a 1M-case run took about
10 s that way. Here each column becomes a list of text at once (floats by Python's
``repr``, the same shortest round-trip digits NumPy's ``str`` gives, with a column of
few distinct values formatted once a value) and the rows are joined as text.

The rules are pandas' (``index=False``, ``lineterminator="\n"``, the csv module's
minimal quoting): a missing value is empty; floats as ``str(numpy.float64)``; whole
numbers and booleans as Python writes them; dates of a chunk whose every date is at
midnight as ``YYYY-MM-DD``, else ``YYYY-MM-DD HH:MM:SS``; text quoted (a double quote
doubled) when it holds a character the csv module quotes (a comma, a double quote, a
line feed: `QUOTED` asks the module). Tables with columns of other kinds (or
a single column, where the csv module quotes an empty row) are left to pandas
(`csv_text` falls back); `tests/unit/output/test_csv_text.py` compares the two.
"""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sim.engines.records import arrow_text

# A float column with at most this share of distinct values is formatted a value at a time.
FEW_DISTINCT = 0.25
SECONDS_A_DAY = 86_400


def _quoted_characters() -> str:
    """The characters for which the csv module pandas writes with quotes a field.

    Asked of the running Python's csv module rather than assumed (a carriage return is
    quoted by some versions, not by others).
    """
    found = ""
    for character in ',"\n\r\t ;':
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerow([f"a{character}b", "c"])
        if text.getvalue().startswith('"'):
            found += character
    return found


QUOTED = _quoted_characters()
# The same as a regular expression for Arrow (RE2), each character by its code.
NEEDS_QUOTES = "[" + "".join(f"\\x{{{ord(character):02x}}}" for character in QUOTED) + "]"


def csv_text(frame: pd.DataFrame, header: bool = True) -> str:
    r"""``frame.to_csv(index=False, header=header, lineterminator="\n")``, the same text."""
    columns = (
        [_column_text(frame[name]) for name in frame.columns] if len(frame.columns) > 1 else []
    )
    if not columns or any(column is None for column in columns):
        return frame.to_csv(index=False, header=header, lineterminator="\n")
    lines = [",".join(_quoted(str(name)) for name in frame.columns)] if header else []
    if len(frame):
        lines.append("\n".join(map(",".join, zip(*columns, strict=True))))
    return "\n".join(lines) + "\n" if lines else ""


def _column_text(series: pd.Series) -> list[str] | None:
    """A column as a list of its cells' text, or None for a kind left to pandas."""
    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype):
        return _strings(series)
    if not isinstance(dtype, np.dtype):
        return None
    values = series.to_numpy()
    if dtype == np.float64:
        return _floats(values)
    if dtype.kind in "iub":  # whole numbers and booleans as Python writes them
        return list(map(str, values.tolist()))
    if dtype == np.dtype("datetime64[s]"):
        return _dates(values)
    return None


def _floats(values: np.ndarray) -> list[str]:
    bits = values.view(np.int64)  # by bits, so that -0.0 and 0.0 stay apart
    distinct, codes = np.unique(bits, return_inverse=True)
    if len(distinct) <= FEW_DISTINCT * len(values):
        return np.array(_float_texts(distinct.view(np.float64)), dtype=object)[codes].tolist()
    return _float_texts(values)


def _float_texts(values: np.ndarray) -> list[str]:
    texts = list(map(repr, values.tolist()))
    for index in np.flatnonzero(np.isnan(values)).tolist():
        texts[index] = ""
    return texts


def _dates(values: np.ndarray) -> list[str]:
    missing = np.isnat(values)
    seconds = values.view(np.int64)
    midnight = not (seconds[~missing] % SECONDS_A_DAY).any()
    text = np.datetime_as_string(values, unit="D" if midnight else "s")
    if not midnight:
        text = np.char.replace(text, "T", " ")
    text = text.astype(object)
    text[missing] = ""
    return text.tolist()


def _strings(series: pd.Series) -> list[str]:
    array = arrow_text(series.array).fill_null("")
    quoted = pc.match_substring_regex(array, NEEDS_QUOTES)
    if pc.any(quoted).as_py():
        quote, nothing = pa.scalar('"', array.type), pa.scalar("", array.type)
        doubled = pc.replace_substring(array, '"', '""')
        array = pc.if_else(
            quoted, pc.binary_join_element_wise(quote, doubled, quote, nothing), array
        )
    return array.to_pylist()


def _quoted(text: str) -> str:
    if any(character in text for character in QUOTED):
        return '"' + text.replace('"', '""') + '"'
    return text
