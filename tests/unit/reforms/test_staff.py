"""Reforms of staffing: added staff.
"""

from __future__ import annotations

from sim import load_scenario
from sim.reforms import resolve_variant
from tests.factories import procedure, reform, step, write_scenario
from tests.unit.reforms.helpers import both, elapsed


def test_add_staff_removes_queueing(tmp_path):
    crowded = procedure("p", [step("a", 1)])
    path = write_scenario(
        tmp_path, [crowded], [reform("add_staff", agency="office", set=50)], staff={"office": 1}
    )
    (base, _), (cases, _) = both(path)
    assert base["elapsed_working_days"].max() > 1.5
    assert elapsed(cases) == {1.0}
    model = resolve_variant(load_scenario(path), "v")
    assert model.fired == ("add_staff#1",)
    assert {a.id: a.staff for a in model.agencies}["office"] == 50
    path = write_scenario(
        tmp_path, [crowded], [reform("add_staff", agency="office", add=2)], staff={"office": 1}
    )
    assert {a.id: a.staff for a in resolve_variant(load_scenario(path), "v").agencies}["office"] == 3
