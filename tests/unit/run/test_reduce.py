"""Queue totals made where a replication runs: joint steps split, revocations left out, and
the same figures from the light step columns as from the whole step table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim import load_scenario
from sim.analysis.agencies import agency_load
from sim.analysis.intervals import batch_means_interval
from sim.engines.compiled import simulate
from sim.engines.records import column_array, step_frame
from sim.reforms import resolve_variant
from sim.run.reduce import BATCH_COLUMNS, BATCHES, queue_totals
from tests.factories import (
    PROJECT_ROOT,
    TABLE_AGENCIES,
    review_procedure,
    step_rows,
    table_scenario,
    tolerate,
    write_scenario,
)


def test_queue_totals_split_joint_steps_and_keep_what_agency_load_needs():
    scenario = table_scenario(variants=("baseline",), agencies=TABLE_AGENCIES, arrival_days=100.0)
    rows = [
        {"replication": r, "agency": agency, "ready_day": day, "queue_days": q}
        for r in (0, 1)
        for agency, day, q in (
            ("desk", 10.0, 1.0 + r),
            ("desk+review", 30.0, 2.0),
            ("review", 70.0, 4.0 * (r + 1)),
            ("desk", 80.0, 0.5),
        )
    ]
    rows.append({"agency": "desk", "ready_day": 90.0, "queue_days": 9.0, "outcome": "revoked"})
    steps = step_rows(rows)
    table = queue_totals(steps, scenario.horizon)
    totals = table.set_index(["replication", "agency"])
    # The schema, pinned: the cache and the agency table read these columns.
    assert tuple(table.columns) == (  # fmt: skip
        "replication", "variant", "agency", "steps", "queue_days_total", "p90_queue_days",
        "early_steps", "early_queue_days_total", "late_steps", "late_queue_days_total",
        "finite_steps", "finite_mean_queue_days", *BATCH_COLUMNS,
    )
    desk = totals.loc[(0, "desk")]
    assert desk["steps"] == 3  # the joint step counts here too; the revocation mark does not
    assert desk["queue_days_total"] == pytest.approx(1.0 + 2.0 + 0.5)
    assert desk["p90_queue_days"] == pytest.approx(np.quantile([1.0, 2.0, 0.5], 0.9))
    assert (desk["early_steps"], desk["late_steps"]) == (2, 1)
    assert totals.loc[(1, "review"), "late_queue_days_total"] == pytest.approx(8.0)
    # agency_load from the totals alone (no step rows kept) gives the same table.
    busy = pd.DataFrame(
        {"replication": [0, 1], "variant": "baseline", "agency": "desk", "busy_days": [90.0, 95.0]}
    )
    from_steps = agency_load(steps, busy, scenario)
    from_totals = agency_load(
        pd.DataFrame(), busy, scenario, queues=queue_totals(steps, scenario.horizon)
    )
    pd.testing.assert_frame_equal(from_steps, from_totals)
    # A result made without queue totals (an empty frame) falls back to the step rows.
    from_nothing = agency_load(steps, busy, scenario, queues=pd.DataFrame())
    pd.testing.assert_frame_equal(from_steps, from_nothing)
    # Two replications: the mean of the replications' means and of their 90th percentiles.
    review = from_totals.set_index("agency").loc["review"]
    assert review["mean_queue_days"] == pytest.approx(((2.0 + 4.0) / 2 + (2.0 + 8.0) / 2) / 2)
    assert review["p90_queue_days"] == pytest.approx(
        (np.quantile([2.0, 4.0], 0.9) + np.quantile([2.0, 8.0], 0.9)) / 2
    )


def test_queue_figures_from_the_light_step_columns_equal_the_step_table_ones(tmp_path):
    """Without kept step rows, queue figures come from a few columns of the tuple rows.

    Revocation marks (no staff held) and joint steps (``a+b``, one row for each agency)
    are where the two could part; the bundled scenario's full package has joint
    inspections, the small one here a revocation.
    """
    revoking = write_scenario(
        tmp_path, [review_procedure()], [tolerate({"kind": "revoke"}, share=1.0)], {"office": 1}
    )
    bundled = PROJECT_ROOT / "scenarios" / "demo.yaml"
    for path, variant, mark in ((revoking, "v", "revoked"), (bundled, "full_package", "+")):
        scenario = load_scenario(path)
        records = simulate(resolve_variant(scenario, variant), np.random.SeedSequence(3))
        light = records.queue_columns(scenario.calendar)
        joint = {"+" for agency in column_array(light["agency"], object) if "+" in agency}
        assert mark in set(column_array(light["outcome"], object)) | joint
        pd.testing.assert_frame_equal(
            queue_totals(light, scenario.horizon),
            queue_totals(step_frame(records, scenario.calendar), scenario.horizon),
        )


def test_one_replications_queue_interval_is_the_batch_means_of_its_rows_in_ready_order():
    """The agency table's one-run interval, made where the replication ran from its totals,
    equals batch means over the agency's queues in order of ready time (ties in row order),
    a joint step counted for each agency, non-finite queues left out."""
    scenario = table_scenario(variants=("baseline",), agencies=TABLE_AGENCIES, arrival_days=100.0)
    generator = np.random.default_rng(5)
    count = 7 * BATCHES + 3
    agency = generator.choice(["desk", "review", "desk+review"], size=count)
    ready = np.round(generator.uniform(0, 100, size=count), 0)  # many ties
    queue = generator.exponential(2.0, size=count)
    queue[[4, 40]] = np.nan
    steps = step_rows(
        [
            {"agency": a, "ready_day": r, "queue_days": q}
            for a, r, q in zip(agency.tolist(), ready.tolist(), queue.tolist(), strict=True)
        ]
    )
    busy = pd.DataFrame(
        {"replication": [0], "variant": "baseline", "agency": "desk", "busy_days": [90.0]}
    )
    table = agency_load(
        pd.DataFrame(), busy, scenario, queues=queue_totals(steps, scenario.horizon)
    ).set_index("agency")
    for name in ("desk", "review"):
        mine = steps[steps["agency"].str.split("+").map(lambda parts, n=name: n in parts)]
        ordered = mine.sort_values("ready_day", kind="stable")["queue_days"]
        expected = batch_means_interval(ordered)
        assert not np.isnan(expected[1])
        found = tuple(
            table.loc[name, ["mean_queue_days", "mean_queue_days_low", "mean_queue_days_high"]]
        )
        assert found == expected  # the same numbers, not approximately


def test_without_batches_the_same_totals_and_no_batch_means():
    """Replications after the first skip the sort by ready time: the same totals and
    percentiles, the finite count, and NaN for the mean and batch means no one reads."""
    scenario = table_scenario(variants=("baseline",), agencies=TABLE_AGENCIES, arrival_days=100.0)
    generator = np.random.default_rng(8)
    count = 3 * BATCHES * 2
    steps = step_rows(
        [
            {"agency": a, "ready_day": r, "queue_days": q}
            for a, r, q in zip(
                generator.choice(["desk", "review", "desk+review"], size=count).tolist(),
                generator.uniform(0, 100, size=count).tolist(),
                generator.exponential(2.0, size=count).tolist(),
                strict=True,
            )
        ]
    )
    with_batches = queue_totals(steps, scenario.horizon)
    without = queue_totals(steps, scenario.horizon, batches=False)
    one_run = ["finite_mean_queue_days", *BATCH_COLUMNS]
    kept = [name for name in with_batches.columns if name not in one_run]
    pd.testing.assert_frame_equal(with_batches[kept], without[kept])
    assert with_batches[one_run].notna().all().all()
    assert without[one_run].isna().all().all()
