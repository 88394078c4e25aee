"""The median case, its critical path and what drives the slow tail."""

from __future__ import annotations

import pandas as pd
import pytest

from sim.analysis import casepath


def _steps(rows):
    columns = ["step", "agency", "attempt", "outcome", "ready_day", "start_day", "handled_day"]
    frame = pd.DataFrame(rows, columns=[*columns, "end_day"])
    return frame


def test_critical_path_walks_back_through_send_backs_and_joins():
    steps = _steps(
        [
            ("intake", "desk", 1, "sent_back", 0.0, 0.0, 0.5, 0.5),
            ("intake", "desk", 2, "accepted", 1.5, 1.5, 2.0, 2.0),
            ("review", "review", 1, "accepted", 2.0, 2.2, 2.5, 4.0),
            ("survey", "review", 1, "accepted", 2.0, 2.0, 2.3, 3.0),
            ("permit", "desk", 1, "accepted", 4.0, 4.0, 4.2, 4.2),
        ]
    )
    path = casepath.critical_path(steps)
    assert list(steps.loc[path, "step"]) == ["intake", "intake", "review", "permit"]
    parts = casepath.path_parts(steps, 0.0, path)
    assert sum(days for _, _, days in parts) == pytest.approx(4.2)
    kinds = {}
    for _, kind, days in parts:
        kinds[kind] = kinds.get(kind, 0.0) + days
    assert kinds == pytest.approx(
        {"handling": 0.5 + 0.5 + 0.3 + 0.2, "correction": 1.0, "queue": 0.2, "waiting": 1.5}
    )


def test_median_case_is_the_same_case_in_every_variant(small_run):
    result, _ = small_run
    chosen = casepath.median_case(result.cases, "proc", list(result.variants))
    assert set(chosen) == set(result.variants)
    assert len(set(chosen.values())) == 1


def test_tail_drivers_shares_add_up(small_run):
    result, _ = small_run
    drivers = casepath.tail_drivers(result.cases, result.steps, result.scenario, "proc", "baseline")
    assert len(drivers)
    assert drivers["tail_share"].sum() == pytest.approx(1.0)
    assert drivers["all_share"].sum() == pytest.approx(1.0)
