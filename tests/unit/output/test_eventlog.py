"""Event logs: CSV and XES of the simulated step executions, real timestamps."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pandas as pd
import pytest

import sim
from sim import load_scenario
from sim.output.eventlog import timestamps, write_eventlog
from tests.factories import PROJECT_ROOT, agencies, scenario_text, shortened, write_case

PROCEDURE = """
id: proc
name: {zh: 测试, en: Test}
target: {working_days: 3, source: "test"}
attributes:
  - {id: size, kind: categorical, shares: {small: 0.7, large: 0.3}, source: "test"}
  - {id: urgent, kind: boolean, probability: 0.5, source: "test"}
  - {id: area, kind: numeric, distribution: {type: uniform, min: 1, max: 5}, source: "test"}
steps:
  - id: intake
    name: {zh: 受理, en: Intake}
    agency: desk
    handling: {type: exponential, mean: 0.3}
    materials: [{id: form, name: 表, kind: main, probability_defective: 0.3}]
    send_back: {response: {type: exponential, mean: 2}, max_resubmissions: 2}
    source: "test"
  - id: review
    name: {zh: "审查 & <核>", en: "Review & <check>"}
    agency: review
    handling: {type: lognormal, median: 0.6, p90: 1.5}
    waiting: {type: uniform, min: 1, max: 3}
    after: [intake]
    source: "test"
"""

FASTER = """
variants:
  - name: faster
    reforms:
      - {type: time_limit, procedure: proc, steps: [review], scale: 0.5, source: "test"}
"""

XES = "{http://www.xes-standard.org/}"


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    folder = tmp_path_factory.mktemp("eventlog")
    # 2025-09-30 is followed by the National Day holiday (2025-10-01 to 10-08).
    text = scenario_text(
        agencies(desk=1, review=1), rate=1.5, start="2025-09-30", days=10, drain=40, extra=FASTER
    )
    scenario = load_scenario(write_case(folder, PROCEDURE, text))
    return sim.run(scenario, replications=2, seed=5)


def _value(element, key):
    for child in element:
        if child.get("key") == key:
            return child.tag.replace(XES, ""), child.get("value")
    return None, None


def test_timestamps_follow_the_working_day_calendar(result):
    scenario = result.scenario
    stamps = timestamps([0.0, 0.5, 1.25, float("nan")], scenario)
    tz = dt.timezone(dt.timedelta(hours=8))
    assert stamps[0] == dt.datetime(2025, 9, 30, 9, 0, tzinfo=tz)
    assert stamps[1] == dt.datetime(2025, 9, 30, 13, 0, tzinfo=tz)
    # The holiday week is skipped: working day 1 is 2025-10-09.
    assert stamps[2] == dt.datetime(2025, 10, 9, 11, 0, tzinfo=tz)
    assert stamps[3] is None


def test_xes_round_trips_through_the_standard_library(result, tmp_path):
    path = write_eventlog(result, tmp_path / "log.xes", format="xes", lang="en")
    root = ET.parse(path).getroot()
    assert root.tag == f"{XES}log"
    extensions = {e.get("prefix") for e in root.findall(f"{XES}extension")}
    assert {"concept", "lifecycle", "time", "org"} <= extensions
    traces = root.findall(f"{XES}trace")
    steps = result.steps
    expected_traces = steps.groupby(["variant", "replication", "case_id"]).ngroups
    assert len(traces) == expected_traces
    events = root.findall(f"{XES}trace/{XES}event")
    revoked = int((steps["outcome"] == "revoked").sum())
    assert len(events) == 2 * (len(steps) - revoked) + revoked
    scenario = result.scenario
    activities = set()
    for trace in traces:
        kind, name = _value(trace, "concept:name")
        variant, replication, case_id = name.split("/")
        assert variant in result.variants and case_id.startswith("proc-")
        assert _value(trace, "size")[0] == "string"
        assert _value(trace, "urgent")[0] == "boolean"
        assert _value(trace, "area")[0] == "float"
        assert _value(trace, "replication") == ("int", replication)
        previous = None
        for event in trace.findall(f"{XES}event"):
            _, activity = _value(event, "concept:name")
            activities.add(activity)
            assert _value(event, "lifecycle:transition")[1] in ("start", "complete")
            assert _value(event, "org:resource")[1] in ("desk", "review", "")
            kind, stamp = _value(event, "time:timestamp")
            assert kind == "date"
            moment = dt.datetime.fromisoformat(stamp)
            assert moment.utcoffset() == dt.timedelta(hours=8)
            assert dt.time(9) <= moment.time() <= dt.time(17)
            assert scenario.calendar.is_workday(moment.date())
            assert previous is None or moment >= previous
            previous = moment
    assert {"Intake", "Review & <check>"} <= activities


def test_csv_event_log(result, tmp_path):
    path = write_eventlog(result, tmp_path, format="csv", replications=[0], variants=["baseline"])
    assert path.name == "eventlog.csv"
    log = pd.read_csv(path)
    assert list(log.columns[:8]) == [
        "case:concept:name",
        "concept:name",
        "lifecycle:transition",
        "time:timestamp",
        "org:resource",
        "step",
        "outcome",
        "attempt",
    ]
    # Every case attribute is prefixed, the run's own (variant, replication) included.
    case_columns = [c for c in log.columns[8:]]
    assert all(c.startswith("case:") for c in case_columns)
    assert {"case:variant", "case:replication", "case:procedure", "case:status"} <= set(
        case_columns
    )
    assert {"case:size", "case:urgent", "case:area"} <= set(case_columns)
    steps = result.steps.query("replication == 0 and variant == 'baseline'")
    assert len(log) == 2 * len(steps)
    assert log["case:concept:name"].str.startswith("baseline/0/").all()
    assert set(log["concept:name"]) == {"受理", "审查 & <核>"}
    stamps = pd.to_datetime(log["time:timestamp"])
    assert str(stamps.dt.tz) == "UTC+08:00"
    # Booleans as 1 and 0, numbers as numbers.
    assert set(log["case:urgent"].dropna()) <= {0, 1}
    assert log["case:area"].dtype.kind == "f" and log["case:replication"].dtype.kind == "i"


@pytest.mark.slow  # a run of the demo, or a second run and a report: -m slow
def test_csv_event_log_reads_without_mixed_types(tmp_path):
    # A column empty in one block of rows and text in another made pandas warn
    # (DtypeWarning) on a large log: each column has one type throughout. The demo's
    # procedures have different attributes, so each attribute is missing for most cases.
    import warnings

    scenario = shortened(PROJECT_ROOT / "scenarios" / "demo.yaml", 3)
    run = sim.run(scenario, replications=1, variants=["baseline"])
    path = write_eventlog(run, tmp_path, format="csv")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        log = pd.read_csv(path, low_memory=True, chunksize=7)
        blocks = list(log)
    # pandas warns when a column is text in one block and not in another (a block where it
    # is empty reads as numbers): blocks of 7 rows stand for its blocks of a large file.
    kinds = {
        column: {block[column].dtype.kind in "iufb" for block in blocks}
        for column in blocks[0].columns
    }
    mixed = {c for c, k in kinds.items() if len(k) > 1}
    assert not mixed


def test_progress_counts_the_events(result, tmp_path, monkeypatch):
    import sim.output.eventlog as eventlog

    monkeypatch.setattr(eventlog, "PROGRESS_EVERY", 5)
    for format in ("csv", "xes"):
        seen = []
        write_eventlog(
            result, tmp_path / f"log.{format}", format, progress=lambda d, t, s=seen: s.append((d, t))
        )
        total = seen[-1][1]
        assert (
            seen[-1] == (total, total)
            and total == 2 * len(result.steps) - (result.steps["outcome"] == "revoked").sum()
        )
        assert len(seen) > 3 and all(a[0] <= b[0] for a, b in zip(seen, seen[1:], strict=False))


def test_eventlog_size_estimate_is_near_what_is_written(result, tmp_path):
    from sim.output.eventlog import eventlog_bytes

    for format in ("csv", "xes"):
        path = write_eventlog(result, tmp_path / f"log.{format}", format, replications=[0])
        estimate = eventlog_bytes(result.scenario, result.variants, 1, format)
        # The estimate counts every step once (no send-backs, no skipped steps): within 3x.
        assert path.stat().st_size / 3 < estimate < 3 * path.stat().st_size


def test_unknown_format_is_refused(result, tmp_path):
    with pytest.raises(ValueError, match="unknown event-log format"):
        write_eventlog(result, tmp_path / "log.json", format="json")


def test_pm4py_reads_the_xes(result, tmp_path):
    pm4py = pytest.importorskip("pm4py")
    path = write_eventlog(result, tmp_path / "log.xes", format="xes")
    log = pm4py.read_xes(str(path))
    frame = log if isinstance(log, pd.DataFrame) else pm4py.convert_to_dataframe(log)
    assert {"concept:name", "lifecycle:transition", "time:timestamp", "org:resource"} <= set(
        frame.columns
    )
    assert len(frame) == 2 * len(result.steps) - int((result.steps["outcome"] == "revoked").sum())
