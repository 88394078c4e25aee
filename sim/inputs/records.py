"""Read case records (办件数据) into step executions: CSV, XLSX or XES.

A record file has one row an event (a time, maybe a lifecycle ``start``/``complete``) or
one row a step (start and/or end times). Its columns are found by name in English, XES
or Chinese, or mapped (`sim.inputs.columns`); CSV may be UTF-8 (with or without a byte
order mark) or GBK. What comes out is a `RecordSet`: one row per step execution with its
start (if recorded) and end, and one row per case with its attributes.

Bad records stop the calibration with one `InputError` naming the file, row and column:
a time that cannot be read, an end before its start, a row without a case or step, a
case with no steps, a row without any time. Suspicious ones are counted and kept for the
report (`RecordSet.findings`): duplicate rows (dropped from the fit, counted), starts
with no end (steps still running when the export was made), events of other lifecycle
transitions (ignored).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.domain.errors import InputError
from sim.inputs import columns as roles
from sim.inputs.times import parse_times
from sim.inputs.xes import read_xes

FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".xes": "xes"}
START_WORDS = frozenset({"start", "started", "begin", "开始", "签收", "接收"})
COMPLETE_WORDS = frozenset(
    {"complete", "completed", "end", "ended", "finish", "结束", "完成", "办结"}
)
# Attributes: a column whose values never differ within a case, with at most this many
# distinct values if text (more is an identifier or free text, not an attribute).
MAX_CATEGORIES = 30
MAX_ATTRIBUTES = 30


@dataclass(frozen=True)
class RecordSet:
    """Step executions and cases read from a record file.

    Attributes:
        file: The file read.
        executions: One row a step execution: ``case``, ``step`` (the name as
            recorded), ``start`` (naive date-time, NaT when only the end is recorded),
            ``end``, ``resource``, ``agency`` (text, empty when not recorded), ``row``
            (the row or line of the file, for messages), sorted by case and time.
        cases: One row a case, indexed by case id: ``procedure``, ``deadline`` (a
            date-time), ``deadline_days``, ``status`` (when recorded) and the case
            attributes (columns whose value never changes within a case).
        columns: Role to the column that plays it.
        attributes: The attribute columns of ``cases``.
        findings: Counts of what is suspicious: ``rows``, ``duplicate_rows``,
            ``running_steps`` (starts with no end), ``ignored_events`` (other lifecycle
            transitions).
    """

    file: Path
    executions: pd.DataFrame
    cases: pd.DataFrame
    columns: dict[str, str]
    attributes: tuple[str, ...] = ()
    findings: dict[str, int] = field(default_factory=dict)

    @property
    def has_start(self) -> bool:
        """Whether any step execution has a recorded start."""
        return bool(self.executions["start"].notna().any())


# --------------------------------------------------------------------------- raw tables


def read_table(path: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """The file as a table of text (or date-times, from XLSX) and each row's line or row.

    Raises:
        InputError: Missing file, unknown format, unreadable text, or no data rows.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("no such file", file=path)
    if path.is_dir():
        raise InputError("is a folder, not a record file", file=path)
    suffixes = "".join(path.suffixes[-2:]).lower()
    kind = "xes" if suffixes.endswith(".xes.gz") else FORMATS.get(path.suffix.lower())
    if kind is None:
        raise InputError(
            f"cannot tell the format from '{path.suffix}': name the file .csv, .xlsx, .xes "
            "or .xes.gz",
            file=path,
        )
    if kind == "xes":
        table, lines = read_xes(path)
        return table, np.asarray(lines, dtype=np.int64)
    table = _read_xlsx(path) if kind == "xlsx" else _read_csv(path)
    if table.empty:
        raise InputError("has a header but no data rows", file=path)
    # Data rows follow the header on line (row) 1.
    return table, np.arange(2, len(table) + 2, dtype=np.int64)


def _decode(path: Path) -> str:
    raw = path.read_bytes()
    if not raw.strip():
        raise InputError("file is empty", file=path)
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw.decode("utf-8-sig")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        # GB18030 is a superset of GBK (and GB2312), as Chinese Excel saves CSV.
        return raw.decode("gb18030")
    except UnicodeDecodeError as error:
        raise InputError(
            f"is neither UTF-8 nor GBK text (byte {error.start}); save it as UTF-8 CSV",
            file=path,
        ) from None


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        text = _decode(path)
    except OSError as error:
        raise InputError(f"cannot read the file: {error.strerror or error}", file=path) from None
    header = text.split("\n", 1)[0]
    separator = max((",", ";", "\t"), key=header.count)
    try:
        return pd.read_csv(
            io.StringIO(text),
            sep=separator,
            dtype=str,
            keep_default_na=False,
            skipinitialspace=True,
        )
    except (pd.errors.ParserError, ValueError) as error:
        message = str(error).strip().splitlines()[-1]
        raise InputError(f"is not a readable CSV table: {message}", file=path) from None


def _read_xlsx(path: Path) -> pd.DataFrame:
    import openpyxl  # loaded for Excel files only
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError) as error:
        raise InputError(f"is not a readable Excel workbook: {error}", file=path) from None
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = next(rows, None)
        while header is not None and all(cell is None for cell in header):
            header = next(rows, None)
        if header is None:
            raise InputError("the first sheet is empty", file=path)
        names = [
            str(cell).strip() if cell is not None else f"column {i + 1}"
            for i, cell in enumerate(header)
        ]
        body = [tuple(_cell(cell) for cell in row) for row in rows]
    finally:
        book.close()
    while body and all(cell == "" for cell in body[-1]):
        body.pop()
    width = len(names)
    return pd.DataFrame([row[:width] + ("",) * (width - len(row)) for row in body], columns=names)


def _cell(value: object) -> object:
    """An Excel cell as text, keeping date-times as they are."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ") if hasattr(value, "hour") else value.isoformat()
    return str(value)


# --------------------------------------------------------------------------- records


def read_records(path: Path | str, mapping: Mapping[str, str] | None = None) -> RecordSet:
    """Read a record file into step executions and cases (see the module doc).

    Args:
        path: A ``.csv``, ``.xlsx``, ``.xes`` or ``.xes.gz`` file.
        mapping: Role to column, overriding the names found (``--columns``).

    Returns:
        The records.

    Raises:
        InputError: For every bad record (file, row, column and what is wrong).
    """
    path = Path(path)
    table, lines = read_table(path)
    headers = [str(h) for h in table.columns]
    table.columns = headers
    found = roles.assign(headers, mapping or {}, path)
    text = {role: _text(table[column]) for role, column in found.items()}
    _check_present(text, found, lines, path)
    times = {}
    for role in ("timestamp", "start", "end"):
        if role in found:
            times[role] = _times(table[found[role]], lines, path, found[role])
    if "timestamp" in found:
        events = pd.DataFrame(
            {
                "case": text["case"],
                "step": text["step"],
                "time": times["timestamp"],
                "lifecycle": text["lifecycle"].str.lower() if "lifecycle" in text else "complete",
                "resource": text.get("resource", ""),
                "agency": text.get("agency", ""),
                "row": lines,
            }
        )
        _check_times_present(events["time"], lines, path, found["timestamp"])
        executions, findings = _pair_events(events, path, found)
    else:
        start = times.get("start", pd.Series(pd.NaT, index=table.index, dtype="datetime64[ns]"))
        end = times.get("end", pd.Series(pd.NaT, index=table.index, dtype="datetime64[ns]"))
        executions, findings = _step_rows(text, start, end, lines, path, found)
    cases, attributes = _cases(table, text, found, executions, path)
    findings["rows"] = len(table)
    executions = executions.sort_values(["case", "end", "row"], kind="stable").reset_index(
        drop=True
    )
    return RecordSet(path, executions, cases, dict(found), tuple(attributes), findings)


def _text(column: pd.Series) -> pd.Series:
    return column.astype("string").fillna("").str.strip().astype(object)


def _fail_at(
    mask: pd.Series | np.ndarray, lines: np.ndarray, path: Path, column: str, message: str
) -> None:
    where = np.flatnonzero(np.asarray(mask))
    if where.size:
        extra = f" ({where.size - 1} more rows like it)" if where.size > 1 else ""
        raise InputError(message + extra, file=path, line=int(lines[where[0]]), field=column)


def _check_present(text: dict[str, pd.Series], found: dict[str, str], lines, path: Path) -> None:
    """Every row names its case; rows without a step name are refused case by case."""
    _fail_at(text["case"] == "", lines, path, found["case"], "a row without a case id")
    blank = (text["step"] == "").to_numpy()
    if blank.any():
        with_steps = set(text["case"][~blank])
        first = int(np.flatnonzero(blank)[0])
        case = text["case"].iloc[first]
        if case not in with_steps:
            raise InputError(
                f"case '{case}' has no steps: its rows name no step",
                file=path,
                line=int(lines[first]),
                field=found["step"],
            )
        _fail_at(blank, lines, path, found["step"], f"a row of case '{case}' without a step name")


def _times(column: pd.Series, lines, path: Path, header: str) -> pd.Series:
    times, bad = parse_times(column)
    if bad.any():
        first = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"cannot read the time '{column.iloc[first]}' (write times as YYYY-MM-DD HH:MM:SS)"
            + (f" ({int(bad.sum()) - 1} more rows like it)" if bad.sum() > 1 else ""),
            file=path,
            line=int(lines[first]),
            field=header,
        )
    return times.reset_index(drop=True)


def _check_times_present(times: pd.Series, lines, path: Path, header: str) -> None:
    _fail_at(times.isna(), lines, path, header, "a row without a time")


def _step_rows(text, start, end, lines, path: Path, found) -> tuple[pd.DataFrame, dict[str, int]]:
    """Rows that are steps, with a start and/or an end time each."""
    start_column = found.get("start", found.get("end"))
    end_column = found.get("end", found.get("start"))
    _fail_at(
        start.isna() & end.isna(),
        lines,
        path,
        start_column,
        "a row with neither start nor end time",
    )
    _fail_at(end < start, lines, path, end_column, "the step ends before it starts")
    frame = pd.DataFrame(
        {
            "case": text["case"],
            "step": text["step"],
            "start": start,
            "end": end,
            "resource": text.get("resource", ""),
            "agency": text.get("agency", ""),
            "row": lines,
        }
    )
    findings = {"ignored_events": 0}
    running = frame["end"].isna()
    findings["running_steps"] = int(running.sum())
    frame = frame[~running]
    frame, findings["duplicate_rows"] = _drop_duplicates(frame)
    return frame.reset_index(drop=True), findings


def _drop_duplicates(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    keys = [c for c in frame.columns if c != "row"]
    duplicated = frame.duplicated(subset=keys, keep="first")
    return frame[~duplicated], int(duplicated.sum())


def _pair_events(events: pd.DataFrame, path: Path, found) -> tuple[pd.DataFrame, dict[str, int]]:
    """Pair each ``complete`` with the earliest open ``start`` of the same step and case."""
    kind = np.where(
        events["lifecycle"].isin(START_WORDS),
        "start",
        np.where(events["lifecycle"].isin(COMPLETE_WORDS), "complete", "other"),
    )
    findings = {"ignored_events": int((kind == "other").sum())}
    events = events.assign(kind=kind)[kind != "other"]
    events, findings["duplicate_rows"] = _drop_duplicates(events)
    columns = ["case", "step", "start", "end", "resource", "agency", "row"]
    completes = events[events["kind"] == "complete"]
    if len(completes) == len(events):  # end times only: every event is a step
        frame = completes.rename(columns={"time": "end"}).assign(start=pd.NaT)[columns]
        frame["start"] = frame["start"].astype("datetime64[ns]")
        findings["running_steps"] = 0
        return frame.reset_index(drop=True), findings
    # A start sorts before a complete at the same moment (a zero-length step).
    events = events.assign(order=np.where(events["kind"] == "start", 0, 1))
    events = events.sort_values(["case", "step", "time", "order", "row"], kind="stable")
    rows, running = _pairs(events, path, found["timestamp"])
    findings["running_steps"] = running
    frame = pd.DataFrame(rows, columns=columns)
    frame["start"] = frame["start"].astype("datetime64[ns]")
    frame["end"] = frame["end"].astype("datetime64[ns]")
    return frame, findings


def _pairs(events: pd.DataFrame, path: Path, column: str) -> tuple[list[tuple], int]:
    """One pass over events sorted by case, step and time: (executions, running starts)."""
    rows: list[tuple] = []
    running = 0
    pending: list[int] = []
    unmatched: list[int] = []
    key = None
    case_of = events["case"].tolist()
    step_of = events["step"].tolist()
    time_of = events["time"].tolist()
    resource_of = events["resource"].tolist() if "resource" in events else [""] * len(events)
    agency_of = events["agency"].tolist() if "agency" in events else [""] * len(events)
    row_of = events["row"].tolist()
    starts = (events["kind"] == "start").tolist()

    def close() -> int:
        if pending and unmatched:
            case, step = key
            raise InputError(
                f"step '{step}' of case '{case}' completes before it starts (its start is "
                f"on row {row_of[pending[0]]})",
                file=path,
                line=int(row_of[unmatched[0]]),
                field=column,
            )
        return len(pending)

    for i in range(len(starts)):
        here = (case_of[i], step_of[i])
        if here != key:
            if key is not None:
                running += close()
            key, pending, unmatched = here, [], []
        if starts[i]:
            pending.append(i)
            continue
        opened = pending.pop(0) if pending else None
        if opened is None:
            unmatched.append(i)
        rows.append(
            (
                case_of[i],
                step_of[i],
                time_of[opened] if opened is not None else pd.NaT,
                time_of[i],
                resource_of[i] or (resource_of[opened] if opened is not None else ""),
                agency_of[i] or (agency_of[opened] if opened is not None else ""),
                row_of[i],
            )
        )
    if key is not None:
        running += close()
    return rows, running


def _cases(
    table, text, found, executions: pd.DataFrame, path: Path
) -> tuple[pd.DataFrame, list[str]]:
    """One row a case: procedure, deadline, status and the attributes."""
    index = pd.Index(pd.unique(executions["case"]), name="case")
    cases = pd.DataFrame(index=index)
    keys = text["case"]
    for role in ("procedure", "status"):
        if role in found:
            cases[role] = _per_case(text[role], keys).reindex(index).fillna("")
    if "deadline" in found:
        times, bad = parse_times(table[found["deadline"]])
        cases["deadline"] = _per_case(times.reset_index(drop=True), keys).reindex(index)
    if "deadline_days" in found:
        days = pd.to_numeric(text["deadline_days"].replace("", np.nan), errors="coerce")
        cases["deadline_days"] = _per_case(days, keys).reindex(index)
    attributes = []
    case_codes = pd.factorize(keys)[0]
    for header in roles.attribute_headers(table.columns, found)[: MAX_ATTRIBUTES * 2]:
        raw = table[header]
        codes, _ = pd.factorize(raw.where(raw.astype(str).str.len() > 0), use_na_sentinel=True)
        present = codes >= 0
        if not present.any():
            continue
        # A case attribute never changes within a case (checked on codes: fast).
        pairs = pd.DataFrame({"case": case_codes[present], "value": codes[present]})
        if pairs.drop_duplicates()["case"].duplicated().any():
            continue
        values = _text(raw)
        first = _per_case(values.where(values != "", None), keys)
        if first.nunique() < 2:
            continue
        numeric = pd.to_numeric(first, errors="coerce")
        if numeric.notna().sum() < first.notna().sum() and first.nunique() > MAX_CATEGORIES:
            continue
        cases[header] = first.reindex(index)
        attributes.append(header)
        if len(attributes) >= MAX_ATTRIBUTES:
            break
    return cases, attributes


def _per_case(values: pd.Series, keys: pd.Series) -> pd.Series:
    """The first non-missing value of each case."""
    frame = pd.DataFrame({"key": keys.to_numpy(), "value": values.to_numpy()})
    frame = frame[frame["value"].notna() & (frame["value"].astype(str) != "")]
    return frame.groupby("key", sort=False)["value"].first()


def read_step_mapping(path: Path | str) -> dict[str, str]:
    """A mapping of the records' step names to a procedure's step ids.

    Either YAML (``record name: step_id`` lines) or CSV with two columns (record name,
    step id; a header row is optional).

    Raises:
        InputError: The file cannot be read, or an entry is not a name and an id.
    """
    path = Path(path)
    if path.suffix.lower() in (".yaml", ".yml"):
        from sim.inputs.yaml import line_of, read_yaml

        data = read_yaml(path)
        mapping = {}
        for key, value in data.items():
            if not isinstance(value, str) or not value.strip():
                raise InputError(
                    "map each record step name to a step id (text)",
                    file=path,
                    line=line_of(data, (key,)),
                    field=str(key),
                )
            mapping[str(key).strip()] = value.strip()
        return mapping
    table, lines = read_table(path)
    if table.shape[1] < 2:
        raise InputError("a mapping table needs two columns: record step name, step id", file=path)
    header = [str(c).strip() for c in table.columns[:2]]
    rows = [tuple(str(v).strip() for v in row[:2]) for row in table.itertuples(index=False)]
    # A header that is itself a pair (no "step" or "id" word) is a first data row.
    if not any(word in " ".join(header).lower() for word in ("step", "id", "name", "环节")):
        rows.insert(0, (header[0], header[1]))
    mapping = {}
    for (name, step), line in zip(rows, [1, *lines.tolist()][-len(rows) :], strict=True):
        if not name or not step:
            raise InputError(
                "a row without a record step name or a step id", file=path, line=int(line)
            )
        mapping[name] = step
    return mapping
