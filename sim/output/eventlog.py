"""Simulated step executions as an event log (CSV or XES) for process-mining tools.

Every executed step (a row of the step table) gives two events: ``start`` when staff
took the file (``start_day``) and ``complete`` when the step was over (``end_day``,
after any waiting such as public notice or expert review); the queue before it is the
gap from the previous event. A revocation (a failed commitment or post-check that
revoked the approval) is a single ``complete`` event. Activities are the step names in
the chosen language (a rework gets its own activity); the resource is the agency (``+``
joins the agencies of a joint step).

Timestamps are real dates and times: the working-day clock ``c`` is the working day
``floor(c)`` of the scenario's calendar (holidays skipped, 调休 weekends worked) plus the
fraction ``c - floor(c)`` of an **8-hour office day starting at 09:00**, in China
Standard Time (Asia/Shanghai, UTC+08:00). A clock value of exactly ``n`` is 09:00 on
working day ``n``.

A trace is one simulated case of one variant and replication; its ``concept:name`` is
``<variant>/<replication>/<case id>`` (the same case id runs in every variant). Trace
attributes: variant, replication, procedure, status, elapsed working days, approval-clock
days and the case's attributes (typed: boolean, int, float, string).

XES follows IEEE 1849-2016 (XES 1.0) with the Concept, Lifecycle, Time and
Organizational standard extensions. The CSV has one row per event and names its
columns as XES does, the pm4py convention: ``case:concept:name, concept:name,
lifecycle:transition, time:timestamp, org:resource``, then the event's ``step,
outcome, attempt``, then every case attribute prefixed ``case:`` (``case:variant,
case:replication, case:procedure, case:status, ...``). Each column has one type
throughout, so that a reader that guesses types block by block (pandas) guesses the
same in every block: booleans as 1 and 0, numbers as numbers (empty where a case has
none), text as text, with ``(none)`` for a case whose procedure lacks the attribute.

Both writers stream the events and report progress; `eventlog_bytes` estimates a log's
size before a run starts (a log of a large run can reach gigabytes).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import quoteattr

import numpy as np
import pandas as pd

from sim.analysis.casepath import VariantProcedures
from sim.domain.calendar import OFFICE_HOURS, OFFICE_START_HOUR
from sim.domain.model import Name, Scenario
from sim.output.tables import spreadsheet_safe
from sim.run.experiment import RunResult
from sim.run.files import write_atomically

FORMATS = ("csv", "xes")
TIMEZONE = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")

CSV_COLUMNS = (
    "case_id",
    "activity",
    "lifecycle",
    "timestamp",
    "resource",
    "step",
    "outcome",
    "attempt",
    "variant",
    "replication",
    "procedure",
)
"""The columns of `event_table`'s events."""

# Header of the CSV log: the event columns under their XES names, then the case's.
CSV_HEADER = (
    "case:concept:name",
    "concept:name",
    "lifecycle:transition",
    "time:timestamp",
    "org:resource",
    "step",
    "outcome",
    "attempt",
)
NOT_APPLICABLE = "(none)"
# Bytes an event takes in each format (measured on the bundled scenarios, rounded up) and
# the size past which a run says so before it starts.
EVENT_BYTES = {"csv": 260, "xes": 720}
LARGE_EVENTLOG = 1_000_000_000
PROGRESS_EVERY = 20_000

_INVALID_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def timestamps(clock: np.ndarray | Iterable[float], scenario: Scenario) -> list[dt.datetime | None]:
    """Real date-times of working-day clock values (see the module doc); None for NaN.

    Args:
        clock: Working-day clock values.
        scenario: The scenario whose calendar maps working days to dates.

    Returns:
        Timezone-aware datetimes (UTC+08:00).
    """
    values = np.asarray(clock, dtype=float)
    dates = scenario.calendar.dates_of(values)
    out: list[dt.datetime | None] = []
    for value, day in zip(values.tolist(), dates.tolist(), strict=True):
        if value is None or math.isnan(value) or day is None:
            out.append(None)
            continue
        fraction = value - math.floor(value)
        seconds = round(fraction * OFFICE_HOURS * 3600, 3)
        moment = dt.datetime(day.year, day.month, day.day, OFFICE_START_HOUR, tzinfo=TIMEZONE)
        out.append(moment + dt.timedelta(seconds=seconds))
    return out


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def _clean(value: Any) -> str:
    return _INVALID_XML.sub("", str(value))


def _activity_names(scenario: Scenario, variants: Iterable[str]) -> dict[tuple, Name]:
    names: dict[tuple, Name] = {}
    for variant in variants:
        procedures = VariantProcedures.of(scenario, variant)
        for procedure in procedures.demands:
            for step_id, step in procedures.steps(procedure).items():
                names[(variant, procedure, step_id)] = step.name
    return names


def event_table(
    result: RunResult,
    lang: str = "zh",
    replications: Iterable[int] | None = None,
    variants: Iterable[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The events and the traces of a run as two frames.

    Args:
        result: The run.
        lang: ``zh`` or ``en``: the language of the activity names.
        replications: Replications to include (default: all whose steps were kept).
        variants: Variants to include (default: all).

    Returns:
        ``(events, traces)``: events with `CSV_COLUMNS` (``timestamp`` a datetime) in
        trace and time order; traces with ``case_id``, ``variant``, ``replication``,
        ``procedure``, ``status``, ``elapsed_working_days``, ``approval_clock_days`` and
        ``attributes`` (a dict).
    """
    scenario = result.scenario
    steps = result.steps
    cases = result.cases
    if replications is not None:
        wanted = set(replications)
        steps = steps[steps["replication"].isin(wanted)]
        cases = cases[cases["replication"].isin(wanted)]
    else:
        cases = cases[cases["replication"].isin(set(pd.unique(steps["replication"])))]
    if variants is not None:
        chosen = set(variants)
        steps = steps[steps["variant"].isin(chosen)]
        cases = cases[cases["variant"].isin(chosen)]
    names = _activity_names(scenario, pd.unique(steps["variant"]))
    suffix = {
        "rework": (" (整改)", " (rework)"),
        "revoked": (" (撤销)", " (revoked)"),
    }

    def activity(row) -> str:
        name = names.get((row.variant, row.procedure, row.step), Name(row.step, row.step))
        label = name.label(lang)
        extra = suffix.get(row.outcome)
        return label + (extra[0] if lang == "zh" else extra[1]) if extra else label

    steps = steps.sort_values(
        ["variant", "replication", "case_id", "start_day", "end_day"], kind="stable"
    )
    start_times = timestamps(steps["start_day"].to_numpy(float), scenario)
    end_times = timestamps(steps["end_day"].to_numpy(float), scenario)
    records = []
    for row, start, end in zip(steps.itertuples(index=False), start_times, end_times, strict=True):
        case_id = f"{row.variant}/{row.replication}/{row.case_id}"
        common = {
            "case_id": case_id,
            "activity": activity(row),
            "resource": str(row.agency),
            "step": str(row.step),
            "outcome": str(row.outcome),
            "attempt": int(row.attempt),
            "variant": str(row.variant),
            "replication": int(row.replication),
            "procedure": str(row.procedure),
        }
        if row.outcome != "revoked":
            records.append({**common, "lifecycle": "start", "timestamp": start})
        records.append({**common, "lifecycle": "complete", "timestamp": end})
    events = pd.DataFrame(records, columns=list(CSV_COLUMNS))
    if len(events):
        events["_order"] = np.arange(len(events))
        events = events.sort_values(["case_id", "timestamp", "_order"], kind="stable")
        events = events.drop(columns="_order").reset_index(drop=True)
    traces = pd.DataFrame(
        {
            "case_id": [
                f"{v}/{r}/{c}"
                for v, r, c in zip(
                    cases["variant"], cases["replication"], cases["case_id"], strict=True
                )
            ],
            "variant": cases["variant"].astype(str).to_numpy(),
            "replication": cases["replication"].astype(int).to_numpy(),
            "procedure": cases["procedure"].astype(str).to_numpy(),
            "status": cases["status"].astype(str).to_numpy(),
            "elapsed_working_days": cases["elapsed_working_days"].to_numpy(float),
            "approval_clock_days": cases["approval_clock_days"].to_numpy(float),
            "attributes": [_attributes(a) for a in cases["attributes"]],
        }
    )
    traces = traces[traces["case_id"].isin(set(events["case_id"]))].reset_index(drop=True)
    return events, traces


def _attributes(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value:
        try:
            found = json.loads(value)
        except ValueError:
            return {}
        return found if isinstance(found, dict) else {}
    return {}


def _trace_values(trace) -> dict[str, Any]:
    values: dict[str, Any] = {
        "variant": trace.variant,
        "replication": int(trace.replication),
        "procedure": trace.procedure,
        "status": trace.status,
    }
    for key in ("elapsed_working_days", "approval_clock_days"):
        value = float(getattr(trace, key))
        if math.isfinite(value):
            values[key] = value
    for key, value in trace.attributes.items():
        values.setdefault(str(key), value)
    return values


def _write_csv(events: pd.DataFrame, traces: pd.DataFrame, handle: IO[str], progress) -> None:
    attribute_keys: list[str] = []
    kinds: dict[str, str] = {}
    by_case = {}
    for trace in traces.itertuples(index=False):
        values = _trace_values(trace)
        by_case[trace.case_id] = values
        for key, value in values.items():
            if key not in attribute_keys:
                attribute_keys.append(key)
            kinds[key] = _kind(value, kinds.get(key))
    writer = csv.writer(handle, lineterminator="\n")
    header = [*CSV_HEADER, *(f"case:{key}" for key in attribute_keys)]
    writer.writerow([spreadsheet_safe(name) for name in header])
    missing = {key: "" if kinds[key] == "number" else NOT_APPLICABLE for key in attribute_keys}
    for number, event in enumerate(events.itertuples(index=False), start=1):
        case = by_case.get(event.case_id, {})
        row = [
            event.case_id,
            event.activity,
            event.lifecycle,
            _iso(event.timestamp),
            event.resource,
            event.step,
            event.outcome,
            event.attempt,
            *(_csv_value(case[key]) if key in case else missing[key] for key in attribute_keys),
        ]
        writer.writerow([spreadsheet_safe(value) for value in row])
        if progress and number % PROGRESS_EVERY == 0:
            progress(number, len(events))


def _kind(value: Any, before: str | None) -> str:
    """``number`` while every value of a column is a number or a boolean, else ``text``."""
    number = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, str)
    return "number" if number and before in (None, "number") else "text"


def _csv_value(value: Any) -> Any:
    if isinstance(value, (bool, np.bool_)):
        return 1 if value else 0
    return value


def _xes_attribute(key: str, value: Any) -> str:
    key = quoteattr(_clean(key))
    if isinstance(value, bool) or isinstance(value, np.bool_):
        return f"<boolean key={key} value={quoteattr('true' if value else 'false')}/>"
    if isinstance(value, int | np.integer):
        return f"<int key={key} value={quoteattr(str(int(value)))}/>"
    if isinstance(value, float | np.floating):
        if not math.isfinite(float(value)):
            return ""
        return f"<float key={key} value={quoteattr(repr(float(value)))}/>"
    if isinstance(value, dt.datetime):
        return f"<date key={key} value={quoteattr(_iso(value))}/>"
    return f"<string key={key} value={quoteattr(_clean(value))}/>"


def _write_xes(
    events: pd.DataFrame, traces: pd.DataFrame, scenario: Scenario, handle: IO[str], progress
) -> None:
    write = handle.write
    write('<?xml version="1.0" encoding="UTF-8" ?>\n')
    write(
        '<log xes.version="1.0" xes.features="" '
        'openxes.version="1.0RC7" xmlns="http://www.xes-standard.org/">\n'
    )
    for name, prefix, uri in (
        ("Concept", "concept", "http://www.xes-standard.org/concept.xesext"),
        ("Lifecycle", "lifecycle", "http://www.xes-standard.org/lifecycle.xesext"),
        ("Time", "time", "http://www.xes-standard.org/time.xesext"),
        ("Organizational", "org", "http://www.xes-standard.org/org.xesext"),
    ):
        write(f'  <extension name="{name}" prefix="{prefix}" uri="{uri}"/>\n')
    write(
        '  <global scope="trace">\n'
        '    <string key="concept:name" value="__INVALID__"/>\n'
        "  </global>\n"
    )
    write(
        '  <global scope="event">\n'
        '    <string key="concept:name" value="__INVALID__"/>\n'
        '    <string key="lifecycle:transition" value="complete"/>\n'
        '    <date key="time:timestamp" value="1970-01-01T00:00:00.000+00:00"/>\n'
        '    <string key="org:resource" value="__INVALID__"/>\n'
        "  </global>\n"
    )
    write('  <classifier name="Activity" keys="concept:name"/>\n')
    write(
        '  <classifier name="Activity and lifecycle" keys="concept:name lifecycle:transition"/>\n'
    )
    write(f"  {_xes_attribute('concept:name', scenario.title or scenario.name)}\n")
    write(f"  {_xes_attribute('lifecycle:model', 'standard')}\n")
    grouped = {case_id: frame for case_id, frame in events.groupby("case_id", sort=False)}
    written = 0
    for trace in traces.itertuples(index=False):
        frame = grouped.get(trace.case_id)
        if frame is None:
            continue
        write("  <trace>\n")
        write(f"    {_xes_attribute('concept:name', trace.case_id)}\n")
        for key, value in _trace_values(trace).items():
            if key.startswith("concept:"):
                continue
            line = _xes_attribute(key, value)
            if line:
                write(f"    {line}\n")
        for event in frame.itertuples(index=False):
            write("    <event>\n")
            for key, value in (
                ("concept:name", event.activity),
                ("lifecycle:transition", event.lifecycle),
                ("time:timestamp", event.timestamp),
                ("org:resource", event.resource),
                ("step", event.step),
                ("outcome", event.outcome),
                ("attempt", int(event.attempt)),
            ):
                write(f"      {_xes_attribute(key, value)}\n")
            write("    </event>\n")
        write("  </trace>\n")
        before, written = written, written + len(frame)
        if progress and written // PROGRESS_EVERY > before // PROGRESS_EVERY:
            progress(written, len(events))
    write("</log>\n")


def write_eventlog(
    result: RunResult,
    path: Path,
    format: str = "csv",  # noqa: A002 - the CLI's word
    lang: str = "zh",
    replications: Iterable[int] | None = None,
    variants: Iterable[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write the run's step executions as an event log, atomically.

    Args:
        result: The run (its step table; by default every replication whose steps were
            kept).
        path: The file to write (``.csv`` or ``.xes``); a folder gets ``eventlog.<format>``.
        format: ``csv`` or ``xes``.
        lang: ``zh`` or ``en``: the language of the activity names.
        replications: Replications to include (default: all kept).
        variants: Variants to include (default: all).
        progress: Called with (events written, events) as the log is written.

    Returns:
        The file written.

    Raises:
        ValueError: On an unknown format.
    """
    if format not in FORMATS:
        raise ValueError(f"unknown event-log format '{format}'; use one of {', '.join(FORMATS)}")
    path = Path(path)
    if path.is_dir():
        path = path / f"eventlog.{format}"
    events, traces = event_table(result, lang=lang, replications=replications, variants=variants)

    def write(temporary: Path) -> None:
        with temporary.open("w", encoding="utf-8", newline="") as handle:
            if format == "csv":
                _write_csv(events, traces, handle, progress)
            else:
                _write_xes(events, traces, result.scenario, handle, progress)
        if progress:
            progress(len(events), len(events))

    write_atomically(path, write)
    return path


def eventlog_bytes(
    scenario: Scenario,
    variants: Sequence[str],
    replications: int,
    format: str = "csv",  # noqa: A002
) -> float:
    """About how large a run's event log will be, before it runs.

    Args:
        scenario: The resolved scenario.
        variants: The variants run.
        replications: The replications whose step rows the log holds.
        format: ``csv`` or ``xes``.
    """
    steps = sum(
        d.arrivals_per_day * scenario.horizon.arrival_days * len(d.procedure.steps)
        for name in variants
        for d in scenario.model(name).demands
    )
    return 2 * steps * replications * EVENT_BYTES[format]
