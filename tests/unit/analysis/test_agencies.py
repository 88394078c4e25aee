"""Agency load (utilisation, queues, overload warnings) on hand-made tables."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from sim.analysis.agencies import AGENCY_COLUMNS, agency_load, busiest_agency
from sim.domain.model import Agency, Name
from tests.factories import TABLE_AGENCIES, step_rows, table_scenario


def test_agency_load_utilisation_and_unlimited_staff():
    scenario = table_scenario(variants=("baseline",), agencies=TABLE_AGENCIES, arrival_days=100.0)
    busy = pd.DataFrame(
        {
            "replication": [0, 0, 1, 1],
            "variant": "baseline",
            "agency": ["desk", "review", "desk", "review"],
            "busy_days": [120.0, 50.0, 140.0, 70.0],
        }
    )
    steps = step_rows(
        [
            {"replication": r, "agency": "desk+review", "ready_day": 10.0 + i, "queue_days": q}
            for r in (0, 1)
            for i, q in enumerate((0.0, 1.0, 2.0))
        ]
    )
    table = agency_load(steps, busy, scenario)
    assert tuple(table.columns) == AGENCY_COLUMNS
    desk = table.set_index("agency").loc["desk"]
    review = table.set_index("agency").loc["review"]
    assert desk["staff"] == 2
    assert desk["utilisation"] == pytest.approx((0.6 + 0.7) / 2)
    assert desk["utilisation_low"] < desk["utilisation"] < desk["utilisation_high"]
    assert desk["replications"] == 2
    assert pd.isna(review["staff"])
    assert math.isnan(review["utilisation"])
    # The joint step counts for both agencies.
    assert desk["mean_queue_days"] == pytest.approx(1.0)
    assert review["mean_queue_days"] == pytest.approx(1.0)
    assert not desk["overloaded"] and not review["overloaded"]
    assert busiest_agency(table, "baseline") == ("desk", pytest.approx(0.65))


def test_agency_load_flags_full_utilisation():
    scenario = table_scenario(variants=("baseline",), agencies=TABLE_AGENCIES, arrival_days=100.0)
    busy = pd.DataFrame(
        {"replication": [0], "variant": ["baseline"], "agency": ["desk"], "busy_days": [210.0]}
    )
    table = agency_load(pd.DataFrame(), busy, scenario)
    desk = table.set_index("agency").loc["desk"]
    assert desk["utilisation"] == pytest.approx(1.05)
    assert desk["overloaded"]
    assert "utilisation 1.05" in desk["warning"] and "desk" in desk["warning"]
    assert math.isnan(desk["mean_queue_days"])


def test_agency_load_flags_a_growing_queue():
    scenario = table_scenario(
        variants=("baseline",), agencies=TABLE_AGENCIES, arrival_days=100.0, warmup=20.0
    )
    busy = pd.DataFrame(
        {"replication": [0], "variant": ["baseline"], "agency": ["desk"], "busy_days": [180.0]}
    )
    rows = [{"agency": "desk", "ready_day": 5.0, "queue_days": 50.0}]  # warm-up, dropped
    rows += [{"agency": "desk", "ready_day": 20.0 + i, "queue_days": 0.5} for i in range(20)]
    rows += [{"agency": "desk", "ready_day": 60.0 + i, "queue_days": 3.0} for i in range(20)]
    table = agency_load(step_rows(rows), busy, scenario)
    desk = table.set_index("agency").loc["desk"]
    assert desk["utilisation"] == pytest.approx(0.9)
    assert desk["queue_growth"] == pytest.approx(6.0)
    assert desk["mean_queue_days"] == pytest.approx(1.75)
    assert desk["overloaded"]
    assert "grew from 0.5 to 3.0" in desk["warning"]
    # Too few rows in a half: no growth figure.
    few = agency_load(step_rows(rows[:5] + rows[-5:]), busy, scenario)
    assert math.isnan(few.set_index("agency").loc["desk", "queue_growth"])


def test_agency_load_with_staff_by_variant():
    scenario = table_scenario(agencies=TABLE_AGENCIES, arrival_days=100.0)
    busy = pd.DataFrame(
        {
            "replication": [0, 0],
            "variant": ["baseline", "fast"],
            "agency": ["desk", "desk"],
            "busy_days": [150.0, 150.0],
        }
    )
    more_staff = (Agency("desk", Name("窗口", "Desk"), staff=3), TABLE_AGENCIES[1])
    table = agency_load(
        pd.DataFrame(), busy, scenario, agencies={"baseline": TABLE_AGENCIES, "fast": more_staff}
    )
    desk = table[table.agency == "desk"].set_index("variant")
    assert desk.loc["baseline", "utilisation"] == pytest.approx(0.75)
    assert desk.loc["fast", "utilisation"] == pytest.approx(0.5)
    assert list(table.variant) == ["baseline", "baseline", "fast", "fast"]
    assert busiest_agency(table, "nobody") is None
