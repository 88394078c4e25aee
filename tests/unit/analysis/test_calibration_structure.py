"""Structure from records: order, side by side, optional routes; ready times, queues, staff."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.analysis.calibration import discovery, timeline
from sim.analysis.calibration.discovery import Structure, match_procedure
from sim.analysis.calibration.period import end_steps, open_cases
from sim.domain.errors import InputError
from sim.inputs.loader import procedure_from_data


def executions(rows, timed=True):
    """(case, step, start, end) rows into prepared executions."""
    frame = pd.DataFrame(rows, columns=["case", "step", "start", "end"])
    if not timed:
        frame["start"] = np.nan
    frame["agency"] = "desk"
    return timeline.prepare(frame)


def parallel_cases(n=40, timed=True):
    rows = []
    for i in range(n):
        case = f"c{i}"
        rows += [(case, "intake", 0, 1)]
        # review and survey overlap, in either order of ending
        first, second = (2.0, 3.0) if i % 2 else (3.0, 2.0)
        rows += [(case, "review", 1, 1 + first), (case, "survey", 1.2, 1 + second)]
        rows += [(case, "decision", 4.5, 5)]
    return executions(rows, timed)


def discover(frame):
    cases = timeline.case_table(frame)
    return discovery.discover(
        frame, cases.index, {s: "desk" for s in frame["step"].unique()}, {"desk": "desk"}
    )


@pytest.mark.parametrize("timed", [True, False])
def test_serial_and_side_by_side_steps(timed):
    structure = discover(parallel_cases(timed=timed))
    assert structure.ids[0] == "intake" and structure.ids[-1] == "decision"
    assert structure.after["review"] == ("intake",)
    assert structure.after["survey"] == ("intake",)
    assert set(structure.after["decision"]) == {"review", "survey"}  # reduced: no intake
    assert ("review", "survey") in structure.parallel or ("survey", "review") in structure.parallel
    assert structure.routes == ()  # every case takes every step


def test_optional_steps_become_routes():
    rows = []
    for i in range(50):
        rows.append((f"c{i}", "intake", 0, 1))
        if i % 5 == 0:
            rows.append((f"c{i}", "expert review", 1, 6))
        rows.append((f"c{i}", "decision", 6, 7))
    structure = discover(executions(rows))
    assert [route.share for route in structure.routes] == [0.8, 0.2]
    assert structure.condition("expert_review") == 'route in ["r2"]'
    assert structure.condition("decision") is None
    assert structure.after["decision"] == ("expert_review",)  # a skipped step passes through


def test_rare_routes_are_folded_and_their_steps_dropped():
    rows = []
    for i in range(200):
        rows += [(f"c{i}", "intake", 0, 1), (f"c{i}", "decision", 2, 3)]
    rows.append(("odd", "intake", 0, 1))
    rows.append(("odd", "strange", 1, 2))
    rows.append(("odd", "decision", 2, 3))
    structure = discover(executions(rows))
    assert structure.folded == 1
    assert structure.dropped == ("strange",)
    assert "strange" not in structure.ids


def test_chinese_names_get_identifiers():
    rows = [(f"c{i}", step, n, n + 1) for i in range(5) for n, step in enumerate(["受理", "审核"])]
    structure = discover(executions(rows))
    assert structure.ids == ("step_1", "step_2")
    assert structure.names == {"step_1": "受理", "step_2": "审核"}


def test_ready_times_follow_the_ancestors_and_repeats():
    frame = executions([("c", "a", 0, 1), ("c", "b", 2, 3), ("c", "b", 5, 6), ("c", "c", 7, 8)])
    structure = Structure(("a", "b", "c"), {}, {"b": ("a",), "c": ("b",)}, {})
    cases = timeline.case_table(frame)
    ready, deviations = timeline.ready_times(frame, structure.ancestors(), cases["first"])
    assert ready.tolist() == [0.0, 1.0, 3.0, 6.0]  # the repeat of b is ready when b ended
    assert deviations == {"b": 0, "c": 0}


def test_queue_is_the_part_of_a_gap_all_staff_were_busy():
    # One staff member busy 0-2; a second execution ready at 1 starts at 2: 1 day of queue.
    frame = executions([("c1", "a", 0, 2), ("c2", "a", 2, 3)])
    ready = pd.Series([0.0, 1.0], index=frame.index)
    assert timeline.peak_staff(frame) == {"desk": 1}
    queue = timeline.queue_parts(frame, ready, {"desk": 1})
    assert queue.tolist() == [0.0, 1.0]
    assert timeline.queue_parts(frame, ready, {"desk": None}).tolist() == [0.0, 0.0]


def test_open_cases_end_on_a_step_that_rarely_ends_a_case():
    rows = [(f"c{i}", s, n, n + 1) for i in range(30) for n, s in enumerate(["a", "b", "c"])]
    rows += [("late", "a", 50, 51), ("late", "b", 51, 52)]  # cut off by the export
    frame = executions(rows)
    cases = timeline.case_table(frame)
    ends = end_steps(frame, cases, export_end=52.0)
    assert ends == frozenset({"c"})
    flags = open_cases(cases, ends)
    assert flags["late"] and not flags["c0"]
    status = pd.Series({"late": "办结"})
    assert not open_cases(cases, ends, status)["late"]  # a status column decides


PROCEDURE = {
    "id": "proc",
    "name": {"zh": "测试", "en": "test"},
    "target": {"working_days": 5, "source": "t"},
    "steps": [
        {
            "id": "intake",
            "name": {"zh": "受理", "en": "Intake"},
            "agency": "desk",
            "handling": 1,
            "source": "t",
        },
        {
            "id": "review",
            "name": {"zh": "审核", "en": "Review"},
            "agency": "desk",
            "after": ["intake"],
            "handling": 1,
            "source": "t",
        },
    ],
}


def test_matching_a_procedure_by_names_and_mapping(tmp_path):
    procedure = procedure_from_data(PROCEDURE, tmp_path / "proc.yaml")
    structure = match_procedure(procedure, ["受理", "REVIEW ", "other"])
    assert structure.names == {"intake": "受理", "review": "REVIEW "}
    assert structure.dropped == ("other",)
    mapped = match_procedure(procedure, ["窗口收件", "审核"], {"窗口收件": "intake"})
    assert mapped.names["intake"] == "窗口收件"
    with pytest.raises(InputError, match="does not have"):
        match_procedure(procedure, ["x"], {"x": "nowhere"})
    with pytest.raises(InputError, match="no step name of the records"):
        match_procedure(procedure, ["x", "y"])


def test_people_busy_at_once_count_a_person_once():
    frame = executions([("c1", "a", 0, 2), ("c2", "a", 1, 3), ("c3", "a", 0.5, 1.5)])
    frame["resource"] = ["ann", "ann", "bo"]  # ann works on two files at once
    assert timeline.peak_staff(frame) == {"desk": 3}  # files in hand: the engine's staff
    assert timeline.peak_staff(frame, people=True) == {"desk": 2}
