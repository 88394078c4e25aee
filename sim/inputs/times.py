"""Parsing the times of case records: ISO, slashes, Chinese dates, day-first dots.

Times are kept as the wall-clock time written (a time-zone offset is dropped, not
applied), because working days and office hours are local: ``2005-03-23T00:00:00+01:00``
is midnight of 23 March wherever it is read.
"""

from __future__ import annotations

import warnings

import pandas as pd

# Tried in order on what ISO 8601 did not read (after the rewriting in `_normalise`).
FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S.%f",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%Y%m%d %H%M%S",
    "%Y%m%d",
)


_OFFSET = r"(\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(?:Z|[+-]\d{2}:?\d{2})$"


def _without_offset(text: pd.Series) -> pd.Series:
    """Drop the offset of zoned times: the wall-clock time counts (module doc)."""
    return text.str.replace(_OFFSET, r"\1", regex=True)


def _one_offset(text: pd.Series) -> pd.Series | None:
    """ISO times all in one zone (or none), read fast as wall-clock times; None otherwise.

    Offsets that differ (summer time) make pandas refuse a single zone: the caller then
    drops the offsets one by one.
    """
    try:
        with warnings.catch_warnings():
            # pandas 2 warns (pandas 3 refuses) on mixed offsets: both mean "not one zone".
            warnings.simplefilter("ignore", FutureWarning)
            parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
    except (ValueError, TypeError):
        return None
    if getattr(parsed.dtype, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    if parsed.dtype == object:
        return None
    if parsed.isna().any():
        return None  # some need the slower path (other spellings, offsets)
    return parsed


def _normalise(text: pd.Series) -> pd.Series:
    """Rewrite the spellings the formats do not cover into ``YYYY-MM-DD HH:MM[:SS]``."""
    # Chinese: 2025年1月2日 9时30分15秒 / 9点30分
    text = text.str.replace(
        r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?", r"\1-\2-\3 ", regex=True
    )
    text = text.str.replace(
        r"(\d{1,2})\s*[时点]\s*(\d{1,2})\s*分\s*(?:(\d{1,2})\s*秒)?", _clock, regex=True
    )
    text = text.str.replace(r"(\d{1,2})\s*[时点]\s*$", r"\1:00", regex=True)
    text = text.str.replace(r"^(\d{4})/(\d{1,2})/(\d{1,2})", r"\1-\2-\3", regex=True)
    text = text.str.replace("T", " ", regex=False)
    return text.str.replace(r"\s+", " ", regex=True).str.strip()


def _clock(match) -> str:
    hours, minutes, seconds = match.group(1), match.group(2), match.group(3) or "0"
    return f"{int(hours):02d}:{int(minutes):02d}:{int(seconds):02d}"


def parse_times(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse a column of times written as text (or already date-times).

    Args:
        values: The column; empty text and missing values are missing times.

    Returns:
        ``(times, bad)``: naive ``datetime64[ns]`` values (NaT where missing or bad),
        and a boolean mask of the non-empty values that could not be read.
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        times = values.dt.tz_localize(None) if values.dt.tz is not None else values
        return times.astype("datetime64[ns]"), pd.Series(False, index=values.index)
    raw = values.astype("string").fillna("").str.strip()
    present = raw != ""
    times = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    if not present.any():
        return times, ~present & present
    parsed = _one_offset(raw[present])
    text = raw[present]
    if parsed is None:
        text = _without_offset(text)
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
    missing = parsed.isna()
    if missing.any():
        text = _normalise(text[missing])
        parsed[missing] = pd.to_datetime(text, format="ISO8601", errors="coerce")
    for form in FORMATS:
        missing = parsed.isna()
        if not missing.any():
            break
        parsed[missing] = pd.to_datetime(text[missing], format=form, errors="coerce")
    times[present] = parsed.astype("datetime64[ns]")
    bad = present & times.isna()
    return times, bad
